// Exactly once across worker processes against the real broker: a worker killed with -9 mid-stream,
// and a zombie (a worker frozen past its session timeout, then woken), leave no order lost and none
// counted or sent twice, in the output topic (read committed) and in the counting table.
import { randomUUID } from 'node:crypto';
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { brokerChecks, waitUntil } from './helpers/broker-checks.js';
import { changelogCounts, dumpedCounts, lastStatus, launchCounter, produceOrders } from './helpers/counter-workers.js';
import { workerPool, type Worker } from './helpers/worker-process.js';

const testbed = useTestbed();
const pool = workerPool(testbed);
const checks = brokerChecks(testbed);
afterAll(() => checks.close());

const TOTAL = 40_000;
const KEYS = 400;

interface Counted {
  account: string;
  n: number;
  count: number;
}

/** A fresh app, input and output; `launch` starts an exactly-once counter worker on them. */
async function scenario(name: string, extraEnv: { [name: string]: string } = {}) {
  const suffix = randomUUID().slice(0, 8);
  const id = `${name}-${suffix}`;
  const topic = `eos-orders-${suffix}`;
  const output = `eos-counted-${suffix}`;
  const dumps = pool.tempDir('eos-dumps-');
  await checks.withAdmin((admin) =>
    admin.createTopics({
      topics: [
        { topic, numPartitions: 4 },
        { topic: output, numPartitions: 4 },
      ],
    }),
  );
  const env = {
    COUNTER_APP_ID: id,
    COUNTER_TOPIC: topic,
    COUNTER_OUTPUT: output,
    COUNTER_GUARANTEE: 'exactly_once',
    COUNTER_DUMP_DIR: dumps,
    ...extraEnv,
  };
  return { id, topic, output, dumps, launch: () => launchCounter(pool, env, 'eos-state-') };
}

/** Waits until every order is committed and the workers left hold all four partitions, recovered; stops them. */
async function finish(id: string, topic: string, workers: Worker[]): Promise<void> {
  await waitUntil(async () => (await checks.committed(id, topic)) === TOTAL, 'every order committed', 180_000).catch(
    async (error: Error) => {
      const tails = workers.map((worker, i) => `worker ${i}:\n${worker.output.slice(-12).join('\n')}`).join('\n');
      throw new Error(`${error.message}: ${await checks.committed(id, topic)} of ${TOTAL} committed\n${tails}`);
    },
  );
  // Status lines printed from now on, twice in a row: a rebalance still under way must not pass for the end.
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
  for (const worker of workers) worker.process.kill('SIGTERM');
  for (const worker of workers) expect(await worker.exited).toBe(0);
}

