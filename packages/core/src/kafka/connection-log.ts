import type { Logger } from '../logging/logger.js';

/** What happened to one connection of one Kafka client, as its log tells it. */
export interface KafkaConnectionEvent {
  /** The client instance, e.g. `rdkafka#producer-2`. */
  client: string;
  /** The client's thread for the connection: `sasl_plaintext://127.0.0.1:9093/1`, `…/bootstrap`, `GroupCoordinator`. */
  broker: string;
  kind: 'authenticated' | 'authentication-failed' | 'reauthenticated' | 'reauthentication-failed' | 'disconnected';
  /** `authenticated`, `reauthenticated`: the session lifetime the broker gave. */
  sessionLifetimeMs?: number;
  /** `authentication-failed`, `reauthentication-failed`: the client's reason. */
  reason?: string;
}

/** Counts read from the clients' log lines: lower bounds (librdkafka leaves out an identical error repeated within 30 s). */
export interface KafkaConnectionCounts {
  /** Connections that authenticated (SASL), re-authentications not included. */
  authentications: number;
  /** Connections the broker refused to authenticate (a bad or expired token, a wrong mechanism). */
  authenticationFailures: number;
  /** KIP-368 re-authentications of open connections. */
  reauthentications: number;
  /** Re-authentications the broker refused (the connection is then dropped and made again). */
  reauthenticationFailures: number;
  /** Connections that dropped (the client connects again). */
  disconnects: number;
}

// librdkafka's lines, with the `security` debug context on; the thread prefix names the broker connection
// (a broker's, or the group coordinator's):
// "[thrd:sasl_plaintext://127.0.0.1:9093/1]: sasl_plaintext://127.0.0.1:9093/1: Auth in state REAUTH (handshake supported)"
// "[thrd:GroupCoordinator]: Received session lifetime 9876 ms from broker"
// "[thrd:…]: GroupCoordinator/1: 127.0.0.1:9093: SASL OAUTHBEARER mechanism handshake failed: Broker: Request not valid in current SASL state: … (after 2ms in state AUTH_HANDSHAKE)"
// "[thrd:…]: …/1: Disconnected (after 59989ms in state UP)"
const THREAD = /^\[thrd:([^\]]+)\]: (.*)$/s;
const AUTH_STATE = /\bAuth in state (\w+)/;
const SESSION = /\bReceived session lifetime (\d+) ms from broker/;
const AUTH_FAILED = /\b(?:SASL \S+ mechanism handshake failed|SASL authentication error)\b/;
const DISCONNECTED = /(?:^|: )Disconnected\b/;
const STATE_SUFFIX = / \(after \d+ms in state \w+(?:, \d+ identical error\(s\) suppressed)?\)(?: \(_\w+\))?$/s;
/** Lines the client adds about a connection it just dropped, which the one coded warning stands for. */
const ECHOES =
  /(?:authentication failure|all broker connections are down|broker transport failure|mechanism handshake failed)/i;
const ECHO_MS = 2_000;

/**
 * Reads a client's log for what happens to its connections: authentications, re-authentications (KIP-368),
 * refused re-authentications and disconnects, counted and reported to `onEvent`. A refused
 * re-authentication becomes one coded warning, and the client's own lines about it are left to debug.
 */
export class ConnectionLog {
  readonly #log: Logger;
  readonly #onEvent: (event: KafkaConnectionEvent) => void;
  readonly #reauthenticating = new Set<string>();
  readonly #counts = noConnections();
  /** When each client's last refused re-authentication was warned about. */
  readonly #warnedAt = new Map<string, number>();

  constructor(log: Logger, onEvent: (event: KafkaConnectionEvent) => void = () => {}) {
    this.#log = log;
    this.#onEvent = onEvent;
  }

  get counts(): KafkaConnectionCounts {
    return { ...this.#counts };
  }

  /** True when the line was taken care of here (warned about, or an echo of that warning); else log it as usual. */
  handled(message: string, client = 'client'): boolean {
    const thread = THREAD.exec(message);
    if (!thread) return this.#isEcho(message, client);
    const broker = thread[1]!;
    const text = thread[2]!;
    const key = `${client} ${broker}`;
    const state = AUTH_STATE.exec(text)?.[1];
    if (state === 'REAUTH') {
      this.#reauthenticating.add(key);
      return false;
    }
    // A new connection (librdkafka logs an identical failure only once in 30 s, so a refused
    // re-authentication may leave no line): what follows is an authentication, not a re-authentication.
    if (state !== undefined && state !== 'AUTH_HANDSHAKE') this.#reauthenticating.delete(key);
    const session = SESSION.exec(text);
    if (session) {
      const reauthenticated = this.#reauthenticating.delete(key);
      this.#counts[reauthenticated ? 'reauthentications' : 'authentications'] += 1;
      this.#onEvent({
        client,
        broker,
        kind: reauthenticated ? 'reauthenticated' : 'authenticated',
        sessionLifetimeMs: Number(session[1]),
      });
      return false;
    }
    const disconnected = DISCONNECTED.test(text);
    if (disconnected) {
      this.#counts.disconnects += 1;
      this.#onEvent({ client, broker, kind: 'disconnected' });
    }
    // Refused, or the connection closed under it (the broker ends a session that outlived its token).
    const authFailed = AUTH_FAILED.test(text);
    const reason = () => text.replace(STATE_SUFFIX, '').replace(/^(?:\S+: )+(?=SASL)/, '');
    if ((disconnected || authFailed) && this.#reauthenticating.delete(key)) {
      this.#refused(client, broker, reason());
      return true;
    }
    // A first authentication refused: counted; the client's error (and the diagnostics of it) follow as ever.
    if (authFailed) {
      this.#counts.authenticationFailures += 1;
      this.#onEvent({ client, broker, kind: 'authentication-failed', reason: reason() });
    }
    return this.#isEcho(text, client);
  }

  #refused(client: string, broker: string, reason: string): void {
    this.#counts.reauthenticationFailures += 1;
    this.#onEvent({ client, broker, kind: 'reauthentication-failed', reason });
    this.#warnedAt.set(client, Date.now());
    this.#log.warn('a connection failed to re-authenticate; the client connects again', {
      code: 'STREAM_APP_ERR_KAFKA_REAUTHENTICATION',
      client,
      broker,
      reason,
    });
  }

  /** A line the warning stands for: logged at debug only. */
  #isEcho(text: string, client: string): boolean {
    const warnedAt = this.#warnedAt.get(client);
    const echo = warnedAt !== undefined && Date.now() - warnedAt < ECHO_MS && ECHOES.test(text);
    if (echo) this.#log.debug(text, { client });
    return echo;
  }
}

export function noConnections(): KafkaConnectionCounts {
  return {
    authentications: 0,
    authenticationFailures: 0,
    reauthentications: 0,
    reauthenticationFailures: 0,
    disconnects: 0,
  };
}

/** librdkafka's `debug` with the `security` context added, which `ConnectionLog` reads. */
export function withSecurityDebug(debug: unknown): string {
  const contexts = typeof debug === 'string' && debug.trim() !== '' ? debug.split(',').map((c) => c.trim()) : [];
  if (contexts.includes('all') || contexts.includes('security')) return contexts.join(',');
  return [...contexts, 'security'].join(',');
}
