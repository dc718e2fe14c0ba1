import { resolve } from 'node:path';
import { AbstractTokenProvider, OAuthCredentials, type Credentials } from '@stream-app/credentials/kafka';
import { CoreError } from '../errors/index.js';
import type { LibrdkafkaConfig } from '../transport/kafka-config.js';
import type { Logger, LoggerOptions } from '../logging/logger.js';
import type { TopicPartition } from '../transport/transport.js';
import { resolveTracingOptions, type ResolvedTracingOptions, type TracingOptions } from '../tracing/tracing-options.js';
import { resolveWebOptions, type ResolvedWebOptions, type WebOptions } from '../web/web-options.js';

export type BadMessagePolicy = 'dead-letter' | 'skip' | 'stop';

export interface AppOptions {
  /** The app's name: its consumer group, and the prefix of its internal topics. */
  id: string;
  /** Bootstrap servers: `host:port`, a comma-separated list, or an array (default `$STREAM_APP_BROKER`). */
  broker?: string | string[];
  /** OAuth, SASL or mTLS credentials, or a token provider (e.g. `keycloak({...})`), which means OAUTHBEARER. */
  credentials?: Credentials | AbstractTokenProvider;
  /**
   * `at_least_once` (default): nothing is lost, a crash may repeat what an agent did since the last
   * commit. `exactly_once`: each commit interval is one Kafka transaction holding the agents' output,
   * the tables' changelog writes and the consumed offsets (see docs/exactly-once.md).
   */
  processingGuarantee?: 'at_least_once' | 'exactly_once';
  /**
   * Exactly once: how long a transaction may stay open before the broker aborts it (default 10 s, or
   * twice commitIntervalMs when that is longer). A killed worker's open transaction holds up
   * read-committed consumers of its output for up to this long.
   */
  transactionTimeoutMs?: number;
  /** Partitions of the topics the app creates (default 8). */
  topicPartitions?: number;
  /** Replicas of the topics the app creates (default 1). */
  topicReplicationFactor?: number;
  /** Create missing topics (default true); when false, missing topics are an error that names them. */
  topicAllowDeclare?: boolean;
  /** Where undecodable or invalid messages go (default `<id>-dead-letters`). */
  deadLetterTopic?: string;
  /** What to do with a message that fails decoding or validation (default `dead-letter`). */
  onBadMessage?: BadMessagePolicy;
  /** What to do when an agent throws: restart it after a backoff (default) or stop the worker. */
  onAgentError?: 'restart' | 'stop';
  /** Validate Record values (default true). */
  validation?: boolean;
  /** How often finished offsets are committed (default 1000 ms). */
  commitIntervalMs?: number;
  /** Unfinished messages per partition before the partition is paused (default 4096). */
  streamBufferMaxSize?: number;
  /** How long a graceful stop may take before it gives up waiting for agents (default 30 s). */
  shutdownTimeoutMs?: number;
  /** Static membership (`group.instance.id`): a restart within the session timeout keeps its partitions. */
  groupInstanceId?: string;
  sessionTimeoutMs?: number;
  /** Where a new consumer group starts (default `earliest`). */
  autoOffsetReset?: 'earliest' | 'latest';
  onPartitionsAssigned?: (partitions: TopicPartition[]) => void | Promise<void>;
  onPartitionsRevoked?: (partitions: TopicPartition[]) => void | Promise<void>;
  /**
   * Copies of each table partition kept up to date on other workers (default 0), so that taking a
   * partition over replays only what the copy had not read yet.
   */
  tableStandbyReplicas?: number;
  /** Where persistent (LMDB) tables keep their files: `<stateDir>/<id>/<table>`. Default `./stream-app-state`. */
  stateDir?: string;
  logger?: Logger | LoggerOptions;
  /** librdkafka properties for every client (e.g. `{ 'client.id': 'billing' }`). */
  clientConfig?: LibrdkafkaConfig;
  /**
   * OpenTelemetry tracing (default off): W3C trace context in the messages' headers, a span for each
   * event an agent processes and for each message sent. `true` uses the global tracer provider that
   * your SDK registers; `{ tracerProvider }` a given one. See docs/tracing.md.
   */
  tracing?: TracingOptions;
  /** A web server per worker (pages, `/health`, `/ready`, `/metrics`, table views), started by `stream-app worker`. */
  web?: WebOptions;
}

export interface ResolvedAppOptions {
  id: string;
  bootstrap: string;
  credentials: Credentials | undefined;
  topicPartitions: number;
  topicReplicationFactor: number;
  topicAllowDeclare: boolean;
  deadLetterTopic: string;
  onBadMessage: BadMessagePolicy;
  onAgentError: 'restart' | 'stop';
  validation: boolean;
  commitIntervalMs: number;
  processingGuarantee: 'at_least_once' | 'exactly_once';
  transactionTimeoutMs: number;
  streamBufferMaxSize: number;
  shutdownTimeoutMs: number;
  autoOffsetReset: 'earliest' | 'latest';
  stateDir: string;
  tableStandbyReplicas: number;
  tracing: ResolvedTracingOptions | undefined;
  web: ResolvedWebOptions | undefined;
}

