import { systemClock, type Clock } from '../clock/clock.js';
import type { Channel } from './channel.js';
import { EVENT_TIME_HEADER, type StreamEvent } from './event.js';
import type { MessageHeaders } from '../transport/transport.js';

const END = Symbol('end');
const TIMEOUT = Symbol('timeout');
type Pulled<T> = { value: T; event: StreamEvent } | typeof END | typeof TIMEOUT;
type Pull<T> = () => Promise<Pulled<T>>;

/** Something a stream can send values to: a topic, an agent, or anything with `send`. */
export interface StreamTarget {
  readonly name: string;
  send(message: {
    value: unknown;
    key?: unknown;
    headers?: { [name: string]: Buffer | string | Array<Buffer | string> };
    timestamp?: number;
  }): Promise<unknown>;
}

/** What an agent's running instance gives its streams. */
export interface StreamContext {
  /** Where deadlines (`take(n, withinMs)`) read time. */
  readonly clock: Clock;
  /** A source over a topic this instance reads (its own, or one of `through` and `groupBy`). */
  sourceOf(topic: string): StreamSource;
  /** Resolves when the topic exists and the consumer reads it (at once for the topics known at start). */
  topicReady(topic: string): Promise<void>;
  /** The internal topic behind `groupBy(…, { name })`. */
  repartitionTopic(name: string): StreamTarget;
  /** Runs a task beside the agent; if it fails, the agent instance fails. */
  spawn(task: () => Promise<void>): void;
  /** The event the agent is working on (for replies and sinks). */
  setCurrent(event: StreamEvent): void;
}

/**
 * Where a stream's events come from: one queue, the events taken from it but
 * not yet acknowledged, and the deadline of a `take(n, withinMs)` in progress.
 */
export class StreamSource {
  readonly channel: Channel;
  readonly acquired: StreamEvent[] = [];
  /** A `noAck()` stream's events taken and not yet acknowledged by the agent (a crash dead-letters them). */
  unacked: StreamEvent[] = [];
  autoAck = true;
  stopped = false;
  deadline: number | undefined;
  /** False for a stream that only forwards (`through`): its events are not what the agent replies to. */
  isBody = true;
  readonly #context: StreamContext | undefined;

  constructor(channel: Channel, context?: StreamContext) {
    this.channel = channel;
    this.#context = context;
  }

  get clock(): Clock {
    return this.#context?.clock ?? systemClock;
  }

  async pull(): Promise<StreamEvent | typeof END | typeof TIMEOUT> {
    if (this.stopped) return END;
    let next = this.channel.next();
    if (next instanceof Promise) {
      const deadline = this.deadline;
      if (deadline === undefined) next = await next;
      else {
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) return TIMEOUT;
        let timer: { cancel(): void } | undefined;
        const timedOut = new Promise<typeof TIMEOUT>((resolve) => {
          timer = this.clock.setTimeout(() => {
            this.channel.interrupt();
            resolve(TIMEOUT);
          }, remaining);
        });
        const first = await Promise.race([next, timedOut]);
        timer?.cancel();
        if (first === TIMEOUT) return TIMEOUT;
        next = first;
        if (next === undefined && !this.channel.closed && !this.stopped) return TIMEOUT;
      }
    }
    if (next === undefined) return END;
    if (this.stopped) {
      this.channel.unshift(next);
      return END;
    }
    next.start();
    if (this.autoAck) this.acquired.push(next);
    else {
      if (this.unacked.length >= 1024) this.unacked = this.unacked.filter((event) => !event.acked);
      this.unacked.push(next);
    }
    if (this.isBody) this.#context?.setCurrent(next);
    return next;
  }

  /** Acknowledges what the agent has moved past. */
  release(): void {
    if (this.acquired.length === 0) return;
    for (const event of this.acquired) event.ack();
    this.acquired.length = 0;
  }

  stop(): void {
    this.stopped = true;
    this.channel.interrupt();
  }
}

/**
 * An async iterable of typed values, like Faust's `Stream`. Asking for the
 * next value acknowledges the previous one, so an offset is committed only
 * after the agent has moved past it (and what it sent is delivered).
 */
export class Stream<T> implements AsyncIterable<T> {
  readonly #source: StreamSource;
  readonly #context: StreamContext | undefined;
  readonly #pull: Pull<T>;

  /** A stream over one queue (what an agent receives). */
  static of<V>(source: StreamSource, context?: StreamContext): Stream<V> {
    return new Stream<V>(source, context, async () => {
      const event = await source.pull();
      return typeof event === 'symbol' ? event : { value: event.value as V, event };
    });
  }

  private constructor(source: StreamSource, context: StreamContext | undefined, pull: Pull<T>) {
    this.#source = source;
    this.#context = context;
    this.#pull = pull;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#iterate((pulled) => pulled.value);
  }

