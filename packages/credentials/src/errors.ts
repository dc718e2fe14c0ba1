/**
 * The one error type of stream-app: every package raises a subclass of it
 * with codes of its own (`CredentialsError` here, `CoreError` in
 * `@stream-app/core`), so that a caller catches one type and branches on
 * `code`. `code` is stable and listed in docs/errors.md; `retriable` says
 * whether trying again later can help (an unreachable identity provider:
 * yes; a refused credential: no). This module imports nothing, so that
 * importing an error never loads a library.
 */
export type StreamAppErrorCode = `STREAM_APP_ERR_${string}`;

export interface StreamAppErrorOptions<D extends object = Record<string, unknown>> {
  retriable?: boolean;
  cause?: unknown;
  /** Facts a program may branch on (never secrets). */
  details?: D;
}

export class StreamAppError<
  C extends StreamAppErrorCode = StreamAppErrorCode,
  D extends object = Record<string, unknown>,
> extends Error {
  readonly code: C;
  readonly retriable: boolean;
  readonly details: D;

  constructor(code: C, message: string, options: StreamAppErrorOptions<D> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamAppError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? ({} as D);
  }
}

/** The codes of `@stream-app/credentials` and of the identity-provider adapters built on it. */
export type CredentialsErrorCode =
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
  | 'STREAM_APP_ERR_JWT_CLAIM';

/** An error of the credentials: options, identity providers, tokens, TLS. */
export class CredentialsError extends StreamAppError<CredentialsErrorCode> {}
