import { randomUUID } from 'node:crypto';
import {
  Agent,
  DEAD_LETTER_HEADERS,
  firstHeader,
  toMs,
  type Duration,
  type ManualClock,
  type App,
  type IncomingMessage,
  type OutgoingMessage,
  type Record as StreamRecord,
  type Topic,
} from '@stream-app/core';
import { MemoryTransport, type UnfinishedPartition } from './memory-transport.js';

/**
 * The header `put` adds to its message, so that what agents yield and dead-letter for it can be told
 * apart from other messages' (`through` and `groupBy` carry headers on). Agents see it in `event.headers`;
 * the driver's own views (`sent`, `deadLetters`) leave it out.
 */
export const PUT_ID_HEADER = 'stream-app.test.put-id';

export interface TestAppOptions {
  /** The transport to run over; share one between apps to start an app again where the last one stopped. */
  transport?: MemoryTransport;
  /** How long `put` and `settle` wait for the app to finish (default 5000 ms). */
  timeoutMs?: number;
  /** A clock the test moves (`driver.advance(ms)`): commit intervals, backoffs, `take()` and `ask` deadlines follow it. */
  clock?: ManualClock;
}

/** A value to put: the topic's type or, for a Record type, its fields as plain data (valid or not: the app decides). */
export type PutValue<V> =
  | V
  | (V extends StreamRecord
      ? { [P in keyof V as V[P] extends (...args: never[]) => unknown ? never : P]?: unknown }
      : never);

export interface PutOptions<K = unknown> {
  key?: K;
  headers?: { [name: string]: Buffer | string };
  partition?: number;
  /** The record's timestamp (its event time in windowed tables); default: the driver clock's now, else the system's. */
  timestamp?: number;
  /** Default: the driver's `timeoutMs`. */
  timeoutMs?: number;
}

export interface PutResult {
  topic: string;
  partition: number;
  offset: number;
  /** What agents yielded for this message (or for what `through`/`groupBy` forwarded of it), in order. */
  yielded: unknown[];
  /** The dead letters it caused: it was bad input, or an agent failed while holding it. */
  deadLettered: DeadLetter[];
}

/** A message of a topic, decoded with the topic's codecs. */
export interface SentMessage<V = unknown, K = unknown> {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: K;
  value: V;
  headers: { [name: string]: string };
  /** Set when the bytes do not decode with the topic's codecs; `value` is then their JSON, or their text. */
  decodeError?: string;
}

/** A message of the dead-letter topic: the original key, value and headers, and why it is there. */
export interface DeadLetter {
  /** Decoded with the source topic's key codec when it can be. */
  key: unknown;
  /** The original bytes as JSON, or as text when they are not JSON (they may be what failed to decode). */
  value: unknown;
  /** The original headers and the `DEAD_LETTER_HEADERS`. */
  headers: { [name: string]: string };
  code: string;
  reason: string;
  /** The agent that failed, when one did (absent for bad input). */
  agent: string | undefined;
  source: { topic: string; partition: number; offset: number };
}

interface Yield {
  agent: string;
  putId: string | undefined;
  value: unknown;
}

/**
 * Runs `app` in memory (over a `MemoryTransport`, no broker) and returns a driver to put messages and
 * see what came of them, like Faust's `agent.test_context()`. The app is the real one, as built for
 * production: its agents, sinks, dead letters, commits and `ask` all run as they would over Kafka.
 */
export function testApp(app: App, options: TestAppOptions = {}): Promise<TestDriver> {
  return TestDriver.start(app, options);
}

export class TestDriver {
  readonly app: App;
  readonly transport: MemoryTransport;
  /** The clock the test moves, when it gave one. */
  readonly clock: ManualClock | undefined;
  readonly #timeoutMs: number;
  readonly #yields: Yield[] = [];
  readonly #wakers = new Set<() => void>();
  readonly #unwatch: () => void;
  #changes = 0;

  private constructor(app: App, options: TestAppOptions) {
    this.app = app;
    this.transport = options.transport ?? new MemoryTransport();
    this.#timeoutMs = options.timeoutMs ?? 5000;
    app.setTransport(this.transport);
    if (options.clock) {
      const clock = options.clock;
      app.setClock(clock);
      this.transport.now = () => clock.now();
    }
    this.clock = options.clock;
    // The driver is a sensor: it hears of every acknowledged event and every yielded value.
    const removeSensor = app.addSensor({
      onEventAcked: () => this.#changed(),
      onTableRecovery: () => this.#changed(),
      onPartitionsResumed: () => this.#changed(),
      onTimerRun: () => this.#changed(),
      onAgentYield: (agent, event, value) => {
        const putId = event ? firstHeader(event.headers, PUT_ID_HEADER)?.toString() : undefined;
        this.#yields.push({ agent: agent.name, putId, value });
        this.#changed();
      },
    });
    const unwatch = this.transport.watch(() => this.#changed());
    this.#unwatch = () => {
      removeSensor();
      unwatch();
    };
  }

