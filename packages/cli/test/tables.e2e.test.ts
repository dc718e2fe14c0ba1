// Tables across worker processes against the real broker: a kill -9 mid-stream loses no count.
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { brokerChecks, waitUntil } from './helpers/broker-checks.js';
import {
  changelogCounts,
  dumpedCounts,
  lastStatus,
  launchCounter as launchWorker,
  produceOrders as produce,
} from './helpers/counter-workers.js';
import { logEntries, workerPool, type Worker } from './helpers/worker-process.js';

const testbed = useTestbed();
const pool = workerPool(testbed);
const tempDir = (prefix: string) => pool.tempDir(prefix);
const launchCounter = (env: { [name: string]: string }, statePrefix: string) => launchWorker(pool, env, statePrefix);
const produceOrders = (topic: string, total: number, keys: number) => produce(testbed, topic, total, keys);

const checks = brokerChecks(testbed);
afterAll(() => checks.close());
const { withAdmin, committed } = checks;

describe('tables across workers', () => {
  it('counts 200 000 orders over 10 000 keys in two workers, one killed with -9 mid-stream: no count below the truth, table equals changelog', async () => {
    const id = `counter-${randomUUID().slice(0, 8)}`;
    const topic = `orders-${randomUUID().slice(0, 8)}`;
    const dumps = tempDir('counter-dumps-');
    const env = {
      COUNTER_APP_ID: id,
      COUNTER_TOPIC: topic,
      COUNTER_DUMP_DIR: dumps,
    };
    const total = 200_000;
    const keys = 10_000;
    await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: 4 }] }));
    await produceOrders(topic, total, keys);

    const launch = () => launchCounter(env, 'counter-state-');
    const a = launch();
    const b = launch();
    await Promise.all([a.waitFor(/^ready in/, 'worker a'), b.waitFor(/^ready in/, 'worker b')]);
    await waitUntil(async () => (await committed(id, topic)) >= total / 4, 'a quarter committed', 120_000);
    a.process.kill('SIGKILL');
    await a.exited;
    const again = launch();
    await again.waitFor(/^ready in/, 'the restarted worker');
    await waitUntil(async () => (await committed(id, topic)) === total, 'every order committed', 180_000).catch(
      async (error: Error) => {
        const tail = (worker: Worker) => worker.output.slice(-15).join('\n');
        // STREAM_APP_TEST_DUMP=<dir> (with STREAM_APP_TEST_WORKER_LOGLEVEL=debug) keeps every worker's output
        // and the group's offsets when this times out: how the lost commit after a rebalance was found.
        if (process.env.STREAM_APP_TEST_DUMP) {
          for (const [name, worker] of Object.entries({ a, b, again }))
            writeFileSync(`${process.env.STREAM_APP_TEST_DUMP}/${name}.log`, worker.output.join('\n'));
          writeFileSync(
            `${process.env.STREAM_APP_TEST_DUMP}/offsets.json`,
            JSON.stringify(await checks.groupOffsets(id, topic)),
          );
        }
        throw new Error(
          `${error.message}: ${await committed(id, topic)} of ${total} committed\nworker b:\n${tail(b)}\nrestarted worker:\n${tail(again)}`,
        );
      },
    );

    // Every offset committed is not enough: a worker may still be recovering partitions it got last.
    await waitUntil(
      () => {
        const statuses = [again, b].map(lastStatus);
        return statuses.every((s) => s?.recovering === 0) && statuses.flatMap((s) => s?.held ?? []).length === 4;
      },
      'both workers to hold and have recovered all four partitions',
      60_000,
    );
    for (const worker of [again, b]) worker.process.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(await b.exited).toBe(0);

    // What the table held, read through it by the two workers left, against the changelog.
    const held = dumpedCounts(dumps);
    const fromChangelog = await changelogCounts(checks, `${id}-counts-changelog`);
    expect(held.size).toBe(keys);
    expect(fromChangelog.size).toBe(keys);
    const below: string[] = [];
    for (let k = 0; k < keys; k++) {
      const key = `acct-${k}`;
      if ((fromChangelog.get(key) ?? 0) < total / keys) below.push(key);
      expect(held.get(key), key).toBe(fromChangelog.get(key));
    }
    expect(below, 'counts below the truth (at least once allows only more)').toEqual([]);
  }, 400_000);

  it("a standby copy lets the survivor take over a killed owner's partitions replaying only the standby's lag", async () => {
    const id = `standby-${randomUUID().slice(0, 8)}`;
    const topic = `orders-${randomUUID().slice(0, 8)}`;
    const env = { COUNTER_APP_ID: id, COUNTER_TOPIC: topic, COUNTER_STANDBYS: '1' };
    const total = 40_000;
    await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: 4 }] }));
    const launch = () => launchCounter(env, 'standby-state-');
    const owner = launch();
    await owner.waitFor(/^ready in/, 'the first worker');
    const survivor = launch();
    await survivor.waitFor(/^ready in/, 'the second worker');
    // The cooperative hand-over to the second worker is done (and recovered) before anything else happens.
    await survivor.waitFor(/"msg":"partitions assigned".*"partitions":"orders-/, 'the second worker to get partitions');
    await waitUntil(
      () => survivor.output.filter((line) => line.includes('"msg":"table partition recovered"')).length >= 2,
      'the second worker to recover its two partitions',
      30_000,
    );
    await produceOrders(topic, total, 1000);
    await waitUntil(async () => (await committed(id, topic)) === total, 'every order committed', 120_000);
    await survivor.waitFor(/keeping a standby copy/, 'the survivor to keep a standby copy', 30_000);
    // Two follow passes: the standby has read what the owner flushed.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const changelog = await withAdmin((admin) => admin.fetchTopicOffsets(`${id}-counts-changelog`));

    const seenBefore = survivor.output.length;
    owner.process.kill('SIGKILL');
    await owner.exited;
    const recovered = () =>
      logEntries(survivor, seenBefore).filter((entry) => entry.msg === 'table partition recovered') as Array<{
        partition: number;
        records: number;
      }>;
    // The broker notices the dead owner after its session timeout (10 s).
    await waitUntil(() => recovered().length >= 1, 'the survivor to take partitions over', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    if (process.env.STREAM_APP_TEST_DUMP) {
      writeFileSync(`${process.env.STREAM_APP_TEST_DUMP}/survivor.log`, survivor.output.join('\n'));
      writeFileSync(`${process.env.STREAM_APP_TEST_DUMP}/owner.log`, owner.output.join('\n'));
    }
    for (const { partition, records } of recovered()) {
      const high = Number(changelog.find((end) => end.partition === partition)!.high);
      expect(high, `changelog partition ${partition}`).toBeGreaterThan(200);
      expect(records, `records replayed for partition ${partition} of ${high}`).toBeLessThan(50);
    }
    survivor.process.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  }, 300_000);
});