/** Zero lost, zero duplicated: in the output a read-committed consumer sees, in the changelog and in the tables. */
async function expectExactlyOnce(id: string, output: string, dumps: string): Promise<void> {
  const records = await checks.readCommitted(output);
  const out = records.map((record) => JSON.parse(record.value!) as Counted);
  const seen = new Map<number, number>();
  for (const { n } of out) seen.set(n, (seen.get(n) ?? 0) + 1);
  const duplicated = [...seen].filter(([, times]) => times > 1).map(([n]) => n);
  const lost = Array.from({ length: TOTAL }, (_, n) => n).filter((n) => !seen.has(n));
  // Where it went wrong, by output partition (one account's orders all go to one): the first few of each.
  const partitionOf = new Map(out.map(({ account }, i) => [account, records[i]!.partition]));
  const where = (ns: number[]) => {
    const byPartition = new Map<number, number[]>();
    for (const n of ns) {
      const partition = partitionOf.get(`acct-${n % KEYS}`) ?? -1;
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
  expect(
    { lost: lost.length, duplicated: duplicated.length },
    `lost ${where(lost)} / duplicated ${where(duplicated)}: ${twice.join(' | ')}`,
  ).toEqual({ lost: 0, duplicated: 0 });
  expect(out).toHaveLength(TOTAL);
  // Each account's counts, as sent, run 1 … TOTAL / KEYS: no event was counted twice in the table.
  const byAccount = new Map<string, number[]>();
  for (const { account, count } of out) byAccount.set(account, [...(byAccount.get(account) ?? []), count]);
  for (const [account, counts] of byAccount)
    expect(
      counts.sort((a, b) => a - b),
      account,
    ).toEqual(Array.from({ length: TOTAL / KEYS }, (_, i) => i + 1));
  const changelog = await changelogCounts(checks, `${id}-counts-changelog`, true);
  const held = dumpedCounts(dumps);
  expect(changelog.size).toBe(KEYS);
  for (let k = 0; k < KEYS; k++) {
    expect(changelog.get(`acct-${k}`), `acct-${k} in the changelog`).toBe(TOTAL / KEYS);
    expect(held.get(`acct-${k}`), `acct-${k} in the table`).toBe(TOTAL / KEYS);
  }
}

describe('exactly once across worker processes', () => {
  // Skipped: a known bug, open in issue 12. It failed 3 of its last 5 runs: a partition's first ~4 100-4 300 orders
  // came out twice. One cause is fixed (the client applied a seek kept from when the worker no longer held the
  // partition; runtime-ports.e2e.test.ts shows it), but the run after the fix still failed: the worker that took
  // input partition 0 over from another, two seconds after that one's transaction with offset 4096 for it had
  // committed, read it from offset 0, while the table it recovered had those counts. Unskip it with the fix.
  it.skip('kill -9 of a worker mid-stream, then a restart: no order lost or duplicated, every count exact', async () => {
    const { id, topic, output, dumps, launch } = await scenario('eos-kill');
    await produceOrders(testbed, topic, TOTAL, KEYS);
    const a = launch();
    const b = launch();
    await Promise.all([a.waitFor(/^ready in/, 'worker a'), b.waitFor(/^ready in/, 'worker b')]);
    await waitUntil(async () => (await checks.committed(id, topic)) >= TOTAL / 4, 'a quarter committed', 120_000);
    a.process.kill('SIGKILL');
    await a.exited;
    const again = launch();
    await again.waitFor(/^ready in/, 'the restarted worker');
    await finish(id, topic, [again, b]);
    await expectExactlyOnce(id, output, dumps);
  }, 400_000);

  // Skipped: a known bug, open in issue 12. In about one run of eight, records were lost (392 of 40 000) when the
  // woken zombie's aborts and rewinds met the rebalance that gave it partitions back. It passed its one run since
  // the kept-seek fix (which can explain a loss: a pause's seek past the committed offset, applied later); it
  // stays skipped until loops show it stable.
  it.skip('a zombie (frozen past its session timeout, then woken) is fenced: its transaction never commits', async () => {
    // Each order takes 1 ms, so that the frozen worker holds events and an open transaction.
    const { id, topic, output, dumps, launch } = await scenario('eos-zombie', { COUNTER_SLOW_MS: '1' });
    const zombie = launch();
    const other = launch();
    await Promise.all([zombie.waitFor(/^ready in/, 'worker a'), other.waitFor(/^ready in/, 'worker b')]);
    await waitUntil(
      () => [zombie, other].every((worker) => (lastStatus(worker)?.held.length ?? 0) === 2),
      'two partitions each',
      60_000,
    );
    await produceOrders(testbed, topic, TOTAL, KEYS);
    await waitUntil(async () => (await checks.committed(id, topic)) >= TOTAL / 4, 'a quarter committed', 120_000);
    zombie.process.kill('SIGSTOP');
    // The group gives the frozen worker's partitions to the other after the session timeout (10 s).
    await waitUntil(() => lastStatus(other)?.held.length === 4, 'the other worker to take every partition', 60_000);
    zombie.process.kill('SIGCONT');
    // Woken, it learns it lost its partitions, and what it had in its transaction is refused and aborted.
    await zombie.waitFor(/"msg":"partitions lost"/, 'the zombie to learn it lost its partitions', 30_000);
    await finish(id, topic, [zombie, other]);
    await expectExactlyOnce(id, output, dumps);
    expect(zombie.output.some((line) => line.includes('STREAM_APP_ERR_TRANSACTION_ABORTED'))).toBe(true);
  }, 400_000);
});
