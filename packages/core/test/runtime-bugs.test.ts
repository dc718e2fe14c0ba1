// Bug reports against the runtime, each written as the user who hit it would: they failed on the
// main of 2026-12-01 (before the runtime was split into services) and pass since. Over memory: the
// bugs live in the runtime, not in the client. The header bug, which lives in the Kafka transport,
// is in runtime-ports.e2e.test.ts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  App,
  type AppOptions,
  type Consumer,
  type ConsumerHandlers,
  type ConsumerOptions,
  type TopicPartitionOffset,
} from '@stream-app/core';
import { AbstractTokenProvider, OAuthCredentials, type AccessToken } from '@stream-app/credentials';
import { MemoryTransport, testApp, type TestDriver } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const drivers: TestDriver[] = [];
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
  await Promise.all(apps.splice(0).map((app) => app.stop()));
});

function makeApp(options: Partial<AppOptions> = {}): App {
  const app = new App({ id: 'bugs', broker: 'kafka:9093', logger: { level: 'error', write: () => {} }, ...options });
  apps.push(app);
  return app;
}

async function drive(app: App, transport?: MemoryTransport): Promise<TestDriver> {
  const driver = await testApp(app, transport ? { transport } : {});
  drivers.push(driver);
  return driver;
}

/** Collects unhandled rejections for the duration of a test (Node's default would kill the worker). */
function watchUnhandledRejections(): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  afterEach(() => void process.off('unhandledRejection', listener));
  return seen;
}

/** An agent that re-keys orders by account through groupBy; the key function throws for an order without one. */
function keyedByAccount(app: App) {
  return app.agent(app.topic<{ accountId?: string }>('orders'), async function* keyed(stream) {
    for await (const order of stream.groupBy(
      (o) => {
        if (!o.accountId) throw new Error('order without accountId');
        return o.accountId;
      },
      { name: 'by-account' },
    ))
      yield order;
  });
}

