// The worker's web server against the real broker and identity provider: OAuth on pages (enforce and
// report), /metrics as Prometheus parses it, and table views across two workers.
import { generateKeyPair, exportJWK, SignJWT, importJWK, type JWK } from 'jose';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, partitionForKey, type App, type AppOptions } from '@stream-app/core';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebServer, type WebServer } from '../src/index.js';
import {
  createTopic,
  eventually,
  makeApp,
  oauth,
  produceRaw,
  stoppedAfterEachTest,
  testbed,
  uniqueName,
} from '../../core/test/helpers/broker.js';

const track = stoppedAfterEachTest();
const servers: WebServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(app: App): Promise<WebServer> {
  const server = await startWebServer(app);
  servers.push(server);
  return server;
}

const idp = testbed.identityProvider;
const auth = (mode: 'enforce' | 'report') => ({
  issuer: idp.issuer,
  audience: idp.audience,
  jwksUri: idp.jwksUri,
  allowInsecureLoopback: true,
  clockToleranceSec: 0,
  mode,
});

/** A token signed with the provider's own key, with the claims given (an expired one, another audience). */
async function signed(claims: { [name: string]: unknown }, key: JWK = idp.signingKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: idp.issuer, aud: idp.audience, sub: 'stream-app-test', iat: now, exp: now + 60, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: idp.signingKey.kid! })
    .sign(await importJWK(key, 'RS256'));
}

/** A token signed by someone else's key that claims the provider's key id. */
async function forged(): Promise<string> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return signed({ scope: 'kafka' }, { ...(await exportJWK(privateKey)), kid: idp.signingKey.kid! });
}

/** A real token from the provider (client credentials, scope `kafka`). */
async function goodToken(): Promise<string> {
  return (await oauth().lifecycle.token()).value;
}

interface Sample {
  name: string;
  labels: { [name: string]: string };
  value: number;
}

