import type { Logger } from '@stream-app/core';
import type { AuthOutcome } from './bearer-guard.js';

const EVERY_MS = 60_000;

/**
 * Report mode's log: what enforce would have refused, one line per route and outcome a minute with
 * how many were served since (the metric counts each), so a roll-out's log stays readable.
 */
export class ReportLog {
  readonly #logger: Logger;
  readonly #last = new Map<string, { at: number; since: number }>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  wouldRefuse(route: string, outcome: AuthOutcome, method: string): void {
    const key = `${route} ${outcome}`;
    const now = Date.now();
    const last = this.#last.get(key);
    if (last && now - last.at < EVERY_MS) {
      last.since += 1;
      return;
    }
    this.#last.set(key, { at: now, since: 0 });
    this.#logger.warn('web auth (report mode): served a request that enforce mode would refuse', {
      route,
      method,
      outcome,
      ...(last ? { servedSinceLastLine: last.since } : {}),
    });
  }
}
