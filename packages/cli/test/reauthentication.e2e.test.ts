// Re-authentication (KIP-368) in every regime of issue 16, against the real broker and identity provider:
// for each token lifetime and broker `connections.max.reauth.ms`, a worker of the counter app (a producer,
// a consumer, the admin client and a changelog reader) while orders flow for some token lifetimes. No
// connection may fail a re-authentication or drop, no order may be lost, and the identity provider sees
// about one token request per 60 % of a token's life. The rows run side by side, each on a listener of
// its own and with an OAuth client of its own, so the whole table costs the longest row.
import { copyFileSync, readFileSync } from 'node:fs';
import { startTestbed, type Testbed, type TestbedInfo } from '@stream-app/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerChecks, waitUntil } from './helpers/broker-checks.js';
import { countRun, counterRun, finishRun } from './helpers/counter-runs.js';
import { lastStatus, produceOrders } from './helpers/counter-workers.js';
import { workerPool, type Worker } from './helpers/worker-process.js';

/** Each row runs this many token lifetimes: 3 in CI; `STREAM_APP_REAUTH_LIFETIMES=6` for the full length. */
const LIFETIMES = Number(process.env.STREAM_APP_REAUTH_LIFETIMES ?? 3);
const KEYS = 20;
const ORDER_EVERY_MS = 100;

interface Row {
  tokenSec: number;
  reauthMs: number;
}
// The table, then a broker that never asks for re-authentication.
const ROWS: Row[] = [
  { tokenSec: 10, reauthMs: 60_000 },
  { tokenSec: 10, reauthMs: 5_000 },
  { tokenSec: 20, reauthMs: 5_000 },
  { tokenSec: 30, reauthMs: 20_000 },
  { tokenSec: 10, reauthMs: 0 },
];
const clientOf = (row: Row, i: number) => ({
  clientId: `reauth-row-${i}`,
  clientSecret: `reauth-row-${i}-secret`,
  accessTokenLifetimeSec: row.tokenSec,
});

const info = {} as TestbedInfo;
let bed: Testbed;
const pool = workerPool(info);
const checks = brokerChecks(info);

beforeAll(async () => {
  bed = await startTestbed({
    clients: ROWS.map(clientOf),
    kafka: { reauthListeners: [...new Set(ROWS.map((row) => row.reauthMs))] },
  });
  Object.assign(info, bed.info());
  await bed.kafka.createAcls(
    ROWS.flatMap((row, i) => {
      const principal = `User:${clientOf(row, i).clientId}`;
      return [
        { principal, resourceType: 'topic' as const, name: '*', operations: ['All' as const] },
        { principal, resourceType: 'group' as const, name: '*', operations: ['All' as const] },
        {
          principal,
          resourceType: 'cluster' as const,
          operations: ['Create' as const, 'Describe' as const, 'IdempotentWrite' as const],
        },
      ];
    }),
  );
}, 300_000);
afterAll(async () => {
  await checks.close();
  // STREAM_APP_REAUTH_BROKER_LOG=<file> keeps the broker's log (its authenticator logs at debug) for a reader.
  const keep = process.env.STREAM_APP_REAUTH_BROKER_LOG;
  if (keep && bed) copyFileSync(bed.kafka.logFile, keep);
  await bed?.stop();
});

/** What the client logs when a connection fails its (re-)authentication or drops. */
const CLIENT_TROUBLE =
  /handshake failed|authentication failure|SASL authentication error|all broker connections are down|Disconnected|transport failure/i;

interface RowResult {
  row: Row;
  orders: number;
  /** From the worker's start to its stop. */
  seconds: number;
  lost: number;
  trouble: string[];
  brokerFailures: number;
  tokenRequests: number;
  status: ReturnType<typeof lastStatus>;
}

