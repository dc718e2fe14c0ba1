import { StreamAppError } from '@stream-app/credentials/errors';

/** The codes of the `stream-app` command line. */
export type CliErrorCode = 'STREAM_APP_ERR_APP_LOAD';

/** An error of the command line (a module that cannot be loaded, or exports no App). */
export class CliError extends StreamAppError<CliErrorCode> {}