function invalid(message: string): CoreError {
  return new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', message);
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1)
    throw invalid(`App option ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0)
    throw invalid(`App option ${name} must be a whole number (0 or more), got ${String(value)}`);
  return value;
}

function oneOf<T extends string>(name: string, value: T | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value))
    throw invalid(`App option ${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

/** Checks every option before anything connects, with a message that names the option. */
export function resolveAppOptions(options: AppOptions): ResolvedAppOptions {
  if (!options || typeof options !== 'object')
    throw invalid('new App(options) needs an options object with at least id and broker');
  if (typeof options.id !== 'string' || !/^[a-zA-Z0-9._-]{1,200}$/.test(options.id)) {
    throw invalid(
      `App option id must be 1 to 200 letters, digits, '.', '_' or '-' (it names the consumer group and internal topics), got ${JSON.stringify(options.id)}`,
    );
  }
  const brokers = (Array.isArray(options.broker) ? options.broker : String(options.broker ?? '').split(','))
    .map((broker) => broker.trim().replace(/^kafka:\/\//, ''))
    .filter(Boolean);
  if (brokers.length === 0)
    throw invalid(
      'App option broker is missing: give "host:port" of at least one Kafka broker, in the code or as $STREAM_APP_BROKER',
    );
  for (const broker of brokers) {
    if (!/^[^\s:/]+:\d{1,5}$/.test(broker)) throw invalid(`App option broker: "${broker}" is not host:port`);
  }
  const commitIntervalMs = positive('commitIntervalMs', options.commitIntervalMs, 1000);
  const transactionTimeoutMs = positive(
    'transactionTimeoutMs',
    options.transactionTimeoutMs,
    Math.max(10_000, 2 * commitIntervalMs),
  );
  if (transactionTimeoutMs <= commitIntervalMs || transactionTimeoutMs < 1000) {
    throw invalid(
      `App option transactionTimeoutMs (${transactionTimeoutMs}) must be at least 1000 and longer than commitIntervalMs (${commitIntervalMs}): a transaction stays open for a whole commit interval`,
    );
  }
  const given = options.credentials as { kind?: unknown; token?: unknown } | undefined;
  // A token provider (an AbstractTokenProvider, or anything with token()) means OAUTHBEARER.
  const credentials =
    given && (given instanceof AbstractTokenProvider || (given.kind === undefined && typeof given.token === 'function'))
      ? new OAuthCredentials({ tokenProvider: given as AbstractTokenProvider })
      : (options.credentials as Credentials | undefined);
  if (credentials !== undefined && !['oauth', 'sasl', 'ssl'].includes((credentials as { kind?: string }).kind ?? '')) {
    throw invalid(
      'App option credentials must be OAuthCredentials, SaslCredentials, SslCredentials or a token provider',
    );
  }
  const deadLetterTopic = options.deadLetterTopic ?? `${options.id}-dead-letters`;
  return {
    id: options.id,
    bootstrap: brokers.join(','),
    credentials,
    topicPartitions: positive('topicPartitions', options.topicPartitions, 8),
    topicReplicationFactor: positive('topicReplicationFactor', options.topicReplicationFactor, 1),
    topicAllowDeclare: options.topicAllowDeclare ?? true,
    deadLetterTopic,
    onBadMessage: oneOf('onBadMessage', options.onBadMessage, ['dead-letter', 'skip', 'stop'], 'dead-letter'),
    onAgentError: oneOf('onAgentError', options.onAgentError, ['restart', 'stop'], 'restart'),
    validation: options.validation ?? true,
    commitIntervalMs,
    processingGuarantee: oneOf(
      'processingGuarantee',
      options.processingGuarantee,
      ['at_least_once', 'exactly_once'],
      'at_least_once',
    ),
    transactionTimeoutMs,
    streamBufferMaxSize: positive('streamBufferMaxSize', options.streamBufferMaxSize, 4096),
    shutdownTimeoutMs: positive('shutdownTimeoutMs', options.shutdownTimeoutMs, 30_000),
    autoOffsetReset: oneOf('autoOffsetReset', options.autoOffsetReset, ['earliest', 'latest'], 'earliest'),
    stateDir: resolve(options.stateDir ?? 'stream-app-state'),
    tableStandbyReplicas: nonNegative('tableStandbyReplicas', options.tableStandbyReplicas, 0),
    tracing: resolveTracingOptions(options.tracing),
    web: resolveWebOptions(options.web),
  };
}