async function runRow(row: Row, i: number): Promise<RowResult> {
  const client = clientOf(row, i);
  const bootstrap = info.kafka.bootstrap.reauth[row.reauthMs]!;
  const run = await counterRun({ pool, checks }, `reauth-${i}`, 'at_least_once', {
    KAFKA_BOOTSTRAP: bootstrap,
    OIDC_CLIENT_ID: client.clientId,
    OIDC_CLIENT_SECRET: client.clientSecret,
  });
  const started = Date.now();
  const worker: Worker = run.launch();
  await worker.waitFor(/^ready in/, `the worker of row ${i}`);
  const from = worker.output.length;
  const orders = Math.round((LIFETIMES * row.tokenSec * 1000) / ORDER_EVERY_MS);
  for (let n = 0; n < orders; n += 10) {
    await produceOrders(info, run.topic, Math.min(10, orders - n), KEYS, n);
    await new Promise((resolve) => setTimeout(resolve, 10 * ORDER_EVERY_MS));
  }
  await waitUntil(async () => (await checks.committed(run.id, run.topic)) === orders, 'every order committed', 120_000);
  // What it logged while running (its stop is not what this test is about).
  const trouble = worker.output.slice(from).filter((line) => CLIENT_TROUBLE.test(line));
  const status = lastStatus(worker);
  await finishRun({ pool, checks }, run, [worker], orders);
  const seconds = (Date.now() - started) / 1000;
  const counts = await countRun({ pool, checks }, run, orders, KEYS);
  const port = bootstrap.split(':')[1];
  // The broker names a failed authentication with its channel, which starts with the listener's address.
  const brokerLog = readFileSync(info.kafka.logFile, 'utf8');
  const brokerFailures = brokerLog
    .split('\n')
    .filter((line) => /Failed authentication with|Failed re-?authentication/i.test(line))
    .filter((line) => line.includes(`127.0.0.1:${port}-`)).length;
  return {
    row,
    orders,
    seconds,
    lost: counts.lost,
    trouble,
    brokerFailures,
    tokenRequests: bed.identityProvider.stats.tokenRequestsByClient[client.clientId] ?? 0,
    status,
  };
}

describe('re-authentication in every regime of token lifetime and broker re-authentication', () => {
  it(`${ROWS.length} workers side by side for ${LIFETIMES} token lifetimes each: no failed re-authentication, no dropped connection, no order lost`, async () => {
    const results = await Promise.all(ROWS.map((row, i) => runRow(row, i)));
    console.table(
      results.map(({ row, seconds, tokenRequests, status, trouble }) => ({
        token: `${row.tokenSec} s`,
        'broker re-auth': `${row.reauthMs} ms`,
        seconds: Math.round(seconds),
        'token requests': tokenRequests,
        ...status?.kafkaConnections,
        warnings: trouble.length,
      })),
    );
    for (const result of results) {
      const { row } = result;
      const name = `${row.tokenSec} s tokens, broker re-authentication ${row.reauthMs} ms`;
      expect(result.trouble, `${name}: what the client logged`).toEqual([]);
      expect(result.brokerFailures, `${name}: failed authentications in the broker's log`).toBe(0);
      expect(result.lost, `${name}: orders lost`).toBe(0);
      // The worker's own count (app.stats().kafkaConnections): re-authentications, none refused, no drop.
      const connections = result.status!.kafkaConnections;
      expect(connections.reauthenticationFailures, `${name}: refused re-authentications`).toBe(0);
      expect(connections.disconnects, `${name}: dropped connections`).toBe(0);
      // Every session is bounded by its token's expiry, even where the broker's own bound is 0 (never).
      expect(connections.reauthentications, `${name}: re-authentications`).toBeGreaterThan(LIFETIMES - 1);
      // One token at start, then one per 60 % of a lifetime (librdkafka's refresh), shared by the process's clients.
      const expected = 1 + result.seconds / (0.6 * row.tokenSec);
      expect(result.tokenRequests, `${name}: token requests`).toBeGreaterThanOrEqual(Math.floor(expected * 0.8));
      expect(result.tokenRequests, `${name}: token requests`).toBeLessThanOrEqual(Math.ceil(expected * 1.3) + 2);
    }
  }, 600_000);
});
