// One stream-app agent that decodes a 256-byte JSON record, validates it, maps it and produces it,
// against a hand-written pipeline over @confluentinc/kafka-javascript doing the same work, in the
// same run, rounds interleaved. Target: the agent reaches at least 0.7 of the hand-written rate.
//
// Both sides:
// - read the same pre-filled input topic from the beginning with a fresh consumer group, through the
//   OAUTHBEARER listener, as the same OAuth client (TESTBED_CLIENTS.app), so authentication costs the same;
// - use the same client settings: a cooperative-sticky consumer without auto-commit, an idempotent
//   producer with linger.ms 5, the library's default fetch batch size;
// - decode JSON, check the same class-validator rules, map with the same function, produce JSON to a
//   fresh output topic of their own, and commit the input offsets every second (at-least-once: an
//   offset is committed only once what it produced is acknowledged by the broker).
//
// The measure: from the moment the first input message reaches user code (the agent body; the
// hand-written eachBatch) until all N results are acknowledged by the broker and the input offsets
// of all N messages are committed. Connecting, joining the group and stopping are left out: they
// are the same librdkafka work on both sides and would only blur the per-message cost.
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { App, connectClient, createLogger, KafkaDiagnostics } from '@stream-app/core';
import { kafkaClientConfig } from '@stream-app/credentials';
import { adminKafka, createAdminClient, startTestbed, type Testbed } from '@stream-app/testing';
import { credentialsFor, deadline, median, rate } from './bench-kit.js';
import { CURRENCIES, Order, orderJson, toCharge, type Charge } from './orders-workload.js';
import { IsDate, IsIn, IsPositive, IsString, Length, MaxLength, validateSync } from 'class-validator';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = 4;
const COMMIT_INTERVAL_MS = 1000; // the App's default commitIntervalMs
const RUN_TIMEOUT_MS = 10 * 60_000;
const INPUT = 'bench-orders';

const SIDES = ['stream-app', 'hand-written'] as const;
type Side = (typeof SIDES)[number];

// ── the work ─────────────────────────────────────────────────────────────────

/** The same rules, on a plain class, as someone would write them without stream-app. */
class OrderInput {
  @IsString() @Length(1, 64) accountId!: string;
  @IsPositive() amount!: number;
  @IsIn(CURRENCIES) currency!: string;
  @IsDate() createdAt!: Date;
  @IsString() @MaxLength(256) note!: string;
}

/** The hand-written decode + validate: JSON, the one Date field converted, every rule checked. */
function decodeByHand(bytes: Buffer | null): OrderInput {
  const plain = JSON.parse(bytes?.toString('utf8') ?? 'null') as unknown;
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain))
    throw new Error('an order must be an object');
  const order = Object.assign(new OrderInput(), plain);
  if (typeof order.createdAt === 'string') order.createdAt = new Date(order.createdAt);
  const errors = validateSync(order, { forbidUnknownValues: false });
  if (errors.length > 0) throw new Error(`invalid order: ${errors.map((e) => e.property).join(', ')}`);
  return order;
}

// ── the two pipelines ────────────────────────────────────────────────────────

interface Run {
  /** Messages per second, first message in user code to all results acknowledged and offsets committed. */
  rate: number;
  /** CPU time of this process (JavaScript, GC and librdkafka's threads) per message, over the same span. */
  cpuMicros: number;
}

/** The measure, started when the first message reaches user code. */
class Clock {
  #started: bigint | undefined;
  #cpu: NodeJS.CpuUsage | undefined;

