/** A timer a clock started; `cancel` is safe to call twice. */
export interface ClockTimer {
  cancel(): void;
}

/**
 * Where the runtime reads time and waits: the system's by default, a `ManualClock` in tests, so that
 * commit intervals, backoffs, ask timeouts and (later) windows and timers follow time a test moves.
 */
export interface Clock {
  now(): number;
  /** Calls `callback` once after `ms`. Timers never keep the process alive. */
  setTimeout(callback: () => void, ms: number): ClockTimer;
  /** Calls `callback` every `ms` until cancelled. */
  setInterval(callback: () => void, ms: number): ClockTimer;
}

/** Node fires a longer timeout at once (after 1 ms, with a warning): a far one waits in steps of this. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    const due = Date.now() + Math.max(0, ms);
    let timer: NodeJS.Timeout;
    const arm = () => {
      const wait = due - Date.now();
      timer = setTimeout(
        () => (wait > MAX_TIMEOUT_MS ? arm() : callback()),
        Math.min(Math.max(0, wait), MAX_TIMEOUT_MS),
      );
      timer.unref();
    };
    arm();
    return { cancel: () => clearTimeout(timer) };
  },
  setInterval(callback, ms) {
    const timer = setInterval(callback, Math.min(ms, MAX_TIMEOUT_MS));
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
};

/** Resolves after `ms` on `clock`, or at once when `signal` fires. */
export function sleep(clock: Clock, ms: number, signal?: { onAbort(wake: () => void): void }): Promise<void> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(resolve, ms);
    signal?.onAbort(() => {
      timer.cancel();
      resolve();
    });
  });
}

interface Scheduled {
  at: number;
  every: number | undefined;
  callback: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to (`advance`), for tests of anything that waits. */
export class ManualClock implements Clock {
  #now: number;
  #timers: Scheduled[] = [];

  constructor(start = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): ClockTimer {
    return this.#add(callback, ms, undefined);
  }

  setInterval(callback: () => void, ms: number): ClockTimer {
    return this.#add(callback, ms, Math.max(1, ms));
  }

  /** When the next timer falls due; undefined when none is set. */
  get nextDue(): number | undefined {
    let next: number | undefined;
    for (const timer of this.#timers) if (!timer.cancelled && (next === undefined || timer.at < next)) next = timer.at;
    return next;
  }

  /** Timers still to fire. */
  get pending(): number {
    return this.#timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time on by `ms`, firing every timer that falls due, in time order, with time set to each one's due time. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const due = this.#timers.filter((timer) => !timer.cancelled && timer.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      if (due.every === undefined) due.cancelled = true;
      else due.at += due.every;
      due.callback();
    }
    this.#now = until;
    this.#timers = this.#timers.filter((timer) => !timer.cancelled);
  }

  #add(callback: () => void, ms: number, every: number | undefined): ClockTimer {
    const timer: Scheduled = { at: this.#now + Math.max(0, ms), every, callback, cancelled: false };
    this.#timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
}