  static async start(app: App, options: TestAppOptions = {}): Promise<TestDriver> {
    const driver = new TestDriver(app, options);
    try {
      await app.start();
    } catch (error) {
      driver.#unwatch();
      throw error;
    }
    return driver;
  }

  /**
   * Sends `value` to the agent's (or the topic's) topic and resolves when the app has finished it and
   * everything it led to: agents done, sinks and forwarded messages processed, offsets committed.
   */
  async put<V, K>(
    target: Agent<V, K> | Topic<V, K> | string,
    value: NoInfer<PutValue<V>>,
    options: PutOptions<NoInfer<K>> = {},
  ): Promise<PutResult> {
    return this.#put(this.#encode(target, value, options), options.timeoutMs);
  }

  /** Like `put`, with the value's bytes as they are (to test what a producer that is not this app may write). */
  async putRaw<V, K>(
    target: Agent<V, K> | Topic<V, K> | string,
    value: Buffer | string | null,
    options: PutOptions<NoInfer<K>> = {},
  ): Promise<PutResult> {
    const message = this.#encode(target, null, options);
    return this.#put({ ...message, value: typeof value === 'string' ? Buffer.from(value) : value }, options.timeoutMs);
  }

  /**
   * Resolves when the app is idle: every message handed to its agents and finished, every offset
   * committed, no timer running (after `advance`, the runs it made due). Rejects with the app's failure if it fails, or after `timeoutMs` naming what is unfinished.
   * (The driver commits as it checks, so `committed()` shows exactly what is finished.)
   */
  async settle(timeoutMs = this.#timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.#changes;
      if (this.app.failure) throw this.app.failure;
      await this.app.commit();
      const unfinished = this.transport.unfinished(this.app.id);
      const stats = this.app.stats();
      if (unfinished.length === 0 && stats.recovering === 0 && stats.timersRunning === 0) return;
      if (this.#changes !== seen) continue;
      if (!(await this.#nextChange(deadline))) {
        throw new Error(
          `the app did not finish within ${timeoutMs} ms: ${describe(unfinished)}. ` +
            'Is an agent stuck, or holding events (noAck(), take())?',
        );
      }
    }
  }

  /** Moves the app's clock on (needs `testApp(app, { clock: new ManualClock() })`), firing what falls due. */
  advance(ms: number): void {
    if (!this.clock) throw new Error('advance(): start the driver with testApp(app, { clock: new ManualClock() })');
    this.clock.advance(ms);
    this.#changed();
  }

  /**
   * Lets `ms` (or `'10m'`) pass on the app's clock, due time by due time, settling after each: a timer
   * re-arms after its run and a window closing on the clock closes, as they would in real time.
   */
  async elapse(ms: Duration): Promise<void> {
    const clock = this.clock;
    if (!clock) throw new Error('elapse(): start the driver with testApp(app, { clock: new ManualClock() })');
    const until = clock.now() + toMs(ms, 'elapse', { allowZero: true });
    for (let due = clock.nextDue; due !== undefined && due <= until; due = clock.nextDue) {
      this.advance(Math.max(0, due - clock.now()));
      await this.settle();
    }
    this.advance(until - clock.now());
    await this.settle();
  }

  /** What `agent` has yielded so far, for any message. */
  yielded<V, K>(agent: Agent<V, K> | string): unknown[] {
    const name = typeof agent === 'string' ? agent : agent.name;
    return this.#yields.filter((entry) => entry.agent === name).map((entry) => entry.value);
  }

  /** Every message of a topic (put, sent by agents or sinks, forwarded), decoded with the topic's codecs. */
  sent<V = unknown, K = unknown>(target: Agent<V, K> | Topic<V, K> | string): SentMessage<V, K>[] {
    const name = topicName(target);
    const topic = this.app.topics.get(name);
    return this.transport.messages(name).map((message) => {
      const sent: SentMessage = {
        topic: name,
        partition: message.partition,
        offset: message.offset,
        timestamp: message.timestamp,
        key: message.key?.toString('utf8') ?? null,
        value: jsonOrText(message.value),
        headers: textHeaders(message),
      };
      const problems: string[] = [];
      if (topic) {
        try {
          sent.key = topic.keyCodec.decode(message.key);
        } catch (error) {
          problems.push(`key: ${(error as Error).message}`);
        }
        try {
          sent.value = topic.valueCodec.decode(message.value);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      if (problems.length > 0) sent.decodeError = problems.join('; ');
      return sent as SentMessage<V, K>;
    });
  }

  /** The messages of the app's dead-letter topic, with why each is there. */
  deadLetters(): DeadLetter[] {
    return this.transport.messages(this.app.options.deadLetterTopic).map((message) => this.#deadLetter(message));
  }

  /** The app's committed offsets of a topic, by partition (the next offset to read, as Kafka counts). */
  committed<V, K>(target: Agent<V, K> | Topic<V, K> | string): { [partition: number]: number } {
    const name = topicName(target);
    return Object.fromEntries(this.transport.committed(this.app.id, name));
  }

  /** Stops the app gracefully (agents finish, offsets committed); the transport keeps its topics and commits. */
  async stop(): Promise<void> {
    try {
      await this.app.stop();
    } finally {
      this.#unwatch();
      this.#changed();
    }
  }

  async #put(message: OutgoingMessage, timeoutMs: number | undefined): Promise<PutResult> {
    const putId = randomUUID();
    const put = { ...message, headers: { ...message.headers, [PUT_ID_HEADER]: putId } };
    // Exactly once, the app's own sends wait for its commit; a put is another producer's record.
    if (this.transport.transactions) await this.transport.sendDirect(put);
    else await this.app.produce(put);
    const stored = this.transport
      .messages(message.topic)
      .find((candidate) => firstHeader(candidate.headers, PUT_ID_HEADER)?.toString() === putId)!;
    await this.settle(timeoutMs);
    return {
      topic: stored.topic,
      partition: stored.partition,
      offset: stored.offset,
      yielded: this.#yields.filter((entry) => entry.putId === putId).map((entry) => entry.value),
      deadLettered: this.transport
        .messages(this.app.options.deadLetterTopic)
        .filter((dead) => firstHeader(dead.headers, PUT_ID_HEADER)?.toString() === putId)
        .map((dead) => this.#deadLetter(dead)),
    };
  }

  #encode<V, K>(target: Agent<V, K> | Topic<V, K> | string, value: unknown, options: PutOptions<K>): OutgoingMessage {
    return this.#topic(target).encode({
      value: value as V,
      ...(options.key === undefined ? {} : { key: options.key }),
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.partition === undefined ? {} : { partition: options.partition }),
      ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
    });
  }

