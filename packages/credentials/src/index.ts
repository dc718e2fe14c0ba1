export { StreamAppError } from './errors.js';
export type { StreamAppErrorCode, StreamAppErrorOptions } from './errors.js';
