// What a table costs an agent, and how fast a table partition is recovered, against the real broker
// and identity provider, over the OAUTHBEARER listener, as the same OAuth client (TESTBED_CLIENTS.app).
//
// Throughput, three sides, rounds interleaved (the order rotates each round), medians reported:
// - stateless: one agent decodes a small JSON order ({account, amount}) and does nothing with it;
// - memory:    the same agent counts orders per account into a table with the memory store;
// - lmdb:      the same with the LMDB store, in a fresh temporary stateDir (removed afterwards);
// - tumbling:  the same count per account per 1-minute window (memory store, grace 10 s);
// - hopping:   per 1-minute window every 10 s (each order counts in six windows).
// The windowed sides are reported as a ratio of the plain (memory) table count of the same round.
// Each run reads its own freshly filled topic of 4 partitions (10 000 accounts, keyed by account) as a
// fresh app id (consumer group). The measure: from `app.start()` to the group having committed the
// offsets of all N records (a commit flushes the table's writes to its changelog and store first, so
// at that point every count is in the changelog and the store). Connecting and joining the group are
// inside the measure, as they are for a worker; the time to the first record is printed apart.
// The stateful sides are reported as a ratio of the stateless one, paired per round, and as this
// process's CPU time per record (steadier than rates when something else loads the machine: the
// 1-minute load average is printed with each run; above 2, on 2 cores, something else competed).
//
// Recovery: 1 000 000 records (100 000 accounts) written straight into `<appId>-counts-changelog`
// (4 partitions, compact), then an app with that table (LMDB, empty stateDir) and an agent on an
// empty topic is started: the measure runs from `app.start()` until `stats().recovering` is 0 and
// all 4 partitions reported `done`. Then the app is stopped and started again on the same stateDir:
// that recovery starts from the store's checkpoints and should read (almost) nothing.
//
// Memory: this process's RSS (the broker is a separate JVM) and JavaScript heap, sampled every 50 ms
// during each run, which starts on a collected heap. A Node process rarely gives memory back, so a
// run's peak RSS includes what earlier runs left mapped; the heap at the start (after a full
// collection) shows whether earlier runs left anything alive.
//
// With the defaults the whole bench takes about 3 minutes on a 2-core machine (broker start included;
// filling the topics, not measured, is about 1 minute of it). Sizes: BENCH_TABLE_RECORDS, BENCH_ROUNDS,
// BENCH_RECOVERY_RECORDS.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { App, createLogger, type TableRecoveryProgress } from '@stream-app/core';
import { adminKafka, createAdminClient, startTestbed, type Testbed } from '@stream-app/testing';
import { credentialsFor, deadline, median, rate } from './bench-kit.js';

const RECORDS = Number(process.env.BENCH_TABLE_RECORDS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RECOVERY_RECORDS = Number(process.env.BENCH_RECOVERY_RECORDS ?? 1_000_000);
const PARTITIONS = 4;
const KEYS = 10_000;
const RECOVERY_KEYS = 100_000;
const RUN_TIMEOUT_MS = 5 * 60_000;
const DEAD_LETTERS = 'bench-tables-dead-letters';

const SIDES = ['stateless', 'memory', 'lmdb', 'tumbling', 'hopping'] as const;
type Side = (typeof SIDES)[number];

interface Order {
  account: string;
  amount: number;
}

// ── measuring ────────────────────────────────────────────────────────────────

// The garbage of the filling before a run would otherwise count in the run's RSS: each run starts
// from a collected heap. (`node --expose-gc` is not needed: the flag is set here, before the first use.)
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface Memory {
  /** Peak RSS of this process during the run. */
  rss: number;
  /** Peak JavaScript heap in use during the run. */
  heap: number;
  /** JavaScript heap in use at the start, after a full collection (what earlier runs left behind). */
  heapAtStart: number;
}

/** This process's RSS and heap, sampled every 50 ms while a run lasts. */
class MemorySampler {
  readonly #memory: Memory;
  readonly #timer: NodeJS.Timeout;

  constructor() {
    collectGarbage();
    const heap = getHeapStatistics().used_heap_size;
    this.#memory = { rss: process.memoryUsage.rss(), heap, heapAtStart: heap };
    this.#timer = setInterval(() => this.#sample(), 50);
  }

  #sample(): void {
    this.#memory.rss = Math.max(this.#memory.rss, process.memoryUsage.rss());
    this.#memory.heap = Math.max(this.#memory.heap, getHeapStatistics().used_heap_size);
  }

  stop(): Memory {
    clearInterval(this.#timer);
    this.#sample();
    return { ...this.#memory };
  }
}

const cpuMicros = (since: NodeJS.CpuUsage, records: number) => {
  const used = process.cpuUsage(since);
  return records > 0 ? (used.user + used.system) / records : NaN;
};

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** Resolves once `check` holds (polled every 10 ms), or rejects with the first of `failures`. */
async function until(check: () => boolean, ...failures: Array<Promise<never>>): Promise<void> {
  let stop = false;
  const polled = (async () => {
    while (!check() && !stop) await new Promise((resolve) => setTimeout(resolve, 10));
  })();
  try {
    await Promise.race([polled, ...failures]);
  } finally {
    stop = true;
  }
}

function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'stream-app-bench-tables-'));
}