/** `/metrics` through a Prometheus text-format parser: every sample, histograms' counts as `<name>_count`. */
async function scrape(server: WebServer, token?: string): Promise<{ families: Set<string>; samples: Sample[] }> {
  const response = await fetch(`${server.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const text = await response.text();
  // The parser throws on any line that is not the text format; it keeps counters' and gauges' labels.
  const parsed = parsePrometheusTextFormat(text);
  const samples: Sample[] = [];
  for (const family of parsed) {
    for (const metric of family.metrics) {
      if ('value' in metric)
        samples.push({ name: family.name, labels: metric.labels ?? {}, value: Number(metric.value) });
    }
  }
  // It folds a labelled histogram's series into one, dropping labels and counts: those lines are read as they are.
  for (const [, name, labels, count] of text.matchAll(/^(\w+_count)\{([^}]*)\} (\S+)$/gm)) {
    samples.push({
      name: name!,
      labels: Object.fromEntries([...labels!.matchAll(/(\w+)="([^"]*)"/g)].map(([, label, value]) => [label!, value!])),
      value: Number(count),
    });
  }
  return { families: new Set(parsed.map((family) => family.name)), samples };
}

function value(samples: Sample[], name: string, labels: { [name: string]: string } = {}): number | undefined {
  const found = samples.filter(
    (sample) =>
      sample.name === name && Object.entries(labels).every(([label, wanted]) => sample.labels[label] === wanted),
  );
  return found.length === 0 ? undefined : found.reduce((sum, sample) => sum + sample.value, 0);
}

function capturedLogger(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger({ level: 'info', format: 'json', write: (line) => lines.push(line) }) };
}

function pagesApp(options: Partial<AppOptions> & { id: string }): App {
  const app = track(makeApp(options));
  app.page('/orders', (request) => ({ orders: 3, principal: request.principal }), {
    scopes: ['kafka'],
    method: ['GET', 'POST'],
  });
  app.page('/admin', () => ({ secret: true }), { scopes: ['stream-app:admin'] });
  app.page('/hello', () => 'hello', { public: true });
  return app;
}

describe('web pages behind OAuth (enforce)', () => {
  it('refuses no token, a malformed header, a forged, an expired, a foreign and an unscoped token with RFC 6750 answers; serves a good one', async () => {
    const { lines, logger } = capturedLogger();
    const app = pagesApp({ id: uniqueName('web-auth'), logger, web: { port: 0, auth: auth('enforce') } });
    const server = await serve(app);
    await app.start();
    const get = (path: string, authorization?: string) =>
      fetch(`${server.url}${path}`, authorization ? { headers: { authorization } } : {});

    const none = await get('/orders');
    expect(none.status).toBe(401);
    // RFC 6750 §3.1: no credentials, no error code in the challenge.
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="stream-app"');
    expect(await none.json()).toMatchObject({ code: 'STREAM_APP_ERR_WEB_UNAUTHORIZED', error: 'invalid_request' });

    // Another scheme is no bearer token (RFC 6750 §3.1); a Bearer header that is not one token is malformed.
    const basic = await get('/orders', 'Basic dXNlcjpwYXNz');
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toBe('Bearer realm="stream-app"');
    const malformed = await get('/orders', 'Bearer two tokens');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('www-authenticate')).toBe(
      `Bearer realm="stream-app", error="invalid_request", error_description="the Authorization header must be 'Bearer <token>' (RFC 6750)"`,
    );
    // Checked before the body is read: a bad body without a token is refused for the token.
    const post = await fetch(`${server.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(post.status).toBe(401);

    const forgedToken = await forged();
    const forgery = await get('/orders', `Bearer ${forgedToken}`);
    expect(forgery.status).toBe(401);
    expect(forgery.headers.get('www-authenticate')).toMatch(
      /^Bearer realm="stream-app", error="invalid_token", error_description="the token signature does not verify"$/,
    );

    const expiredToken = await signed({
      scope: 'kafka',
      iat: Math.floor(Date.now() / 1000) - 600,
      exp: Math.floor(Date.now() / 1000) - 300,
    });
    const expired = await get('/orders', `Bearer ${expiredToken}`);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toContain(
      'error="invalid_token", error_description="the token has expired"',
    );

    const foreign = await get('/orders', `Bearer ${await signed({ scope: 'kafka', aud: 'someone-else' })}`);
    expect(foreign.status).toBe(401);
    expect(foreign.headers.get('www-authenticate')).toContain('not meant for this audience');

    const token = await goodToken();
    const unscoped = await get('/admin', `Bearer ${token}`);
    expect(unscoped.status).toBe(403);
    expect(unscoped.headers.get('www-authenticate')).toBe(
      'Bearer realm="stream-app", error="insufficient_scope", error_description="the token lacks the scope stream-app:admin", scope="stream-app:admin"',
    );
    const refusal = (await unscoped.json()) as { [name: string]: unknown };
    expect(refusal).toEqual({
      error: 'insufficient_scope',
      error_description: 'the token lacks the scope stream-app:admin',
      code: 'STREAM_APP_ERR_WEB_FORBIDDEN',
      scope: 'stream-app:admin',
    });

    const good = await get('/orders', `Bearer ${token}`);
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({ orders: 3, principal: 'stream-app-test' });

    // Open without a token: liveness, readiness, public pages.
    expect((await get('/health')).status).toBe(200);
    expect((await get('/hello')).status).toBe(200);
    const ready = await get('/ready');
    expect(ready.status).toBe(200);
    expect(
      ((await ready.json()) as { checks: Array<{ name: string; ok: boolean }> }).checks.map((check) => check.name),
    ).toEqual(['running', 'assigned', 'recovered', 'token']);
    // /metrics is protected like any page.
    expect((await get('/metrics')).status).toBe(401);

    const { samples } = await scrape(server, token);
    const outcomes = (outcome: string, route = '/orders') =>
      value(samples, 'stream_app_web_authentications_total', { route, outcome, mode: 'enforce' });
    expect(outcomes('missing_token')).toBe(3); // none, Basic, the POST
    expect(outcomes('invalid_request')).toBe(1);
    expect(outcomes('invalid_token')).toBe(2); // the forged and the foreign one
    expect(outcomes('expired_token')).toBe(1);
    expect(outcomes('insufficient_scope', '/admin')).toBe(1);
    expect(outcomes('allowed')).toBe(1);
    // Tokens never reach the log.
    const log = lines.join('\n');
    for (const secret of [token, forgedToken, expiredToken]) expect(log).not.toContain(secret);
  });
});

