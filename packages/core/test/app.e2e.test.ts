// The streaming core against the real broker and identity provider: what the issue asks to prove.
import { DEAD_LETTER_HEADERS, type StreamEvent } from '@stream-app/core';
import { describe, expect, it } from 'vitest';
import { instanceFor } from '../src/agents/agent-runner.js';
import {
  committedOffsets,
  createTopic,
  eventually,
  makeApp,
  produceRaw,
  readTopic,
  uniqueName,
  Order,
  stoppedAfterEachTest,
} from './helpers/broker.js';

const track = stoppedAfterEachTest();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('App against a real broker', () => {
  it('keeps per-key order with concurrency 8', async () => {
    const topic = uniqueName('orders');
    await createTopic(topic, 4);
    const app = track(makeApp({ id: uniqueName('order-app') }));
    const orders = app.topic(topic, { valueType: 'json' });
    const seen = new Map<string, number[]>();
    const instancesUsed = new Set<number>();
    let inFlight = 0;
    let maxInFlight = 0;
    app.agent(
      orders,
      async function (stream) {
        for await (const event of stream.events()) {
          inFlight += 1;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(Math.random() * 4);
          const { n } = event.value as { n: number };
          const key = String(event.key);
          seen.set(key, [...(seen.get(key) ?? []), n]);
          instancesUsed.add(instanceFor(event.message.key, event.partition, 8));
          inFlight -= 1;
        }
      },
      { concurrency: 8, name: 'ordered' },
    );
    const keys = Array.from({ length: 16 }, (_, i) => `account-${i}`);
    const messages = keys.flatMap((key) => Array.from({ length: 25 }, (_, n) => ({ key, n })));
    // Interleave keys, and spread each key's messages over the partition its key hashes to.
    messages.sort((a, b) => a.n - b.n);
    await app.start();
    await produceRaw(
      topic,
      messages.map(({ key, n }) => ({ key, value: JSON.stringify({ n }) })),
    );
    await eventually(
      () => [...seen.values()].reduce((sum, list) => sum + list.length, 0) === messages.length,
      'all messages',
    );
    for (const key of keys) expect(seen.get(key), key).toEqual(Array.from({ length: 25 }, (_, n) => n));
    expect(instancesUsed.size).toBeGreaterThan(4);
    expect(maxInFlight).toBeGreaterThan(1); // instances really ran side by side
  });

  it('sends a poison message to the dead-letter topic with its origin while the rest flow', async () => {
    const topic = uniqueName('orders');
    const deadLetters = uniqueName('dead');
    await createTopic(topic);
    const app = track(makeApp({ id: uniqueName('dlq-app'), deadLetterTopic: deadLetters }));
    const orders = app.topic(topic, { valueType: Order });
    const charged: string[] = [];
    app.agent(orders, async (stream) => {
      for await (const order of stream) charged.push(`${order.accountId}:${order.amount}`);
    });
    await app.start();
    await produceRaw(topic, [
      { key: 'a', value: JSON.stringify({ accountId: 'a', amount: 1 }) },
      { key: 'b', value: '{"accountId": "b", "amount": ' }, // not JSON
      { key: 'c', value: JSON.stringify({ accountId: 'c', amount: -5, cardNumber: '4111111111111111' }) }, // fails @IsPositive
      { key: 'd', value: JSON.stringify({ accountId: 'd', amount: 4 }) },
    ]);
    await eventually(() => charged.length === 2, 'the two good orders');
    expect(charged).toEqual(['a:1', 'd:4']);
    const dead = await readTopic(deadLetters, 2);
    expect(dead.map((m) => m.key)).toEqual(['b', 'c']);
    const [notJson, invalid] = dead;
    expect(notJson!.value).toBe('{"accountId": "b", "amount": ');
    expect(notJson!.headers[DEAD_LETTER_HEADERS.code]).toBe('STREAM_APP_ERR_DECODE');
    expect(notJson!.headers[DEAD_LETTER_HEADERS.topic]).toBe(topic);
    expect(notJson!.headers[DEAD_LETTER_HEADERS.partition]).toBe('0');
    expect(notJson!.headers[DEAD_LETTER_HEADERS.offset]).toBe('1');
    expect(invalid!.headers[DEAD_LETTER_HEADERS.code]).toBe('STREAM_APP_ERR_RECORD_INVALID');
    expect(invalid!.headers[DEAD_LETTER_HEADERS.message]).toMatch(/Order\.amount/);
    expect(invalid!.headers[DEAD_LETTER_HEADERS.message]).not.toMatch(/4111|-5/);
    expect(invalid!.headers[DEAD_LETTER_HEADERS.offset]).toBe('2');
    expect(app.stats().deadLettered).toBe(2);
    await eventually(async () => (await committedOffsets(app.id, topic)).get(0) === 4, 'offset 4 committed');
  });

  it('commits only up to a slow message, then past it once it is done', async () => {
    const topic = uniqueName('gap');
    await createTopic(topic);
    const app = track(makeApp({ id: uniqueName('gap-app'), commitIntervalMs: 100 }));
    // Keys that land on different instances, so that 4 and 5 finish while 3 is still in hand.
    const keys: string[] = [];
    const used = new Set<number>();
    for (let i = 0; keys.length < 6; i++) {
      const instance = instanceFor(Buffer.from(`key-${i}`), 0, 8);
      if (!used.has(instance)) {
        used.add(instance);
        keys.push(`key-${i}`);
      }
    }
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const done = new Set<number>();
    app.agent(
      app.topic(topic),
      async (stream) => {
        for await (const value of stream) {
          const { n } = value as { n: number };
          if (n === 3) await slow;
          done.add(n);
        }
      },
      { concurrency: 8 },
    );
    await app.start();
    await produceRaw(
      topic,
      keys.map((key, n) => ({ key, value: JSON.stringify({ n }) })),
    );
    await eventually(() => [0, 1, 2, 4, 5].every((n) => done.has(n)), '0, 1, 2, 4 and 5 done');
    await sleep(600); // several commit intervals
    expect(done.has(3)).toBe(false);
    expect((await committedOffsets(app.id, topic)).get(0)).toBe(3); // 0, 1, 2 done; 3 is the next to read
    release();
    await eventually(async () => (await committedOffsets(app.id, topic)).get(0) === 6, 'offset 6 committed');
  });

  it('commits all finished work on a graceful stop, and a new worker goes on from there without loss', async () => {
    const topic = uniqueName('restart');
    await createTopic(topic, 2);
    const id = uniqueName('restart-app');
    const seen: number[] = [];
    const build = () => {
      const app = track(makeApp({ id, commitIntervalMs: 60_000 })); // only the stop commits
      app.agent(app.topic(topic), async (stream) => {
        for await (const value of stream) {
          await sleep(2);
          seen.push((value as { n: number }).n);
        }
      });
      return app;
    };
    await produceRaw(
      topic,
      Array.from({ length: 400 }, (_, n) => ({ key: `k${n % 10}`, value: JSON.stringify({ n }) })),
    );
    const first = build();
    await first.start();
    await eventually(() => seen.length >= 100, 'the first hundred');
    await first.stop();
    const processedByFirst = seen.length;
    expect(processedByFirst).toBeLessThan(400);
    const committed = await committedOffsets(id, topic);
    const committedTotal = [...committed.values()].reduce((sum, offset) => sum + Math.max(offset, 0), 0);
    expect(committedTotal).toBe(processedByFirst); // everything finished, nothing more

    const second = build();
    await second.start();
    await eventually(() => new Set(seen).size === 400, 'all 400 across both workers');
    expect(seen.length).toBe(400); // graceful: not even a duplicate
  });

  it('answers ask() with what the agent yields', async () => {
    const topic = uniqueName('double');
    const app = track(makeApp({ id: uniqueName('ask-app') }));
    const doubler = app.agent(app.topic<{ n: number }>(topic), async function* (stream) {
      for await (const { n } of stream) yield { doubled: n * 2 };
    });
    await app.start();
    const replies = await Promise.all(
      [1, 2, 3].map((n) => doubler.ask<{ doubled: number }>({ n }, { timeoutMs: 20_000 })),
    );
    expect(replies).toEqual([{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }]);
  });

  it('restarts a failing agent, dead-letters the event it held, and goes on', async () => {
    const topic = uniqueName('crash');
    const deadLetters = uniqueName('dead');
    const app = track(makeApp({ id: uniqueName('crash-app'), deadLetterTopic: deadLetters }));
    const handled: number[] = [];
    let starts = 0;
    app.agent(app.topic(topic), async (stream) => {
      starts += 1;
      for await (const event of stream.events() as AsyncIterable<StreamEvent<{ n: number }>>) {
        if (event.value.n === 2) throw new Error('cannot handle 2');
        handled.push(event.value.n);
      }
    });
    await app.start();
    await produceRaw(
      topic,
      [1, 2, 3].map((n) => ({ key: 'k', value: JSON.stringify({ n }) })),
    );
    await eventually(() => handled.length === 2, '1 and 3');
    expect(handled).toEqual([1, 3]);
    expect(starts).toBe(2);
    const [dead] = await readTopic(deadLetters, 1);
    expect(dead!.headers[DEAD_LETTER_HEADERS.code]).toBe('STREAM_APP_ERR_AGENT_FAILED');
    expect(dead!.headers[DEAD_LETTER_HEADERS.message]).toMatch(/cannot handle 2/);
    expect(dead!.headers[DEAD_LETTER_HEADERS.offset]).toBe('1');
  });
});
