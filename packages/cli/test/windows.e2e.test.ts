// Windowed tables across worker processes against the real broker: a generated stream with
// out-of-order and late events, one of two workers killed with -9 mid-window and restarted on its
// state directory; every window closes once, with the value a reference computes, and what expired
// is gone from the stores and the changelogs.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { adminKafka } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  generateEvents,
  referenceCount,
  type ReferenceEvent,
  type ReferenceKind,
} from '../../core/test/helpers/window-reference.js';
import { brokerChecks, waitUntil } from './helpers/broker-checks.js';
import { workerPool, type Worker } from './helpers/worker-process.js';

const testbed = useTestbed();
const WINDOWS_APP = fileURLToPath(new URL('./fixtures/windows-app.ts', import.meta.url));
const pool = workerPool(testbed);
const checks = brokerChecks(testbed);
afterAll(() => checks.close());

const KINDS: { [table: string]: ReferenceKind } = {
  tumbling: { type: 'tumbling', size: 60_000 },
  hopping: { type: 'hopping', size: 60_000, step: 20_000 },
  sliding: { type: 'sliding', size: 30_000 },
  session: { type: 'session', gap: 15_000 },
};
const GRACE = 5_000;

async function produce(topic: string, events: ReferenceEvent[]): Promise<void> {
  const producer = adminKafka(testbed.kafka).producer();
  await producer.connect();
  try {
    // One partition's events in order, one send at a time per partition: the order the reference assumes.
    for (const partition of [0, 1]) {
      await producer.send({
        topic,
        messages: events
          .filter((event) => event.partition === partition)
          .map(({ key, time }) => ({
            key,
            value: JSON.stringify({ user: key }),
            partition,
            timestamp: String(time),
          })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

describe('windowed tables across workers', () => {
  it('four kinds of windows close as the reference says, once each, with a worker killed mid-window; expired windows are gone after the restart', async () => {
    const id = `windows-${randomUUID().slice(0, 8)}`;
    const topic = `views-${randomUUID().slice(0, 8)}`;
    const dumps = pool.tempDir('windows-dumps-');
    await checks.withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }));
    // Two days ago: inside the topic's retention, and never "in the future" for the broker.
    const start = Date.now() - 2 * 86_400_000;
    const events = generateEvents({
      seed: 11,
      count: 1_200,
      keys: 8,
      partitions: 2,
      start,
      stepMs: 1_000,
      jitterMs: 4_000,
      lateEvery: 29,
      lateByMs: 90_000,
    });
    // A last event per partition ten hours on closes (and expires) every other window.
    const ends = [0, 1].map((partition) => ({ key: 'end', time: start + 10 * 3_600_000, partition }));
    const firstPart = events.slice(0, 700);
    const secondPart = [...events.slice(700), ...ends];

    const stateA = pool.tempDir('windows-state-a-');
    const launch = (state: string) =>
      pool.start(WINDOWS_APP, {
        WINDOWS_APP_ID: id,
        WINDOWS_TOPIC: topic,
        WINDOWS_STATE_DIR: state,
        WINDOWS_DUMP_DIR: dumps,
      });
    const a = launch(stateA);
    const b = launch(pool.tempDir('windows-state-b-'));
    await Promise.all([a.waitFor(/^ready in/, 'worker a'), b.waitFor(/^ready in/, 'worker b')]);

    await produce(topic, firstPart);
    await waitUntil(
      async () => (await checks.committed(id, topic)) === firstPart.length,
      'the first part committed',
      90_000,
    );
    // Mid-window: every window of the last minute is open. The killed worker comes back on its LMDB state.
    a.process.kill('SIGKILL');
    await a.exited;
    const again = launch(stateA);
    await again.waitFor(/^ready in/, 'the restarted worker');
    await produce(topic, secondPart);
    const total = events.length + ends.length;
    await waitUntil(async () => (await checks.committed(id, topic)) === total, 'every event committed', 120_000);
    await waitUntil(
      () => [again, b].every((worker) => lastStatus(worker)?.recovering === 0),
      'both workers to have recovered what they hold',
      60_000,
    );
    for (const worker of [again, b]) worker.process.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(await b.exited).toBe(0);

    // Every onWindowClose, as sent by the workers, against the reference.
    const announced = new Map<string, Map<string, number>>(Object.keys(KINDS).map((table) => [table, new Map()]));
    const twice: string[] = [];
    for (const { value } of await checks.readTopic(`${topic}-closes`)) {
      const close = JSON.parse(value!) as { table: string; key: string; start: number; end: number; value: number };
      if (close.key === 'end') continue;
      const id = `${close.key} ${close.start} ${close.end}`;
      if (announced.get(close.table)!.has(id)) twice.push(`${close.table} ${id}`);
      announced.get(close.table)!.set(id, close.value);
    }
    expect(twice, 'windows closed twice').toEqual([]);
    const all = [...events, ...ends];
    for (const [table, kind] of Object.entries(KINDS)) {
      const expected = referenceCount(kind, GRACE, all);
      expect(expected.closed.size, table).toBeGreaterThan(20);
      expect(announced.get(table), table).toEqual(expected.closed);
    }

    // The tumbling table sends what is late to the dead-letter topic, with its code.
    const late = (await checks.readTopic(`${id}-dead-letters`)).filter(
      (record) => record.headers['stream-app.error.code'] === 'STREAM_APP_ERR_LATE_EVENT',
    );
    expect(late.length).toBe(referenceCount(KINDS.tumbling!, GRACE, all).late);
    expect(late.length).toBeGreaterThan(10);

    // Expired: the stores (dumped by each worker on SIGTERM) and the changelogs keep only the last windows.
    expect(readdirSync(dumps)).toHaveLength(2); // one per worker still running at the end
    for (const file of readdirSync(dumps)) {
      const held = JSON.parse(readFileSync(join(dumps, file), 'utf8')) as Array<{
        table: string;
        windows: Array<{ key: string }>;
      }>;
      for (const { table, windows } of held) {
        expect(
          windows.filter((window) => window.key !== 'end'),
          `${table} windows left in a store`,
        ).toEqual([]);
      }
    }
    for (const table of Object.keys(KINDS)) {
      const live = new Map<string, string>();
      for (const { key, value } of await checks.readTopic(`${id}-${table}-changelog`)) {
        if (value === null) live.delete(key!);
        else live.set(key!, value);
      }
      const left = [...live.keys()].filter((key) => key !== '~stream-time' && !key.endsWith('|send'));
      expect(left, `${table} windows left in the changelog`).toEqual([]);
      expect(live.get('~stream-time')).toBe(String(start + 10 * 3_600_000));
    }
  }, 300_000);
});

function lastStatus(worker: Worker): { recovering: number } | undefined {
  for (let i = worker.output.length - 1; i >= 0; i--) {
    const line = worker.output[i]!;
    if (line.includes('"msg":"windows status"')) return JSON.parse(line) as { recovering: number };
  }
  return undefined;
}
