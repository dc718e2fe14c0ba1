import { sleep, type Clock } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';

/** Restart delays: 200 ms doubling to 30 s; a life that did real work starts the count over. */
export class Backoff {
  readonly firstMs: number;
  readonly maxMs: number;
  #failures = 0;

  constructor(firstMs = 200, maxMs = 30_000) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
  }

  /** The delay before the next start, after a life that `progressed` or not. */
  next(progressed: boolean): number {
    this.#failures = progressed ? 1 : this.#failures + 1;
    return Math.min(this.maxMs, this.firstMs * 2 ** (this.#failures - 1));
  }
}

/** Something long-lived the supervisor keeps running: an agent instance now, timers and recoveries next. */
export interface SupervisedTask {
  readonly name: string;
  /** What it is, for the restart log line: `agent`, `timer`, … */
  readonly kind: string;
  /** One life of the task: it returns, or throws. */
  runOnce(): Promise<void>;
  /**
   * Told how a life ended (`stopping`: because it was asked to); returns whether to start it again
   * (false when the task escalated the failure, e.g. failed the app).
   */
  onExit(error: Error | undefined, stopping: boolean): boolean;
  /** Whether the life that just ended did real work (the backoff then starts over). */
  progressed(): boolean;
}

/** A running supervised task. */
export class Supervised {
  readonly done: Promise<void>;
  #stopping = false;
  #wake: (() => void) | undefined;

  constructor(task: SupervisedTask, clock: Clock, sensors: Sensors, log: Logger, backoff: Backoff) {
    this.done = this.#loop(task, clock, sensors, log, backoff);
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** No more restarts; resolves when the current life has ended (the task ends it). */
  stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    return this.done;
  }

  async #loop(task: SupervisedTask, clock: Clock, sensors: Sensors, log: Logger, backoff: Backoff): Promise<void> {
    while (!this.#stopping) {
      let failure: Error | undefined;
      try {
        await task.runOnce();
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      const again = task.onExit(failure, this.#stopping);
      if (this.#stopping) return;
      if (!again) {
        if (failure) sensors.emit('onTaskFailed', task.name, failure, undefined);
        return;
      }
      const delay = backoff.next(task.progressed());
      if (failure) sensors.emit('onTaskFailed', task.name, failure, delay);
      log.info(`restarting ${task.kind}`, { [task.kind]: task.name, inMs: delay });
      await sleep(clock, delay, { onAbort: (wake) => (this.#wake = wake) });
      this.#wake = undefined;
    }
  }
}

/** Starts long-lived tasks and restarts them with backoff when they end or fail. */
export class Supervisor {
  readonly #clock: Clock;
  readonly #sensors: Sensors;
  readonly #log: Logger;
  readonly #running = new Set<Supervised>();

  constructor(clock: Clock, sensors: Sensors, log: Logger) {
    this.#clock = clock;
    this.#sensors = sensors;
    this.#log = log;
  }

  start(task: SupervisedTask, backoff = new Backoff()): Supervised {
    const supervised = new Supervised(task, this.#clock, this.#sensors, this.#log, backoff);
    this.#running.add(supervised);
    void supervised.done.finally(() => this.#running.delete(supervised));
    return supervised;
  }

  get running(): number {
    return this.#running.size;
  }
}
