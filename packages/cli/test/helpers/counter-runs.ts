// A counting run of the counter app (fixtures/counter-app.ts): topics made, workers launched, the
// end waited for, and what came out counted against what went in. The exactly-once tests and the
// reliability suite break things in between.
import { randomUUID } from 'node:crypto';
import type { BrokerChecks } from './broker-checks.js';
import { waitUntil } from './broker-checks.js';
import { changelogCounts, dumpedCounts, lastStatus, launchCounter } from './counter-workers.js';
import type { Worker, workerPool } from './worker-process.js';

export type Guarantee = 'at_least_once' | 'exactly_once';

export interface CounterRun {
  id: string;
  topic: string;
  output: string;
  deadLetters: string;
  dumps: string;
  guarantee: Guarantee;
  /** The pids of the workers `finishRun` stopped: their tables are the run's last word. */
  finishedPids?: number[];
  /** Starts one more counter worker on the run's topics. */
  launch(extraEnv?: { [name: string]: string }): Worker;
}

export interface RunContext {
  pool: ReturnType<typeof workerPool>;
  checks: BrokerChecks;
}

/** A fresh app id, input and output topics (4 partitions each) for a run. */
export async function counterRun(
  { pool, checks }: RunContext,
  name: string,
  guarantee: Guarantee,
  env: { [name: string]: string } = {},
): Promise<CounterRun> {
  const suffix = randomUUID().slice(0, 8);
  const id = `${name}-${suffix}`;
  const topic = `${name}-orders-${suffix}`;
  const output = `${name}-counted-${suffix}`;
  const dumps = pool.tempDir(`${name}-dumps-`);
  await checks.withAdmin((admin) =>
    admin.createTopics({
      topics: [
        // Room for the oversized order of the poison case (the broker's default is 1 MB).
        { topic, numPartitions: 4, configEntries: [{ name: 'max.message.bytes', value: String(4 << 20) }] },
        { topic: output, numPartitions: 4 },
      ],
    }),
  );
  const runEnv = {
    COUNTER_APP_ID: id,
    COUNTER_TOPIC: topic,
    COUNTER_OUTPUT: output,
    COUNTER_GUARANTEE: guarantee,
    COUNTER_DUMP_DIR: dumps,
    ...env,
  };
  return {
    id,
    topic,
    output,
    deadLetters: `${id}-dead-letters`,
    dumps,
    guarantee,
    launch: (extraEnv = {}) => launchCounter(pool, { ...runEnv, ...extraEnv }, `${name}-state-`),
  };
}

/**
 * Waits until `inputRecords` offsets are committed and the workers hold all four partitions,
 * recovered, then stops them with SIGTERM (each writes what its table holds).
 */
export async function finishRun(
  { checks }: RunContext,
  run: CounterRun,
  workers: Worker[],
  inputRecords: number,
  timeoutMs = 180_000,
): Promise<void> {
  await waitUntil(
    async () => (await checks.committed(run.id, run.topic)) === inputRecords,
    'every order committed',
    timeoutMs,
  ).catch(async (error: Error) => {
    const tails = workers.map((worker, i) => `worker ${i}:\n${worker.output.slice(-12).join('\n')}`).join('\n');
    throw new Error(
      `${error.message}: ${await checks.committed(run.id, run.topic)} of ${inputRecords} committed\n${tails}`,
    );
  });
  // Status lines printed from now on, eight in a row: a rebalance still under way must not pass for the end.
  const from = workers.map((worker) => worker.output.length);
  let settled = 0;
  await waitUntil(
    () => {
      const statuses = workers.map((worker, i) => (worker.output.length > from[i]! ? lastStatus(worker) : undefined));
      const ok = statuses.every((s) => s?.recovering === 0) && statuses.flatMap((s) => s?.held ?? []).length === 4;
      settled = ok ? settled + 1 : 0;
      return settled >= 8; // 8 checks 250 ms apart
    },
    'the workers to hold and have recovered all four partitions',
    60_000,
  );
  run.finishedPids = workers.map((worker) => worker.process.pid!);
  for (const worker of workers) worker.process.kill('SIGTERM');
  const codes = await Promise.all(workers.map((worker) => worker.exited));
  if (codes.some((code) => code !== 0)) throw new Error(`a worker exited with ${codes.join(', ')}`);
}

