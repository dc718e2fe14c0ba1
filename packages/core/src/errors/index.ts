// `@stream-app/core/errors`: the codes of the streaming core. Imports only the base class, so that
// importing an error loads no client library.
import { StreamAppError, type StreamAppErrorOptions } from '@stream-app/credentials/errors';

export { StreamAppError } from '@stream-app/credentials/errors';
export type { StreamAppErrorCode, StreamAppErrorOptions } from '@stream-app/credentials/errors';

/** What each code of the core carries in `details`, for programs that branch on it. */
export interface CoreErrorDetails {
  STREAM_APP_ERR_INVALID_OPTIONS: { option: string; variable: string };
  STREAM_APP_ERR_SSL: { broker: string; reason: string };
  STREAM_APP_ERR_RECORD_INVALID: { path: string; record: string; problems: unknown[] };
  STREAM_APP_ERR_DECODE: { codec: string; position: number };
  STREAM_APP_ERR_KAFKA_AUTHENTICATION: { broker: string; reason: string };
  STREAM_APP_ERR_KAFKA_AUTHORIZATION: { principal: string; operation: string; resourceType: string; resource: string };
  STREAM_APP_ERR_KAFKA_CONNECTION: { bootstrap: string };
  STREAM_APP_ERR_TOPIC_MISSING: { topics: Array<string | undefined> };
  STREAM_APP_ERR_AGENT_FAILED: { agent: string };
  STREAM_APP_ERR_ASK_TIMEOUT: { agent: string; timeoutMs: number };
  STREAM_APP_ERR_DELIVERY: { topic: string };
  STREAM_APP_ERR_APP_STATE: { state: string };
  STREAM_APP_ERR_SHUTDOWN_TIMEOUT: { shutdownTimeoutMs: number };
  STREAM_APP_ERR_HOOK_FAILED: { hook: string };
  STREAM_APP_ERR_UNHANDLED: { where: string };
  STREAM_APP_ERR_TABLE_PARTITIONS: { table: string; topic: string; expected: number; actual: number };
  STREAM_APP_ERR_TABLE_WRITE: { table: string };
  STREAM_APP_ERR_STORE: { table: string; path: string };
  STREAM_APP_ERR_LATE_EVENT: { table: string; eventTime: number; streamTime: number };
  STREAM_APP_ERR_EVENT_TIME: { table: string };
  STREAM_APP_ERR_WINDOW_READ: { table: string };
  /** Logged, never thrown: onWindowClose threw (the window stays closed). */
  STREAM_APP_ERR_WINDOW_CLOSE: { table: string };
  /** Logged and reported to sensors: a timer threw; it is restarted with backoff. */
  STREAM_APP_ERR_TIMER_FAILED: { timer: string };
  /** Logged (a warning), never thrown: the recovery starts over from the changelog's earliest offset. */
  STREAM_APP_ERR_CHECKPOINT_OUT_OF_RANGE: { table: string; partition: number };
  /** Logged (a warning), never thrown: an exactly-once transaction was aborted; its events are processed again. */
  STREAM_APP_ERR_TRANSACTION_ABORTED: { partitions: string };
  /** Logged only (a warning): a connection failed to re-authenticate. */
  STREAM_APP_ERR_KAFKA_REAUTHENTICATION: { client: string; broker: string; reason: string };
  /** Exactly once: a commit's outcome stayed unknown past the transaction timeout; the worker stops. */
  STREAM_APP_ERR_TRANSACTION_FAILED: { timeoutMs: number };
}

export type CoreErrorCode = keyof CoreErrorDetails;

/** An error of the streaming core; `details` is typed by `code`. */
export class CoreError<C extends CoreErrorCode = CoreErrorCode> extends StreamAppError<
  C,
  Partial<CoreErrorDetails[C]>
> {
  constructor(code: C, message: string, options: StreamAppErrorOptions<Partial<CoreErrorDetails[C]>> = {}) {
    super(code, message, options);
  }
}
