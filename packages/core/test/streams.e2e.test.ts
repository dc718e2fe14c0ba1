// Stream operators, sinks and topic declaration against the real broker.
import { DEAD_LETTER_HEADERS } from '@stream-app/core';
import { StreamAppError } from '@stream-app/credentials';
import { TESTBED_CLIENTS } from '@stream-app/testing';
import { describe, expect, it } from 'vitest';
import {
  eventually,
  makeApp,
  oauth,
  produceRaw,
  readTopic,
  uniqueName,
  Order,
  stoppedAfterEachTest,
} from './helpers/broker.js';

const track = stoppedAfterEachTest();

describe('stream operators against a real broker', () => {
  it('groupBy repartitions through an internal topic so each new key is handled in order by one instance', async () => {
    const app = track(makeApp({ id: uniqueName('group-app'), topicPartitions: 3 }));
    const orders = app.topic(uniqueName('orders'), { valueType: Order });
    const totals = new Map<string, number[]>();
    app.agent(
      orders,
      async (stream) => {
        for await (const [account, order] of stream
          .groupBy((order) => order.accountId, { name: 'by-account' })
          .items()) {
          expect(account).toBe(order.accountId);
          totals.set(order.accountId, [...(totals.get(order.accountId) ?? []), order.amount]);
        }
      },
      { concurrency: 4, name: 'totals' },
    );
    await app.start();
    expect([...app.topics.keys()]).toContain(`${app.id}-totals-by-account-repartition`);
    // Keyed by order id, so one account's orders are spread over partitions before the groupBy.
    const amounts = Array.from({ length: 60 }, (_, n) => ({ accountId: `acc-${n % 3}`, amount: n + 1 }));
    await produceRaw(
      orders.name,
      amounts.map((o, n) => ({ key: `order-${n}`, value: JSON.stringify(o), partition: n % 3 })),
    );
    await eventually(() => [...totals.values()].flat().length === 60, 'all orders regrouped');
    for (const account of ['acc-0', 'acc-1', 'acc-2']) {
      const expected = amounts.filter((o) => o.accountId === account).map((o) => o.amount);
      // Per partition order is kept; across the three source partitions, a key's values interleave.
      expect([...(totals.get(account) ?? [])].sort((a, b) => a - b)).toEqual(expected);
    }
  });

  it('take(n, withinMs) batches, filter/map/enumerate shape values, and sinks get what the agent yields', async () => {
    const app = track(makeApp({ id: uniqueName('ops-app') }));
    const input = app.topic<{ n: number }>(uniqueName('numbers'));
    const output = app.topic<{ sum: number; batch: number }>(uniqueName('sums'));
    const seenBySink: unknown[] = [];
    const audit = app.agent(app.topic(uniqueName('audit')), async (stream) => {
      for await (const value of stream) seenBySink.push(value);
    });
    const batchSizes: number[] = [];
    app.agent(
      input,
      async function* (stream) {
        const evens = stream.filter(({ n }) => n % 2 === 0).map(({ n }) => n * 10);
        for await (const [batch, values] of evens.take(5, 300).enumerate()) {
          batchSizes.push(values.length);
          yield { sum: values.reduce((a, b) => a + b, 0), batch };
        }
      },
      { sink: [output, audit, (value) => void seenBySink.push(['fn', value])] },
    );
    await app.start();
    await produceRaw(
      input.name,
      Array.from({ length: 12 }, (_, i) => ({ value: JSON.stringify({ n: i + 1 }) })),
    );
    // 6 even numbers: a full batch of 5, then 1 more after 300 ms.
    const sums = await readTopic(output.name, 2);
    expect(sums.map((m) => JSON.parse(m.value!))).toEqual([
      { sum: (2 + 4 + 6 + 8 + 10) * 10, batch: 0 },
      { sum: 120, batch: 1 },
    ]);
    expect(batchSizes).toEqual([5, 1]);
    await eventually(() => seenBySink.length === 4, 'the agent and function sinks');
    expect(seenBySink).toContainEqual({ sum: 300, batch: 0 });
    expect(seenBySink).toContainEqual(['fn', { sum: 120, batch: 1 }]);
  });

  it('through() forwards to a topic and reads back from it; echo() copies; events() shows where a value came from', async () => {
    const app = track(makeApp({ id: uniqueName('through-app') }));
    const raw = app.topic<{ text: string }>(uniqueName('raw'));
    const cleaned = app.topic<{ text: string }>(uniqueName('cleaned'));
    const copies = app.topic<{ text: string }>(uniqueName('copies'));
    const seen: Array<{ topic: string; text: string; key: unknown; offset: number }> = [];
    app.agent(raw, async (stream) => {
      const after = stream.map(({ text }) => ({ text: text.trim().toLowerCase() })).through<{ text: string }>(cleaned);
      for await (const event of after.echo(copies).events()) {
        seen.push({ topic: event.topic, text: event.value.text, key: event.key, offset: event.offset });
      }
    });
    await app.start();
    await produceRaw(raw.name, [
      { key: 'a', value: JSON.stringify({ text: '  Hello ' }) },
      { key: 'b', value: JSON.stringify({ text: 'WORLD' }) },
    ]);
    await eventually(() => seen.length === 2, 'both values read back from the through topic');
    expect(seen).toEqual([
      { topic: cleaned.name, text: 'hello', key: 'a', offset: 0 },
      { topic: cleaned.name, text: 'world', key: 'b', offset: 1 },
    ]);
    const copied = await readTopic(copies.name, 2);
    expect(copied.map((m) => [m.key, JSON.parse(m.value!)])).toEqual([
      ['a', { text: 'hello' }],
      ['b', { text: 'world' }],
    ]);
  });

  it('pauses a partition whose agent is behind instead of buffering without bound', async () => {
    const app = track(makeApp({ id: uniqueName('slow-app'), streamBufferMaxSize: 100 }));
    const topic = app.topic(uniqueName('flood'));
    let processed = 0;
    let maxOutstanding = 0;
    let pausedSeen = false;
    app.agent(topic, async (stream) => {
      for await (const _ of stream) {
        processed += 1;
        const stats = app.stats();
        maxOutstanding = Math.max(maxOutstanding, stats.outstanding);
        pausedSeen ||= stats.pausedPartitions > 0;
        if (processed % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
    await app.start();
    await produceRaw(
      topic.name,
      Array.from({ length: 1000 }, (_, n) => ({ value: JSON.stringify({ n }) })),
    );
    await eventually(() => processed === 1000, 'all 1000 processed', 60_000);
    expect(pausedSeen).toBe(true);
    // The bound plus at most one fetched batch.
    expect(maxOutstanding).toBeLessThan(100 + 1024);
    expect(maxOutstanding).toBeLessThan(1000);
    console.log(`backpressure: at most ${maxOutstanding} messages outstanding with streamBufferMaxSize 100`);
  });
});

describe('topics and bad input policies', () => {
  it('verifies instead of creating when topicAllowDeclare is false, naming what is missing', async () => {
    const missing = uniqueName('never-created');
    const app = makeApp({ id: uniqueName('verify-app'), topicAllowDeclare: false });
    app.agent(app.topic(missing), async () => {});
    const error = (await app.start().catch((e: unknown) => e)) as StreamAppError;
    expect(error).toBeInstanceOf(StreamAppError);
    expect(error.code).toBe('STREAM_APP_ERR_TOPIC_MISSING');
    expect(error.message).toContain(`'${missing}'`);
    expect(error.message).toContain('topicAllowDeclare');
    expect(app.state).toBe('stopped'); // a failed start cleans up; a new App may try again
  });

  it('names the principal and the ACL when the cluster forbids creating a topic', async () => {
    const topic = uniqueName('forbidden');
    const app = makeApp({ id: uniqueName('restricted-app'), credentials: oauth(TESTBED_CLIENTS.restricted) });
    app.agent(app.topic(topic), async () => {});
    const error = (await app.start().catch((e: unknown) => e)) as StreamAppError;
    expect(error.code).toBe('STREAM_APP_ERR_KAFKA_AUTHORIZATION');
    expect(error.message).toContain(`User:${TESTBED_CLIENTS.restricted.clientId}`);
    expect(error.message).toMatch(/--operation Create/);
  });

  it("skips bad messages under onBadMessage: 'skip' and stops the app under 'stop' without committing it", async () => {
    const skipping = track(makeApp({ id: uniqueName('skip-app'), onBadMessage: 'skip' }));
    const topic = skipping.topic(uniqueName('mixed'), { valueType: Order });
    const good: string[] = [];
    skipping.agent(topic, async (stream) => {
      for await (const order of stream) good.push(order.accountId);
    });
    await skipping.start();
    await produceRaw(topic.name, [{ value: 'nope' }, { value: JSON.stringify({ accountId: 'x', amount: 1 }) }]);
    await eventually(() => good.length === 1, 'the good order');
    expect(skipping.stats().skipped).toBe(1);

    const stopping = makeApp({ id: uniqueName('stop-app'), onBadMessage: 'stop' });
    const stopTopic = stopping.topic(uniqueName('strict'), { valueType: Order });
    stopping.agent(stopTopic, async (stream) => {
      for await (const _ of stream);
    });
    const failed = new Promise<Error>((resolve) => stopping.once('failed', resolve));
    await stopping.start();
    await produceRaw(stopTopic.name, [{ value: JSON.stringify({ accountId: 'y', amount: 1 }) }, { value: 'nope' }]);
    const error = (await failed) as StreamAppError;
    expect(error.code).toBe('STREAM_APP_ERR_DECODE');
    await stopping.stop();
    expect(stopping.state).toBe('stopped');
  });

  it('keeps the original headers and adds its own on dead letters', async () => {
    const deadLetters = uniqueName('dead');
    const app = track(makeApp({ id: uniqueName('headers-app'), deadLetterTopic: deadLetters }));
    const topic = app.topic(uniqueName('in'), { valueType: Order });
    app.agent(topic, async (stream) => {
      for await (const _ of stream);
    });
    await app.start();
    await produceRaw(topic.name, [{ key: 'k', value: JSON.stringify({ accountId: 5 }) }]);
    const [dead] = await readTopic(deadLetters, 1);
    expect(dead!.headers[DEAD_LETTER_HEADERS.code]).toBe('STREAM_APP_ERR_RECORD_INVALID');
    expect(dead!.headers[DEAD_LETTER_HEADERS.message]).toMatch(
      /Order\.accountId.*Order\.amount|Order\.amount.*Order\.accountId/,
    );
  });
});
