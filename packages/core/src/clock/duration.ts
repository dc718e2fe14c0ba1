import { CoreError } from '../errors/index.js';

/** Milliseconds, or a string such as `'500ms'`, `'10s'`, `'5m'`, `'1h'`, `'1d'` (or `'1h30m'`). */
export type Duration = number | string;

const UNITS: { [unit: string]: number } = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration in milliseconds; `what` names the option in the error when it is not one. */
export function toMs(duration: Duration, what: string, { allowZero = false } = {}): number {
  let ms = Number.NaN;
  if (typeof duration === 'number') ms = duration;
  else if (typeof duration === 'string' && /^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(duration.trim())) {
    ms = 0;
    for (const [, amount, , unit] of duration.trim().matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) {
      ms += Number(amount) * UNITS[unit!]!;
    }
  }
  if (!Number.isFinite(ms) || ms < 0 || (ms === 0 && !allowZero) || !Number.isInteger(ms)) {
    throw new CoreError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `${what} must be a whole number of milliseconds${allowZero ? '' : ' above 0'} or a string such as '500ms', '10s', '5m', '1h', '1d'; got ${JSON.stringify(duration)}`,
      { details: { option: what } },
    );
  }
  return ms;
}
