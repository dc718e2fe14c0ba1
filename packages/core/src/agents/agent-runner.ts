import { CoreError } from '../errors/index.js';
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import { Channel } from '../streams/channel.js';
import type { StreamEvent } from '../streams/event.js';
import { Stream, StreamSource, type StreamContext, type StreamTarget } from '../streams/stream.js';
import type { Supervised, SupervisedTask, Supervisor } from '../supervisor/supervisor.js';
import type { Tracing } from '../tracing/tracing.js';
import type { Agent } from './agent.js';
import { runInScope, type EventScope } from './current-event.js';

/** What a running agent needs from the runtime around it. */
export interface AgentRuntime {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sensors: Sensors;
  readonly supervisor: Supervisor;
  readonly onAgentError: 'restart' | 'stop';
  /** Whether agents run in an event scope (the app has tables, whose writes need the current event). */
  readonly scopesEvents: boolean;
  /** Spans for the events agents process (the app's `tracing` option); undefined when off. */
  readonly tracing: Tracing | undefined;
  /** The `this` of decorated agents. */
  thisFor(agent: Agent): unknown;
  repartitionTopic(agent: Agent, name: string): StreamTarget;
  /** A topic this agent instance reads besides its own; resolves when the consumer reads it too. */
  registerTopic(agent: Agent, topic: string): Promise<void>;
  deadLetter(event: StreamEvent, error: Error, agent: Agent): void;
  reply(event: StreamEvent, value: unknown): void;
  fail(error: Error): void;
}

/**
 * One instance of an agent (of `concurrency`), run by the supervisor: when its body throws, the
 * events it held go to the dead-letter topic, and it starts again after a backoff, reading on from
 * the same queue. It never stops silently.
 */
export class AgentRunner implements StreamContext, SupervisedTask, EventScope {
  readonly agent: Agent;
  readonly index: number;
  readonly name: string;
  readonly kind = 'agent';
  readonly #runtime: AgentRuntime;
  readonly #channels = new Map<string, Channel>();
  readonly #ready = new Map<string, Promise<void>>();
  #sources: StreamSource[] = [];
  readonly #sourceTopics = new Map<StreamSource, string>();
  /** Fails the current life of the agent: what a task spawned in that life calls when it throws. */
  #failLife: (error: unknown) => void = () => {};
  #current: StreamEvent | undefined;
  #pulled = 0;
  #supervised: Supervised | undefined;
  readonly #log: Logger;

  constructor(agent: Agent, index: number, runtime: AgentRuntime) {
    this.agent = agent;
    this.index = index;
    this.name = agent.concurrency > 1 ? `${agent.name}#${index}` : agent.name;
    this.#runtime = runtime;
    this.#log = runtime.logger.child({ agent: agent.name, ...(agent.concurrency > 1 ? { instance: index } : {}) });
    this.#channels.set(agent.topic.name, new Channel());
  }

  /** The queue of a topic, for the conductor to push into. */
  channel(topic: string): Channel | undefined {
    return this.#channels.get(topic);
  }

