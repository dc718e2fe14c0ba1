// Unit tests over memory for the runtime's parts: the channel, the supervisor's backoff, the clock,
// pause reasons, the transport's send batching and flush, and every Stream operator (through the
// in-memory test driver, which runs the real App).
import {
  App,
  Backoff,
  createLogger,
  ManualClock,
  PauseReasons,
  Sensors,
  Supervisor,
  type StreamEvent,
  type SupervisedTask,
} from '@stream-app/core';
import { testApp, type TestDriver } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../src/streams/channel.js';
import { StreamEvent as Event } from '../src/streams/event.js';
import { KafkaTransactions } from '../src/transport/kafka-transactions.js';
import { SendBatcher } from '../src/transport/send-batcher.js';
import { addHeader } from '../src/transport/kafka-partition-reader.js';
import { CoreError } from '../src/errors/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quiet = createLogger({ level: 'error', write: () => {} });

function event(offset: number, partition = 0): StreamEvent {
  return new Event({ topic: 't', partition, offset, key: null, value: null, headers: {}, timestamp: 0 }, null, offset);
}

describe('Channel', () => {
  it('hands events in order, wakes a waiting reader, drops revoked ones and puts back what a stopped reader took', async () => {
    const channel = new Channel();
    channel.push(event(0));
    channel.push(event(1));
    expect((channel.next() as StreamEvent).offset).toBe(0);
    const waiting = channel.next();
    expect((waiting as StreamEvent).offset).toBe(1);
    const later = channel.next();
    expect(later).toBeInstanceOf(Promise);
    channel.push(event(2));
    expect((await later)!.offset).toBe(2);
    channel.push(event(3, 1));
    channel.push(event(4, 0));
    channel.drop((e) => e.partition === 1);
    expect(channel.size).toBe(1);
    channel.unshift(event(9));
    expect((channel.next() as StreamEvent).offset).toBe(9);
    expect((channel.next() as StreamEvent).offset).toBe(4);
    const interrupted = channel.next();
    channel.interrupt();
    expect(await interrupted).toBeUndefined();
    channel.close();
    expect(channel.next()).toBeUndefined();
    channel.push(event(5));
    expect(channel.size).toBe(0);
  });

  it('compacts its queue while a long backlog is read', () => {
    const channel = new Channel();
    for (let i = 0; i < 5000; i++) channel.push(event(i));
    for (let i = 0; i < 4000; i++) expect((channel.next() as StreamEvent).offset).toBe(i);
    expect(channel.size).toBe(1000);
  });
});

describe('Supervisor', () => {
  it('backs off 200 ms doubling to 30 s, and starts over after a life that did real work', () => {
    const backoff = new Backoff();
    expect([1, 2, 3, 4].map(() => backoff.next(false))).toEqual([200, 400, 800, 1600]);
    expect(backoff.next(true)).toBe(200);
    for (let i = 0; i < 20; i++) backoff.next(false);
    expect(backoff.next(false)).toBe(30_000);
  });

  it('restarts a failing task on the clock, reports each failure, and stops without waiting out a backoff', async () => {
    const clock = new ManualClock();
    const failures: Array<[string, number | undefined]> = [];
    const sensors = new Sensors(() => {});
    sensors.add({ onTaskFailed: (task, _error, restartInMs) => failures.push([task, restartInMs]) });
    let lives = 0;
    const task: SupervisedTask = {
      name: 'flaky',
      kind: 'task',
      runOnce: async () => {
        lives += 1;
        throw new Error('boom');
      },
      onExit: () => true,
      progressed: () => false,
    };
    const supervised = new Supervisor(clock, sensors, quiet).start(task);
    await sleep(5);
    expect(lives).toBe(1);
    clock.advance(199);
    await sleep(5);
    expect(lives).toBe(1);
    clock.advance(1);
    await sleep(5);
    expect(lives).toBe(2);
    clock.advance(400);
    await sleep(5);
    expect(lives).toBe(3);
    expect(failures).toEqual([
      ['flaky', 200],
      ['flaky', 400],
      ['flaky', 800],
    ]);
    await supervised.stop(); // wakes the 800 ms backoff at once
    expect(lives).toBe(3);
  });

  it('does not restart a task that escalated its failure', async () => {
    const sensors = new Sensors(() => {});
    let lives = 0;
    const supervised = new Supervisor(new ManualClock(), sensors, quiet).start({
      name: 'strict',
      kind: 'task',
      runOnce: async () => void (lives += 1),
      onExit: () => false,
      progressed: () => false,
    });
    await supervised.done;
    expect(lives).toBe(1);
  });
});

describe('ManualClock', () => {
  it('fires timeouts and intervals in time order as time is advanced, never on its own', async () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`t50@${clock.now()}`), 50);
    const every = clock.setInterval(() => fired.push(`i30@${clock.now()}`), 30);
    const cancelled = clock.setTimeout(() => fired.push('never'), 10);
    cancelled.cancel();
    await sleep(20);
    expect(fired).toEqual([]);
    clock.advance(100);
    expect(fired).toEqual(['i30@1030', 't50@1050', 'i30@1060', 'i30@1090']);
    every.cancel();
    clock.advance(100);
    expect(fired).toHaveLength(4);
    expect(clock.now()).toBe(1200);
    expect(clock.pending).toBe(0);
  });
});

