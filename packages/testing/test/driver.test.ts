// The in-memory test driver: real Apps (as built for production, with a broker address) run over
// MemoryTransport; nothing here talks to a broker.
import {
  agent,
  agentOf,
  App,
  DEAD_LETTER_HEADERS,
  Record,
  service,
  type AppOptions,
  type IncomingMessage,
  type StreamEvent,
} from '@stream-app/core';
import {
  MemoryTransport,
  partitionForKey,
  PUT_ID_HEADER,
  testApp,
  type TestAppOptions,
  type TestDriver,
} from '@stream-app/testing';
import { IsPositive, IsString } from 'class-validator';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { murmur2 } from '@stream-app/core';

class Order extends Record {
  @IsString() accountId!: string;
  @IsPositive() amount!: number;
}

interface Receipt {
  accountId: string;
  cents: number;
}

const drivers: TestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
});

async function start(app: App, options: TestAppOptions = {}): Promise<TestDriver> {
  const driver = await testApp(app, options);
  drivers.push(driver);
  return driver;
}

/** An app as production builds it: the broker address is there, and never used. Logs go to `logs`. */
function makeApp(options: Partial<AppOptions> = {}, logs: string[] = []): App {
  return new App({
    id: 'billing',
    broker: 'kafka:9093',
    logger: { level: 'info', format: 'json', write: (line) => logs.push(line) },
    ...options,
  });
}

function billingApp(options: Partial<AppOptions> = {}, logs: string[] = []) {
  const app = makeApp(options, logs);
  const orders = app.topic('orders', { valueType: Order });
  const receipts = app.topic<Receipt>('receipts');
  let starts = 0;
  const charge = app.agent(
    orders,
    async function* charge(stream) {
      starts += 1;
      for await (const order of stream) {
        if (!(order instanceof Order)) throw new Error('not an Order');
        if (order.amount > 1000) throw new Error('card declined');
        yield { accountId: order.accountId, cents: order.amount * 100 } satisfies Receipt;
      }
    },
    { sink: [receipts] },
  );
  return { app, orders, receipts, charge, starts: () => starts };
}