// ── the throughput runs ──────────────────────────────────────────────────────

interface Run {
  /** Records per second, `app.start()` to every offset committed. */
  rate: number;
  seconds: number;
  /** `app.start()` to the first record in the agent. */
  firstRecordSeconds: number;
  /** CPU time of this process (JavaScript, GC, LMDB and librdkafka's threads) per record, over the same span. */
  cpuMicros: number;
  /** The machine's 1-minute load average at the end: above 2 (the cores), something else competed for CPU. */
  load: number;
  memory: Memory;
}

/** An app of this bench: the OAUTHBEARER listener, 4 partitions, warnings only. */
function benchApp(testbed: Testbed, id: string, stateDir: string | undefined): App {
  return new App({
    id,
    broker: testbed.kafka.bootstrap.oauth,
    credentials: credentialsFor(testbed),
    topicPartitions: PARTITIONS,
    deadLetterTopic: DEAD_LETTERS,
    logger: createLogger({ level: 'warn' }),
    ...(stateDir ? { stateDir } : {}),
  });
}

async function runSide(testbed: Testbed, side: Side, topic: string, id: string, records: number): Promise<Run> {
  const stateDir = side === 'lmdb' ? tempStateDir() : undefined;
  const app = benchApp(testbed, id, stateDir);
  const orders = app.topic<Order>(topic);
  let firstRecord: bigint | undefined;
  if (side === 'stateless') {
    app.agent(orders, async (stream) => {
      for await (const order of stream) {
        firstRecord ??= process.hrtime.bigint();
        void order;
      }
    });
  }
  const counts =
    side === 'memory' || side === 'lmdb' ? app.table<number>('counts', { default: () => 0, store: side }) : undefined;
  // The windowed sides count into the memory store too: their ratio to `memory` is the windows' own cost.
  const windowed =
    side === 'tumbling'
      ? app.table<number>('counts', { default: () => 0 }).tumbling('1m', { grace: '10s' })
      : side === 'hopping'
        ? app.table<number>('counts', { default: () => 0 }).hopping('1m', '10s', { grace: '10s' })
        : undefined;
  let late = 0;
  app.addSensor({ onLateEvent: () => void (late += 1) });
  if (windowed) {
    app.agent(orders, async (stream) => {
      for await (const order of stream) {
        firstRecord ??= process.hrtime.bigint();
        windowed.update(order.account, (count) => count + 1);
      }
    });
  }
  if (counts) {
    app.agent(orders, async (stream) => {
      for await (const order of stream) {
        firstRecord ??= process.hrtime.bigint();
        counts.set(order.account, counts.get(order.account)! + 1);
      }
    });
  }
  const committed = new Map<number, number>();
  app.on('committed', (offsets) => {
    for (const { topic: name, partition, offset } of offsets) if (name === topic) committed.set(partition, offset);
  });
  // The topic is fresh and holds exactly `records`, so the committed offsets add up to `records` at the end.
  const committedAll = () => [...committed.values()].reduce((sum, offset) => sum + offset, 0) >= records;
  const failed = new Promise<never>((_, reject) => app.once('failed', reject));
  failed.catch(() => {});
  const timeout = deadline<never>(`${side} run`, RUN_TIMEOUT_MS);
  const memory = new MemorySampler();
  try {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.race([app.start(), failed, timeout.promise]);
    await until(() => app.stats().received >= records, failed, timeout.promise);
    // app.commit() flushes the tables and every send before it commits.
    while (!committedAll()) {
      await Promise.race([app.commit(), failed, timeout.promise]);
      if (!committedAll()) await new Promise((resolve) => setImmediate(resolve));
    }
    const elapsed = seconds(started);
    const run: Run = {
      rate: records / elapsed,
      seconds: elapsed,
      firstRecordSeconds: firstRecord === undefined ? NaN : Number(firstRecord - started) / 1e9,
      cpuMicros: cpuMicros(cpu, records),
      load: loadavg()[0]!,
      memory: memory.stop(),
    };
    // Outside the measure: every record was handled, and counted exactly once.
    const stats = app.stats();
    if (stats.received !== records || stats.deadLettered > 0 || stats.skipped > 0) {
      throw new Error(
        `${side}: received ${stats.received} of ${records}, ${stats.deadLettered} dead-lettered, ${stats.skipped} skipped`,
      );
    }
    if (windowed) {
      // Each order counts in one tumbling window, or in each of the six hopping windows (1 min / 10 s) it falls in.
      let total = 0;
      for (const key of windowed.keys()) for (const { value } of windowed.get(key).value()) total += value;
      const expected = records * (side === 'hopping' ? 6 : 1);
      if (total !== expected || late > 0) {
        throw new Error(`${side}: the windows count ${total}, not ${expected} (${late} late events)`);
      }
    }
    if (counts) {
      let keys = 0;
      let total = 0;
      for (const value of counts.values()) {
        keys += 1;
        total += value;
      }
      const expectedKeys = Math.min(KEYS, records);
      if (keys !== expectedKeys || total !== records) {
        throw new Error(
          `${side}: the table holds ${keys} keys counting ${total}, not ${expectedKeys} keys counting ${records}`,
        );
      }
    }
    return run;
  } finally {
    memory.stop();
    timeout.clear();
    await app.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  }
}

