import type { StreamEvent } from './event.js';

/**
 * The queue between the consumer and one running agent instance. Unbounded
 * by itself: the app pauses a partition when too much of it is outstanding.
 */
export class Channel {
  #items: StreamEvent[] = [];
  #head = 0;
  #waiter: ((event: StreamEvent | undefined) => void) | undefined;
  #closed = false;
  /** Paused (a commit is at the barrier): queued events wait, the reader too. */
  #paused = false;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(event: StreamEvent): void {
    if (this.#closed) return;
    const waiter = this.#waiter;
    if (waiter && !this.#paused) {
      this.#waiter = undefined;
      waiter(event);
      return;
    }
    this.#items.push(event);
  }

  /** Exactly once, at a commit's barrier: no event is handed out (started) until `resume`. */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const waiter = this.#waiter;
    if (!waiter || this.#head >= this.#items.length) return;
    this.#waiter = undefined;
    waiter(this.next() as StreamEvent);
  }

  /** The next event, or undefined once closed. */
  next(): Promise<StreamEvent | undefined> | StreamEvent | undefined {
    if (this.#head < this.#items.length && !this.#paused) {
      const event = this.#items[this.#head]!;
      this.#items[this.#head] = undefined as never;
      this.#head += 1;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return event;
    }
    if (this.#closed) return undefined;
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Puts back an event a stopped reader took. */
  unshift(event: StreamEvent): void {
    if (this.#waiter && !this.#paused) return this.push(event);
    this.#items = [event, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  /** Wakes a reader that belongs to a stopped generation of an agent, without an event. */
  interrupt(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.(undefined);
  }

  /** Drops queued events that match (their partitions were revoked); they were never started. */
  drop(matches: (event: StreamEvent) => boolean): void {
    this.#items = this.#items.slice(this.#head).filter((event) => !matches(event));
    this.#head = 0;
  }

  close(): void {
    this.#closed = true;
    this.interrupt();
  }

  get closed(): boolean {
    return this.#closed;
  }
}
