import { CoreError, StreamAppError } from '../errors/index.js';

type LogExtra = object | undefined;
export type KafkaLogSink = (level: 'error' | 'warn' | 'info' | 'debug', message: string, extra?: LogExtra) => void;

interface AuthenticationFailure {
  kind: 'sasl' | 'tls';
  broker: string;
  reason: string;
}

// librdkafka reports a refused handshake only as a log line, e.g.
// "sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: {"status":"invalid_token"} (after 3ms ...)"
// "sasl_ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: ...certificate verify failed... (after 3ms ...)"
const FAILURES = [
  { kind: 'sasl', pattern: /(\w+:\/\/[^\s/]+)[^:]*: SASL authentication error: (.*?)(?: \(after \d+ms.*)?$/ },
  { kind: 'tls', pattern: /(\w+:\/\/[^\s/]+)[^:]*: SSL handshake failed: (.*?)(?: \(after \d+ms.*)?$/ },
] as const;

/**
 * A logger for the native client that remembers why authentication failed,
 * so that `connectClient` can fail at once with the broker's reason instead
 * of a generic transport error after the connection timeout.
 */
export class KafkaDiagnostics {
  #failure: AuthenticationFailure | undefined;
  #waiters: Array<(failure: AuthenticationFailure) => void> = [];
  readonly #sink: KafkaLogSink | undefined;

  constructor(sink?: KafkaLogSink) {
    this.#sink = sink;
  }

  get authenticationFailure(): AuthenticationFailure | undefined {
    return this.#failure;
  }

  /** Resolves on the first authentication failure. */
  nextAuthenticationFailure(): Promise<AuthenticationFailure> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The `kafkaJS.logger` to give the client. */
  readonly logger = {
    error: (message: string, extra?: LogExtra) => this.#log('error', message, extra),
    warn: (message: string, extra?: LogExtra) => this.#log('warn', message, extra),
    info: (message: string, extra?: LogExtra) => this.#log('info', message, extra),
    debug: (message: string, extra?: LogExtra) => this.#log('debug', message, extra),
    namespace: () => this.logger,
    setLogLevel: () => {},
  };

  #log(level: 'error' | 'warn' | 'info' | 'debug', message: string, extra: LogExtra) {
    for (const { kind, pattern } of FAILURES) {
      const match = pattern.exec(message);
      if (!match) continue;
      this.#failure = { kind, broker: match[1] ?? 'unknown broker', reason: match[2] ?? 'no reason given' };
      for (const waiter of this.#waiters.splice(0)) waiter(this.#failure);
    }
    this.#sink?.(level, message, extra);
  }
}

export function authenticationError(failure: AuthenticationFailure, cause?: unknown): CoreError {
  if (failure.kind === 'tls') {
    return new CoreError(
      'STREAM_APP_ERR_SSL',
      `TLS handshake with Kafka at ${failure.broker} failed: ${failure.reason}. ` +
        "Trust the CA that signed the broker's certificate (createSslContext({ cafile })) and check that the certificate names the host you connect to.",
      { retriable: false, cause, details: { broker: failure.broker, reason: failure.reason } },
    );
  }
  return new CoreError(
    'STREAM_APP_ERR_KAFKA_AUTHENTICATION',
    `Kafka at ${failure.broker} refused the credentials: ${failure.reason}. ` +
      'For OAUTHBEARER the broker checks the signature against its JWKS (a kid it knows, no alg "none"), ' +
      'iss = sasl.oauthbearer.expected.issuer, aud contains sasl.oauthbearer.expected.audience, exp in the future and sub present; ' +
      "the broker's log names the check that failed.",
    { retriable: false, cause, details: { broker: failure.broker, reason: failure.reason } },
  );
}

interface Connectable {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
}

/** Connects a producer, consumer or admin client, failing fast and clearly when authentication is refused. */
export async function connectClient(
  client: Connectable,
  diagnostics: KafkaDiagnostics,
  bootstrap: string,
): Promise<void> {
  const refused = diagnostics.nextAuthenticationFailure().then((failure) => {
    throw authenticationError(failure);
  });
  try {
    await Promise.race([client.connect(), refused]);
  } catch (error) {
    // Not awaited: a client still connecting only lets go when its own timeout ends.
    void client.disconnect().catch(() => {});
    if (error instanceof StreamAppError) throw error;
    const failure = diagnostics.authenticationFailure;
    if (failure) throw authenticationError(failure, error);
    throw new CoreError(
      'STREAM_APP_ERR_KAFKA_CONNECTION',
      `could not connect to Kafka at ${bootstrap}: ${(error as Error).message}. Check the address, the listener's security protocol and that the broker is up.`,
      { retriable: true, cause: error, details: { bootstrap } },
    );
  } finally {
    void refused.catch(() => {});
  }
}

const AUTHORIZATION_CODES: Record<number, { resource: string; flag: string }> = {
  29: { resource: 'topic', flag: '--topic' },
  30: { resource: 'group', flag: '--group' },
  31: { resource: 'cluster', flag: '--cluster' },
  53: { resource: 'transactional id', flag: '--transactional-id' },
};

export interface AuthorizationContext {
  principal: string;
  operation: string;
  /** The topic, group or transactional id asked for (not used for the cluster). */
  resource?: string;
}

/** Turns the client's authorization errors into one that names the principal, the resource and the ACL to add. */
export function explainKafkaError(error: unknown, context: AuthorizationContext): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  const kind = typeof code === 'number' ? AUTHORIZATION_CODES[code] : undefined;
  if (!kind) return error;
  const target = kind.resource === 'cluster' ? 'the cluster' : `${kind.resource} '${context.resource ?? '?'}'`;
  const grant = `--add --allow-principal ${context.principal} --operation ${context.operation} ${kind.flag}${kind.resource === 'cluster' ? '' : ` ${context.resource ?? '<name>'}`}`;
  return new CoreError(
    'STREAM_APP_ERR_KAFKA_AUTHORIZATION',
    `${context.principal} may not ${context.operation} ${target}: the broker's ACLs do not allow it. ` +
      `Grant it, e.g. kafka-acls.sh --bootstrap-server <admin listener> ${grant}`,
    {
      retriable: false,
      cause: error,
      details: {
        principal: context.principal,
        operation: context.operation,
        resourceType: kind.resource,
        resource: context.resource,
      },
    },
  );
}
