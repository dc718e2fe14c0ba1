// Consumer-group behaviour with more than one worker: cooperative-sticky hand-over, hooks, static membership.
import type { TopicPartition } from '@stream-app/core';
import { describe, expect, it } from 'vitest';
import {
  committedOffsets,
  createTopic,
  eventually,
  makeApp,
  produceRaw,
  stoppedAfterEachTest,
  uniqueName,
} from './helpers/broker.js';

const track = stoppedAfterEachTest();

const names = (partitions: TopicPartition[]) => partitions.map((p) => p.partition).sort();

function worker(id: string, topic: string, seen: number[], extra: Parameters<typeof makeApp>[0] | object = {}) {
  const assigned: number[][] = [];
  const revoked: number[][] = [];
  const app = makeApp({
    id,
    sessionTimeoutMs: 10_000,
    onPartitionsAssigned: (partitions) => void assigned.push(names(partitions)),
    onPartitionsRevoked: (partitions) => void revoked.push(names(partitions)),
    ...extra,
  });
  app.agent(app.topic(topic), async (stream) => {
    for await (const value of stream) seen.push((value as { n: number }).n);
  });
  track(app);
  return { app, assigned, revoked };
}

describe('consumer group', () => {
  it('shares partitions between two workers cooperatively and hands them back when one stops', async () => {
    const topic = uniqueName('shared');
    const id = uniqueName('group');
    await createTopic(topic, 4);
    const seen: number[] = [];
    const a = worker(id, topic, seen);
    await a.app.start();
    await eventually(() => a.assigned.flat().length === 4, 'the first worker to own all four partitions');
    await produceRaw(
      topic,
      Array.from({ length: 40 }, (_, n) => ({ value: JSON.stringify({ n }), partition: n % 4 })),
    );
    await eventually(() => seen.length === 40, 'the first 40');

    const b = worker(id, topic, seen);
    await b.app.start();
    await eventually(() => b.assigned.flat().length === 2, 'the second worker to get two partitions');
    // Cooperative: the first worker gave up only what moved, and never all four at once.
    expect(a.revoked.flat().sort()).toEqual(b.assigned.flat().sort());
    expect(a.revoked.every((partitions) => partitions.length < 4)).toBe(true);

    await produceRaw(
      topic,
      Array.from({ length: 40 }, (_, n) => ({ value: JSON.stringify({ n: 40 + n }), partition: n % 4 })),
    );
    await eventually(() => new Set(seen).size === 80, 'the next 40, across both workers');

    await b.app.stop();
    await eventually(() => a.assigned.flat().length === 6, 'the first worker to take the two partitions back');
    const offsets = await committedOffsets(id, topic);
    expect([...offsets.values()].reduce((sum, offset) => sum + offset, 0)).toBe(80);
  });

  it('keeps partitions across a quick restart with static membership, without moving the others', async () => {
    const topic = uniqueName('static');
    const id = uniqueName('static-group');
    await createTopic(topic, 4);
    const seen: number[] = [];
    const a = worker(id, topic, seen, { groupInstanceId: 'worker-a' });
    const b = worker(id, topic, seen, { groupInstanceId: 'worker-b' });
    await a.app.start();
    await b.app.start();
    await eventually(
      () =>
        a.assigned.flat().length - a.revoked.flat().length + b.assigned.flat().length - b.revoked.flat().length === 4,
      'four partitions shared',
    );
    await eventually(() => b.assigned.flat().length - b.revoked.flat().length === 2, 'two each', 20_000);
    const owned = a.assigned
      .flat()
      .filter((p) => !a.revoked.flat().includes(p))
      .sort();
    await a.app.stop();
    const bRevocations = b.revoked.length;

    const again = worker(id, topic, seen, { groupInstanceId: 'worker-a' });
    await again.app.start();
    await eventually(() => again.assigned.flat().length === 2, 'the restarted worker to get its partitions');
    expect(again.assigned.flat().sort()).toEqual(owned);
    expect(b.revoked.length).toBe(bRevocations); // the other worker was not disturbed
  });
});
