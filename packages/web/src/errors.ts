import { StreamAppError } from '@stream-app/credentials/errors';

/** The codes of the worker's web server (in answers' `code` and in the log). */
export type WebErrorCode =
  /** 401 (400 for a malformed Authorization header): no token, or a token that does not verify. */
  | 'STREAM_APP_ERR_WEB_UNAUTHORIZED'
  /** 403: a good token without a scope the page needs. */
  | 'STREAM_APP_ERR_WEB_FORBIDDEN'
  /** 503: the identity provider's keys could not be fetched to check a token. */
  | 'STREAM_APP_ERR_WEB_AUTH_UNAVAILABLE'
  /** The server could not listen (port in use, address not on this host). */
  | 'STREAM_APP_ERR_WEB_LISTEN'
  /** 500: a page handler threw (logged with the error; the answer names no internals). */
  | 'STREAM_APP_ERR_PAGE_FAILED'
  /** 400: a request the server cannot read (a table key not of the table's key type, a body not JSON). */
  | 'STREAM_APP_ERR_WEB_BAD_REQUEST'
  /** 404: no page, table or key there. */
  | 'STREAM_APP_ERR_WEB_NOT_FOUND'
  /** 503: no worker serves the partition of a table key now (a rebalance, or the owner's URL is unknown). */
  | 'STREAM_APP_ERR_TABLE_VIEW_UNAVAILABLE';

export class WebError extends StreamAppError<WebErrorCode> {}
