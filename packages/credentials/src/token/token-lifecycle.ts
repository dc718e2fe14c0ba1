import { EventEmitter } from 'node:events';
import { inspect } from 'node:util';
import { CredentialsError, StreamAppError } from '../errors.js';
import { redactError } from '../secrets.js';
import type { AbstractTokenProvider } from './abstract-token-provider.js';
import type { AccessToken } from './access-token.js';

export interface TokenLifecycleOptions {
  /** Refresh when this fraction of the token's lifetime has passed (default 0.8). */
  refreshAt?: number;
  /** Random spread around `refreshAt`, as a fraction of the lifetime (default 0.05), so that replicas do not refresh together. */
  jitter?: number;
  /** Never refresh in the background more often than this (default 5 s), whatever the token's lifetime (a Kafka client's `freshToken` asks on its own schedule). */
  minRefreshIntervalMs?: number;
  /** Backoff after a failed fetch: first delay, cap and factor (defaults 500 ms, 30 s, 2). */
  retry?: { initialMs?: number; maxMs?: number; factor?: number };
  /** Lifetime of a token whose expiry is unknown (an opaque string), default 1 h. */
  defaultLifetimeMs?: number;
  /** A token closer than this to its expiry is not handed out (default 1 s). */
  expiryMarginMs?: number;
  /** A provider that has not answered after this long counts as failed (default 30 s), so a hung call cannot stall every client. */
  fetchTimeoutMs?: number;
}

export type TokenState = 'idle' | 'valid' | 'failing' | 'expired' | 'closed';

export interface TokenStats {
  state: TokenState;
  /** Successful fetches, the first included. */
  fetches: number;
  /** Successful fetches after the first. */
  refreshes: number;
  /** Failed fetches. */
  failures: number;
  consecutiveFailures: number;
  expiresAt?: number;
  timeToExpiryMs?: number;
  principal?: string;
  lastError?: { code: string; message: string };
}

export interface TokenLifecycleEvents {
  token: [info: { expiresAt: number; principal?: string; refresh: boolean }];
  'refresh-failed': [info: { error: StreamAppError; retryInMs: number; keptValidToken: boolean }];
  expired: [info: { error: StreamAppError }];
  recovered: [info: { expiresAt: number; downForMs: number }];
}

const DEFAULTS = {
  refreshAt: 0.8,
  jitter: 0.05,
  minRefreshIntervalMs: 5_000,
  defaultLifetimeMs: 3_600_000,
  expiryMarginMs: 1_000,
  fetchTimeoutMs: 30_000,
};
/** `freshToken` hands over the cached token while no more than this fraction of its life has passed. */
const YOUNG_FRACTION = 0.3;
// setTimeout turns longer delays into 1 ms.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Owns the tokens of one provider for the whole process: one cached token,
 * one fetch at a time, a background refresh before expiry, the last good
 * token kept when a refresh fails, retries with capped exponential backoff,
 * an `expired` state when no valid token remains, and recovery on its own.
 */
