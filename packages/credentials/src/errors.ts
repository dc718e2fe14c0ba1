/**
 * Every error stream-app raises on purpose. `code` is stable and listed in
 * docs/errors.md; `retriable` says whether trying again later can help
 * (an unreachable identity provider: yes; a refused credential: no).
 */
export type StreamAppErrorCode =
  | 'STREAM_APP_ERR_INVALID_OPTIONS'
  | 'STREAM_APP_ERR_INSECURE_URL'
  | 'STREAM_APP_ERR_SSL'
  | 'STREAM_APP_ERR_TOKEN_ENDPOINT'
  | 'STREAM_APP_ERR_IDP_UNREACHABLE'
  | 'STREAM_APP_ERR_INVALID_TOKEN'
  | 'STREAM_APP_ERR_NO_VALID_TOKEN'
  | 'STREAM_APP_ERR_JWT_INVALID'
  | 'STREAM_APP_ERR_JWT_EXPIRED'
  | 'STREAM_APP_ERR_JWT_NOT_YET_VALID'
  | 'STREAM_APP_ERR_JWT_ISSUER'
  | 'STREAM_APP_ERR_JWT_AUDIENCE'
  | 'STREAM_APP_ERR_JWT_SIGNATURE'
  | 'STREAM_APP_ERR_JWT_ALGORITHM'
  | 'STREAM_APP_ERR_JWT_KEY_NOT_FOUND'
  | 'STREAM_APP_ERR_JWT_SCOPE'
  | 'STREAM_APP_ERR_JWT_CLAIM'
  | 'STREAM_APP_ERR_RECORD_INVALID'
  | 'STREAM_APP_ERR_DECODE'
  | 'STREAM_APP_ERR_KAFKA_AUTHENTICATION'
  | 'STREAM_APP_ERR_KAFKA_AUTHORIZATION'
  | 'STREAM_APP_ERR_KAFKA_CONNECTION'
  | 'STREAM_APP_ERR_TOPIC_MISSING'
  | 'STREAM_APP_ERR_AGENT_FAILED'
  | 'STREAM_APP_ERR_ASK_TIMEOUT'
  | 'STREAM_APP_ERR_DELIVERY'
  | 'STREAM_APP_ERR_APP_STATE'
  | 'STREAM_APP_ERR_APP_LOAD'
  | 'STREAM_APP_ERR_SHUTDOWN_TIMEOUT';

export interface StreamAppErrorOptions {
  retriable?: boolean;
  cause?: unknown;
  /** Facts a program may branch on (never secrets). */
  details?: Record<string, unknown>;
}

export class StreamAppError extends Error {
  readonly code: StreamAppErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: StreamAppErrorCode, message: string, options: StreamAppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamAppError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}
