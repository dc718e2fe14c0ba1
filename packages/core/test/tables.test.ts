// Tables over memory, as a user unit-tests a counting agent with the test driver: no Kafka needed.
// The same behaviour against the real broker is in tables.e2e.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CoreError, type AppOptions, type TableRecoveryProgress } from '@stream-app/core';
import { MemoryTransport, testApp, type TestDriver } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';

const drivers: TestDriver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'stream-app-tables-'));
  dirs.push(dir);
  return dir;
}

/** The counting app of the docs: counts orders per account. */
function countingApp(options: Partial<AppOptions> & { store?: 'memory' | 'lmdb' } = {}) {
  const { store, ...appOptions } = options;
  const app = new App({
    id: 'counter',
    broker: 'kafka:9093',
    topicPartitions: 4,
    logger: { level: 'error', write: () => {} },
    ...appOptions,
  });
  const orders = app.topic<{ account: string }>('orders');
  const counts = app.table<number>('counts', { default: () => 0, ...(store ? { store } : {}) });
  app.agent(orders, async (stream) => {
    for await (const order of stream) counts.set(order.account, counts.get(order.account)! + 1);
  });
  return { app, orders, counts };
}

async function drive(app: App, transport: MemoryTransport): Promise<TestDriver> {
  const driver = await testApp(app, { transport });
  drivers.push(driver);
  return driver;
}