describe('testApp', () => {
  it('puts an order and resolves with what the agent yielded for it; the sink topic has it; the offset is committed', async () => {
    const { app, charge, receipts } = billingApp();
    const driver = await start(app);
    const result = await driver.put(charge, { accountId: 'a', amount: 2 }, { key: 'a' });
    expect(result.yielded).toEqual([{ accountId: 'a', cents: 200 }]);
    expect(result.deadLettered).toEqual([]);
    expect(result).toMatchObject({ topic: 'orders', partition: partitionForKey(Buffer.from('a'), 8), offset: 0 });
    const [receipt, ...rest] = driver.sent(receipts);
    expect(rest).toEqual([]);
    expect(receipt).toMatchObject({ key: 'a', value: { accountId: 'a', cents: 200 }, headers: {} });
    expect(driver.sent(charge)).toMatchObject([{ key: 'a', value: { accountId: 'a', amount: 2 } }]);
    expect(driver.sent(charge)[0]!.value).toBeInstanceOf(Order);
    expect(driver.committed(charge)).toEqual({ [result.partition]: 1 });
    // Each put gets what was yielded for it, also when they run side by side.
    const [b, c] = await Promise.all([
      driver.put(charge, Order.fromPlain({ accountId: 'b', amount: 3 }), { key: 'b' }),
      driver.put(charge, { accountId: 'c', amount: 4 }, { key: 'c' }),
    ]);
    expect(b.yielded).toEqual([{ accountId: 'b', cents: 300 }]);
    expect(c.yielded).toEqual([{ accountId: 'c', cents: 400 }]);
    expect(driver.yielded(charge)).toHaveLength(3);
  });

  it('dead-letters an invalid order and undecodable bytes with their origin in the headers, and commits past them', async () => {
    const { app, charge } = billingApp();
    const driver = await start(app);
    const invalid = await driver.put(charge, { accountId: 'b', amount: -5 }, { key: 'b', headers: { trace: 't-1' } });
    expect(invalid.yielded).toEqual([]);
    expect(invalid.deadLettered).toHaveLength(1);
    const notJson = await driver.putRaw(charge, '{"accountId": ', { key: 'c' });
    const [first, second] = driver.deadLetters();
    expect(invalid.deadLettered[0]).toEqual(first);
    expect(first).toMatchObject({
      key: 'b',
      value: { accountId: 'b', amount: -5 },
      code: 'STREAM_APP_ERR_RECORD_INVALID',
      agent: undefined,
      source: { topic: 'orders', partition: invalid.partition, offset: invalid.offset },
    });
    expect(first!.reason).toMatch(/Order\.amount/);
    expect(first!.reason).not.toMatch(/-5/); // values are never echoed
    expect(first!.headers).toMatchObject({
      trace: 't-1',
      [DEAD_LETTER_HEADERS.code]: 'STREAM_APP_ERR_RECORD_INVALID',
      [DEAD_LETTER_HEADERS.topic]: 'orders',
      [DEAD_LETTER_HEADERS.partition]: String(invalid.partition),
      [DEAD_LETTER_HEADERS.offset]: String(invalid.offset),
    });
    expect(first!.headers).not.toHaveProperty(PUT_ID_HEADER);
    expect(Number(first!.headers[DEAD_LETTER_HEADERS.timestamp])).toBeGreaterThan(0);
    expect(second).toMatchObject({ key: 'c', value: '{"accountId": ', code: 'STREAM_APP_ERR_DECODE' });
    expect(notJson.deadLettered).toEqual([second]);
    expect(driver.sent(charge).find((message) => message.key === 'c')?.decodeError).toMatch(/not valid JSON/);
    expect(driver.committed(charge)[invalid.partition]).toBe(invalid.offset + 1);
    expect(driver.committed(charge)[notJson.partition]).toBe(notJson.offset + 1);
    expect(app.stats()).toMatchObject({ deadLettered: 2, received: 0 });
  });

  it('restarts an agent that throws and dead-letters the event it held', async () => {
    const logs: string[] = [];
    const { app, charge, starts } = billingApp({}, logs);
    const driver = await start(app);
    const declined = await driver.put(charge, { accountId: 'x', amount: 5000 }, { key: 'x' });
    expect(declined.yielded).toEqual([]);
    expect(declined.deadLettered).toMatchObject([
      {
        key: 'x',
        value: { accountId: 'x', amount: 5000 },
        code: 'STREAM_APP_ERR_AGENT_FAILED',
        agent: 'charge',
        source: { topic: 'orders', offset: declined.offset },
      },
    ]);
    expect(declined.deadLettered[0]!.reason).toMatch(/card declined/);
    // The next order waits for the restart (after a backoff) and is charged by the new instance.
    const next = await driver.put(charge, { accountId: 'x', amount: 5 }, { key: 'x' });
    expect(next.yielded).toEqual([{ accountId: 'x', cents: 500 }]);
    expect(starts()).toBe(2);
    expect(driver.committed(charge)).toEqual({ [next.partition]: 2 });
    expect(logs.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(
      expect.arrayContaining(['agent failed', 'restarting agent', 'message sent to the dead-letter topic']),
    );
  });

  it('answers ask() in memory', async () => {
    const { app, charge } = billingApp();
    await start(app);
    const receipt = await charge.ask<Receipt>(Order.fromPlain({ accountId: 'a', amount: 7 }), {
      key: 'a',
      timeoutMs: 2000,
    });
    expect(receipt).toEqual({ accountId: 'a', cents: 700 });
  });

  it('drives a @service class through agentOf()', async () => {
    const app = makeApp();
    const orders = app.topic('orders', { valueType: Order });
    const totals = app.topic<{ accountId: string; total: number }>('totals');

    @service(app)
    class Billing {
      readonly totals = new Map<string, number>();

      @agent(orders, { sink: [totals] })
      async *charge(stream: AsyncIterable<Order>) {
        for await (const order of stream) {
          const total = (this.totals.get(order.accountId) ?? 0) + order.amount;
          this.totals.set(order.accountId, total);
          yield { accountId: order.accountId, total };
        }
      }
    }

    const charge = agentOf<Order, string>(Billing, 'charge');
    const driver = await start(app);
    await driver.put(charge, { accountId: 'a', amount: 2 }, { key: 'a' });
    const second = await driver.put(charge, { accountId: 'a', amount: 3 }, { key: 'a' });
    expect(second.yielded).toEqual([{ accountId: 'a', total: 5 }]);
    expect(driver.sent(totals).map((message) => message.value)).toEqual([
      { accountId: 'a', total: 2 },
      { accountId: 'a', total: 5 },
    ]);
    expect(driver.yielded('Billing.charge')).toHaveLength(2);
  });

  it('follows a message through groupBy() and on to the agent its sink is: put resolves when all of it is done', async () => {
    const app = makeApp();
    const orders = app.topic('orders', { valueType: Order });
    const large = app.topic('large-orders', { valueType: Order });
    const audited: string[] = [];
    const audit = app.agent(large, async function* audit(stream) {
      for await (const order of stream) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        audited.push(order.accountId);
        yield order.accountId;
      }
    });
    const triage = app.agent(
      orders,
      async function* triage(stream) {
        for await (const order of stream.groupBy((order) => order.accountId, { name: 'by-account' })) {
          if (order.amount >= 100) yield order;
        }
      },
      { sink: [audit] },
    );
    const driver = await start(app);
    const small = await driver.put(triage, { accountId: 'a', amount: 5 }, { key: 'order-1' });
    expect(small.yielded).toEqual([]);
    const big = await driver.put(triage, { accountId: 'b', amount: 150 }, { key: 'order-2' });
    // Yielded by the agent for the repartitioned copy of this message: the put's header went along.
    expect(big.yielded).toMatchObject([{ accountId: 'b', amount: 150 }]);
    expect(audited).toEqual(['b']);
    expect(driver.yielded(audit)).toEqual(['b']);
    expect(driver.sent('billing-triage-by-account-repartition')).toMatchObject([
      { key: 'a', value: { accountId: 'a', amount: 5 } },
      { key: 'b', value: { accountId: 'b', amount: 150 } },
    ]);
    // Sinks key what they get by the event the agent was on: after groupBy, the new key.
    expect(driver.sent(large)).toMatchObject([{ key: 'b', value: { accountId: 'b', amount: 150 } }]);
  });

  it('commits only up to an unfinished message, and past it once it is done', async () => {
    const app = makeApp();
    const jobs = app.topic('jobs', { partitions: 1 });
    const held: StreamEvent[] = [];
    const acked: number[] = [];
    app.agent(jobs, async function worker(stream) {
      for await (const event of stream.noAck().events()) {
        if ((event.value as { hold?: boolean }).hold) held.push(event);
        else {
          event.ack();
          acked.push(event.offset);
        }
      }
    });
    const driver = await start(app);
    await driver.put(jobs, { n: 0 });
    expect(driver.committed(jobs)).toEqual({ 0: 1 });
    const slow = driver.put(jobs, { n: 1, hold: true });
    const fast = driver.put(jobs, { n: 2 });
    await vi.waitFor(() => expect(acked).toContain(2));
    await expect(driver.settle(100)).rejects.toThrow(/did not finish within 100 ms: jobs\/0 .*committed 1/);
    await app.commit();
    expect(driver.committed(jobs)).toEqual({ 0: 1 }); // 2 is done, 1 is not: a restart must read 1 again
    held[0]!.ack();
    const [slowResult, fastResult] = await Promise.all([slow, fast]);
    expect([slowResult.offset, fastResult.offset]).toEqual([1, 2]);
    expect(driver.committed(jobs)).toEqual({ 0: 3 });
  });

  it('starts a new app where the last one stopped: unfinished messages are read again, finished ones not', async () => {
    const transport = new MemoryTransport();
    const build = (seen: number[], holds: boolean) => {
      const app = makeApp({ shutdownTimeoutMs: 100 });
      const jobs = app.topic('jobs', { partitions: 1 });
      app.agent(jobs, async function worker(stream) {
        for await (const event of stream.noAck().events()) {
          seen.push(event.offset);
          if (!(holds && (event.value as { hold?: boolean }).hold)) event.ack();
        }
      });
      return { app, jobs };
    };
    const firstSeen: number[] = [];
    const first = build(firstSeen, true);
    const driver = await testApp(first.app, { transport });
    await driver.put(first.jobs, { n: 0 });
    void driver.put(first.jobs, { n: 1, hold: true }).catch(() => {}); // never finished by this app
    await vi.waitFor(() => expect(firstSeen).toEqual([0, 1]));
    await driver.stop();
    expect(driver.committed(first.jobs)).toEqual({ 0: 1 });

    const secondSeen: number[] = [];
    const second = build(secondSeen, false);
    const again = await start(second.app, { transport });
    await vi.waitFor(() => expect(secondSeen).toEqual([1]));
    await again.put(second.jobs, { n: 2 });
    expect(secondSeen).toEqual([1, 2]);
  });

  it('refuses to start with topicAllowDeclare: false and missing topics, and starts when the transport has them', async () => {
    const strict = makeApp({ topicAllowDeclare: false });
    strict.topic('orders');
    await expect(testApp(strict)).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_TOPIC_MISSING',
      details: { topics: ['orders', 'billing-dead-letters'] },
    });
    const app = makeApp({ topicAllowDeclare: false });
    const orders = app.topic('orders');
    const transport = new MemoryTransport({ topics: { orders: 2, 'billing-dead-letters': 1 } });
    const driver = await start(app, { transport });
    await driver.put(orders, { n: 1 }, { partition: 1 });
    expect(transport.topics()).toEqual(
      new Map([
        ['orders', 2],
        ['billing-dead-letters', 1],
      ]),
    );
  });

  it('rejects a put with the failure of the app (onBadMessage: stop)', async () => {
    const app = makeApp({ onBadMessage: 'stop' });
    const orders = app.topic('orders', { valueType: Order });
    app.agent(orders, async function charge(stream) {
      for await (const order of stream) void order;
    });
    const driver = await start(app);
    await expect(driver.putRaw(orders, 'not json')).rejects.toMatchObject({ code: 'STREAM_APP_ERR_DECODE' });
    expect(app.state).not.toBe('running');
  });

  it('rejects a put when the app sent to a topic that does not exist', async () => {
    const app = makeApp();
    const orders = app.topic('orders');
    // A raw produce to a topic the app never declared: over Kafka, the delivery would fail the same way.
    const forward = (value: unknown) =>
      app.produce({ topic: 'ghost', key: null, value: Buffer.from(JSON.stringify(value)) });
    app.agent(
      orders,
      async function* forwarder(stream) {
        yield* stream;
      },
      { sink: [forward] },
    );
    const driver = await start(app);
    await expect(driver.put(orders, { n: 1 })).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_DELIVERY',
      message: expect.stringMatching(/'ghost': it does not exist/),
    });
  });
});

