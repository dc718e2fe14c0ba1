/**
 * Every error stream-app raises on purpose. `code` is stable and listed in
 * docs/errors.md; `retriable` says whether trying again later can help
 * (an unreachable identity provider: yes; a refused credential: no).
 */
export type StreamAppErrorCode =
  'STREAM_APP_ERR_KAFKA_AUTHENTICATION' | 'STREAM_APP_ERR_KAFKA_AUTHORIZATION' | 'STREAM_APP_ERR_KAFKA_CONNECTION';

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