  /** Asking for the next item first acknowledges what the previous ones held. */
  #iterate<R>(item: (pulled: { value: T; event: StreamEvent }) => R): AsyncIterator<R> {
    const source = this.#source;
    const pull = this.#pull;
    return {
      next: async () => {
        source.release();
        for (;;) {
          const pulled = await pull();
          if (pulled === END) return { done: true, value: undefined };
          if (pulled !== TIMEOUT) return { done: false, value: item(pulled) };
        }
      },
      // Also called when the loop body throws: what the agent holds is left to its supervisor (dead letters).
      return: async () => ({ done: true, value: undefined }),
    };
  }

  #derive<U>(pull: Pull<U>): Stream<U> {
    return new Stream<U>(this.#source, this.#context, pull);
  }

  map<U>(fn: (value: T) => U | Promise<U>): Stream<U> {
    return this.#derive(async () => {
      const pulled = await this.#pull();
      if (typeof pulled === 'symbol') return pulled;
      return { value: await fn(pulled.value), event: pulled.event };
    });
  }

  /** Values that pass `predicate`; an event filtered out is acknowledged at once (the agent never sees it). */
  filter(predicate: (value: T) => boolean | Promise<boolean>): Stream<T> {
    return this.#derive(async () => {
      for (;;) {
        const pulled = await this.#pull();
        if (typeof pulled === 'symbol' || (await predicate(pulled.value))) return pulled;
        pulled.event.ack();
      }
    });
  }

  /** `[index, value]` pairs, counting from 0. */
  enumerate(): Stream<[number, T]> {
    let index = 0;
    return this.map((value) => [index++, value] as [number, T]);
  }

  /** `[key, value]` pairs. */
  items<K = unknown>(): Stream<[K, T]> {
    return this.#derive(async () => {
      const pulled = await this.#pull();
      if (typeof pulled === 'symbol') return pulled;
      return { value: [pulled.event.key as K, pulled.value], event: pulled.event };
    });
  }

  /** The events themselves: value, key, headers, topic, partition, offset, timestamp. */
  events(): Stream<StreamEvent<T>> {
    return this.#derive(async () => {
      const pulled = await this.#pull();
      if (typeof pulled === 'symbol') return pulled;
      return { value: pulled.event as StreamEvent<T>, event: pulled.event };
    });
  }

  /**
   * Batches of up to `max` values: a batch is yielded when full, or `withinMs` after its first
   * value arrived. Every event of a batch is acknowledged when the agent asks for the next batch.
   */
  take(max: number, withinMs: number): Stream<T[]> {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`take(max, withinMs): max must be a positive integer, got ${max}`);
    return this.#derive(async () => {
      const first = await this.#pull();
      if (typeof first === 'symbol') return first;
      const batch = [first.value];
      let last = first.event;
      this.#source.deadline = this.#source.clock.now() + withinMs;
      try {
        while (batch.length < max) {
          const pulled = await this.#pull();
          if (typeof pulled === 'symbol') break;
          batch.push(pulled.value);
          last = pulled.event;
        }
      } finally {
        this.#source.deadline = undefined;
      }
      return { value: batch, event: last };
    });
  }

  /** Sends every value on to the targets as it passes (keeping its key and headers). */
  echo(...targets: StreamTarget[]): Stream<T> {
    return this.#derive(async () => {
      const pulled = await this.#pull();
      if (typeof pulled === 'symbol') return pulled;
      for (const target of targets) {
        trackSend(target.send({ value: pulled.value, key: pulled.event.key, headers: pulled.event.headers }));
      }
      return pulled;
    });
  }

  /**
   * Forwards every value to `topic` and continues with what is read back from it, like Faust's
   * `through`. Call it before iterating: the worker subscribes to the topic when it starts.
   */
  through<U = T>(topic: StreamTarget): Stream<U> {
    return this.#forwardTo(topic, topic.name, (value, event) => ({ value, key: event.key }));
  }

  /**
   * Re-keys the stream through an internal topic (`<app>-<agent>-<name>-repartition`), so that
   * every value with the same new key reaches the same agent instance, in order.
   */
  groupBy<K>(key: (value: T) => K, options: { name: string }): Stream<T> {
    const topic = this.#requireContext('groupBy').repartitionTopic(options.name);
    return this.#forwardTo(topic, topic.name, (value) => ({ value, key: key(value) }));
  }

  #forwardTo<U>(
    target: StreamTarget,
    topic: string,
    message: (value: T, event: StreamEvent) => { value: unknown; key: unknown },
  ): Stream<U> {
    const context = this.#requireContext('through');
    const source = context.sourceOf(topic);
    const upstream = this.#markForwarder();
    context.spawn(async () => {
      await context.topicReady(topic);
      for await (const item of upstream) {
        // Not awaited, so that sends batch; the app flushes them before it commits the offsets behind them.
        trackSend(target.send({ ...message(item.value, item.event), headers: forwardedHeaders(item.event) }));
      }
    });
    return Stream.of<U>(source, context);
  }

  /** This stream, re-rooted on a source that is not the agent body's (its events are not "current"). */
  #markForwarder(): AsyncIterable<{ value: T; event: StreamEvent }> {
    this.#source.isBody = false;
    return { [Symbol.asyncIterator]: () => this.#iterate((pulled) => pulled) };
  }

  /** A stream whose events the agent acknowledges itself (`event.ack()`), e.g. after a batch is stored elsewhere. */
  noAck(): Stream<T> {
    this.#source.autoAck = false;
    return this;
  }

  #requireContext(operator: string): StreamContext {
    if (!this.#context) throw new Error(`${operator}() needs a stream that belongs to an agent`);
    return this.#context;
  }
}

/**
 * A forwarded event keeps its headers and its event time, in a header: the record itself gets a new
 * timestamp, so that the retention of the repartition topic never deletes a replay of old events.
 */
function forwardedHeaders(event: StreamEvent): MessageHeaders {
  return { ...event.headers, [EVENT_TIME_HEADER]: Buffer.from(String(event.eventTime)) };
}

// A send whose failure the app sees at its next commit; nobody awaits this promise.
function trackSend(sent: Promise<unknown>): void {
  sent.catch(() => {});
}
