// Tables against the real broker: changelogs, LMDB checkpoints, recovery of the tail, a truncated
// changelog, co-partitioning refused at start. The kill -9 count over two workers is in
// packages/cli/test/tables.e2e.test.ts (it needs worker processes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type App, type LogFields, type TableRecoveryProgress } from '@stream-app/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  committedOffsets,
  createTopic,
  eventually,
  makeApp,
  produceRaw,
  stoppedAfterEachTest,
  uniqueName,
  withAdmin,
} from './helpers/broker.js';

const track = stoppedAfterEachTest();
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stream-app-tables-e2e-'));
  dirs.push(dir);
  return dir;
}

interface Counter {
  app: App;
  counts: ReturnType<App['table']>;
  recoveries: TableRecoveryProgress[];
  warnings: Array<{ msg: string; fields: LogFields }>;
}

/** Counts accounts per key into an LMDB table. */
function counter(id: string, topic: string, dir: string, partitions = 2): Counter {
  const warnings: Counter['warnings'] = [];
  const app = makeApp({
    id,
    topicPartitions: partitions,
    stateDir: dir,
    logger: createLogger({
      level: 'warn',
      write: (line) => {
        const entry = JSON.parse(line) as { level: string; msg: string } & LogFields;
        if (entry.level === 'warn') warnings.push({ msg: entry.msg, fields: entry });
      },
    }),
  });
  const counts = app.table<number>('counts', { default: () => 0, store: 'lmdb' });
  app.agent(app.topic<{ account: string }>(topic), async (stream) => {
    for await (const order of stream) counts.set(order.account, counts.get(order.account)! + 1);
  });
  const recoveries: TableRecoveryProgress[] = [];
  app.addSensor({ onTableRecovery: (progress) => void recoveries.push(progress) });
  track(app);
  return { app, counts: counts as ReturnType<App['table']>, recoveries, warnings };
}

const orders = (from: number, count: number, keys: number) =>
  Array.from({ length: count }, (_, i) => {
    const account = `acct-${(from + i) % keys}`;
    return { key: account, value: JSON.stringify({ account }) };
  });

const replayed = (recoveries: TableRecoveryProgress[]) =>
  recoveries.filter((p) => p.done && p.purpose !== 'standby').reduce((sum, p) => sum + p.read, 0);

/** The sum of a topic's high watermarks: how many records it was ever written. */
async function endOffsets(topic: string): Promise<number> {
  return withAdmin(async (admin) =>
    (await admin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0),
  );
}

/** What the group committed over every partition; -1 while its coordinator is still loading (a fresh broker). */
async function committedTotal(id: string, topic: string): Promise<number> {
  const offsets = await committedOffsets(id, topic).catch(() => undefined);
  return offsets ? [...offsets.values()].reduce((a, b) => a + b, 0) : -1;
}

describe('tables on the broker', () => {
  it('a restart with the LMDB store replays only the tail of the changelog', async () => {
    const topic = uniqueName('orders');
    const id = uniqueName('counter');
    await createTopic(topic, 2);
    const dir = stateDir();
    const first = counter(id, topic, dir);
    await first.app.start();
    // Ten rounds, each finished and committed before the next: ten flushes into the changelog.
    for (let round = 0; round < 10; round++) {
      await produceRaw(topic, orders(round * 100, 100, 100));
      await eventually(async () => (await committedTotal(id, topic)) === (round + 1) * 100, `round ${round} committed`);
    }
    expect(first.counts.get('acct-42')).toBe(10);
    await first.app.stop();
    expect(await endOffsets(`${id}-counts-changelog`)).toBeGreaterThanOrEqual(500);

    const second = counter(id, topic, dir);
    await second.app.start();
    await eventually(() => second.recoveries.filter((p) => p.done).length === 2, 'both partitions recovered');
    expect(second.counts.get('acct-42')).toBe(10);
    // The checkpoint sits at the first record of each partition's last flush: at most that flush is replayed.
    expect(replayed(second.recoveries)).toBeLessThanOrEqual(100);
    expect(replayed(second.recoveries)).toBeGreaterThan(0);
    await produceRaw(topic, orders(0, 100, 100));
    await eventually(() => second.counts.get('acct-42') === 11, 'the next round counted on top');
  });

  it('recovers from the earliest offset, with a warning, when the changelog was truncated below the checkpoint', async () => {
    const topic = uniqueName('orders');
    const id = uniqueName('counter');
    await createTopic(topic, 1);
    // Kafka refuses DeleteRecords on a compact-only topic (POLICY_VIOLATION): truncation happens to changelogs
    // that also delete (retention), so this one is made so beforehand, with an infinite retention.
    const changelog = `${id}-counts-changelog`;
    await withAdmin((admin) =>
      admin.createTopics({
        topics: [
          {
            topic: changelog,
            numPartitions: 1,
            configEntries: [
              { name: 'cleanup.policy', value: 'compact,delete' },
              { name: 'retention.ms', value: '-1' },
            ],
          },
        ],
      }),
    );
    const dir = stateDir();
    const first = counter(id, topic, dir, 1);
    await first.app.start();
    for (let round = 0; round < 4; round++) {
      await produceRaw(topic, orders(0, 50, 50));
      await eventually(async () => (await committedTotal(id, topic)) === (round + 1) * 50, `round ${round}`);
    }
    await first.app.stop();
    // Delete everything up to the end: the checkpoint now points below the changelog's first offset.
    await withAdmin(async (admin) => {
      const [marks] = await admin.fetchTopicOffsets(changelog);
      await admin.deleteTopicRecords({ topic: changelog, partitions: [{ partition: 0, offset: marks!.high }] });
    });

    const second = counter(id, topic, dir, 1);
    await second.app.start();
    await eventually(() => second.recoveries.some((p) => p.done), 'the recovery to finish');
    expect(second.warnings.map((w) => w.fields.code)).toContain('STREAM_APP_ERR_CHECKPOINT_OUT_OF_RANGE');
    // What the changelog no longer has is gone from the store too: data and checkpoint agree.
    expect([...second.counts.keys()]).toEqual([]);
    await produceRaw(topic, orders(0, 5, 5));
    await eventually(() => second.counts.get('acct-3') === 1, 'processing to go on after the recovery');
  });

  it('fails the start with a coded error when the agent topic and the table differ in partitions; nothing is processed', async () => {
    const topic = uniqueName('orders');
    const id = uniqueName('counter');
    await createTopic(topic, 3);
    await produceRaw(topic, orders(0, 10, 10));
    const { app } = counter(id, topic, stateDir(), 2);
    const error = await app.start().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'STREAM_APP_ERR_TABLE_PARTITIONS',
      details: { table: 'counts', topic, expected: 2, actual: 3 },
    });
    expect((error as Error).message).toContain('{ partitions: 3 }');
    expect(await committedOffsets(id, topic)).toEqual(new Map());
  });
});