describe('PauseReasons', () => {
  it('pauses a partition on its first reason and frees it when its last reason is resumed', () => {
    const reasons = new PauseReasons();
    const p0 = { topic: 't', partition: 0 };
    const p1 = { topic: 't', partition: 1 };
    expect(reasons.pause([p0, p1], 'backpressure')).toEqual([p0, p1]);
    expect(reasons.pause([p0], 'recovery')).toEqual([]);
    expect(reasons.resume([p0, p1], 'backpressure')).toEqual([p1]);
    expect(reasons.isPaused('t', 0)).toBe(true);
    expect(reasons.resume([p0], 'backpressure')).toEqual([]); // not paused for that any more
    expect(reasons.list()).toEqual([{ ...p0, reasons: ['recovery'] }]);
    expect(reasons.resume([p0], 'recovery')).toEqual([p0]);
    reasons.pause([p1], 'recovery');
    reasons.forget([p1]);
    expect(reasons.list()).toEqual([]);
  });
});

describe('SendBatcher', () => {
  const explain = async (error: unknown, topic: string) =>
    new CoreError('STREAM_APP_ERR_DELIVERY', `could not produce to ${topic}: ${(error as Error).message}`, {
      details: { topic },
    });

  it('hands one batch per topic per tick and resolves every sender when its batch is acknowledged', async () => {
    const calls: Array<{ topic: string; values: string[] }> = [];
    const batcher = new SendBatcher(async (topic, messages) => {
      calls.push({ topic, values: messages.map((m) => String(m.value)) });
      await sleep(10);
    }, explain);
    const sent = [
      batcher.send({ topic: 'a', key: null, value: Buffer.from('1') }),
      batcher.send({ topic: 'b', key: null, value: Buffer.from('2') }),
      batcher.send({ topic: 'a', key: null, value: Buffer.from('3') }),
    ];
    expect(calls).toEqual([]); // nothing goes out inside send()
    await Promise.all(sent);
    expect(calls).toEqual([
      { topic: 'a', values: ['1', '3'] },
      { topic: 'b', values: ['2'] },
    ]);
  });

  it('a batch gathered before an abort is handed over with its own epoch, apart from what came after', async () => {
    const calls: Array<{ values: string[]; epoch: number }> = [];
    let epoch = 3;
    const batcher = new SendBatcher(
      async (_topic, messages, _queued, batchEpoch) => {
        calls.push({ values: messages.map((m) => String(m.value)), epoch: batchEpoch });
      },
      explain,
      () => epoch,
    );
    const before = batcher.send({ topic: 'a', key: null, value: Buffer.from('1') });
    epoch = 4; // an abort began: the transport drops what carries epoch 3
    const after = batcher.send({ topic: 'a', key: null, value: Buffer.from('2') });
    await Promise.all([before, after]);
    expect(calls).toEqual([
      { values: ['1'], epoch: 3 },
      { values: ['2'], epoch: 4 },
    ]);
  });

  it('an abort makes stale what was gathered before its transaction closed, not what came during its commit', async () => {
    let failCommit = true;
    const producer = {
      transaction: async () => {},
      sendOffsets: async () => {},
      commit: async () => {
        await sleep(5);
        if (failCommit) throw Object.assign(new Error('fenced'), { retriable: false });
      },
      abort: async () => {},
    };
    const transactions = new KafkaTransactions({
      producer: () => producer as never,
      clientOf: () => ({}) as never,
      flush: async () => {},
      forgetFailure: () => {},
      replaceProducer: async () => {},
      timeoutMs: 1_000,
    });
    const consumer = {} as never;
    await transactions.open();
    const before = transactions.epoch;
    const committing = transactions.commit([{ topic: 't', partition: 0, offset: 1 }], consumer);
    await sleep(1);
    const during = transactions.epoch; // a timer's send while the commit runs: meant for the next transaction
    await expect(committing).rejects.toThrow('fenced');
    await transactions.abort();
    expect([transactions.isStale(before), transactions.isStale(during)]).toEqual([true, false]);
    // An abort with no commit before it: everything gathered so far.
    failCommit = false;
    const now = transactions.epoch;
    await transactions.abort();
    expect(transactions.isStale(now)).toBe(true);
    expect(transactions.isStale(transactions.epoch)).toBe(false);
  });

  it('flush waits only for what was sent before it, and the first failure fails every later send and flush', async () => {
    const release: Array<() => void> = [];
    let fail = false;
    const batcher = new SendBatcher(
      (_topic, _messages) =>
        new Promise<void>((resolve, reject) =>
          release.push(() => (fail ? reject(new Error('broker said no')) : resolve())),
        ),
      explain,
    );
    const first = batcher.send({ topic: 'a', key: null, value: null });
    const flushed = batcher.flush(); // dispatches at once
    let flushDone = false;
    void flushed.then(() => (flushDone = true));
    await sleep(5);
    const second = batcher.send({ topic: 'a', key: null, value: null });
    await sleep(5); // the second batch is in flight too
    release[0]!();
    await flushed;
    expect(flushDone).toBe(true);
    await first;
    fail = true;
    release[1]!();
    await expect(second).rejects.toMatchObject({ code: 'STREAM_APP_ERR_DELIVERY', message: /broker said no/ });
    await expect(batcher.send({ topic: 'b', key: null, value: null })).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_DELIVERY',
    });
    await expect(batcher.flush()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_DELIVERY' });
  });
});

