// What exactly once costs, as a ratio of at least once in the same run, at three commit intervals,
// against the real broker and identity provider (OAUTHBEARER listener, the test bed's app client).
//
// The workload: one agent decodes a JSON order ({account, amount}), counts it per account into a
// memory table (10 000 accounts) and sends {account, count} to an output topic. Each run reads the same
// input topic (4 partitions, filled once, not measured) as a fresh app id (consumer group) with its own
// output topic. Measured from `app.start()` to the group having committed the offsets of all N records:
// under exactly once that is the last transaction committing (output, changelog and offsets together).
// Sides: at_least_once and exactly_once at commitIntervalMs 100, 1000 and 5000; rounds interleaved, the
// order rotating each round; medians of the rounds, and the exactly-once/at-least-once ratio per
// interval, paired within each round. Every run also checks its table counts exactly N.
//
// Sizes: BENCH_EOS_RECORDS (default 100 000), BENCH_ROUNDS (default 3). About 3 minutes here.
import { loadavg } from 'node:os';
import { App, createLogger } from '@stream-app/core';
import { adminKafka, createAdminClient, startTestbed, type Testbed } from '@stream-app/testing';
import { credentialsFor, deadline, median, rate } from './bench-kit.js';

const RECORDS = Number(process.env.BENCH_EOS_RECORDS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = 4;
const KEYS = 10_000;
const INTERVALS = [100, 1000, 5000] as const;
const GUARANTEES = ['at_least_once', 'exactly_once'] as const;
const RUN_TIMEOUT_MS = 5 * 60_000;

type Guarantee = (typeof GUARANTEES)[number];
interface Side {
  guarantee: Guarantee;
  intervalMs: number;
}
interface Run {
  rate: number;
  cpuMicros: number;
  commits: number;
  load: number;
}

const SIDES: Side[] = INTERVALS.flatMap((intervalMs) => GUARANTEES.map((guarantee) => ({ guarantee, intervalMs })));
const label = ({ guarantee, intervalMs }: Side) => `${guarantee} ${intervalMs} ms`;

async function fill(testbed: Testbed, topic: string): Promise<void> {
  const admin = createAdminClient(testbed.kafka);
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const producer = adminKafka(testbed.kafka).producer();
  await producer.connect();
  for (let start = 0; start < RECORDS; start += 10_000) {
    await producer.send({
      topic,
      messages: Array.from({ length: Math.min(10_000, RECORDS - start) }, (_, i) => {
        const account = `acct-${(start + i) % KEYS}`;
        return { key: account, value: JSON.stringify({ account, amount: 1 + ((start + i) % 100) }) };
      }),
    });
  }
  await producer.disconnect();
}

async function runSide(testbed: Testbed, side: Side, input: string, id: string): Promise<Run> {
  const app = new App({
    id,
    broker: testbed.kafka.bootstrap.oauth,
    credentials: credentialsFor(testbed),
    topicPartitions: PARTITIONS,
    processingGuarantee: side.guarantee,
    commitIntervalMs: side.intervalMs,
    logger: createLogger({ level: 'warn' }),
  });
  const orders = app.topic<{ account: string; amount: number }>(input);
  const counted = app.topic<{ account: string; count: number }>(`${id}-counted`);
  const counts = app.table<number>('counts', { default: () => 0 });
  app.agent(orders, async (stream) => {
    for await (const order of stream) {
      const count = counts.get(order.account)! + 1;
      counts.set(order.account, count);
      counted.send({ key: order.account, value: { account: order.account, count } }).catch(() => {});
    }
  });
  const committed = new Map<number, number>();
  app.on('committed', (offsets) => {
    for (const { topic, partition, offset } of offsets) if (topic === input) committed.set(partition, offset);
  });
  const committedAll = () => [...committed.values()].reduce((sum, offset) => sum + offset, 0) >= RECORDS;
  const failed = new Promise<never>((_, reject) => app.once('failed', reject));
  failed.catch(() => {});
  const timeout = deadline<never>(label(side), RUN_TIMEOUT_MS);
  try {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.race([app.start(), failed, timeout.promise]);
    // The commit loop does the committing: the interval is what is measured.
    while (!committedAll())
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 5)), failed, timeout.promise]);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    let total = 0;
    for (const value of counts.values()) total += value;
    if (total !== RECORDS) throw new Error(`${label(side)}: the table counts ${total}, not ${RECORDS}`);
    return {
      rate: RECORDS / elapsed,
      cpuMicros: (used.user + used.system) / RECORDS,
      commits: app.stats().commits,
      load: loadavg()[0]!,
    };
  } finally {
    timeout.clear();
    await app.stop();
  }
}

async function main(): Promise<void> {
  console.log(
    `exactly once vs at least once: ${rate(RECORDS)} records, ${ROUNDS} rounds, intervals ${INTERVALS.join(', ')} ms`,
  );
  const testbed = await startTestbed({ onProgress: (m) => process.stdout.write(`  › ${m}\n`) });
  try {
    const input = `bench-eos-orders-${Date.now()}`;
    console.log('  filling the input topic…');
    await fill(testbed, input);
    const runs = new Map<string, Run[]>(SIDES.map((side) => [label(side), []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length]!);
      for (const side of order) {
        const run = await runSide(
          testbed,
          side,
          input,
          `bench-eos-${round}-${side.guarantee}-${side.intervalMs}-${Date.now()}`,
        );
        runs.get(label(side))!.push(run);
        console.log(
          `  round ${round + 1}/${ROUNDS} ${label(side).padEnd(22)} ${rate(run.rate).padStart(7)} rec/s  ${run.cpuMicros.toFixed(1)} µs CPU/rec  ${run.commits} commits  load ${run.load.toFixed(1)}`,
        );
      }
    }
    console.log(
      '\n| commit interval | at least once (rec/s) | exactly once (rec/s) | exactly once / at least once | CPU µs/rec ALO → EOS |',
    );
    console.log('|---:|---:|---:|---:|---:|');
    for (const intervalMs of INTERVALS) {
      const alo = runs.get(label({ guarantee: 'at_least_once', intervalMs }))!;
      const eos = runs.get(label({ guarantee: 'exactly_once', intervalMs }))!;
      const ratio = median(eos.map((run, i) => run.rate / alo[i]!.rate));
      console.log(
        `| ${intervalMs} ms | ${rate(median(alo.map((r) => r.rate)))} | ${rate(median(eos.map((r) => r.rate)))} | ${ratio.toFixed(2)} | ${median(alo.map((r) => r.cpuMicros)).toFixed(1)} → ${median(eos.map((r) => r.cpuMicros)).toFixed(1)} |`,
      );
    }
  } finally {
    await testbed.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