export interface RunCounts {
  /** Orders produced (valid ones, numbered 0 … orders - 1). */
  orders: number;
  /** Orders in the output, read committed, each once. */
  delivered: number;
  lost: number;
  duplicated: number;
  /** Accounts whose count in the changelog or a worker's table differs from the orders sent for it. */
  countsWrong: number;
  /** Of those, accounts counted short: an order lost in the table. */
  countsShort: number;
  /** Accounts whose counts in the output are not 1 … their orders, each once: an order counted twice. */
  outputCountsWrong: number;
  deadLetters: number;
  /** Where it went wrong, for the failure message. */
  detail: string;
}

interface Counted {
  account: string;
  n: number;
  count: number;
}

/** Counts the output (read committed), the changelog, the workers' tables and the dead letters of a finished run. */
export async function countRun(
  { checks }: RunContext,
  run: CounterRun,
  orders: number,
  keys: number,
): Promise<RunCounts> {
  const records = await checks.readCommitted(run.output);
  const out = records.map((record) => JSON.parse(record.value!) as Counted);
  const seen = new Map<number, number>();
  for (const { n } of out) seen.set(n, (seen.get(n) ?? 0) + 1);
  const duplicated = [...seen].filter(([, times]) => times > 1).map(([n]) => n);
  const lost = Array.from({ length: orders }, (_, n) => n).filter((n) => !seen.has(n));
  // By output partition (one account's orders all go to one): the first few of each.
  const partitionOf = new Map(out.map(({ account }, i) => [account, records[i]!.partition]));
  const where = (ns: number[]) => {
    const byPartition = new Map<number, number[]>();
    for (const n of ns) {
      const partition = partitionOf.get(`acct-${n % keys}`) ?? -1;
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), n]);
    }
    return [...byPartition].map(([p, list]) => `p${p}: ${list.length} (${list.slice(0, 5).join(',')}…)`).join('; ');
  };
  const twice = duplicated.slice(0, 3).map((n) =>
    records
      .filter((_, i) => out[i]!.n === n)
      .map((r) => `${r.partition}@${r.offset}:${r.value}`)
      .join(' & '),
  );
  const perAccount = (k: number) => Math.floor(orders / keys) + (k < orders % keys ? 1 : 0);
  const changelog = await changelogCounts(checks, `${run.id}-counts-changelog`, true);
  const held = dumpedCounts(run.dumps, run.finishedPids);
  let countsWrong = 0;
  let countsShort = 0;
  const wrong: string[] = [];
  for (let k = 0; k < keys; k++) {
    const expected = perAccount(k);
    const values = [changelog.get(`acct-${k}`) ?? 0, held.get(`acct-${k}`) ?? 0];
    if (values.some((v) => v !== expected)) {
      countsWrong++;
      if (wrong.length < 3) wrong.push(`acct-${k}: ${values.join('/')} of ${expected}`);
    }
    if (values.some((v) => v < expected)) countsShort++;
  }
  const byAccount = new Map<string, number[]>();
  for (const { account, count } of out) byAccount.set(account, [...(byAccount.get(account) ?? []), count]);
  let outputCountsWrong = 0;
  for (let k = 0; k < keys; k++) {
    const counts = (byAccount.get(`acct-${k}`) ?? []).sort((a, b) => a - b);
    if (counts.length !== perAccount(k) || counts.some((count, i) => count !== i + 1)) outputCountsWrong++;
  }
  // A run without a dead letter has no such topic: read as none.
  const deadLetters = (await checks.readCommitted(run.deadLetters)).length;
  return {
    orders,
    delivered: seen.size,
    lost: lost.length,
    duplicated: duplicated.length,
    countsWrong,
    countsShort,
    outputCountsWrong,
    deadLetters,
    detail: `lost ${where(lost)} / duplicated ${where(duplicated)}: ${twice.join(' | ')} / counts (changelog/table) ${wrong.join(', ')}`,
  };
}