// ── the recovery runs ────────────────────────────────────────────────────────

interface Recovery {
  /** Records the recoveries read, over every partition. */
  read: number;
  /** `app.start()` to `recovering === 0` and every partition done. */
  seconds: number;
  /** The first partitions assigned to the last partition done: the recovery alone. */
  recoverySeconds: number;
  /** CPU time of this process per record read, `app.start()` to done. */
  cpuMicros: number;
  load: number;
  memory: Memory;
}

async function recover(testbed: Testbed, id: string, source: string, stateDir: string): Promise<Recovery> {
  const app = benchApp(testbed, id, stateDir);
  const counts = app.table<number>('counts', { default: () => 0, store: 'lmdb' });
  app.agent(app.topic<Order>(source), async (stream) => {
    for await (const order of stream) counts.set(order.account, counts.get(order.account)! + 1);
  });
  const done = new Map<number, TableRecoveryProgress>();
  app.addSensor({
    onTableRecovery: (progress) => {
      if (progress.done && progress.purpose !== 'standby') done.set(progress.partition, progress);
    },
  });
  let assigned: bigint | undefined;
  app.once('partitions-assigned', () => (assigned = process.hrtime.bigint()));
  const failed = new Promise<never>((_, reject) => app.once('failed', reject));
  failed.catch(() => {});
  const timeout = deadline<never>('recovery', RUN_TIMEOUT_MS);
  const memory = new MemorySampler();
  try {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.race([app.start(), failed, timeout.promise]);
    await until(() => done.size === PARTITIONS && app.stats().recovering === 0, failed, timeout.promise);
    const finished = process.hrtime.bigint();
    const read = [...done.values()].reduce((sum, progress) => sum + progress.read, 0);
    const result: Recovery = {
      read,
      seconds: Number(finished - started) / 1e9,
      recoverySeconds: assigned === undefined ? NaN : Number(finished - assigned) / 1e9,
      cpuMicros: cpuMicros(cpu, read),
      load: loadavg()[0]!,
      memory: memory.stop(),
    };
    // Outside the measure: the table holds the last value written for every key.
    const expectedKeys = Math.min(RECOVERY_KEYS, RECOVERY_RECORDS);
    const keys = counts.size;
    const last = (key: number) => Math.floor((RECOVERY_RECORDS - 1 - key) / RECOVERY_KEYS) + 1;
    for (const key of [0, expectedKeys - 1]) {
      if (counts.get(`acct-${key}`) !== last(key)) {
        throw new Error(`after recovery acct-${key} is ${counts.get(`acct-${key}`)}, not ${last(key)}`);
      }
    }
    if (keys !== expectedKeys) throw new Error(`after recovery the table holds ${keys} keys, not ${expectedKeys}`);
    return result;
  } finally {
    memory.stop();
    timeout.clear();
    await app.stop();
  }
}

