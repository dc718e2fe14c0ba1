// Exactly once against the real broker, in one process: transactions commit output, changelog and
// offsets together; a transaction the broker aborts (its timeout passed) fences the producer, which is
// replaced, and its events are processed again with no duplicate; a missing ACL is named.
import { StreamAppError } from '@stream-app/credentials';
import { TESTBED_CLIENTS } from '@stream-app/testing';
import { describe, expect, it } from 'vitest';
import {
  committedOffsets,
  createTopic,
  eventually,
  makeApp,
  oauth,
  produceRaw,
  readTopic,
  stoppedAfterEachTest,
  uniqueName,
} from './helpers/broker.js';

const track = stoppedAfterEachTest();

interface Counted {
  account: string;
  n: number;
  count: number;
}

/** Reads exactly `count` messages: a read of one more must time out (so a duplicate would show). */
async function readExactly(topic: string, count: number): Promise<Counted[]> {
  const all = await readTopic(topic, count);
  await expect(readTopic(topic, count + 1, 3000)).rejects.toThrow(`only ${count} of ${count + 1}`);
  return all.map((message) => JSON.parse(message.value!) as Counted);
}

/** Every account's counts run 1, 2, 3, … with no gap and no repeat. */
function expectCountsInSequence(out: Counted[]): void {
  const byAccount = new Map<string, number[]>();
  for (const { account, count } of out) byAccount.set(account, [...(byAccount.get(account) ?? []), count]);
  for (const [account, counts] of byAccount) {
    expect(
      counts.sort((a, b) => a - b),
      account,
    ).toEqual(counts.map((_, i) => i + 1));
  }
}

function countingApp(id: string, input: string, output: string, options: Parameters<typeof makeApp>[0] = { id }) {
  const app = track(makeApp({ topicPartitions: 2, processingGuarantee: 'exactly_once', ...options, id }));
  const orders = app.topic<{ account: string; n: number }>(input);
  const counted = app.topic<Counted>(output);
  const counts = app.table<number>('counts', { default: () => 0 });
  return { app, orders, counted, counts };
}

describe('exactly once against a real broker', () => {
  it('commits output, table changelog and offsets in one transaction: every order once, counts exact', async () => {
    const id = uniqueName('eos-app');
    const input = uniqueName('eos-orders');
    const output = uniqueName('eos-counted');
    const { app, orders, counted, counts } = countingApp(id, input, output);
    app.agent(orders, async (stream) => {
      for await (const order of stream) {
        const count = counts.get(order.account)! + 1;
        counts.set(order.account, count);
        await counted.send({ key: order.account, value: { ...order, count } });
      }
    });
    await app.start();
    const total = 2000;
    await produceRaw(
      input,
      Array.from({ length: total }, (_, n) => ({
        key: `a${n % 10}`,
        value: JSON.stringify({ account: `a${n % 10}`, n }),
      })),
    );
    const out = await readExactly(output, total);
    expect(new Set(out.map((o) => o.n)).size).toBe(total);
    expectCountsInSequence(out);
    await eventually(
      async () => [...(await committedOffsets(id, input)).values()].reduce((a, b) => a + b, 0) === total,
      'every order committed',
    );
    for (let a = 0; a < 10; a++) expect(counts.get(`a${a}`)).toBe(total / 10);
    expect(app.stats().transactionsAborted).toBe(0);
  });

  it('a transaction the broker aborts on its timeout fences the producer: it is replaced and the events are processed again, once', async () => {
    const id = uniqueName('eos-slow-app');
    const input = uniqueName('eos-slow-orders');
    const output = uniqueName('eos-slow-counted');
    const { app, orders, counted, counts } = countingApp(id, input, output, {
      id,
      commitIntervalMs: 200,
      transactionTimeoutMs: 1500,
    });
    let slowedDown = false;
    app.agent(orders, async (stream) => {
      for await (const order of stream) {
        const count = counts.get(order.account)! + 1;
        counts.set(order.account, count);
        await counted.send({ key: order.account, value: { ...order, count } });
        // Once: the transaction holding this order's output outlives its timeout, and the broker aborts it.
        if (order.n === 50 && !slowedDown) {
          slowedDown = true;
          await new Promise((resolve) => setTimeout(resolve, 4000));
        }
      }
    });
    await app.start();
    const total = 200;
    await produceRaw(
      input,
      Array.from({ length: total }, (_, n) => ({
        key: `a${n % 4}`,
        value: JSON.stringify({ account: `a${n % 4}`, n }),
      })),
    );
    const out = await readExactly(output, total);
    expect(new Set(out.map((o) => o.n)).size).toBe(total);
    expectCountsInSequence(out);
    expect(app.stats().transactionsAborted).toBeGreaterThanOrEqual(1);
    for (let a = 0; a < 4; a++) expect(counts.get(`a${a}`)).toBe(total / 4);
  }, 60_000);

  it('names the ACL when the principal may not use a transactional id', async () => {
    const input = uniqueName('eos-restricted-in');
    await createTopic(input);
    const app = makeApp({
      id: uniqueName('eos-restricted'),
      credentials: oauth(TESTBED_CLIENTS.restricted),
      processingGuarantee: 'exactly_once',
      topicAllowDeclare: false,
      deadLetterTopic: input,
    });
    app.agent(app.topic(input), async () => {});
    const error = (await app.start().catch((e: unknown) => e)) as StreamAppError;
    expect(error).toBeInstanceOf(StreamAppError);
    expect(error.code).toBe('STREAM_APP_ERR_KAFKA_AUTHORIZATION');
    expect(error.message).toContain(`User:${TESTBED_CLIENTS.restricted.clientId}`);
    expect(error.message).toMatch(/--operation Write --transactional-id eos-restricted-/);
  });
});
