import type { App, Sensor } from '@stream-app/core';

export interface ReadinessCheck {
  name: 'running' | 'assigned' | 'recovered' | 'token';
  ok: boolean;
  detail: string;
}

/**
 * What `/ready` answers: the app runs, has taken part in a rebalance (a worker of a group gets its
 * partitions there), its tables are recovered, and its token (OAuth) is valid.
 */
export class Readiness implements Sensor {
  readonly #app: App;
  #assigned = false;

  constructor(app: App) {
    this.#app = app;
    // Started after the app: its assignment so far counts.
    this.#assigned = app.assignment.length > 0;
  }

  onPartitionsAssigned(): void {
    this.#assigned = true;
  }

  /** Lost partitions mean the worker fell out of its group (a session timeout): not ready until it rejoins. */
  onPartitionsRevoked(_partitions: unknown, lost: boolean): void {
    if (lost) this.#assigned = false;
  }

  checks(): ReadinessCheck[] {
    const app = this.#app;
    const stats = app.stats();
    const consumes = app.agents.size > 0 || app.timers.some((timer) => timer.onLeader);
    const checks: ReadinessCheck[] = [
      { name: 'running', ok: app.state === 'running', detail: `the app is ${app.state}` },
      {
        name: 'assigned',
        ok: !consumes || this.#assigned,
        detail: !consumes
          ? 'the app reads no topic'
          : this.#assigned
            ? 'the worker has joined its group'
            : 'waiting for the first partition assignment',
      },
      {
        name: 'recovered',
        ok: stats.recovering === 0,
        detail:
          stats.recovering === 0
            ? 'every table partition is recovered'
            : `${stats.recovering} table partition(s) recovering`,
      },
    ];
    const credentials = app.credentials;
    if (credentials?.kind === 'oauth') {
      const token = credentials.lifecycle.stats();
      checks.push({
        name: 'token',
        ok: token.state === 'valid' || (token.state === 'failing' && (token.timeToExpiryMs ?? 0) > 0),
        detail:
          token.timeToExpiryMs !== undefined
            ? `token ${token.state}, expires in ${Math.round(token.timeToExpiryMs / 1000)} s`
            : `token ${token.state}`,
      });
    }
    return checks;
  }
}
