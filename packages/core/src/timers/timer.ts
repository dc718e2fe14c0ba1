import { sleep, type Clock } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import type { Supervised, SupervisedTask } from '../supervisor/supervisor.js';
import type { Schedule } from './schedule.js';

export interface TimerOptions {
  /** Run on one worker of the group only: the one the group assigned the app's leader topic. Default false. */
  onLeader?: boolean;
  /** For logs and sensors. Default: the function's name (or `Class.method` for decorated timers). */
  name?: string;
}

/** What a timer needs from its app; read at each use (the clock and logger may be replaced before start). */
export interface TimerParts {
  readonly clock: Clock;
  readonly sensors: Sensors;
  readonly logger: Logger;
  /** Whether this worker is the group's leader now. */
  isLeader(): boolean;
  thisFor(timer: Timer): unknown;
}

/**
 * A function run on a schedule, like Faust's `@app.timer` and `@app.crontab`: a supervised task whose
 * life waits for each due time on the app's clock and runs the function; when it throws, the life
 * ends and the supervisor starts it again with backoff. A run never overlaps the next: a run longer
 * than the interval skips the ticks it covered.
 */
export class Timer implements SupervisedTask {
  readonly name: string;
  readonly kind = 'timer';
  readonly schedule: (now: number) => Schedule;
  readonly fn: () => unknown;
  readonly onLeader: boolean;
  /** When it runs, for the worker's banner: `every 10000 ms`, `crontab '0 * * * *'`. */
  readonly description: string;
  readonly #parts: TimerParts;
  #supervised: Supervised | undefined;
  #wake: (() => void) | undefined;
  #ran = false;
  #stopped = false;
  #finished = false;
  /** A run in progress (awaited when the worker stops leading, and by a graceful stop). */
  #running: Promise<void> | undefined;

  constructor(parts: TimerParts, schedule: (now: number) => Schedule, fn: () => unknown, options: TimerOptions = {}) {
    this.#parts = parts;
    this.schedule = schedule;
    this.description = schedule(0).description + (options.onLeader ? ', on the leader' : '');
    this.fn = fn;
    this.onLeader = options.onLeader ?? false;
    this.name = options.name ?? (fn.name || 'timer');
  }

  get running(): boolean {
    return this.#running !== undefined;
  }

  start(supervise: (task: SupervisedTask) => Supervised): void {
    this.#supervised = supervise(this);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const stopped = this.#supervised?.stop();
    this.#wake?.();
    await stopped;
    this.#supervised = undefined;
  }

  async runOnce(): Promise<void> {
    this.#ran = false;
    const clock = this.#parts.clock;
    const schedule = this.schedule(clock.now());
    const stopping = () => this.#stopped || (this.#supervised?.stopping ?? false);
    let last = -Infinity;
    while (!stopping()) {
      // After the last due time, even if the clock reads a little earlier (a timer that woke early, NTP).
      const due = schedule.next(Math.max(clock.now(), last));
      if (due === undefined) {
        this.#finished = true;
        return;
      }
      while (clock.now() < due && !stopping()) {
        await sleep(clock, due - clock.now(), { onAbort: (wake) => (this.#wake = wake) });
        this.#wake = undefined;
      }
      if (stopping()) return;
      last = due;
      if (this.onLeader && !this.#parts.isLeader()) continue;
      const started = clock.now();
      const run = (async () => this.fn.call(this.#parts.thisFor(this)))();
      this.#running = run.then(
        () => {},
        () => {},
      );
      try {
        await run;
        this.#ran = true;
        this.#parts.sensors.emit('onTimerRun', { timer: this.name, durationMs: clock.now() - started });
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        this.#parts.logger.error('timer threw', {
          code: 'STREAM_APP_ERR_TIMER_FAILED',
          timer: this.name,
          error: failure,
        });
        this.#parts.sensors.emit('onTimerRun', { timer: this.name, durationMs: clock.now() - started, error: failure });
        throw failure;
      } finally {
        this.#running = undefined;
      }
    }
  }

  /** The run in progress, if any (settles, never rejects). */
  get currentRun(): Promise<void> | undefined {
    return this.#running;
  }

  onExit(_error: Error | undefined, stopping: boolean): boolean {
    // A crontab with no time left (a date in the past) is done, not failed.
    return !stopping && !this.#finished;
  }

  progressed(): boolean {
    return this.#ran;
  }
}