  #topic<V, K>(target: Agent<V, K> | Topic<V, K> | string): Topic<V, K> {
    if (typeof target !== 'string') return target instanceof Agent ? target.topic : target;
    const topic = this.app.topics.get(target);
    if (!topic) throw new Error(`app ${this.app.id} has no topic '${target}': declare it with app.topic() first`);
    return topic as unknown as Topic<V, K>;
  }

  #deadLetter(message: IncomingMessage): DeadLetter {
    const headers = textHeaders(message);
    const source = {
      topic: headers[DEAD_LETTER_HEADERS.topic] ?? '',
      partition: Number(headers[DEAD_LETTER_HEADERS.partition]),
      offset: Number(headers[DEAD_LETTER_HEADERS.offset]),
    };
    let key: unknown = message.key?.toString('utf8') ?? null;
    try {
      key = this.app.topics.get(source.topic)?.keyCodec.decode(message.key) ?? key;
    } catch {
      // The key may be what was bad: keep its text.
    }
    return {
      key,
      value: jsonOrText(message.value),
      headers,
      code: headers[DEAD_LETTER_HEADERS.code] ?? '',
      reason: headers[DEAD_LETTER_HEADERS.message] ?? '',
      agent: headers[DEAD_LETTER_HEADERS.agent],
      source,
    };
  }

  #changed(): void {
    this.#changes += 1;
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
  }

  /** True at the next change, false at the deadline. */
  #nextChange(deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#wakers.delete(wake);
          resolve(false);
        },
        Math.max(0, deadline - Date.now()),
      );
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#wakers.add(wake);
    });
  }
}

function topicName<V, K>(target: Agent<V, K> | Topic<V, K> | string): string {
  return typeof target === 'string' ? target : target instanceof Agent ? target.topic.name : target.name;
}

function textHeaders(message: IncomingMessage): { [name: string]: string } {
  const out: { [name: string]: string } = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (name !== PUT_ID_HEADER) out[name] = (Array.isArray(value) ? value : [value]).map(String).join(',');
  }
  return out;
}

function jsonOrText(bytes: Buffer | null): unknown {
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function describe(unfinished: UnfinishedPartition[]): string {
  return unfinished
    .map(
      ({ topic, partition, end, position, committed, groupId }) =>
        `${topic}/${partition} (group ${groupId}: ${end} sent, ${position} handed over, committed ${committed ?? 'nothing'})`,
    )
    .join(', ');
}