describe('Stream operators (over memory)', () => {
  const drivers: TestDriver[] = [];
  afterEach(async () => {
    await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
  });

  function makeApp(): App {
    return new App({ id: 'ops', broker: 'kafka:9093', logger: { level: 'error', write: () => {} } });
  }

  async function drive(app: App, clock?: ManualClock): Promise<TestDriver> {
    const driver = await testApp(app, clock ? { clock } : {});
    drivers.push(driver);
    return driver;
  }

  it('map, filter, enumerate, items and events', async () => {
    const app = makeApp();
    const numbers = app.topic<number>('numbers');
    const agent = app.agent(numbers, async function* ops(stream) {
      for await (const [index, [key, doubled]] of stream
        .filter((n) => n % 2 === 1)
        .map(async (n) => n * 2)
        .items<string>()
        .enumerate())
        yield `${index}:${key}:${doubled}`;
    });
    const events: string[] = [];
    app.agent(
      numbers,
      async (stream) => {
        for await (const e of stream.events()) events.push(`${e.topic}/${e.offset}=${String(e.value)}`);
      },
      { name: 'events' },
    );
    const driver = await drive(app);
    for (const n of [1, 2, 3]) await driver.put(agent, n, { key: `k${n}`, partition: 0 });
    expect(driver.yielded(agent)).toEqual(['0:k1:2', '1:k3:6']);
    expect(events).toEqual(['numbers/0=1', 'numbers/1=2', 'numbers/2=3']);
  });

  it('take(n, withinMs) yields full batches at once and a partial one when the clock passes its deadline', async () => {
    const clock = new ManualClock();
    const app = makeApp();
    const batches = app.agent(app.topic<number>('batched'), async function* batched(stream) {
      for await (const batch of stream.take(3, 1000)) yield batch;
    });
    const driver = await drive(app, clock);
    for (const n of [1, 2, 3, 4]) await driver.app.send(batches.topic, { value: n, partition: 0 });
    await sleep(30);
    expect(driver.yielded(batches)).toEqual([[1, 2, 3]]);
    driver.advance(999);
    await sleep(10);
    expect(driver.yielded(batches)).toEqual([[1, 2, 3]]);
    driver.advance(1);
    await sleep(10);
    expect(driver.yielded(batches)).toEqual([[1, 2, 3], [4]]);
    await driver.settle();
  });

  it('echo, through and groupBy forward with keys and headers; noAck leaves acknowledging to the agent', async () => {
    const app = makeApp();
    const input = app.topic<{ account: string; n: number }>('input');
    const copies = app.topic<{ account: string; n: number }>('copies');
    const middle = app.topic<{ account: string; n: number }>('middle');
    const agent = app.agent(input, async function* chain(stream) {
      for await (const order of stream
        .echo(copies)
        .through<{ account: string; n: number }>(middle)
        .groupBy((o) => o.account, { name: 'by-account' }))
        yield `${order.account}:${order.n}`;
    });
    const held: StreamEvent[] = [];
    const manual = app.agent(app.topic<number>('manual'), async (stream) => {
      for await (const e of stream.noAck().events()) held.push(e);
    });
    const driver = await drive(app);
    const result = await driver.put(agent, { account: 'a', n: 1 }, { key: 'k', headers: { trace: 'x' } });
    expect(result.yielded).toEqual(['a:1']);
    expect(driver.sent(copies)).toMatchObject([{ key: 'k', value: { account: 'a', n: 1 }, headers: { trace: 'x' } }]);
    expect(driver.sent(middle)).toMatchObject([{ key: 'k', headers: { trace: 'x' } }]);
    const repartition = [...app.topics.keys()].find((name) => name.endsWith('-by-account-repartition'))!;
    expect(driver.sent(repartition)).toMatchObject([{ key: 'a', headers: { trace: 'x' } }]);
    await driver.app.send(manual.topic, { value: 7, partition: 0 });
    await sleep(30);
    expect(held).toHaveLength(1);
    await expect(driver.settle(200)).rejects.toThrow(/did not finish/);
    held[0]!.ack();
    await driver.settle();
    expect(driver.committed(manual)).toEqual({ 0: 1 });
  });
});

describe('headers read from Kafka', () => {
  it('keeps headers named like Object.prototype members as plain own headers', () => {
    const headers = {};
    for (const name of ['__proto__', 'constructor', 'toString', 'constructor']) addHeader(headers, name, name);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value).toEqual(Buffer.from('__proto__'));
    expect((headers as { constructor: unknown }).constructor).toEqual([
      Buffer.from('constructor'),
      Buffer.from('constructor'),
    ]);
  });
});
