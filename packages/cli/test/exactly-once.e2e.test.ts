// Exactly once across worker processes against the real broker: a worker killed with -9 mid-stream,
// and a zombie (a worker frozen past its session timeout, then woken), leave no order lost and none
// counted or sent twice, in the output topic (read committed) and in the counting table.
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { brokerChecks, waitUntil } from './helpers/broker-checks.js';
import { countRun, counterRun, finishRun, type CounterRun } from './helpers/counter-runs.js';
import { lastStatus, produceOrders } from './helpers/counter-workers.js';
import { workerPool } from './helpers/worker-process.js';

const testbed = useTestbed();
const pool = workerPool(testbed);
const checks = brokerChecks(testbed);
afterAll(() => checks.close());

const TOTAL = 40_000;
const KEYS = 400;
const context = { pool, checks };

/** Zero lost, zero duplicated: in the output a read-committed consumer sees, in the changelog and in the tables. */
async function expectExactlyOnce(run: CounterRun): Promise<void> {
  const counts = await countRun(context, run, TOTAL, KEYS);
  expect(
    {
      lost: counts.lost,
      duplicated: counts.duplicated,
      countsWrong: counts.countsWrong,
      outputCountsWrong: counts.outputCountsWrong,
    },
    counts.detail,
  ).toEqual({ lost: 0, duplicated: 0, countsWrong: 0, outputCountsWrong: 0 });
}

describe('exactly once across worker processes', () => {
  // It once failed 3 runs in 5 (a partition's first ~4 100 orders twice). The runtime now avoids three causes
  // (docs/exactly-once.md): a seek the client kept from when the worker no longer held the partition (shown by
  // runtime-ports.e2e.test.ts); a partition started from auto.offset.reset (offset 0) when the assignment changed
  // while an open transaction held its committed offset back (UNSTABLE_OFFSET_COMMIT; found by reading librdkafka);
  // and the client reading a partition again from 0 by itself after pauses (caught with its debug log on).
  it('kill -9 of a worker mid-stream, then a restart: no order lost or duplicated, every count exact', async () => {
    const run = await counterRun(context, 'eos-kill', 'exactly_once');
    const { id, topic } = run;
    await produceOrders(testbed, topic, TOTAL, KEYS);
    const a = run.launch();
    const b = run.launch();
    await Promise.all([a.waitFor(/^ready in/, 'worker a'), b.waitFor(/^ready in/, 'worker b')]);
    await waitUntil(async () => (await checks.committed(id, topic)) >= TOTAL / 4, 'a quarter committed', 120_000);
    a.process.kill('SIGKILL');
    await a.exited;
    const again = run.launch();
    await again.waitFor(/^ready in/, 'the restarted worker');
    await finishRun(context, run, [again, b], TOTAL);
    await expectExactlyOnce(run);
  }, 400_000);

  // It once lost records in about one run in eight (392 of 40 000) when the woken zombie's aborts and rewinds
  // met the rebalance that gave it partitions back: a pause's seek past the committed offset, kept by the client
  // and applied later, explains it, and the consumer no longer lets one through.
  it('a zombie (frozen past its session timeout, then woken) is fenced: its transaction never commits', async () => {
    // Each order takes 1 ms, so that the frozen worker holds events and an open transaction.
    const run = await counterRun(context, 'eos-zombie', 'exactly_once', { COUNTER_SLOW_MS: '1' });
    const { id, topic } = run;
    const zombie = run.launch();
    const other = run.launch();
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
    await finishRun(context, run, [zombie, other], TOTAL);
    await expectExactlyOnce(run);
    expect(zombie.output.some((line) => line.includes('STREAM_APP_ERR_TRANSACTION_ABORTED'))).toBe(true);
  }, 400_000);
});