// ── the data ─────────────────────────────────────────────────────────────────

async function createTopics(
  testbed: Testbed,
  topics: Array<{ topic: string; config?: { [name: string]: string } }>,
): Promise<void> {
  const admin = createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map(({ topic, config }) => ({
        topic,
        numPartitions: PARTITIONS,
        ...(config ? { configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) } : {}),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Writes `count` messages as the admin on the PLAIN listener (not what is measured): batches of 10 000,
 * 4 in flight, the fastest of the shapes tried here (1 000 × 20 and 5 000 × 20 reach ~35 000 msg/s
 * and hold more memory; 10 000 × 4 ~50 000).
 */
async function produce(
  testbed: Testbed,
  topic: string,
  count: number,
  message: (i: number) => { key: Buffer | string; value: Buffer | string },
): Promise<void> {
  const producer = adminKafka(testbed.kafka).producer();
  await producer.connect();
  try {
    const inFlight: Array<Promise<unknown>> = [];
    for (let start = 0; start < count; start += 10_000) {
      const messages = [];
      for (let i = start; i < Math.min(start + 10_000, count); i += 1) messages.push(message(i));
      inFlight.push(producer.send({ topic, messages }));
      if (inFlight.length >= 4) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
}

const order = (i: number) => {
  const account = `acct-${i % KEYS}`;
  return { key: account, value: JSON.stringify({ account, amount: 1 + (i % 1000) / 100 }) };
};

/** A changelog record as a table writes it: the key's string bytes, the count as JSON. */
const changelogRecord = (i: number) => ({
  key: Buffer.from(`acct-${i % RECOVERY_KEYS}`),
  value: Buffer.from(JSON.stringify(Math.floor(i / RECOVERY_KEYS) + 1)),
});

// ── the run ──────────────────────────────────────────────────────────────────

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const memoryLine = (memory: Memory) =>
  `peak RSS ${mb(memory.rss)} MB, peak JS heap ${mb(memory.heap)} MB (${mb(memory.heapAtStart)} at start)`;

function printTable(table: string[][], leftColumns: number): void {
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column < leftColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  process.stdout.write(`\n${table.map(line).join('\n')}\n`);
}

async function main() {
  process.stdout.write(
    `tables: ${RECORDS.toLocaleString('en')} orders on ${PARTITIONS} partitions, ${KEYS.toLocaleString('en')} accounts, ` +
      `stateless vs memory table vs LMDB table vs tumbling and hopping windows, ${ROUNDS} rounds, interleaved; ` +
      `recovery of ${RECOVERY_RECORDS.toLocaleString('en')} changelog records\n`,
  );
  const testbed = await startTestbed({ onProgress: (m) => process.stdout.write(`  › ${m}\n`) });
  const stateDirs: string[] = [];
  try {
    const tags = ['warm-up', ...Array.from({ length: ROUNDS }, (_, i) => `round-${i + 1}`)];
    const topic = (side: Side, tag: string) => `bench-tables-orders-${side}-${tag}`;
    // The warm-up, not reported, reads a quarter of the records: JIT, the LMDB native module, the broker's caches.
    const records = (tag: string) => (tag === 'warm-up' ? Math.ceil(RECORDS / 4) : RECORDS);
    // Every input topic is filled before the first run, so that no run follows a filling more closely than another.
    await createTopics(testbed, [
      { topic: DEAD_LETTERS },
      ...tags.flatMap((tag) => SIDES.map((side) => ({ topic: topic(side, tag) }))),
    ]);
    const filling = process.hrtime.bigint();
    for (const tag of tags) for (const side of SIDES) await produce(testbed, topic(side, tag), records(tag), order);
    process.stdout.write(`  › ${tags.length * SIDES.length} input topics filled in ${seconds(filling).toFixed(1)} s\n`);
    const run = (side: Side, tag: string): Promise<Run> =>
      runSide(testbed, side, topic(side, tag), `bench-tables-${side}-${tag}`, records(tag));
    for (const side of SIDES) await run(side, tags[0]!);
    process.stdout.write(`  › warmed up\n`);

    const rounds: Array<{ first: Side; runs: { [side in Side]: Run } }> = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      const sequence = SIDES.map((_, i) => SIDES[(i + round - 1) % SIDES.length]!);
      const runs = {} as { [side in Side]: Run };
      for (const side of sequence) {
        const result = (runs[side] = await run(side, tags[round]!));
        process.stdout.write(
          `  round ${round} ${side.padEnd(9)} ${rate(result.rate).padStart(7)} msg/s ` +
            `(${result.seconds.toFixed(2)} s, first record after ${result.firstRecordSeconds.toFixed(2)} s), ` +
            `${result.cpuMicros.toFixed(1)} µs CPU/msg, ${memoryLine(result.memory)}, load ${result.load.toFixed(1)}\n`,
        );
      }
      rounds.push({ first: sequence[0]!, runs });
    }

    // Recovery: the changelog filled straight, then two starts on one stateDir.
    const id = 'bench-tables-recovery';
    const changelog = `${id}-counts-changelog`;
    const source = 'bench-tables-recovery-orders';
    await createTopics(testbed, [{ topic: changelog, config: { 'cleanup.policy': 'compact' } }, { topic: source }]);
    const changelogFilling = process.hrtime.bigint();
    await produce(testbed, changelog, RECOVERY_RECORDS, changelogRecord);
    process.stdout.write(
      `  › ${changelog} filled with ${RECOVERY_RECORDS.toLocaleString('en')} records in ${seconds(changelogFilling).toFixed(1)} s\n`,
    );
    const stateDir = tempStateDir();
    stateDirs.push(stateDir);
    const recoveries: Array<{ phase: string; result: Recovery }> = [];
    for (const phase of ['from empty', 'from checkpoint']) {
      const result = await recover(testbed, id, source, stateDir);
      recoveries.push({ phase, result });
      process.stdout.write(
        `  recovery ${phase.padEnd(15)} ${result.read.toLocaleString('en')} records read in ${result.seconds.toFixed(2)} s ` +
          `(${rate(result.read / result.seconds)} records/s; ${result.recoverySeconds.toFixed(2)} s after assignment), ` +
          `${Number.isNaN(result.cpuMicros) ? '' : `${result.cpuMicros.toFixed(1)} µs CPU/record, `}` +
          `${memoryLine(result.memory)}, load ${result.load.toFixed(1)}\n`,
      );
    }

    // ── results ──
    const ratios = (side: Side) => rounds.map(({ runs }) => runs[side].rate / runs.stateless.rate);
    printTable(
      [
        [
          'round',
          'first',
          'stateless msg/s',
          'memory msg/s',
          'memory/stateless',
          'lmdb msg/s',
          'lmdb/stateless',
          'µs CPU/msg stateless',
          'memory',
          'lmdb',
          'tumbling',
          'hopping',
        ],
        ...rounds.map(({ first, runs }, index) => [
          String(index + 1),
          first,
          rate(runs.stateless.rate),
          rate(runs.memory.rate),
          ratios('memory')[index]!.toFixed(3),
          rate(runs.lmdb.rate),
          ratios('lmdb')[index]!.toFixed(3),
          ...SIDES.map((side) => runs[side].cpuMicros.toFixed(1)),
        ]),
        [
          'median',
          '',
          rate(median(rounds.map(({ runs }) => runs.stateless.rate))),
          rate(median(rounds.map(({ runs }) => runs.memory.rate))),
          median(ratios('memory')).toFixed(3),
          rate(median(rounds.map(({ runs }) => runs.lmdb.rate))),
          median(ratios('lmdb')).toFixed(3),
          ...SIDES.map((side) => median(rounds.map(({ runs }) => runs[side].cpuMicros)).toFixed(1)),
        ],
      ],
      2,
    );
    printTable(
      [
        [
          'recovery',
          'records read',
          'seconds',
          'records/s',
          'after assignment s',
          'records/s after assignment',
          'µs CPU/record',
        ],
        ...recoveries.map(({ phase, result }) => [
          phase,
          result.read.toLocaleString('en'),
          result.seconds.toFixed(2),
          rate(result.read / result.seconds),
          result.recoverySeconds.toFixed(2),
          rate(result.read / result.recoverySeconds),
          Number.isNaN(result.cpuMicros) ? '-' : result.cpuMicros.toFixed(1),
        ]),
      ],
      1,
    );
    const ofTable = (side: Side) => rounds.map(({ runs }) => runs[side].rate / runs.memory.rate);
    printTable(
      [
        ['round', 'table msg/s', 'tumbling 1m msg/s', 'tumbling/table', 'hopping 1m/10s msg/s', 'hopping/table'],
        ...rounds.map(({ runs }, index) => [
          String(index + 1),
          rate(runs.memory.rate),
          rate(runs.tumbling.rate),
          ofTable('tumbling')[index]!.toFixed(3),
          rate(runs.hopping.rate),
          ofTable('hopping')[index]!.toFixed(3),
        ]),
        [
          'median',
          rate(median(rounds.map(({ runs }) => runs.memory.rate))),
          rate(median(rounds.map(({ runs }) => runs.tumbling.rate))),
          median(ofTable('tumbling')).toFixed(3),
          rate(median(rounds.map(({ runs }) => runs.hopping.rate))),
          median(ofTable('hopping')).toFixed(3),
        ],
      ],
      1,
    );
    const peak = (side: Side, of: keyof Memory) => Math.max(...rounds.map(({ runs }) => runs[side].memory[of]));
    printTable(
      [
        ['phase', 'peak RSS MB', 'peak JS heap MB', 'JS heap at start MB'],
        ...SIDES.map((side) => [
          `${side} (max of ${ROUNDS} rounds)`,
          mb(peak(side, 'rss')),
          mb(peak(side, 'heap')),
          mb(peak(side, 'heapAtStart')),
        ]),
        ...recoveries.map(({ phase, result: { memory } }) => [
          `recovery ${phase}`,
          mb(memory.rss),
          mb(memory.heap),
          mb(memory.heapAtStart),
        ]),
        ['whole process (resourceUsage().maxRSS)', mb(process.resourceUsage().maxRSS * 1024), '', ''],
      ],
      1,
    );
    process.stdout.write(
      `\nmedian of ${ROUNDS} paired rounds: memory table ${median(ratios('memory')).toFixed(3)} of stateless, ` +
        `tumbling 1m ${median(ofTable('tumbling')).toFixed(3)} and hopping 1m/10s ${median(ofTable('hopping')).toFixed(3)} of the table, ` +
        `LMDB table ${median(ratios('lmdb')).toFixed(3)} of stateless; recovery from empty ` +
        `${rate(recoveries[0]!.result.read / recoveries[0]!.result.seconds)} records/s, from checkpoint ` +
        `${recoveries[1]!.result.read.toLocaleString('en')} records read in ${recoveries[1]!.result.seconds.toFixed(2)} s\n`,
    );
  } finally {
    await testbed.stop();
    for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