describe('web pages behind OAuth (report: the phased roll-out)', () => {
  it('serves every request and counts and logs each that enforce would refuse', async () => {
    const { lines, logger } = capturedLogger();
    const app = pagesApp({ id: uniqueName('web-report'), logger, web: { port: 0, auth: auth('report') } });
    const server = await serve(app);
    await app.start();
    const token = await goodToken();
    const requests: Array<[string, string | undefined]> = [
      ['/orders', undefined],
      ['/orders', undefined],
      ['/orders', `Bearer ${await forged()}`],
      ['/orders', `Bearer ${await signed({ scope: 'kafka', exp: Math.floor(Date.now() / 1000) - 300 })}`],
      ['/admin', `Bearer ${token}`],
      ['/orders', `Bearer ${token}`],
    ];
    for (const [path, authorization] of requests) {
      const response = await fetch(`${server.url}${path}`, authorization ? { headers: { authorization } } : {});
      expect(response.status, `${path} ${authorization ? 'with a token' : 'without'}`).toBe(200);
    }
    const { samples } = await scrape(server);
    const outcomes = (outcome: string, route = '/orders') =>
      value(samples, 'stream_app_web_authentications_total', { route, outcome, mode: 'report' });
    expect(outcomes('missing_token')).toBe(2);
    expect(outcomes('invalid_token')).toBe(1);
    expect(outcomes('expired_token')).toBe(1);
    expect(outcomes('insufficient_scope', '/admin')).toBe(1);
    expect(outcomes('allowed')).toBe(1);
    expect(value(samples, 'stream_app_web_authentications_total', { mode: 'enforce' })).toBeUndefined();
    // One line per route and outcome (the metric counts each request), none for the allowed one.
    const reported = lines
      .filter((line) => line.includes('enforce mode would refuse'))
      .map((line) => JSON.parse(line) as { outcome: string; route: string });
    expect(reported.map((line) => `${line.route} ${line.outcome}`).sort()).toEqual(
      [
        '/admin insufficient_scope',
        '/orders expired_token',
        '/orders invalid_token',
        '/orders missing_token',
        '/metrics missing_token',
      ].sort(),
    );
  });
});

