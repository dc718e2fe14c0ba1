import { CoreError } from '../errors/index.js';
import type { Stream, StreamTarget } from '../streams/stream.js';
import type { AnyTable } from '../tables/table.js';
import type { Topic, TopicMessage } from '../topics/topic.js';

/** An agent body: an async generator (what it yields goes to its sinks and to `ask` callers) or an async function. */
export type AgentFunction<V> = (stream: Stream<V>) => AsyncIterable<unknown> | Promise<unknown> | void;

/** Where yielded values go: a topic, another agent, or a function. */
export type Sink = StreamTarget | ((value: unknown) => unknown);

export interface AgentOptions {
  /** Default: the function's name (or `Class.method` for decorated agents). */
  name?: string;
  /** Instances run side by side; messages with the same key always reach the same one, in order. Default 1. */
  concurrency?: number;
  sink?: Sink[];
  /**
   * The tables this agent writes: checked at start to be co-partitioned with its topic, and recovered
   * before its partitions resume. When no agent of the app names any, every agent is taken to write every table.
   */
  tables?: readonly AnyTable[];
}

export interface AskOptions<K> {
  key?: K;
  /** Default 30 s. */
  timeoutMs?: number;
}

/** What an Agent needs from its app. */
export interface AgentOwner {
  ask(agent: Agent, message: TopicMessage<unknown, unknown>, timeoutMs: number): Promise<unknown>;
}

/** An agent: a function that processes a topic's stream, like Faust's `@app.agent`. */
export class Agent<V = unknown, K = unknown> implements StreamTarget {
  readonly name: string;
  readonly topic: Topic<V, K>;
  readonly fn: AgentFunction<V>;
  readonly concurrency: number;
  readonly sinks: readonly Sink[];
  readonly tables: readonly AnyTable[];
  readonly #owner: AgentOwner;

  constructor(owner: AgentOwner, topic: Topic<V, K>, fn: AgentFunction<V>, options: AgentOptions = {}) {
    if (typeof fn !== 'function') {
      throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `agent on topic '${topic.name}' needs a function`);
    }
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 1024) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `agent ${options.name ?? fn.name}: concurrency must be an integer from 1 to 1024, got ${String(options.concurrency)}`,
      );
    }
    this.#owner = owner;
    this.topic = topic;
    this.fn = fn;
    this.name = options.name ?? (fn.name || `${topic.name}-agent`);
    this.concurrency = concurrency;
    this.sinks = options.sink ?? [];
    this.tables = options.tables ?? [];
  }

  /** Sends a value to the agent's topic (resolves when the broker has it). */
  send(message: TopicMessage<V, K>): Promise<void> {
    return this.topic.send(message);
  }

  /** Sends a value and does not wait for a reply. */
  async cast(value: V, options: { key?: K } = {}): Promise<void> {
    await this.send({ value, ...(options.key === undefined ? {} : { key: options.key }) });
  }

  /**
   * Sends a value and waits for what the agent yields for it (request-reply over the app's reply
   * topic, matched by correlation id). Fails with STREAM_APP_ERR_ASK_TIMEOUT after `timeoutMs`.
   */
  ask<R = unknown>(value: V, options: AskOptions<K> = {}): Promise<R> {
    const message = { value, ...(options.key === undefined ? {} : { key: options.key }) };
    return this.#owner.ask(
      this as Agent,
      message as TopicMessage<unknown, unknown>,
      options.timeoutMs ?? 30_000,
    ) as Promise<R>;
  }

  toString(): string {
    return `Agent(${this.name} <- ${this.topic.name})`;
  }
}