function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('runtime bug reports', () => {
  const unhandled = watchUnhandledRejections();

  it('1. a generator agent that uses groupBy keeps a flat heap however many values it yields', async () => {
    const app = makeApp();
    const topic = app.topic<{ n: number }>('soak');
    const yields = 100_000;
    let phase = 0;
    const phases: Array<() => void> = [];
    app.agent(
      topic,
      async function* soak(stream) {
        for await (const value of stream.groupBy((v) => String(v.n), { name: 'by-n' })) {
          for (let i = 0; i < yields; i++) yield i;
          phases[phase++]?.();
          void value;
        }
      },
      { name: 'soak' },
    );
    const transport = new MemoryTransport();
    app.setTransport(transport);
    await app.start();
    const phaseDone = (index: number) => new Promise<void>((resolve) => (phases[index] = resolve));
    const first = phaseDone(0);
    await app.send(topic, { value: { n: 1 } });
    await first;
    const before = heapAfterGc();
    const later = [phaseDone(1), phaseDone(2), phaseDone(3)];
    for (let n = 2; n <= 4; n++) await app.send(topic, { value: { n } });
    await Promise.all(later);
    const grown = heapAfterGc() - before;
    // 300 000 yields: with a reaction kept per yield this grew by about 30 MB.
    expect(grown, `heap grew by ${(grown / 1e6).toFixed(1)} MB over 300 000 yields`).toBeLessThan(4_000_000);
  });

  it('2. a groupBy key function that throws before the first yield fails the agent with a code, never the process', async () => {
    const app = makeApp({ onAgentError: 'stop' });
    const orders = keyedByAccount(app).topic;
    const failed = new Promise<Error>((resolve) => app.once('failed', resolve));
    await drive(app).then((driver) => driver.app.send(orders, { value: {} }));
    const failure = (await failed) as Error & { code?: string };
    expect(failure.code).toBe('STREAM_APP_ERR_AGENT_FAILED');
    expect(failure.message).toContain('order without accountId');
    await app.stop();
    expect(app.state).toBe('stopped');
    await sleep(20);
    expect(unhandled).toEqual([]);
  });

  it('2b. under onAgentError restart, the message whose key failed is dead-lettered and the agent goes on', async () => {
    const app = makeApp();
    const keyed = keyedByAccount(app);
    const driver = await drive(app);
    const bad = await driver.put(keyed, {});
    expect(bad.deadLettered.map((dead) => dead.code)).toEqual(['STREAM_APP_ERR_AGENT_FAILED']);
    const good = await driver.put(keyed, { accountId: 'a' }, { timeoutMs: 5000 });
    expect(good.yielded).toEqual([{ accountId: 'a' }]);
    expect(unhandled).toEqual([]);
  });

  it('3. ask() bounds the whole call by timeoutMs, even when the reply reader is never assigned', async () => {
    class NeverAssigned extends MemoryTransport {
      override consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer> {
        if (!options.groupId.includes('-replies-')) return super.consume(options, handlers);
        return super.consume(options, { ...handlers, onAssigned: () => {} });
      }
    }
    const app = makeApp();
    const echo = app.agent(app.topic('questions'), async function* echo(stream) {
      for await (const question of stream) yield question;
    });
    await drive(app, new NeverAssigned());
    const started = Date.now();
    const answer = echo.ask('hello', { timeoutMs: 300 });
    await expect(Promise.race([answer, sleep(5000).then(() => 'still waiting after 5 s')])).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_ASK_TIMEOUT',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('4. two apps with one token provider: stopping one leaves the other refreshing', async () => {
    class ShortTokens extends AbstractTokenProvider {
      fetched = 0;
      async token(): Promise<AccessToken> {
        this.fetched += 1;
        return { value: `opaque-${this.fetched}`, expiresAt: Date.now() + 1500, principal: 'billing' };
      }
    }
    const provider = new ShortTokens();
    const lifecycle = { minRefreshIntervalMs: 100 };
    const first = makeApp({ id: 'first', credentials: new OAuthCredentials({ tokenProvider: provider, lifecycle }) });
    const second = makeApp({ id: 'second', credentials: new OAuthCredentials({ tokenProvider: provider, lifecycle }) });
    await drive(first);
    await drive(second);
    const credentials = second.credentials as OAuthCredentials;
    await credentials.lifecycle.token();
    await first.stop();
    const fetchedAtStop = provider.fetched;
    await sleep(2500); // past the first token's expiry: only a background refresh keeps it valid
    expect(credentials.lifecycle.stats().state).toBe('valid');
    expect(provider.fetched).toBeGreaterThan(fetchedAtStop);
    await expect(credentials.lifecycle.token()).resolves.toMatchObject({ principal: 'billing' });
    await second.stop();
    expect(credentials.lifecycle.stats().state).toBe('closed');
  });

  it('5. a throwing onPartitionsRevoked hook fails the app with a code, and stop() still ends in stopped', async () => {
    const app = makeApp({
      onPartitionsRevoked: () => {
        throw new Error('hook broke');
      },
    });
    app.agent(app.topic('orders'), async (stream) => {
      for await (const order of stream) void order;
    });
    const failures: Error[] = [];
    app.on('failed', (error) => failures.push(error));
    await drive(app);
    await app.stop();
    expect(app.state).toBe('stopped');
    expect(failures.map((error) => (error as Error & { code?: string }).code)).toEqual(['STREAM_APP_ERR_HOOK_FAILED']);
    expect(failures[0]!.message).toContain('onPartitionsRevoked');
    expect(failures[0]!.message).toContain('hook broke');
  });

  it('5b. a throwing onPartitionsAssigned hook fails the app with a code', async () => {
    const app = makeApp({
      onPartitionsAssigned: async () => {
        throw new Error('assign hook broke');
      },
    });
    app.agent(app.topic('orders'), async (stream) => {
      for await (const order of stream) void order;
    });
    const failed = new Promise<Error>((resolve) => app.once('failed', resolve));
    await drive(app).catch(() => {});
    expect(await failed).toMatchObject({ code: 'STREAM_APP_ERR_HOOK_FAILED' });
    await app.stop();
    expect(app.state).toBe('stopped');
  });

  it('6. commits coalesce: one in flight, the next carries everything finished meanwhile', async () => {
    const commits: TopicPartitionOffset[][] = [];
    class SlowCommits extends MemoryTransport {
      override async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer> {
        const consumer = await super.consume(options, handlers);
        return {
          ...consumer,
          commit: async (offsets) => {
            commits.push(offsets);
            await sleep(150);
            await consumer.commit(offsets);
          },
        };
      }
    }
    const app = makeApp({ commitIntervalMs: 60_000 });
    const topic = app.topic<number>('work', { partitions: 1 });
    let processed = 0;
    app.agent(topic, async (stream) => {
      for await (const n of stream) {
        await sleep(2);
        processed = n;
      }
    });
    const driver = await drive(app, new SlowCommits());
    for (let n = 1; n <= 200; n++) await app.send(topic, { value: n });
    await sleep(20);
    // Ten commit ticks during one slow commit, while messages keep finishing.
    const ticks: Array<Promise<void>> = [];
    for (let tick = 0; tick < 10; tick++) {
      ticks.push(app.commit());
      await sleep(10);
    }
    await Promise.all(ticks);
    expect(commits.length).toBeLessThanOrEqual(2);
    // The last tick's promise resolved after a commit that carries what was finished when it was made.
    const lastCommitted = commits.at(-1)![0]!.offset;
    expect(lastCommitted).toBeGreaterThan(commits[0]![0]!.offset);
    expect(processed).toBeGreaterThan(0);
    await driver.settle(10_000);
    expect(driver.committed(topic)).toEqual({ 0: 200 });
  });

  it('7. an agent body that awaits before its first read may still use groupBy', async () => {
    const app = makeApp();
    const orders = app.topic<{ accountId: string }>('orders');
    const late = app.agent(orders, async function* late(stream) {
      await sleep(50); // loads its configuration first
      for await (const order of stream.groupBy((o) => o.accountId, { name: 'by-account' })) yield order.accountId;
    });
    const driver = await drive(app);
    const result = await driver.put(late, { accountId: 'a' });
    expect(result.yielded).toEqual(['a']);
    expect(app.failure).toBeUndefined();
  });
});
