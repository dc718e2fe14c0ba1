// Unit tests of the lifecycle's rules with a scripted provider; the same rules
// are proven against the real identity provider and broker in oauth-kafka.test.ts.
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  AbstractTokenProvider,
  StreamAppError,
  TokenLifecycle,
  toAccessToken,
  type AccessToken,
} from '../src/index.js';
import { refreshHint } from '../src/kafka/kafka-client-config.js';

class ScriptedProvider extends AbstractTokenProvider {
  calls = 0;
  failing: StreamAppError | undefined;
  constructor(
    private readonly lifetimeMs: number,
    private readonly delayMs = 0,
  ) {
    super();
  }
  async token(): Promise<AccessToken> {
    this.calls += 1;
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failing) throw this.failing;
    return { value: `token-${this.calls}-very-secret`, expiresAt: Date.now() + this.lifetimeMs, principal: 'svc' };
  }
}

const unreachable = () =>
  new StreamAppError('STREAM_APP_ERR_IDP_UNREACHABLE', 'token endpoint http://127.0.0.1:1/token could not be reached', {
    retriable: true,
  });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TokenLifecycle', () => {
  it('fetches once for many concurrent callers and serves the cache after', async () => {
    const provider = new ScriptedProvider(60_000, 50);
    const lifecycle = new TokenLifecycle(provider);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => lifecycle.token()));
    expect(new Set(tokens.map((t) => t.value)).size).toBe(1);
    await lifecycle.token();
    expect(provider.calls).toBe(1);
    expect(lifecycle.stats()).toMatchObject({
      state: 'valid',
      fetches: 1,
      refreshes: 0,
      failures: 0,
      principal: 'svc',
    });
    lifecycle.close();
  });

  it('refreshes in the background at the configured fraction of the lifetime', async () => {
    const provider = new ScriptedProvider(1_000);
    const lifecycle = new TokenLifecycle(provider, {
      refreshAt: 0.5,
      jitter: 0,
      minRefreshIntervalMs: 0,
      expiryMarginMs: 50,
    });
    const refreshes: number[] = [];
    lifecycle.on('token', (info) => info.refresh && refreshes.push(Date.now()));
    const started = Date.now();
    await lifecycle.token();
    await sleep(1_300);
    // At ~500 ms and ~1000 ms: nobody asked, the lifecycle refreshed by itself.
    expect(refreshes.length).toBe(2);
    expect((refreshes[0] ?? 0) - started).toBeGreaterThanOrEqual(450);
    expect((refreshes[0] ?? 0) - started).toBeLessThan(800);
    lifecycle.close();
  });

  it('hands a Kafka client a fresh token: the cached one while young, else a new one, shared', async () => {
    const provider = new ScriptedProvider(1_000);
    const lifecycle = new TokenLifecycle(provider, { minRefreshIntervalMs: 60_000, expiryMarginMs: 10 });
    const first = await lifecycle.freshToken();
    // Young (under 30 % of its life gone): the same token, no fetch.
    expect((await lifecycle.freshToken()).value).toBe(first.value);
    expect(provider.calls).toBe(1);
    // Past that, as at librdkafka's refresh: a new token, one fetch for every client asking then.
    await sleep(800);
    expect((await lifecycle.token()).value).toBe(first.value);
    const asked = await Promise.all([lifecycle.freshToken(), lifecycle.freshToken(), lifecycle.freshToken()]);
    expect(new Set(asked.map((token) => token.value))).toEqual(new Set(['token-2-very-secret']));
    expect(provider.calls).toBe(2);
    lifecycle.close();
  });

  it('while the provider fails, a Kafka client gets the valid cached token, without bypassing the backoff', async () => {
    const provider = new ScriptedProvider(1_000);
    const lifecycle = new TokenLifecycle(provider, {
      minRefreshIntervalMs: 60_000,
      expiryMarginMs: 10,
      retry: { initialMs: 5_000 },
    });
    const first = await lifecycle.freshToken();
    await sleep(500);
    provider.failing = unreachable();
    // The first ask past youth tries the provider, fails, and gets the cached token.
    expect((await lifecycle.freshToken()).value).toBe(first.value);
    expect(provider.calls).toBe(2);
    expect((await lifecycle.freshToken()).value).toBe(first.value);
    expect(provider.calls).toBe(2);
    // Once no valid token is left, the error says so.
    await sleep(600);
    await expect(lifecycle.freshToken()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_NO_VALID_TOKEN' });
    lifecycle.close();
  });

  it('respects the minimum refresh interval', async () => {
    const provider = new ScriptedProvider(400);
    const lifecycle = new TokenLifecycle(provider, { refreshAt: 0.5, minRefreshIntervalMs: 5_000, expiryMarginMs: 10 });
    await lifecycle.token();
    await sleep(300);
    expect(provider.calls).toBe(1);
    lifecycle.close();
  });

  it('keeps the last good token when a refresh fails, retries with backoff, and reports recovery', async () => {
    const provider = new ScriptedProvider(3_000);
    const lifecycle = new TokenLifecycle(provider, {
      refreshAt: 0.2,
      jitter: 0,
      minRefreshIntervalMs: 0,
      retry: { initialMs: 100, maxMs: 400, factor: 2 },
    });
    const first = await lifecycle.token();
    provider.failing = unreachable();
    const failures: Array<{ retryInMs: number; keptValidToken: boolean }> = [];
    lifecycle.on('refresh-failed', (info) => failures.push(info));
    await sleep(1_400);
    expect(failures.length).toBeGreaterThanOrEqual(3);
    expect(failures.every((f) => f.keptValidToken)).toBe(true);
    // Backoff grows and is capped.
    expect(Math.max(...failures.map((f) => f.retryInMs))).toBeLessThanOrEqual(480);
    expect(lifecycle.stats().state).toBe('failing');
    expect((await lifecycle.token()).value).toBe(first.value);

    const recovered = new Promise((resolve) => lifecycle.once('recovered', resolve));
    provider.failing = undefined;
    await recovered;
    expect((await lifecycle.token()).value).not.toBe(first.value);
    expect(lifecycle.stats()).toMatchObject({ state: 'valid', consecutiveFailures: 0 });
    lifecycle.close();
  });

  it('enters a clear error state when no valid token remains, and recovers without a restart', async () => {
    const provider = new ScriptedProvider(600);
    const lifecycle = new TokenLifecycle(provider, {
      refreshAt: 0.5,
      minRefreshIntervalMs: 0,
      expiryMarginMs: 50,
      retry: { initialMs: 50, maxMs: 200 },
    });
    await lifecycle.token();
    provider.failing = unreachable();
    const expired = await new Promise<{ error: StreamAppError }>((resolve) => lifecycle.once('expired', resolve));
    expect(expired.error.code).toBe('STREAM_APP_ERR_NO_VALID_TOKEN');
    expect(expired.error.message).toContain('could not be reached');
    expect(expired.error.retriable).toBe(true);
    expect(lifecycle.stats().state).toBe('expired');
    await expect(lifecycle.token()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_NO_VALID_TOKEN' });

    provider.failing = undefined;
    await new Promise((resolve) => lifecycle.once('recovered', resolve));
    expect(lifecycle.stats().state).toBe('valid');
    await expect(lifecycle.token()).resolves.toMatchObject({ principal: 'svc' });
    lifecycle.close();
  });

  it('never stops retrying after a failure (the refresh loop other tools lose)', async () => {
    const provider = new ScriptedProvider(60_000);
    provider.failing = unreachable();
    const lifecycle = new TokenLifecycle(provider, { retry: { initialMs: 20, maxMs: 40 } });
    await expect(lifecycle.token()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_NO_VALID_TOKEN' });
    await sleep(500);
    expect(provider.calls).toBeGreaterThan(5);
    provider.failing = undefined;
    await sleep(100);
    expect(lifecycle.stats().state).toBe('valid');
    lifecycle.close();
  });

  it("reads a bare JWT's exp and sub", async () => {
    const exp = Math.floor(Date.now() / 1000) + 120;
    const jwt = await new SignJWT({ sub: 'orders-service' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp)
      .sign(new Uint8Array(32));
    const lifecycle = new TokenLifecycle(
      new (class extends AbstractTokenProvider {
        async token() {
          return jwt;
        }
      })(),
    );
    expect(await lifecycle.token()).toMatchObject({ value: jwt, expiresAt: exp * 1000, principal: 'orders-service' });
    lifecycle.close();
  });

  it('refuses a token that is already expired, with a clear error', async () => {
    const lifecycle = new TokenLifecycle(
      new (class extends AbstractTokenProvider {
        async token() {
          return { value: 'x', expiresAt: Date.now() - 1 };
        }
      })(),
      { retry: { initialMs: 60_000 } },
    );
    await expect(lifecycle.token()).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_NO_VALID_TOKEN',
      cause: { code: 'STREAM_APP_ERR_INVALID_TOKEN' },
    });
    lifecycle.close();
  });

  it('never shows the token in inspect or JSON', async () => {
    const lifecycle = new TokenLifecycle(new ScriptedProvider(60_000));
    await lifecycle.token();
    expect(inspect(lifecycle)).not.toContain('very-secret');
    expect(JSON.stringify(lifecycle)).not.toContain('very-secret');
    lifecycle.close();
  });

  it('keeps refreshing when an event listener throws', async () => {
    const provider = new ScriptedProvider(300);
    const lifecycle = new TokenLifecycle(provider, {
      refreshAt: 0.5,
      jitter: 0,
      minRefreshIntervalMs: 0,
      expiryMarginMs: 20,
    });
    lifecycle.on('token', () => {
      throw new Error('a listener bug');
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    await lifecycle.token();
    await sleep(700);
    process.off('warning', onWarning);
    expect(provider.calls).toBeGreaterThanOrEqual(3);
    expect(warnings.some((w) => w.includes('a listener bug'))).toBe(true);
    lifecycle.close();
  });

  it('a provider that never answers times out instead of stalling every caller', async () => {
    const hung = new (class extends AbstractTokenProvider {
      async token(): Promise<AccessToken> {
        return new Promise(() => {});
      }
    })();
    const lifecycle = new TokenLifecycle(hung, { fetchTimeoutMs: 200, retry: { initialMs: 60_000 } });
    await expect(lifecycle.token()).rejects.toMatchObject({
      code: 'STREAM_APP_ERR_NO_VALID_TOKEN',
      cause: { code: 'STREAM_APP_ERR_IDP_UNREACHABLE' },
    });
    lifecycle.close();
  });

  it('neither a very long nor a very short token makes it spin', async () => {
    const long = new ScriptedProvider(60 * 24 * 3600 * 1000); // 60 days: beyond setTimeout's 24.8-day limit
    const short = new ScriptedProvider(1_500); // shorter than twice the margin plus the minimum interval
    const a = new TokenLifecycle(long);
    const b = new TokenLifecycle(short, { minRefreshIntervalMs: 1_000, expiryMarginMs: 1_000 });
    await Promise.all([a.token(), b.token()]);
    await sleep(500);
    expect(long.calls).toBe(1);
    expect(short.calls).toBe(1);
    a.close();
    b.close();
  });

  it('while failing, callers do not bypass the backoff', async () => {
    const provider = new ScriptedProvider(2_000);
    const lifecycle = new TokenLifecycle(provider, {
      refreshAt: 0.1,
      jitter: 0,
      minRefreshIntervalMs: 0,
      retry: { initialMs: 400, maxMs: 400 },
    });
    await lifecycle.token();
    provider.failing = unreachable();
    await sleep(300); // the first refresh (at 200 ms) has failed; the next try is ~400 ms later
    const before = provider.calls;
    await Promise.all(Array.from({ length: 50 }, () => lifecycle.token()));
    expect(provider.calls).toBe(before);
    lifecycle.close();
  });

  it('an answer without expiry gets the JWT exp or the default lifetime', async () => {
    const lifecycle = new TokenLifecycle(
      new (class extends AbstractTokenProvider {
        async token() {
          return { value: 'opaque-token', expiresAt: Number.NaN };
        }
      })(),
      { defaultLifetimeMs: 60_000 },
    );
    const token = await lifecycle.token();
    expect(token.expiresAt - Date.now()).toBeGreaterThan(55_000);
    lifecycle.close();
  });

  it("a JWT's exp wins over a later expires_in (the broker ends the session at exp)", async () => {
    const exp = Math.floor(Date.now() / 1000) + 10;
    const jwt = await new SignJWT({ sub: 'svc', exp }).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
    const counted = toAccessToken({ value: jwt, expiresAt: exp * 1000 + 900, principal: 'svc' }, 60_000);
    expect(counted.expiresAt).toBe(exp * 1000);
    const earlier = toAccessToken({ value: jwt, expiresAt: exp * 1000 - 5_000, principal: 'svc' }, 60_000);
    expect(earlier.expiresAt).toBe(exp * 1000 - 5_000);
  });

  it('tells librdkafka three quarters of the remaining life, so that it asks again at 60 %', () => {
    expect(refreshHint(20_000, 10_000)).toBe(17_500);
    expect(refreshHint(5_000, 10_000)).toBe(10_001); // never told it has expired
  });

  it("a provider's own error is not kept as the cause (it may hold a token)", async () => {
    const leaky = new (class extends AbstractTokenProvider {
      async token(): Promise<AccessToken> {
        throw Object.assign(new Error('upstream said no'), {
          body: 'access_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
        });
      }
    })();
    const lifecycle = new TokenLifecycle(leaky, { retry: { initialMs: 60_000 } });
    const error = await lifecycle.token().catch((e: unknown) => e);
    expect(inspect(error, { depth: 10 })).not.toContain('eyJhbGciOiJSUzI1NiJ9');
    lifecycle.close();
  });
});