export class TokenLifecycle extends EventEmitter<TokenLifecycleEvents> {
  readonly #provider: AbstractTokenProvider;
  readonly #options: Required<Omit<TokenLifecycleOptions, 'retry'>> & {
    retry: Required<NonNullable<TokenLifecycleOptions['retry']>>;
  };
  #current: AccessToken | undefined;
  #obtainedAt = 0;
  /** When the background refresh of the current token is due. */
  #refreshDueAt = 0;
  #inflight: Promise<AccessToken> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #state: TokenState = 'idle';
  #failingSince: number | undefined;
  readonly #stats = { fetches: 0, refreshes: 0, failures: 0, consecutiveFailures: 0 };
  #lastError: StreamAppError | undefined;
  #holders = 0;

  constructor(provider: AbstractTokenProvider, options: TokenLifecycleOptions = {}) {
    super();
    this.#provider = provider;
    this.#options = {
      refreshAt: options.refreshAt ?? DEFAULTS.refreshAt,
      jitter: options.jitter ?? DEFAULTS.jitter,
      minRefreshIntervalMs: options.minRefreshIntervalMs ?? DEFAULTS.minRefreshIntervalMs,
      defaultLifetimeMs: options.defaultLifetimeMs ?? DEFAULTS.defaultLifetimeMs,
      expiryMarginMs: options.expiryMarginMs ?? DEFAULTS.expiryMarginMs,
      fetchTimeoutMs: options.fetchTimeoutMs ?? DEFAULTS.fetchTimeoutMs,
      retry: { initialMs: 500, maxMs: 30_000, factor: 2, ...options.retry },
    };
    if (!(this.#options.refreshAt > 0 && this.#options.refreshAt < 1)) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `refreshAt must be between 0 and 1 (exclusive), got ${this.#options.refreshAt}`,
      );
    }
    // An unobserved 'error' would crash the process; this class never emits one.
  }

  get provider(): AbstractTokenProvider {
    return this.#provider;
  }

  /**
   * A valid token: the cached one when it is fresh, else the result of one
   * shared fetch. While a valid token exists it is returned at once, even if
   * a refresh is due (the refresh then runs in the background).
   */
  async token(): Promise<AccessToken> {
    if (this.#state === 'closed')
      throw new CredentialsError('STREAM_APP_ERR_NO_VALID_TOKEN', 'the token lifecycle is closed');
    const current = this.#current;
    if (current && this.#isValid(current)) {
      // While failing, the backoff timer decides when to try again, not the callers.
      if (this.#state === 'valid' && Date.now() >= this.#refreshDueAt && !this.#inflight)
        void this.#refresh().catch(() => {});
      return current;
    }
    try {
      return await this.#refresh();
    } catch (error) {
      throw this.#noValidToken(error as StreamAppError);
    }
  }

  /**
   * A token for a Kafka client to authenticate or re-authenticate with (librdkafka asks again at 60 %
   * of the token's life, see `refreshHint`): the cached one while it is young, else one fetched now
   * (shared with any fetch under way). The broker ends each session when the token it was opened with expires, and
   * refuses a re-authentication that comes less than a second after the last one (Kafka's
   * `KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS`). Handed the cached token near its end, a client
   * re-authenticated with it, got a session of a fraction of a second, and its next re-authentication
   * was refused and the connection dropped. A token handed over young (under 30 % of its life gone) is
   * replaced in the client at least a fifth of a lifetime before any session opened with it is
   * re-authenticated; 30 % lets the clients of a process that asked at different times share one fetch.
   * While the provider fails (backing off), the valid cached token is handed over, whatever its age.
   */
  async freshToken(): Promise<AccessToken> {
    if (this.#state === 'closed')
      throw new CredentialsError('STREAM_APP_ERR_NO_VALID_TOKEN', 'the token lifecycle is closed');
    const current = this.#current;
    if (current && this.#isValid(current) && (this.#state === 'failing' || this.#isYoung(current))) return current;
    try {
      return await this.#refresh();
    } catch (error) {
      const kept = this.#current;
      if (kept && this.#isValid(kept)) return kept;
      throw this.#noValidToken(error as StreamAppError);
    }
  }

  stats(): TokenStats {
    const now = Date.now();
    return {
      state: this.#state,
      ...this.#stats,
      ...(this.#current
        ? { expiresAt: this.#current.expiresAt, timeToExpiryMs: Math.max(0, this.#current.expiresAt - now) }
        : {}),
      ...(this.#current?.principal ? { principal: this.#current.principal } : {}),
      ...(this.#lastError ? { lastError: { code: this.#lastError.code, message: this.#lastError.message } } : {}),
    };
  }

  /**
   * Marks one more user of this lifecycle (an App while it runs); call the returned function when
   * done. The last release closes it, so that an App stopping never stops another App's refreshes.
   * A closed lifecycle that is retained again starts afresh.
   */
  retain(): () => void {
    if (this.#state === 'closed') this.#state = 'idle';
    this.#holders += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holders -= 1;
      if (this.#holders === 0) this.close();
    };
  }

  /** Stops background refreshes, for every holder. */
  close(): void {
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#current = undefined;
  }

  /** No more than `YOUNG_FRACTION` of its life has passed. */
  #isYoung(token: AccessToken): boolean {
    const lifetime = token.expiresAt - this.#obtainedAt;
    return Date.now() - this.#obtainedAt <= lifetime * YOUNG_FRACTION;
  }

  #isValid(token: AccessToken): boolean {
    return Date.now() < token.expiresAt - this.#options.expiryMarginMs;
  }

  /** One fetch at a time, whoever asks. */
  #refresh(): Promise<AccessToken> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<AccessToken> {
    let token: AccessToken;
    try {
      const [raw, extensions] = await withTimeout(
        Promise.all([this.#provider.token(), this.#provider.extensions?.()]),
        this.#options.fetchTimeoutMs,
        () =>
          new CredentialsError(
            'STREAM_APP_ERR_IDP_UNREACHABLE',
            `${this.#provider.describe()} did not answer within ${this.#options.fetchTimeoutMs} ms`,
            {
              retriable: true,
            },
          ),
      );
      // Loaded on the first fetch: jose is needed only by apps that use tokens.
      const { toAccessToken } = await import('./access-token.js');
      token = toAccessToken(raw, this.#options.defaultLifetimeMs);
      if (extensions) token = { ...token, extensions: { ...extensions, ...token.extensions } };
      if (!this.#isValid(token)) {
        throw new CredentialsError(
          'STREAM_APP_ERR_INVALID_TOKEN',
          `${this.#provider.describe()} returned a token that expires at ${new Date(token.expiresAt).toISOString()}, which is already past`,
        );
      }
    } catch (error) {
      this.#onFailure(asStreamAppError(error, this.#provider));
      throw this.#lastError;
    }
    this.#onSuccess(token);
    return token;
  }

  #onSuccess(token: AccessToken) {
    if (this.#state === 'closed') return;
    const refresh = this.#stats.fetches > 0;
    this.#stats.fetches += 1;
    if (refresh) this.#stats.refreshes += 1;
    this.#stats.consecutiveFailures = 0;
    this.#current = token;
    this.#obtainedAt = Date.now();
    const wasDown = this.#failingSince;
    this.#failingSince = undefined;
    this.#state = 'valid';
    const delay = this.#nextRefreshDelay();
    this.#refreshDueAt = Date.now() + delay;
    this.#schedule(delay);
    this.#safeEmit('token', {
      expiresAt: token.expiresAt,
      refresh,
      ...(token.principal ? { principal: token.principal } : {}),
    });
    if (wasDown !== undefined)
      this.#safeEmit('recovered', { expiresAt: token.expiresAt, downForMs: Date.now() - wasDown });
  }

  #onFailure(error: StreamAppError) {
    this.#stats.failures += 1;
    this.#stats.consecutiveFailures += 1;
    this.#lastError = error;
    this.#failingSince ??= Date.now();
    if (this.#state === 'closed') return;
    const { initialMs, maxMs, factor } = this.#options.retry;
    let retryInMs = Math.min(maxMs, initialMs * factor ** (this.#stats.consecutiveFailures - 1));
    retryInMs = Math.round(retryInMs * (0.8 + Math.random() * 0.4));
    const current = this.#current;
    const keptValidToken = current !== undefined && this.#isValid(current);
    if (keptValidToken) {
      // Try again well before the kept token runs out.
      retryInMs = Math.max(100, Math.min(retryInMs, (current.expiresAt - Date.now()) / 2));
      this.#state = 'failing';
    }
    this.#schedule(retryInMs);
    if (!keptValidToken && this.#state !== 'expired') {
      this.#state = 'expired';
      this.#safeEmit('expired', { error: this.#noValidToken(error) });
    }
    this.#safeEmit('refresh-failed', { error, retryInMs, keptValidToken });
  }

  #nextRefreshDelay(): number {
    const current = this.#current as AccessToken;
    const lifetime = Math.max(0, current.expiresAt - this.#obtainedAt);
    const fraction = this.#options.refreshAt + (Math.random() * 2 - 1) * this.#options.jitter;
    // Before the margin ahead of expiry; but never sooner than the minimum interval, which wins for tokens
    // shorter than it (they are then fetched on demand), so that a short-lived token cannot cause a hot loop.
    const beforeExpiry = Math.min(
      lifetime * Math.min(0.95, Math.max(0.05, fraction)),
      lifetime - this.#options.expiryMarginMs * 2,
    );
    return Math.max(this.#options.minRefreshIntervalMs, beforeExpiry, 10);
  }

  #schedule(delayMs: number) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#refresh().catch(() => {}), Math.min(delayMs, MAX_TIMER_MS));
    // Background refreshes must not keep a finished process alive.
    this.#timer.unref();
  }

  /** A listener that throws must not break the refresh loop. */
  #safeEmit<K extends keyof TokenLifecycleEvents>(event: K, ...args: TokenLifecycleEvents[K]) {
    try {
      (this.emit as (event: K, ...rest: TokenLifecycleEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.emitWarning(
        `a TokenLifecycle '${String(event)}' listener threw: ${(error as Error)?.message ?? String(error)}`,
      );
    }
  }

  #noValidToken(cause: StreamAppError): StreamAppError {
    return new CredentialsError(
      'STREAM_APP_ERR_NO_VALID_TOKEN',
      `no valid token from ${this.#provider.describe()}: ${cause.message}` +
        (cause.retriable ? ' (retrying in the background; clients recover by themselves when it answers)' : ''),
      { retriable: cause.retriable, cause, details: { provider: this.#provider.describe(), reason: cause.code } },
    );
  }

  [inspect.custom]() {
    return `TokenLifecycle(${this.#provider.describe()}, ${inspect(this.stats())})`;
  }

  toJSON() {
    return { provider: this.#provider.describe(), ...this.stats() };
  }
}

function asStreamAppError(error: unknown, provider: AbstractTokenProvider): StreamAppError {
  if (error instanceof StreamAppError) return error;
  // The provider's own error is not kept as `cause`: it may carry a token or secret that redaction cannot know.
  return new CredentialsError(
    'STREAM_APP_ERR_INVALID_TOKEN',
    `${provider.describe()} failed: ${redactError(error, [])}`,
    {
      retriable: true,
    },
  );
}

const shared = new WeakMap<AbstractTokenProvider, { lifecycle: TokenLifecycle; options: string }>();

/**
 * The one lifecycle of a provider object in this process, so that every client given that provider
 * shares its tokens. Closing it stops it for all of them.
 */
export function lifecycleFor(provider: AbstractTokenProvider, options: TokenLifecycleOptions = {}): TokenLifecycle {
  const key = JSON.stringify(options);
  const existing = shared.get(provider);
  if (existing && existing.lifecycle.stats().state !== 'closed') {
    if (existing.options !== key) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `this token provider already has a lifecycle with other options (${existing.options}); share one OAuthCredentials, or give both the same lifecycle options`,
      );
    }
    return existing.lifecycle;
  }
  const lifecycle = new TokenLifecycle(provider, options);
  shared.set(provider, { lifecycle, options: key });
  return lifecycle;
}

function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