describe('/metrics', () => {
  it('has every metric, moving as records flow; lag rises while the agent is held and returns to 0', async () => {
    const source = uniqueName('metrics-in');
    const sink = uniqueName('metrics-out');
    await createTopic(source, 2);
    await createTopic(sink, 1);
    const app = track(makeApp({ id: uniqueName('web-metrics'), topicPartitions: 2, web: { port: 0 } }));
    const counts = app.table<number>('counts', { default: () => 0 });
    let hold: Promise<void> | undefined;
    let failedOnce = false;
    app.agent(
      app.topic(source, { valueType: 'json' }),
      async function* (stream) {
        for await (const event of stream.events()) {
          await hold;
          const { n } = event.value as { n: number };
          if (n === -1 && !failedOnce) {
            failedOnce = true;
            throw new Error('the agent fails once');
          }
          counts.set(String(event.key), counts.get(String(event.key))! + 1);
          yield { n: n * 2 };
        }
      },
      { name: 'doubler', sink: [app.topic(sink, { valueType: 'json' })] },
    );
    const server = await serve(app);
    await app.start();
    const keys = ['a', 'b', 'c', 'd'];
    await produceRaw(source, [
      ...Array.from({ length: 40 }, (_, n) => {
        const key = keys[n % 4]!;
        return { key, value: JSON.stringify({ n }), partition: partitionForKey(Buffer.from(key), 2) };
      }),
      { key: 'a', value: '{not json', partition: partitionForKey(Buffer.from('a'), 2) },
      { key: 'a', value: JSON.stringify({ n: -1 }), partition: partitionForKey(Buffer.from('a'), 2) },
    ]);
    await eventually(
      async () => value((await scrape(server)).samples, 'stream_app_messages_sent_total', { topic: sink }) === 40,
      '40 sent',
    );
    await eventually(async () => value((await scrape(server)).samples, 'stream_app_consumer_lag') === 0, 'lag 0');

    const { families, samples } = await scrape(server);
    for (const name of [
      'stream_app_messages_received_total',
      'stream_app_messages_sent_total',
      'stream_app_consumer_lag',
      'stream_app_event_processing_seconds',
      'stream_app_commit_duration_seconds',
      'stream_app_dead_letters_total',
      'stream_app_messages_skipped_total',
      'stream_app_agent_restarts_total',
      'stream_app_table_keys',
      'stream_app_table_recovery_records_read',
      'stream_app_table_recovery_records',
      'stream_app_rebalances_total',
      'stream_app_token_refreshes_total',
      'stream_app_token_expiry_seconds',
      'stream_app_kafka_connection_events_total',
      'stream_app_web_authentications_total',
    ]) {
      expect(families.has(name), name).toBe(true);
    }
    expect(value(samples, 'stream_app_messages_received_total', { topic: source })).toBe(42);
    expect(value(samples, 'stream_app_event_processing_seconds_count', { agent: 'doubler' })).toBe(41);
    expect(value(samples, 'stream_app_commit_duration_seconds_count')).toBeGreaterThan(0);
    expect(value(samples, 'stream_app_dead_letters_total', { code: 'STREAM_APP_ERR_DECODE' })).toBe(1);
    expect(value(samples, 'stream_app_dead_letters_total', { code: 'STREAM_APP_ERR_AGENT_FAILED' })).toBe(1);
    expect(value(samples, 'stream_app_agent_restarts_total', { agent: 'doubler' })).toBe(1);
    expect(value(samples, 'stream_app_table_keys', { table: 'counts' })).toBe(4);
    expect(value(samples, 'stream_app_rebalances_total', { kind: 'assigned' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'stream_app_token_refreshes_total', { outcome: 'success' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'stream_app_token_expiry_seconds')).toBeGreaterThan(0);
    expect(value(samples, 'stream_app_kafka_connection_events_total', { kind: 'authenticated' })).toBeGreaterThan(0);
    for (const sample of samples) expect(sample.labels.app).toBe(app.id);

    // Held: the agent takes no event, nothing is committed, the lag rises with what is produced.
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    await produceRaw(
      source,
      Array.from({ length: 10 }, (_, n) => ({
        key: 'b',
        value: JSON.stringify({ n }),
        partition: partitionForKey(Buffer.from('b'), 2),
      })),
    );
    await eventually(
      async () => value((await scrape(server)).samples, 'stream_app_consumer_lag') === 10,
      'lag 10 while held',
    );
    release();
    hold = undefined;
    await eventually(
      async () => value((await scrape(server)).samples, 'stream_app_consumer_lag') === 0,
      'lag back to 0',
    );
    const after = (await scrape(server)).samples;
    expect(value(after, 'stream_app_messages_sent_total', { topic: sink })).toBe(50);
  });
});

describe('table views', () => {
  it('answers from the worker that owns the key, whichever worker is asked', async () => {
    const source = uniqueName('views-in');
    await createTopic(source, 4);
    const id = uniqueName('web-views');
    const worker = () => {
      const app = track(
        makeApp({
          id,
          topicPartitions: 4,
          stateDir: mkdtempSync(join(tmpdir(), 'views-')),
          web: { port: 0, auth: { ...auth('enforce'), tablesScopes: ['kafka'] } },
        }),
      );
      const counts = app.table<number>('counts', { default: () => 0 });
      app.agent(app.topic(source, { valueType: 'json' }), async (stream) => {
        for await (const event of stream.events()) counts.set(String(event.key), counts.get(String(event.key))! + 1);
      });
      return { app, counts };
    };
    const a = worker();
    const b = worker();
    const [serverA, serverB] = [await serve(a.app), await serve(b.app)];
    await Promise.all([a.app.start(), b.app.start()]);
    await eventually(
      () =>
        a.counts.activePartitions.length > 0 &&
        b.counts.activePartitions.length > 0 &&
        a.counts.activePartitions.length + b.counts.activePartitions.length === 4,
      'the partitions shared by both workers',
      60_000,
    );
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    await produceRaw(
      source,
      keys.flatMap((key, i) =>
        Array.from({ length: i + 1 }, () => ({ key, value: '{}', partition: partitionForKey(Buffer.from(key), 4) })),
      ),
    );
    const total = () => [...a.counts.values(), ...b.counts.values()].reduce((sum, n) => sum + n, 0);
    await eventually(() => total() === (12 * 13) / 2, 'every event counted');
    const token = await goodToken();
    const withToken = { headers: { authorization: `Bearer ${token}` } };
    const ownedByB = keys.filter((key) => b.counts.isActive(partitionForKey(Buffer.from(key), 4)));
    const ownedByA = keys.filter((key) => a.counts.isActive(partitionForKey(Buffer.from(key), 4)));
    expect(ownedByA.length).toBeGreaterThan(0);
    expect(ownedByB.length).toBeGreaterThan(0);
    for (const [asked, owner, owned] of [
      [serverA, serverB, ownedByB],
      [serverB, serverA, ownedByA],
    ] as const) {
      for (const key of owned) {
        const expected = keys.indexOf(key) + 1;
        // The owner announces itself shortly after its assignment: a view may be 503 for that long.
        let response!: Response;
        await eventually(async () => {
          response = await fetch(`${asked.url}/tables/counts/${key}`, withToken);
          return response.status !== 503;
        }, `the view of ${key}`);
        expect(response.status).toBe(200);
        expect(response.headers.get('x-stream-app-served-by')).toBe(owner.url);
        expect(await response.json()).toEqual({
          table: 'counts',
          key,
          partition: partitionForKey(Buffer.from(key), 4),
          value: expected,
        });
      }
    }
    // The asked worker checks the token before it forwards anything.
    const anonymous = await fetch(`${serverA.url}/tables/counts/${ownedByB[0]}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-stream-app-served-by')).toBeNull();
    const missing = await fetch(`${serverA.url}/tables/nope/x`, withToken);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'STREAM_APP_ERR_WEB_NOT_FOUND' });
  });
});