  start(): void {
    if (this.#started !== undefined) return;
    this.#started = process.hrtime.bigint();
    this.#cpu = process.cpuUsage();
  }

  stop(): Run {
    if (this.#started === undefined || !this.#cpu) throw new Error('no message reached the pipeline');
    const seconds = Number(process.hrtime.bigint() - this.#started) / 1e9;
    const cpu = process.cpuUsage(this.#cpu);
    return { rate: MESSAGES / seconds, cpuMicros: (cpu.user + cpu.system) / MESSAGES };
  }
}

async function runStreamApp(testbed: Testbed, tag: string, output: string): Promise<Run> {
  const app = new App({
    id: `bench-stream-app-${tag}`,
    broker: testbed.kafka.bootstrap.oauth,
    credentials: credentialsFor(testbed),
    topicPartitions: PARTITIONS,
    deadLetterTopic: 'bench-dead-letters',
    logger: createLogger({ level: 'warn' }),
  });
  const orders = app.topic(INPUT, { valueType: Order });
  const charges = app.topic<Charge>(output);
  const clock = new Clock();
  let processed = 0;
  let allYielded!: () => void;
  const yielded = new Promise<void>((resolve) => (allYielded = resolve));
  app.agent(
    orders,
    async function* charge(stream) {
      for await (const order of stream) {
        clock.start();
        yield toCharge(order);
        // Back here, the value is handed to the sink (a batched, not yet acknowledged send).
        processed += 1;
        if (processed === MESSAGES) allYielded();
      }
    },
    { sink: [charges] },
  );
  const committed = new Map<number, number>();
  app.on('committed', (offsets) => {
    for (const { topic, partition, offset } of offsets) if (topic === INPUT) committed.set(partition, offset);
  });
  // The input topic is fresh and holds exactly MESSAGES, so the committed offsets add up to MESSAGES at the end.
  const committedAll = () => [...committed.values()].reduce((sum, offset) => sum + offset, 0) >= MESSAGES;
  const failed = new Promise<never>((_, reject) => app.once('failed', reject));
  failed.catch(() => {});
  const timeout = deadline<never>('stream-app run', RUN_TIMEOUT_MS);
  try {
    await app.start();
    await Promise.race([yielded, failed, timeout.promise]);
    // app.commit() flushes every send (waits for the broker's acknowledgements) before it commits.
    while (!committedAll()) {
      await Promise.race([app.commit(), failed, timeout.promise]);
      if (!committedAll()) await new Promise((resolve) => setImmediate(resolve));
    }
    const run = clock.stop();
    const stats = app.stats();
    if (stats.deadLettered > 0 || stats.skipped > 0)
      throw new Error(`stream-app rejected ${stats.deadLettered} orders`);
    return run;
  } finally {
    timeout.clear();
    await app.stop();
  }
}

async function runHandWritten(testbed: Testbed, tag: string, output: string): Promise<Run> {
  const bootstrap = testbed.kafka.bootstrap.oauth;
  const credentials = credentialsFor(testbed);
  const diagnostics = new KafkaDiagnostics();
  const config = kafkaClientConfig(credentials);
  const kafka = new KafkaJS.Kafka({
    ...config,
    kafkaJS: { ...config.kafkaJS, brokers: [bootstrap], logger: diagnostics.logger },
  } as never);
  const producer = kafka.producer({ 'enable.idempotence': true, 'linger.ms': 5 } as never);
  const consumer = kafka.consumer({
    kafkaJS: { groupId: `bench-hand-written-${tag}`, fromBeginning: true, autoCommit: false },
    'partition.assignment.strategy': 'cooperative-sticky',
  } as never);
  const timeout = deadline<never>('hand-written run', RUN_TIMEOUT_MS);
  let commitTimer: NodeJS.Timeout | undefined;
  try {
    await connectClient(producer, diagnostics, bootstrap);
    await connectClient(consumer, diagnostics, bootstrap);
    await consumer.subscribe({ topics: [INPUT] });

    const clock = new Clock();
    let acknowledged = 0;
    let failure: unknown;
    let failed!: (error: unknown) => void;
    let allAcknowledged!: () => void;
    const acknowledgedAll = new Promise<void>((resolve, reject) => {
      allAcknowledged = resolve;
      failed = (error) => {
        failure ??= error;
        reject(error as Error);
      };
    });
    acknowledgedAll.catch(() => {});
    // Sends are not awaited one by one (that would cost a broker round trip per batch); the commit waits for them.
    const inFlight = new Set<Promise<unknown>>();
    /** Next offset to commit per partition, once what is in flight now is acknowledged. */
    const handed = new Map<number, number>();
    const committed = new Map<number, number>();
    const commit = async () => {
      const offsets = [...handed].filter(([partition, offset]) => committed.get(partition) !== offset);
      await Promise.all(inFlight);
      if (failure) throw failure;
      if (offsets.length === 0) return;
      await consumer.commitOffsets(
        offsets.map(([partition, offset]) => ({ topic: INPUT, partition, offset: String(offset) })),
      );
      for (const [partition, offset] of offsets) committed.set(partition, offset);
    };
    let committing: Promise<void> = Promise.resolve();
    const commitNow = () => (committing = committing.then(commit));
    commitTimer = setInterval(() => void commitNow().catch(failed), COMMIT_INTERVAL_MS);

    await consumer.run({
      eachBatch: async ({ batch }) => {
        clock.start();
        try {
          const messages = batch.messages.map((message) => ({
            key: message.key,
            value: JSON.stringify(toCharge(decodeByHand(message.value))),
          }));
          const sent = producer.send({ topic: output, messages }).then(() => {
            acknowledged += messages.length;
            if (acknowledged >= MESSAGES) allAcknowledged();
          }, failed);
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
          handed.set(batch.partition, Number(batch.messages[batch.messages.length - 1]!.offset) + 1);
        } catch (error) {
          failed(error); // no bad input in this bench: anything thrown here is a bug, not a message to skip
        }
      },
    });
    await Promise.race([acknowledgedAll, timeout.promise]);
    // The input topic is fresh and holds exactly MESSAGES, so the committed offsets add up to MESSAGES at the end.
    while ([...committed.values()].reduce((sum, offset) => sum + offset, 0) < MESSAGES) {
      await Promise.race([commitNow(), timeout.promise]);
    }
    return clock.stop();
  } finally {
    timeout.clear();
    clearInterval(commitTimer);
    await consumer.disconnect().catch(() => {});
    await producer.disconnect().catch(() => {});
    credentials.lifecycle.close();
  }
}

// ── the run ──────────────────────────────────────────────────────────────────

async function createTopics(testbed: Testbed, topics: string[]): Promise<void> {
  const admin = createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  } finally {
    await admin.disconnect();
  }
}

/** Checks, outside the measure, that a run produced exactly one result per order. */
async function expectOutput(testbed: Testbed, topic: string): Promise<void> {
  const admin = createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const produced = offsets.reduce((sum, { high }) => sum + Number(high), 0);
    if (produced !== MESSAGES) throw new Error(`${topic} holds ${produced} results, not ${MESSAGES}`);
  } finally {
    await admin.disconnect();
  }
}

/** Fills the input topic once, as the admin on the PLAIN listener (fast, and not what is measured). */
async function prefill(testbed: Testbed): Promise<void> {
  const producer = adminKafka(testbed.kafka).producer();
  await producer.connect();
  try {
    const inFlight: Array<Promise<unknown>> = [];
    for (let start = 0; start < MESSAGES; start += 1000) {
      const messages = [];
      for (let i = start; i < Math.min(start + 1000, MESSAGES); i += 1) {
        messages.push({ key: `account-${String(i % 64).padStart(4, '0')}`, value: orderJson(i) });
      }
      inFlight.push(producer.send({ topic: INPUT, messages }));
      if (inFlight.length >= 20) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
}

async function main() {
  process.stdout.write(
    `agent vs hand-written: ${MESSAGES.toLocaleString('en')} orders of ${Buffer.byteLength(orderJson(0))} B ` +
      `on ${PARTITIONS} partitions, decode + validate + map + produce, ${ROUNDS} rounds, interleaved\n`,
  );
  const testbed = await startTestbed({ onProgress: (m) => process.stdout.write(`  › ${m}\n`) });
  try {
    const output = (side: Side, tag: string) => `bench-charges-${side}-${tag}`;
    const tags = ['warm-up', ...Array.from({ length: ROUNDS }, (_, i) => `round-${i + 1}`)];
    await createTopics(testbed, [
      INPUT,
      'bench-dead-letters',
      ...tags.flatMap((tag) => SIDES.map((side) => output(side, tag))),
    ]);
    await prefill(testbed);
    process.stdout.write(`  › input topic filled\n`);
    const run = async (side: Side, tag: string): Promise<Run> => {
      const result =
        side === 'stream-app'
          ? await runStreamApp(testbed, tag, output(side, tag))
          : await runHandWritten(testbed, tag, output(side, tag));
      await expectOutput(testbed, output(side, tag));
      return result;
    };
    // Warm-up, not reported: JIT, class-validator's metadata, the broker's caches.
    for (const side of SIDES) await run(side, 'warm-up');
    const rounds: Array<{ first: Side; runs: { [side in Side]: Run } }> = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const order: Side[] = round % 2 ? ['stream-app', 'hand-written'] : ['hand-written', 'stream-app'];
      const runs = {} as { [side in Side]: Run };
      for (const side of order) {
        runs[side] = await run(side, `round-${round}`);
        process.stdout.write(
          `  round ${round} ${side.padEnd(12)} ${Math.round(runs[side].rate).toLocaleString('en')} msg/s, ` +
            `${runs[side].cpuMicros.toFixed(1)} µs CPU/msg\n`,
        );
      }
      rounds.push({ first: order[0]!, runs });
    }
    // Paired per round: the two runs of a round share the machine's state, so their ratio is steadier than the rates.
    const ratios = rounds.map(({ runs }) => runs['stream-app'].rate / runs['hand-written'].rate);
    const table = [
      [
        'round',
        'first',
        'stream-app msg/s',
        'hand-written msg/s',
        'ratio',
        'stream-app µs CPU/msg',
        'hand-written µs CPU/msg',
      ],
      ...rounds.map(({ first, runs }, index) => [
        String(index + 1),
        first,
        rate(runs['stream-app'].rate),
        rate(runs['hand-written'].rate),
        ratios[index]!.toFixed(3),
        runs['stream-app'].cpuMicros.toFixed(1),
        runs['hand-written'].cpuMicros.toFixed(1),
      ]),
      [
        'median',
        '',
        rate(median(rounds.map(({ runs }) => runs['stream-app'].rate))),
        rate(median(rounds.map(({ runs }) => runs['hand-written'].rate))),
        median(ratios).toFixed(3),
        median(rounds.map(({ runs }) => runs['stream-app'].cpuMicros)).toFixed(1),
        median(rounds.map(({ runs }) => runs['hand-written'].cpuMicros)).toFixed(1),
      ],
    ];
    const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
    const line = (row: string[]) =>
      row
        .map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  ');
    process.stdout.write(
      `\n${table.map(line).join('\n')}\n\n` +
        `stream-app / hand-written, median of ${ROUNDS} paired rounds: ${median(ratios).toFixed(3)} ` +
        `(target: at least 0.700; ${median(ratios) >= 0.7 ? 'met' : 'not met'})\n`,
    );
  } finally {
    await testbed.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