describe('tables in the test driver', () => {
  it('counts per key, writes each count to the compacted changelog of its partition, and recovers after a restart', async () => {
    const transport = new MemoryTransport();
    const first = countingApp();
    const driver = await drive(first.app, transport);
    for (const account of ['a', 'b', 'a', 'c', 'a', 'b']) await driver.put(first.orders, { account }, { key: account });
    expect(first.counts.get('a')).toBe(3);
    expect(first.counts.get('b')).toBe(2);
    expect(first.counts.get('nobody')).toBe(0);
    expect(first.counts.has('nobody')).toBe(false);
    expect(new Map(first.counts.entries())).toEqual(
      new Map([
        ['a', 3],
        ['b', 2],
        ['c', 1],
      ]),
    );

    // Every changelog record sits in the partition of the order that caused it.
    const orders = transport.messages('orders');
    const partitionOf = new Map(orders.map((m) => [m.key!.toString(), m.partition]));
    const changelog = transport.messages('counter-counts-changelog');
    expect(changelog.length).toBeGreaterThan(0);
    for (const record of changelog) expect(record.partition).toBe(partitionOf.get(record.key!.toString()));
    expect(transport.topics().get('counter-counts-changelog')).toBe(4);

    await driver.stop();
    const second = countingApp();
    const again = await drive(second.app, transport);
    await again.settle();
    expect(second.counts.get('a')).toBe(3);
    await again.put(second.orders, { account: 'a' }, { key: 'a' });
    expect(second.counts.get('a')).toBe(4);
  });

  it('coalesces writes to one key within a commit interval into one changelog record', async () => {
    const transport = new MemoryTransport();
    const { app, orders, counts } = countingApp();
    const driver = await drive(app, transport);
    await Promise.all(
      Array.from({ length: 50 }, () => app.produce(orders.encode({ value: { account: 'hot' }, key: 'hot' }))),
    );
    await driver.settle();
    expect(counts.get('hot')).toBe(50);
    expect(transport.messages('counter-counts-changelog').length).toBeLessThan(50);
  });

  it('reads a key deleted in this commit interval as the default, not undefined', async () => {
    const app = new App({ id: 'del', broker: 'kafka:9093', topicPartitions: 1, logger: { level: 'error' } });
    const events = app.topic<{ account: string; reset?: boolean }>('events');
    const counts = app.table<number>('counts', { default: () => 0 });
    app.agent(events, async (stream) => {
      for await (const event of stream) {
        if (event.reset) counts.delete(event.account);
        else counts.set(event.account, counts.get(event.account)! + 1);
      }
    });
    const transport = new MemoryTransport();
    const driver = await drive(app, transport);
    await Promise.all(
      [{ account: 'a' }, { account: 'a', reset: true }, { account: 'a' }].map((value) =>
        app.produce(events.encode({ value, key: 'a' })),
      ),
    );
    await driver.settle();
    expect(counts.get('a')).toBe(1);
  });

  it('keeps the writes of a failed changelog flush, so that the next commit sends them', async () => {
    class FlakyTransport extends MemoryTransport {
      failNext = false;
      override async sendNow(messages: Parameters<MemoryTransport['sendNow']>[0]) {
        if (this.failNext) {
          this.failNext = false;
          throw new CoreError('STREAM_APP_ERR_DELIVERY', 'the broker refused the changelog batch');
        }
        return super.sendNow(messages);
      }
    }
    const transport = new FlakyTransport();
    const { app, orders, counts } = countingApp({ commitIntervalMs: 3_600_000 });
    const driver = await drive(app, transport);
    await driver.put(orders, { account: 'a' }, { key: 'a' });
    transport.failNext = true;
    await Promise.all([1, 2].map(() => app.produce(orders.encode({ value: { account: 'a' }, key: 'a' }))));
    await expect(driver.settle()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_DELIVERY' });
    expect(counts.get('a')).toBe(3);
    await driver.settle();
    const changelog = transport.messages('counter-counts-changelog');
    expect(changelog.at(-1)!.value!.toString()).toBe('3');
    expect(Object.values(driver.committed(orders)).reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('refuses a write from outside an agent with a coded error', async () => {
    const { app, counts } = countingApp();
    await drive(app, new MemoryTransport());
    expect(() => counts.set('a', 1)).toThrow(expect.objectContaining({ code: 'STREAM_APP_ERR_TABLE_WRITE' }));
  });

  it('fails the start when the agent topic has another partition count than the table, before processing anything', async () => {
    const transport = new MemoryTransport({ topics: { orders: 3 } });
    await transport.connect();
    for (const account of ['a', 'b', 'c']) {
      await transport.send({
        topic: 'orders',
        key: Buffer.from(account),
        value: Buffer.from(JSON.stringify({ account })),
      });
    }
    const { app, counts } = countingApp();
    const error = await testApp(app, { transport }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CoreError);
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_TABLE_PARTITIONS', details: { expected: 4, actual: 3 } });
    expect((error as Error).message).toMatch(/partitions: 3/);
    expect([...counts.keys()]).toEqual([]);
    expect(transport.committed('counter', 'orders').size).toBe(0);
    // No changelog was created with the wrong count: following the fix in the message works.
    expect(transport.topics().has('counter-counts-changelog')).toBe(false);
  });

  it('refuses a table written from two topics: their partitions may be on different workers', async () => {
    const { app, counts } = countingApp();
    app.agent(app.topic<{ account: string }>('refunds'), async (stream) => {
      for await (const refund of stream) counts.set(refund.account, counts.get(refund.account)! - 1);
    });
    await expect(testApp(app, { transport: new MemoryTransport() })).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_TABLE_PARTITIONS',
      message: expect.stringContaining("'orders' and 'refunds'"),
    });
  });

  it('counts through groupBy: the table is co-partitioned with the repartition topic, not the source', async () => {
    const transport = new MemoryTransport({ topics: { clicks: 3 } });
    const app = new App({ id: 'clicks', broker: 'kafka:9093', topicPartitions: 4, logger: { level: 'error' } });
    const clicks = app.topic<{ user: string }>('clicks');
    const perUser = app.table<number>('per-user', { default: () => 0 });
    app.agent(clicks, async (stream) => {
      for await (const click of stream.groupBy((c) => c.user, { name: 'by-user' })) {
        perUser.set(click.user, perUser.get(click.user)! + 1);
      }
    });
    const driver = await drive(app, transport);
    for (const user of ['u1', 'u2', 'u1']) await driver.put(clicks, { user });
    await driver.settle();
    expect(perUser.get('u1')).toBe(2);
    expect(perUser.get('u2')).toBe(1);
  });

  it('refuses a second table of another kind under the same name', () => {
    const { app } = countingApp();
    expect(() => app.setTable('counts')).toThrow(expect.objectContaining({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' }));
    expect(() => app.globalTable('counts')).toThrow(/already exists/);
  });

  it('fails the start when an existing changelog has another partition count', async () => {
    const transport = new MemoryTransport({ topics: { 'counter-counts-changelog': 2 } });
    const { app } = countingApp();
    await expect(testApp(app, { transport })).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_TABLE_PARTITIONS',
      details: { topic: 'counter-counts-changelog', expected: 4, actual: 2 },
    });
  });

  it('keeps sets in a SetTable', async () => {
    const app = new App({ id: 'sets', broker: 'kafka:9093', topicPartitions: 1, logger: { level: 'error' } });
    const visits = app.topic<{ user: string; page: string }>('visits');
    const pages = app.setTable<string>('pages');
    app.agent(visits, async (stream) => {
      for await (const visit of stream) {
        if (visit.page.startsWith('-')) pages.discard(visit.user, visit.page.slice(1));
        else pages.add(visit.user, visit.page);
      }
    });
    const driver = await drive(app, new MemoryTransport());
    for (const page of ['home', 'cart', 'home', '-cart', 'pay'])
      await driver.put(visits, { user: 'u', page }, { key: 'u' });
    expect(pages.members('u')).toEqual(new Set(['home', 'pay']));
    expect(pages.contains('u', 'cart')).toBe(false);
  });

  it('serves a global table whole on every worker, ready before its agents start', async () => {
    const transport = new MemoryTransport();
    const writer = new App({ id: 'prices', broker: 'kafka:9093', topicPartitions: 4, logger: { level: 'error' } });
    const updates = writer.topic<{ sku: string; price: number }>('price-updates');
    const prices = writer.globalTable<number>('prices');
    writer.agent(updates, async (stream) => {
      for await (const update of stream) prices.set(update.sku, update.price);
    });
    const driver = await drive(writer, transport);
    // The same key from two partitions of the source: one entry, the last value.
    await driver.put(updates, { sku: 'x', price: 1 }, { partition: 0 });
    await driver.put(updates, { sku: 'x', price: 5 }, { partition: 3 });
    for (const [sku, price] of [
      ['y', 2],
      ['z', 3],
    ] as const)
      await driver.put(updates, { sku, price }, { key: sku });
    expect(new Map(prices.entries())).toEqual(
      new Map([
        ['x', 5],
        ['y', 2],
        ['z', 3],
      ]),
    );
    await driver.stop();

    // Another worker of the app: its agent body reads the table before its first event.
    const reader = new App({ id: 'prices', broker: 'kafka:9093', topicPartitions: 4, logger: { level: 'error' } });
    const copy = reader.globalTable<number>('prices');
    const seenAtStart: Array<number | undefined> = [];
    reader.agent(reader.topic('orders'), async (stream) => {
      seenAtStart.push(copy.get('x'));
      for await (const _ of stream) void _;
    });
    await drive(reader, transport);
    expect(seenAtStart).toEqual([5]);
    expect(new Map(copy.entries())).toEqual(
      new Map([
        ['x', 5],
        ['y', 2],
        ['z', 3],
      ]),
    );
    expect(copy.activePartitions).toEqual([0, 1, 2, 3]);
  });

  it('with the LMDB store, a restart reads only the changelog tail its checkpoint has not seen', async () => {
    const transport = new MemoryTransport();
    const dir = stateDir();
    const first = countingApp({ store: 'lmdb', stateDir: dir });
    const driver = await drive(first.app, transport);
    // Ten commit intervals, each writing all 20 keys: ten flushes, about 200 changelog records.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 20; i++) {
        const account = `acct-${i}`;
        await first.app.produce(first.orders.encode({ value: { account }, key: account }));
      }
      await driver.settle();
    }
    expect(first.counts.get('acct-7')).toBe(10);
    await driver.stop();
    const changelogSize = transport.messages('counter-counts-changelog').length;

    const second = countingApp({ store: 'lmdb', stateDir: dir });
    const recoveries: TableRecoveryProgress[] = [];
    second.app.addSensor({ onTableRecovery: (progress) => void recoveries.push(progress) });
    const again = await drive(second.app, transport);
    await again.settle();
    expect(second.counts.get('acct-7')).toBe(10);
    const replayed = recoveries.filter((p) => p.done).reduce((sum, p) => sum + p.read, 0);
    // The checkpoint sits at the first record of the last flush of each partition: at most that flush (20 keys) is replayed.
    expect(changelogSize).toBeGreaterThanOrEqual(150);
    expect(replayed).toBeLessThanOrEqual(20);

    // Without the store's files the same restart reads the whole changelog.
    await again.stop();
    const third = countingApp({ store: 'lmdb', stateDir: stateDir() });
    const full: TableRecoveryProgress[] = [];
    third.app.addSensor({ onTableRecovery: (progress) => void full.push(progress) });
    const fresh = await drive(third.app, transport);
    await fresh.settle();
    expect(third.counts.get('acct-7')).toBe(10);
    expect(full.filter((p) => p.done).reduce((sum, p) => sum + p.read, 0)).toBe(changelogSize);
  });
});
