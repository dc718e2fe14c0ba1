import { StreamAppError } from '@stream-app/credentials';
import type { Logger } from '../logging/logger.js';
import { Channel } from '../streams/channel.js';
import type { StreamEvent } from '../streams/event.js';
import { Stream, StreamSource, type StreamContext, type StreamTarget } from '../streams/stream.js';
import type { Agent } from './agent.js';

/** What a running agent needs from the app around it. */
export interface AgentRuntime {
  readonly logger: Logger;
  readonly onAgentError: 'restart' | 'stop';
  /** The `this` of decorated agents. */
  thisFor(agent: Agent): unknown;
  repartitionTopic(agent: Agent, name: string): StreamTarget;
  /** A topic this agent instance reads besides its own; the app routes its messages here. */
  registerTopic(agent: Agent, topic: string): void;
  deadLetter(event: StreamEvent, error: Error, agent: Agent): void;
  reply(event: StreamEvent, value: unknown): void;
  fail(error: Error): void;
  /** Told of every yielded value (the test driver collects them). */
  onYield?: ((agent: Agent, event: StreamEvent | undefined, value: unknown) => void) | undefined;
}

const BACKOFF_FIRST_MS = 200;
const BACKOFF_MAX_MS = 30_000;

/**
 * One instance of an agent (of `concurrency`), supervised: when its body throws, the events it
 * held go to the dead-letter topic, and it starts again after a backoff, reading on from the same
 * queue. It never stops silently.
 */
export class AgentRunner implements StreamContext {
  readonly agent: Agent;
  readonly index: number;
  readonly #runtime: AgentRuntime;
  readonly #channels = new Map<string, Channel>();
  #sources: StreamSource[] = [];
  #tasks: Array<Promise<void>> = [];
  #current: StreamEvent | undefined;
  #pulled = 0;
  #stopping = false;
  #crashes = 0;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #log: Logger;

  constructor(agent: Agent, index: number, runtime: AgentRuntime) {
    this.agent = agent;
    this.index = index;
    this.#runtime = runtime;
    this.#log = runtime.logger.child({ agent: agent.name, ...(agent.concurrency > 1 ? { instance: index } : {}) });
    this.#channels.set(agent.topic.name, new Channel());
  }

  /** The queue of a topic, for the app to push into. */
  channel(topic: string): Channel | undefined {
    return this.#channels.get(topic);
  }

  get topics(): string[] {
    return [...this.#channels.keys()];
  }

  start(): void {
    this.#loop ??= this.#supervise();
  }

  /** Ends the streams after the events in hand; resolves when the body has returned. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const source of this.#sources) source.stop();
    this.#wake?.();
    await this.#loop;
  }

  /** Drops queued (never started) events of revoked partitions. */
  drop(matches: (event: StreamEvent) => boolean): void {
    for (const channel of this.#channels.values()) channel.drop(matches);
  }

  // StreamContext
  sourceOf(topic: string): StreamSource {
    let channel = this.#channels.get(topic);
    if (!channel) {
      channel = new Channel();
      this.#channels.set(topic, channel);
      this.#runtime.registerTopic(this.agent, topic);
    }
    const source = new StreamSource(channel, this);
    this.#sources.push(source);
    return source;
  }

  repartitionTopic(name: string): StreamTarget {
    return this.#runtime.repartitionTopic(this.agent, name);
  }

  spawn(task: () => Promise<void>): void {
    this.#tasks.push(task());
  }

  setCurrent(event: StreamEvent): void {
    this.#current = event;
    this.#pulled += 1;
  }

  async #supervise(): Promise<void> {
    while (!this.#stopping) {
      this.#pulled = 0;
      this.#current = undefined;
      this.#sources = [];
      this.#tasks = [];
      try {
        await this.#runOnce();
        for (const source of this.#sources) source.release();
        if (this.#stopping) break;
        this.#log.warn(
          'agent returned while the worker runs; starting it again (an agent should loop over its stream)',
        );
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        this.#onCrash(failure);
        if (this.#stopping) break;
        if (this.#runtime.onAgentError === 'stop') {
          this.#runtime.fail(
            new StreamAppError('STREAM_APP_ERR_AGENT_FAILED', `agent ${this.agent.name} failed: ${failure.message}`, {
              cause: failure,
              details: { agent: this.agent.name },
            }),
          );
          return;
        }
      } finally {
        for (const source of this.#sources) source.stop();
      }
      if (this.#stopping) break;
      this.#crashes = this.#pulled > 1 ? 1 : this.#crashes + 1;
      const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.#crashes - 1));
      this.#log.info('restarting agent', { inMs: delay, crashes: this.#crashes });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async #runOnce(): Promise<void> {
    const stream = Stream.of(this.sourceOf(this.agent.topic.name), this);
    const result = this.agent.fn.call(this.#runtime.thisFor(this.agent), stream);
    let failed: ((error: unknown) => void) | undefined;
    const taskFailure = new Promise<never>((_, reject) => (failed = reject));
    taskFailure.catch(() => {}); // raced below; a failure after the race is already someone else's
    const watchTasks = () => {
      for (const task of this.#tasks) task.catch((error: unknown) => failed?.(error));
    };
    watchTasks();
    const body = this.#drive(result, watchTasks);
    await Promise.race([body, taskFailure]);
  }

  async #drive(result: ReturnType<Agent['fn']>, watchTasks: () => void): Promise<void> {
    if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      for (;;) {
        const step = await iterator.next();
        watchTasks();
        if (step.done) return;
        await this.#emit(step.value);
      }
    }
    await result;
  }

  async #emit(value: unknown): Promise<void> {
    const event = this.#current;
    this.#runtime.onYield?.(this.agent, event, value);
    for (const sink of this.agent.sinks) {
      if (typeof sink === 'function') await sink(value);
      // Not awaited, so that sends batch; the app flushes them before committing the offsets behind them.
      else sink.send({ value, key: event?.key }).catch(() => {});
    }
    if (event) this.#runtime.reply(event, value);
  }

  #onCrash(error: Error): void {
    const held = this.#sources.flatMap((source) => source.acquired.filter((event) => !event.acked));
    this.#log.error('agent failed', {
      error,
      events: held.map((event) => `${event.topic}/${event.partition}/${event.offset}`).join(','),
      policy: this.#runtime.onAgentError,
    });
    if (this.#runtime.onAgentError === 'stop') return; // the offsets stay uncommitted: a restart retries them
    for (const event of held) {
      this.#runtime.deadLetter(event, error, this.agent);
      event.ack();
    }
  }
}

/** Which instance gets a message: by key, so that one key is always handled in order by one instance. */
export function instanceFor(key: Buffer | null, partition: number, instances: number): number {
  if (instances === 1) return 0;
  if (!key) return partition % instances;
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key[i]!, 0x01000193);
  return (hash >>> 0) % instances;
}
