import { Cron } from 'croner';
import { toMs, type Duration } from '../clock/duration.js';
import { CoreError } from '../errors/index.js';

/** When a timer runs next, after `now` (epoch ms); undefined when it never will again. */
export interface Schedule {
  readonly description: string;
  next(now: number): number | undefined;
}

/** Every `interval`, counted from `start` so that runs do not drift; a run that overran skips the ticks it covered. */
export function everySchedule(interval: Duration, start: number): Schedule {
  const ms = toMs(interval, 'interval');
  return {
    description: `every ${ms} ms`,
    next: (now) => start + (Math.floor((now - start) / ms) + 1) * ms,
  };
}

/**
 * A cron expression, with croner (five fields, or six with seconds first; `@hourly` and the like),
 * in `timezone` (an IANA name such as `Europe/Paris`; default the process's).
 */
export function cronSchedule(expression: string, timezone?: string): Schedule {
  let cron: Cron;
  try {
    cron = new Cron(expression, { paused: true, ...(timezone ? { timezone } : {}) });
    cron.nextRun(); // a time zone croner cannot use fails here
  } catch (error) {
    throw new CoreError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `crontab ${JSON.stringify(expression)}${timezone ? ` in ${timezone}` : ''} is not valid: ${(error as Error).message}. ` +
        "Use five fields ('*/5 * * * *': minute hour day month weekday) or six with seconds first, and an IANA time zone such as 'Europe/Paris'",
      { details: { option: 'crontab' } },
    );
  }
  return {
    description: `crontab '${expression}'${timezone ? ` (${timezone})` : ''}`,
    next: (now) => cron.nextRun(new Date(now))?.getTime(),
  };
}