  get topics(): string[] {
    return [...this.#channels.keys()];
  }

  start(): void {
    this.#supervised ??= this.#runtime.supervisor.start(this);
  }

  /** Ends the streams after the events in hand; resolves when the body has returned. */
  async stop(): Promise<void> {
    const supervised = this.#supervised;
    if (!supervised) return;
    const stopped = supervised.stop();
    for (const source of this.#sources) source.stop();
    await stopped;
  }

  /** Drops queued (never started) events of revoked partitions. */
  drop(matches: (event: StreamEvent) => boolean): void {
    for (const channel of this.#channels.values()) channel.drop(matches);
  }

  /** Exactly once, at a commit's barrier: the instance takes no new event from its queues until resumed. */
  pauseQueues(paused: boolean): void {
    for (const channel of this.#channels.values()) {
      if (paused) channel.pause();
      else channel.resume();
    }
  }

  // ── StreamContext ─────────────────────────────────────────────────────────

  sourceOf(topic: string): StreamSource {
    let channel = this.#channels.get(topic);
    if (!channel) {
      channel = new Channel();
      this.#channels.set(topic, channel);
      const ready = this.#runtime.registerTopic(this.agent, topic);
      ready.catch(() => {}); // the runtime fails the app; the forwarder waiting on it is stopped with it
      this.#ready.set(topic, ready);
    }
    const source = new StreamSource(channel, this);
    this.#sources.push(source);
    this.#sourceTopics.set(source, topic);
    return source;
  }

  /** The topics whose events the body itself processes (not those it only forwards with `through`/`groupBy`). */
  bodyTopics(): string[] {
    return [
      ...new Set(this.#sources.filter((source) => source.isBody).map((source) => this.#sourceTopics.get(source)!)),
    ];
  }

  topicReady(topic: string): Promise<void> {
    return this.#ready.get(topic) ?? Promise.resolve();
  }

  repartitionTopic(name: string): StreamTarget {
    return this.#runtime.repartitionTopic(this.agent, name);
  }

  spawn(task: () => Promise<void>): void {
    const failLife = this.#failLife;
    // Watched once, when spawned: a failure fails the life it was spawned in, even before the first yield.
    task().catch(failLife);
  }

  get currentEvent(): StreamEvent | undefined {
    return this.#current;
  }

  setCurrent(event: StreamEvent): void {
    this.#current = event;
    this.#pulled += 1;
    this.#runtime.tracing?.received(event, this.agent.name);
  }

  get clock() {
    return this.#runtime.clock;
  }

  // ── SupervisedTask ────────────────────────────────────────────────────────

  async runOnce(): Promise<void> {
    this.#pulled = 0;
    this.#current = undefined;
    this.#sources = [];
    this.#sourceTopics.clear();
    const taskFailure = new Promise<never>((_, reject) => (this.#failLife = reject));
    taskFailure.catch(() => {}); // raced below; a failure after the race is already someone else's
    try {
      const stream = Stream.of(this.sourceOf(this.agent.topic.name), this);
      const life = () => this.#drive(this.agent.fn.call(this.#runtime.thisFor(this.agent), stream));
      // Tracing needs the scope too: a send made by the body is a child of the event's span.
      const scoped = this.#runtime.scopesEvents || this.#runtime.tracing !== undefined;
      await Promise.race([scoped ? runInScope(this, life) : life(), taskFailure]);
      for (const source of this.#sources) source.release();
    } finally {
      this.#failLife = () => {};
      for (const source of this.#sources) source.stop();
    }
  }

  onExit(error: Error | undefined, stopping: boolean): boolean {
    if (!error && stopping) return false;
    if (!error) {
      this.#log.warn('agent returned while the worker runs; starting it again (an agent should loop over its stream)');
      return true;
    }
    this.#onCrash(error);
    if (this.#runtime.onAgentError === 'restart' || stopping) return true;
    this.#runtime.fail(
      new CoreError('STREAM_APP_ERR_AGENT_FAILED', `agent ${this.agent.name} failed: ${error.message}`, {
        cause: error,
        details: { agent: this.agent.name },
      }),
    );
    return false;
  }

  progressed(): boolean {
    return this.#pulled > 1;
  }

  async #drive(result: ReturnType<Agent['fn']>): Promise<void> {
    if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      const iterator = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      for (;;) {
        const step = await iterator.next();
        if (step.done) return;
        await this.#emit(step.value);
      }
    }
    await result;
  }

  async #emit(value: unknown): Promise<void> {
    const event = this.#current;
    this.#runtime.sensors.emit('onAgentYield', this.agent, event, value);
    for (const sink of this.agent.sinks) {
      if (typeof sink === 'function') await sink(value);
      // Not awaited, so that sends batch; the committer flushes them before committing the offsets behind them.
      else sink.send({ value, key: event?.key }).catch(() => {});
    }
    if (event) this.#runtime.reply(event, value);
  }

  #onCrash(error: Error): void {
    const held = this.#sources.flatMap((source) =>
      [...source.acquired, ...source.unacked].filter((event) => !event.acked),
    );
    this.#log.error('agent failed', {
      error,
      events: held.map((event) => `${event.topic}/${event.partition}/${event.offset}`).join(','),
      policy: this.#runtime.onAgentError,
    });
    const tracing = this.#runtime.tracing;
    for (const event of held) tracing?.failed(event, error);
    if (this.#runtime.onAgentError === 'stop') {
      for (const event of held) tracing?.end(event); // never acknowledged now
      return; // the offsets stay uncommitted: a restart retries them
    }
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
