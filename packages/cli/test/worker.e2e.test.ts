// `stream-app worker` as a user runs it, on examples/orders/src/app.ts, against the real broker.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { adminKafka, createAdminClient } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../src/index.js';
import { startWorker as startAppWorker, type Worker } from './helpers/worker-process.js';

const testbed = useTestbed();
const ORDERS_APP = fileURLToPath(new URL('../../../examples/orders/src/app.ts', import.meta.url));
const { app: client } = testbed.clients;

function startWorker(env: { [name: string]: string }): Worker {
  return startAppWorker(testbed, ORDERS_APP, env);
}

async function committed(groupId: string, topic: string): Promise<number> {
  const admin = createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (result?.partitions ?? []).reduce((sum, { offset }) => sum + Math.max(Number(offset), 0), 0);
  } finally {
    await admin.disconnect();
  }
}

const paidAmounts = (output: string[]) =>
  output.flatMap((line) => {
    const match = /^account \S+ pays (\d+)\.00$/.exec(line);
    return match ? [Number(match[1])] : [];
  });

describe('stream-app worker', () => {
  it('loses no order when the worker is killed mid-stream and started again', async () => {
    const topic = `orders-${randomUUID().slice(0, 8)}`;
    const env = { ORDERS_TOPIC: topic, ORDERS_APP_ID: `orders-${randomUUID().slice(0, 8)}` };
    const first = startWorker(env);
    await first.waitFor(/^ready in/, 'the first worker');
    // Orders start once it holds its partitions: sent before, they would all be there for it at once.
    await first.waitFor(/"partitions assigned"/, 'the first assignment');
    const producer = adminKafka(testbed.kafka).producer();
    await producer.connect();
    const total = 400;
    // Orders keep coming while the worker is killed and replaced.
    const sending = (async () => {
      for (let n = 1; n <= total; n += 4) {
        await producer.send({
          topic,
          messages: [0, 1, 2, 3].map((i) => ({
            key: `acc-${(n + i) % 7}`,
            value: JSON.stringify({ accountId: `acc-${(n + i) % 7}`, amount: n + i }),
          })),
        });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();
    await first.waitFor(/pays/, 'the first orders');
    await new Promise((resolve) => setTimeout(resolve, 600));
    first.process.kill('SIGKILL');
    await first.exited;
    const beforeKill = paidAmounts(first.output);
    expect(beforeKill.length).toBeGreaterThan(0);
    expect(beforeKill.length).toBeLessThan(total);

    const second = startWorker(env);
    await sending;
    await producer.disconnect();
    const all = () => new Set([...paidAmounts(first.output), ...paidAmounts(second.output)]);
    const deadline = Date.now() + 60_000;
    while (all().size < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect([...all()].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    second.process.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Graceful stop: everything processed is committed.
    expect(await committed(env.ORDERS_APP_ID, topic)).toBe(total);
    const text = [...first.output, ...second.output].join('\n');
    expect(text).not.toContain(client.clientSecret);
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/); // no token
  });

  it('prints a banner and stops gracefully on SIGTERM', async () => {
    const topic = `orders-${randomUUID().slice(0, 8)}`;
    const worker = startWorker({ ORDERS_TOPIC: topic, ORDERS_APP_ID: `orders-${randomUUID().slice(0, 8)}` });
    await worker.waitFor(/^ready in/, 'ready');
    const text = worker.output.join('\n');
    expect(text).toMatch(/principal\s+User:stream-app-test/);
    expect(text).toMatch(/auth\s+SASL\/OAUTHBEARER with client credentials/);
    expect(text).toMatch(new RegExp(`agents\\s+Billing.charge ← ${topic}`));
    worker.process.kill('SIGTERM');
    const code = await worker.exited;
    expect(code, `${worker.process.signalCode} ${worker.output.join('\n')}`).toBe(0);
    expect(worker.output.join('\n')).toMatch(/stopped in \d+\.\d s/);
  });
});

describe('stream-app worker with the web option', () => {
  it('serves /health, /ready, /metrics and the page of the app while it runs', async () => {
    const topic = `orders-${randomUUID().slice(0, 8)}`;
    const worker = startWorker({
      ORDERS_TOPIC: topic,
      ORDERS_APP_ID: `orders-${randomUUID().slice(0, 8)}`,
      ORDERS_WEB_PORT: '0',
    });
    await worker.waitFor(/^ready in/, 'ready');
    const url = /^\s+web\s+(http:\/\/127\.0\.0\.1:\d+) \(no auth; \/health \/ready \/metrics, 1 page\(s\)\)$/m.exec(
      worker.output.join('\n'),
    )?.[1];
    expect(url, worker.output.join('\n')).toBeDefined();
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok', state: 'running' });
    const producer = adminKafka(testbed.kafka).producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [5, 7, 11].map((amount, i) => ({
        key: `acc-${i % 2}`,
        value: JSON.stringify({ accountId: `acc-${i % 2}`, amount }),
      })),
    });
    await producer.disconnect();
    // Three partitions: the orders come in any order across them.
    for (const amount of ['5', '7', '11'])
      await worker.waitFor(new RegExp(`pays ${amount}\\.00`), `the order of ${amount}`);
    expect(await (await fetch(`${url}/totals`)).json()).toEqual({ 'acc-0': 16, 'acc-1': 7 });
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`^stream_app_messages_received_total\\{topic="${topic}",app="[^"]+"\\} 3$`, 'm'),
    );
    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

describe('stream-app worker, refusing bad input', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    const value: Io = { out: (l) => void out.push(l), err: (l) => void err.push(l), env: {} };
    return { value, out, err };
  }

  it('needs -A, and explains a module that is missing or exports no App', async () => {
    const none = io();
    expect(await main(['worker'], none.value)).toBe(2);
    expect(none.err.join('\n')).toContain('-A <module> is required');

    const missing = io();
    expect(await main(['worker', '-A', './no-such-app.ts'], missing.value)).toBe(1);
    expect(missing.err.join('\n')).toMatch(/STREAM_APP_ERR_APP_LOAD.*cannot find the app module .*no-such-app\.ts/);

    const notAnApp = io();
    expect(await main(['worker', '-A', fileURLToPath(new URL('../src/io.ts', import.meta.url))], notAnApp.value)).toBe(
      1,
    );
    expect(notAnApp.err.join('\n')).toMatch(/exports no App/);

    const level = io();
    expect(await main(['worker', '-A', ORDERS_APP, '--loglevel', 'loud'], level.value)).toBe(2);
    expect(level.err.join('\n')).toContain('--loglevel must be debug, info, warn or error');
  });
});
