// Exactly once over memory, with the test driver: an aborted transaction leaves no trace, and its
// events are processed again. The same against the real broker is in cli/test/exactly-once.e2e.test.ts.
import { App, type AppOptions } from '@stream-app/core';
import { MemoryTransport, testApp, type TestDriver } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';

const drivers: TestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
});

/** Counts orders per account into a table and sends each order on, numbered by its account's count. */
function countingApp(options: Partial<AppOptions> = {}, { awaitSends = true } = {}) {
  const app = new App({
    id: 'eos-counter',
    broker: 'kafka:9093',
    topicPartitions: 2,
    processingGuarantee: 'exactly_once',
    logger: { level: 'error', write: () => {} },
    ...options,
  });
  const orders = app.topic<{ account: string; n: number }>('orders');
  const counted = app.topic<{ account: string; n: number; count: number }>('counted');
  const counts = app.table<number>('counts', { default: () => 0 });
  app.agent(orders, async (stream) => {
    for await (const order of stream) {
      const count = counts.get(order.account)! + 1;
      counts.set(order.account, count);
      const sent = counted.send({ key: order.account, value: { ...order, count } });
      // Not awaited, the agent runs on to the next order (a failed send fails the commit).
      if (awaitSends) await sent;
      else sent.catch(() => {});
    }
  });
  return { app, orders, counted, counts };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

async function drive(app: App, transport: MemoryTransport): Promise<TestDriver> {
  const driver = await testApp(app, { transport });
  drivers.push(driver);
  return driver;
}

describe('exactly once in the test driver', () => {
  it('nothing an agent sends is visible before its commit; an aborted commit is processed again with no duplicate', async () => {
    const transport = new MemoryTransport();
    const { app, orders, counts } = countingApp();
    const driver = await drive(app, transport);
    for (let n = 0; n < 10; n++) await driver.put(orders, { account: `a${n % 3}`, n }, { key: `a${n % 3}` });
    expect(transport.messages('counted')).toHaveLength(10);

    transport.failNextCommit();
    for (let n = 10; n < 20; n++) await driver.put(orders, { account: `a${n % 3}`, n }, { key: `a${n % 3}` });
    expect(app.stats().transactionsAborted).toBe(1);

    const out = transport
      .messages('counted')
      .map((m) => JSON.parse(m.value!.toString()) as { account: string; n: number; count: number });
    expect(out.map((o) => o.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    // The table's writes of the aborted interval were thrown away: counting again from the commit gives the truth.
    expect([counts.get('a0'), counts.get('a1'), counts.get('a2')]).toEqual([7, 7, 6]);
    for (const account of ['a0', 'a1', 'a2']) {
      const counted = out.filter((o) => o.account === account);
      expect(counted.map((o) => o.count)).toEqual(counted.map((_, i) => i + 1));
    }
    const changelog = transport.messages('eos-counter-counts-changelog');
    const last = new Map(changelog.map((m) => [m.key!.toString(), Number(m.value!.toString())]));
    expect(Object.fromEntries(last)).toEqual({ a0: 7, a1: 7, a2: 6 });
  });

  it('records the client hands over again, unasked, are not processed twice', async () => {
    const transport = new MemoryTransport();
    const { app, orders, counts } = countingApp({ topicPartitions: 1 });
    const driver = await drive(app, transport);
    for (let n = 0; n < 10; n++) await driver.put(orders, { account: 'a', n }, { key: 'a' });
    transport.readAgainFrom('orders', 0, 4);
    await driver.settle();
    for (let n = 10; n < 12; n++) await driver.put(orders, { account: 'a', n }, { key: 'a' });
    const out = transport
      .messages('counted')
      .map((m) => JSON.parse(m.value!.toString()) as { n: number; count: number });
    expect(out.map((o) => o.n)).toEqual(Array.from({ length: 12 }, (_, n) => n));
    expect(out.map((o) => o.count)).toEqual(Array.from({ length: 12 }, (_, n) => n + 1));
    expect(counts.get('a')).toBe(12);
    expect(transport.committed('eos-counter', 'orders').get(0)).toBe(12);
  });

  it('a partition revoked while a commit is in flight, which then aborts, is not committed past the aborted work', async () => {
    const transport = new MemoryTransport();
    const first = countingApp({}, { awaitSends: false });
    const driver = await drive(first.app, transport);
    // Keys as bytes, as the driver's put writes them: each account stays on its table's partition.
    const order = (n: number) => ({
      topic: 'orders',
      key: Buffer.from(`a${n % 3}`),
      value: Buffer.from(JSON.stringify({ account: `a${n % 3}`, n })),
    });
    for (let n = 0; n < 9; n++) await driver.put(first.orders, { account: `a${n % 3}`, n }, { key: `a${n % 3}` });
    const before = transport.committed('eos-counter', 'orders');

    // Processed, not committed: the next commit is held in flight, then fails.
    for (let n = 9; n < 18; n++) await transport.sendDirect(order(n));
    const total = () => ['a0', 'a1', 'a2'].reduce((sum, a) => sum + first.counts.get(a)!, 0);
    await until(() => total() === 18);
    let release!: () => void;
    transport.failNextCommit(new Error('injected commit failure'), new Promise<void>((resolve) => (release = resolve)));
    const committing = first.app.commit();
    // The rebalance comes while that commit is in flight: its revocation commits once the failed one aborted.
    const revoking = transport.revoke('orders', [0]);
    release();
    await committing.catch(() => {});
    await revoking;
    expect(first.app.stats().transactionsAborted).toBe(1);
    expect(transport.committed('eos-counter', 'orders').get(0)).toBe(before.get(0));
    await driver.stop();
    drivers.length = 0;

    // The partition's next owner reads the aborted work again: every order once, every count exact.
    const second = countingApp();
    const again = await drive(second.app, transport);
    await again.settle();
    const out = transport
      .messages('counted')
      .map((m) => JSON.parse(m.value!.toString()) as { account: string; n: number; count: number });
    expect(out.map((o) => o.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 18 }, (_, n) => n));
    for (const account of ['a0', 'a1', 'a2']) {
      const counted = out.filter((o) => o.account === account);
      expect(counted.map((o) => o.count)).toEqual(counted.map((_, i) => i + 1));
    }
  });

  it('a restart recovers the table from the committed changelog and counts on', async () => {
    const transport = new MemoryTransport();
    const first = countingApp();
    const driver = await drive(first.app, transport);
    for (let n = 0; n < 6; n++) await driver.put(first.orders, { account: 'x', n }, { key: 'x' });
    await driver.stop();
    drivers.length = 0;

    const second = countingApp();
    const again = await drive(second.app, transport);
    await again.settle();
    expect(second.counts.get('x')).toBe(6);
    await again.put(second.orders, { account: 'x', n: 6 }, { key: 'x' });
    expect(second.counts.get('x')).toBe(7);
    expect(transport.messages('counted')).toHaveLength(7);
  });

  it('with groupBy and four instances, aborted commits still give every order once, counted once', async () => {
    const transport = new MemoryTransport();
    const app = new App({
      id: 'eos-regroup',
      broker: 'kafka:9093',
      topicPartitions: 3,
      processingGuarantee: 'exactly_once',
      logger: { level: 'error', write: () => {} },
    });
    const orders = app.topic<{ account: string; n: number }>('orders');
    const counted = app.topic<{ account: string; n: number; count: number }>('counted');
    const counts = app.table<number>('counts', { default: () => 0 });
    app.agent(
      orders,
      async (stream) => {
        for await (const order of stream.groupBy((o) => o.account, { name: 'by-account' })) {
          const count = counts.get(order.account)! + 1;
          counts.set(order.account, count);
          await counted.send({ key: order.account, value: { ...order, count } });
        }
      },
      { concurrency: 4, name: 'regroup' },
    );
    const driver = await drive(app, transport);
    for (let n = 0; n < 60; n++) {
      if (n % 15 === 7) transport.failNextCommit();
      // Keyed by order: one account's orders are spread over the partitions before the groupBy.
      await driver.put(orders, { account: `a${n % 4}`, n }, { key: `order-${n}` });
    }
    expect(app.stats().transactionsAborted).toBeGreaterThanOrEqual(4);
    const out = transport
      .messages('counted')
      .map((m) => JSON.parse(m.value!.toString()) as { account: string; n: number; count: number });
    expect(out.map((o) => o.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, n) => n));
    for (let a = 0; a < 4; a++) {
      const counts = out.filter((o) => o.account === `a${a}`).map((o) => o.count);
      expect(counts).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    }
    expect([0, 1, 2, 3].map((a) => counts.get(`a${a}`))).toEqual([15, 15, 15, 15]);
  });
});