describe('MemoryTransport', () => {
  it("hashes keys as Kafka's murmur2 partitioner does", () => {
    // librdkafka's unit-test vectors of the Java client's murmur2.
    const vectors: Array<[string, number]> = [
      ['kafka', 0xd067cf64],
      ['giberish123456789', 0x8f552b0c],
      ['1234', 0x9fc97b14],
      ['234', 0xe7c009ca],
      ['34', 0x873930da],
      ['4', 0x5a4b5ca1],
      ['PreAmbleWillBeRemoved,ThePrePartThatIs', 0x78424f1c],
      ['', 0x106e08d9],
    ];
    for (const [key, hash] of vectors) expect(murmur2(Buffer.from(key)), key).toBe(hash);
    expect(partitionForKey(Buffer.from('kafka'), 7)).toBe((0xd067cf64 & 0x7fffffff) % 7);
  });

  it('partitions, hands over in order after send returns, honours pause, commits, revokes on close', async () => {
    const transport = new MemoryTransport({ topics: { t: 4 } });
    await transport.connect();
    const batches: IncomingMessage[][] = [];
    const revoked: string[] = [];
    const consumer = await transport.consume(
      { groupId: 'g', topics: ['t'], fromBeginning: true },
      {
        onMessages: (messages) => void batches.push(messages),
        onAssigned: () => {},
        onRevoked: (partitions) => void revoked.push(...partitions.map((p) => `${p.topic}/${p.partition}`)),
      },
    );
    const key = Buffer.from('k');
    const partition = partitionForKey(key, 4);
    for (let n = 0; n < 3; n++) await transport.send({ topic: 't', key, value: Buffer.from(String(n)) });
    await transport.send({ topic: 't', key: null, value: null });
    await transport.send({ topic: 't', key: null, value: null });
    await transport.send({ topic: 't', key: null, value: null, partition: 3, headers: { h: 'v' } });
    expect(batches).toEqual([]); // never inside send
    await vi.waitFor(() => expect(batches.flat()).toHaveLength(6));
    const byKey = batches.flat().filter((message) => message.partition === partition && message.key !== null);
    expect(byKey.map((message) => [message.offset, message.value?.toString()])).toEqual([
      [0, '0'],
      [1, '1'],
      [2, '2'],
    ]);
    expect(
      transport
        .messages('t')
        .filter((message) => message.key === null)
        .map((m) => m.partition),
    ).toEqual([0, 1, 3]);
    expect(transport.messages('t').at(-1)!.headers).toEqual({ h: Buffer.from('v') });
    expect(
      transport
        .unfinished('g')
        .map((p) => p.partition)
        .sort(),
    ).toEqual([...new Set([partition, 0, 1, 3])].sort());

    consumer.pause([{ topic: 't', partition: 3 }]);
    await transport.send({ topic: 't', key: null, value: null, partition: 3 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches.flat()).toHaveLength(6);
    consumer.resume([{ topic: 't', partition: 3 }]);
    await vi.waitFor(() => expect(batches.flat()).toHaveLength(7));

    await consumer.commit([{ topic: 't', partition: 3, offset: 2 }]);
    expect(transport.committed('g', 't')).toEqual(new Map([[3, 2]]));
    await transport.close();
    expect(revoked.sort()).toEqual(['t/0', 't/1', 't/2', 't/3']);
    await expect(transport.send({ topic: 't', key: null, value: null })).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_APP_STATE',
    });
  });

  it('fails sends to a topic or partition that does not exist, and every flush after', async () => {
    const transport = new MemoryTransport({ topics: { t: 1 } });
    await transport.connect();
    await expect(transport.send({ topic: 't', key: null, value: null, partition: 1 })).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_DELIVERY',
      message: expect.stringMatching(/no partition 1/),
    });
    await expect(transport.flush()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_DELIVERY' });
    const other = new MemoryTransport();
    await other.connect();
    await expect(other.send({ topic: 'nope', key: null, value: null })).rejects.toThrow(/'nope': it does not exist/);
  });
});
