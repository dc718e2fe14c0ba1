import { StreamAppError } from '@stream-app/credentials/errors';

/** The codes of the `stream-app` command line. */
export type CliErrorCode =
  'STREAM_APP_ERR_APP_LOAD' | 'STREAM_APP_ERR_TOKEN_SOURCE' | 'STREAM_APP_ERR_ACL_ADMIN' | 'STREAM_APP_ERR_DEV_TESTBED';

/** An error of the command line (a module that cannot be loaded, a token that cannot be had, an ACL admin refused). */
export class CliError extends StreamAppError<CliErrorCode> {}
