import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { StreamAppError, type Credentials } from '@stream-app/credentials';
import { Agent, type AgentFunction, type AgentOptions } from '../agents/agent.js';
import { AgentRunner, instanceFor, type AgentRuntime } from '../agents/agent-runner.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { OffsetTracker, type PartitionOffsets } from '../offsets/offset-tracker.js';
import { StreamEvent } from '../streams/event.js';
import type { StreamTarget } from '../streams/stream.js';
import { Topic, type TopicMessage, type TopicOptions } from '../topics/topic.js';
import { KafkaTransport } from '../transport/kafka-transport.js';
import {
  partitionKey,
  type Consumer,
  type IncomingMessage,
  type OutgoingMessage,
  type TopicPartition,
  type Transport,
} from '../transport/transport.js';
import { resolveAppOptions, type AppOptions, type ResolvedAppOptions } from './app-options.js';
import { Replies, REPLY_TO, CORRELATION_ID } from './replies.js';

/** Headers a dead-lettered message carries, beside its original key, value and headers. */
export const DEAD_LETTER_HEADERS = {
  code: 'stream-app.error.code',
  message: 'stream-app.error.message',
  agent: 'stream-app.error.agent',
  topic: 'stream-app.source.topic',
  partition: 'stream-app.source.partition',
  offset: 'stream-app.source.offset',
  timestamp: 'stream-app.source.timestamp',
} as const;

export type AppState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface AppStats {
  /** Messages handed to agents. */
  received: number;
  /** Messages sent to the dead-letter topic (bad input and the events of failed agents). */
  deadLettered: number;
  /** Bad messages skipped under `onBadMessage: 'skip'`. */
  skipped: number;
  commits: number;
  pausedPartitions: number;
  /** Messages fetched and not yet done, over every assigned partition. */
  outstanding: number;
}

interface AppEvents {
  started: [];
  'partitions-assigned': [TopicPartition[]];
  'partitions-revoked': [TopicPartition[]];
  committed: [Array<{ topic: string; partition: number; offset: number }>];
  'dead-letter': [{ topic: string; partition: number; offset: number; code: string; reason: string }];
  failed: [Error];
  stopped: [];
}

interface Service {
  type: new () => object;
  instance?: object;
}

/**
 * A stream-processing application, like Faust's `faust.App`: topics, agents and the worker that
 * runs them with at-least-once offsets, dead letters, backpressure and graceful shutdown.
 */
export class App extends EventEmitter<AppEvents> implements AgentRuntime {
  readonly id: string;
  readonly options: ResolvedAppOptions;
  #logger: Logger;
  readonly topics = new Map<string, Topic<never, never>>();
  readonly agents = new Map<string, Agent>();
  readonly #given: AppOptions;
  readonly #services = new Map<Agent, Service>();
  #state: AppState = 'created';
  #transport: Transport | undefined;
  #consumer: Consumer | undefined;
  #runners = new Map<Agent, AgentRunner[]>();
  /** Topic -> the agents that read it (their own topic, or one of their `through`/`groupBy` topics). */
  readonly #routes = new Map<string, Agent[]>();
  readonly #offsets = new OffsetTracker();
  readonly #assigned = new Set<string>();
  readonly #paused = new Set<string>();
  #commitTimer: NodeJS.Timeout | undefined;
  #committing: Promise<void> = Promise.resolve();
  #replies: Replies | undefined;
  #stopping: Promise<void> | undefined;
  #failure: Error | undefined;
  readonly #stats: AppStats = {
    received: 0,
    deadLettered: 0,
    skipped: 0,
    commits: 0,
    pausedPartitions: 0,
    outstanding: 0,
  };
  /** For the test driver: told when an event is done. */
  onEventAcked: ((event: StreamEvent) => void) | undefined;
  /** For the test driver: told of every value an agent yields, with the event it yielded it for. */
  onYield: ((agent: Agent, event: StreamEvent | undefined, value: unknown) => void) | undefined;
  #transportOverride: Transport | undefined;

  constructor(options: AppOptions) {
    super();
    this.options = resolveAppOptions(options);
    this.#given = options;
    this.id = this.options.id;
    const logger = options.logger;
    this.#logger = (logger && 'child' in logger ? logger : createLogger(logger ?? {})).child({ app: this.id });
  }

  get logger(): Logger {
    return this.#logger;
  }

  /** Replaces the logger before start (the worker command does, for --loglevel and --log-format). */
  setLogger(logger: Logger): void {
    this.#assertNotStarted('setLogger');
    this.#logger = logger;
  }

  /** Runs the app over another transport than its options say, e.g. the test driver's in-memory one; before start. */
  setTransport(transport: Transport): void {
    if (this.#state !== 'created' || this.#transport) {
      throw new StreamAppError('STREAM_APP_ERR_APP_STATE', `setTransport: app ${this.id} is already connected`);
    }
    this.#transportOverride = transport;
  }

  get state(): AppState {
    return this.#state;
  }

  get credentials(): Credentials | undefined {
    return this.options.credentials;
  }

  get topicDefaults() {
    return {
      partitions: this.options.topicPartitions,
      replicas: this.options.topicReplicationFactor,
      validate: this.options.validation,
    };
  }

  get onAgentError() {
    return this.options.onAgentError;
  }

  stats(): AppStats {
    return { ...this.#stats, pausedPartitions: this.#paused.size, outstanding: this.#offsets.outstanding() };
  }

  /** Declares a topic (created at start when missing and allowed). Same name, same Topic. */
  topic<V = unknown, K = string>(name: string, options: TopicOptions<V, K> = {}): Topic<V, K> {
    const known = this.topics.get(name);
    if (known) return known as unknown as Topic<V, K>;
    this.#assertNotStarted(`app.topic('${name}')`);
    const topic = new Topic<V, K>(this, name, options);
    this.topics.set(name, topic as unknown as Topic<never, never>);
    return topic;
  }

  /** Declares an agent: `fn` receives the topic's stream; what it yields goes to `sink`s and `ask` callers. */
  agent<V, K>(topic: Topic<V, K> | string, fn: AgentFunction<V>, options: AgentOptions = {}): Agent<V, K> {
    const source = typeof topic === 'string' ? this.topic<V, K>(topic) : topic;
    this.#assertNotStarted(`app.agent(${source.name})`);
    const agent = new Agent<V, K>(this, source, fn, options);
    if (this.agents.has(agent.name)) {
      throw new StreamAppError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `an agent named ${agent.name} already exists; give one a { name }`,
      );
    }
    this.agents.set(agent.name, agent as unknown as Agent);
    this.#route(source.name, agent as unknown as Agent);
    return agent;
  }

  /** Registers a decorated class's agents (what `@service(app)` calls). */
  service(
    type: new () => object,
    agents: Array<{ method: string; topic: Topic<never, never>; options: AgentOptions }>,
  ): Map<string, Agent> {
    const service: Service = { type };
    const created = new Map<string, Agent>();
    for (const { method, topic, options } of agents) {
      const fn = function (this: object, stream: unknown) {
        return (this as { [name: string]: (stream: unknown) => unknown })[method]!(stream);
      } as AgentFunction<unknown>;
      const agent = this.agent(topic, fn, { name: `${type.name}.${method}`, ...options }) as unknown as Agent;
      this.#services.set(agent, service);
      created.set(method, agent);
    }
    return created;
  }

  thisFor(agent: Agent): unknown {
    const service = this.#services.get(agent);
    if (!service) return undefined;
    service.instance ??= new service.type();
    return service.instance;
  }

  /** Sends to a topic by name or Topic (for code outside agents). */
  send<V, K>(topic: Topic<V, K> | string, message: TopicMessage<V, K>): Promise<void> {
    return (typeof topic === 'string' ? this.topic<V, K>(topic) : topic).send(message);
  }

  produce(message: OutgoingMessage): Promise<void> {
    if (!this.#transport || this.#state === 'stopped') {
      return Promise.reject(
        new StreamAppError(
          'STREAM_APP_ERR_APP_STATE',
          `app ${this.id} is not running: await app.start() (worker) or app.connect() (client) before sending`,
        ),
      );
    }
    return this.#transport.send(message);
  }

  /**
   * Connects as a client: the producer, and the app's topics declared. Enough to `send` and `ask`;
   * `start()` does this and then runs the agents.
   */
  async connect(): Promise<void> {
    if (this.#transport) return;
    this.#assertState('created', 'connect');
    this.#state = 'starting';
    try {
      const transport =
        this.#transportOverride ??
        new KafkaTransport({
          bootstrap: this.options.bootstrap,
          ...(this.options.credentials ? { credentials: this.options.credentials } : {}),
          principal: () => this.principal(),
          logger: this.logger,
          ...(this.#given.clientConfig ? { clientConfig: this.#given.clientConfig } : {}),
        });
      await transport.connect();
      this.#transport = transport;
      await this.#declare();
      this.#state = 'created';
    } catch (error) {
      this.#state = 'created';
      await this.#transport?.close().catch(() => {});
      this.#transport = undefined;
      throw error;
    }
  }

  /** Runs the agents: connects, declares topics, joins the consumer group and consumes until `stop()`. */
  async start(): Promise<void> {
    this.#assertState('created', 'start');
    try {
      await this.connect();
      this.#state = 'starting';
      for (const agent of this.agents.values()) {
        const runners = Array.from({ length: agent.concurrency }, (_, index) => new AgentRunner(agent, index, this));
        this.#runners.set(agent, runners);
        for (const runner of runners) runner.start();
      }
      // Let agent bodies reach their first read, so that `through`/`groupBy` topics are known before subscribing.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      await this.#declare();
      const topics = [...this.#routes.keys()];
      if (topics.length > 0) {
        this.#consumer = await this.#transport!.consume(
          {
            groupId: this.id,
            topics,
            fromBeginning: this.options.autoOffsetReset === 'earliest',
            ...(this.#given.groupInstanceId ? { groupInstanceId: this.#given.groupInstanceId } : {}),
            ...(this.#given.sessionTimeoutMs ? { sessionTimeoutMs: this.#given.sessionTimeoutMs } : {}),
          },
          {
            onMessages: (messages) => this.#receive(messages),
            onAssigned: (partitions) => this.#assign(partitions),
            onRevoked: (partitions, lost) => this.#revoke(partitions, lost),
          },
        );
      }
      this.#commitTimer = setInterval(
        () => void this.commit().catch((error: unknown) => this.fail(error as Error)),
        this.options.commitIntervalMs,
      );
      this.#commitTimer.unref();
      this.#state = 'running';
      this.logger.info('app started', { agents: this.agents.size, topics: topics.join(',') });
      this.emit('started');
    } catch (error) {
      await this.stop().catch(() => {});
      throw error;
    }
  }

  /** The principal the broker sees, for the banner and ACL errors. */
  async principal(): Promise<string> {
    const credentials = this.options.credentials;
    if (!credentials) return 'User:ANONYMOUS';
    if (credentials.kind === 'sasl') return `User:${credentials.username}`;
    if (credentials.kind === 'ssl') return 'the certificate subject (User:CN=…)';
    const token = await credentials.lifecycle.token().catch(() => undefined);
    return `User:${token?.principal ?? 'unknown'}`;
  }

  // ── consuming ─────────────────────────────────────────────────────────────

  #receive(messages: IncomingMessage[]): void {
    if (this.#state === 'stopping' || this.#state === 'stopped') return;
    const first = messages[0]!;
    const key = partitionKey(first.topic, first.partition);
    if (!this.#assigned.has(key)) return;
    const offsets = this.#offsets.partition(first.topic, first.partition);
    const agents = this.#routes.get(first.topic) ?? [];
    const topic = this.topics.get(first.topic);
    for (const message of messages) {
      let decodedKey: unknown;
      let value: unknown;
      try {
        decodedKey = message.key === null || !topic ? message.key : topic.keyCodec.decode(message.key);
        value = topic ? topic.valueCodec.decode(message.value) : message.value;
      } catch (error) {
        this.#badMessage(message, error as Error, offsets);
        continue;
      }
      const entry = offsets.track(message.offset, agents.length);
      this.#stats.received += 1;
      for (const agent of agents) {
        const runners = this.#runners.get(agent)!;
        const runner = runners[instanceFor(message.key, message.partition, runners.length)]!;
        runner
          .channel(message.topic)!
          .push(new StreamEvent(message, decodedKey, value, offsets, entry, this.onEventAcked));
      }
    }
    if (offsets.outstanding >= this.options.streamBufferMaxSize && !this.#paused.has(key)) {
      this.#paused.add(key);
      this.logger.debug('pausing partition: its agents are behind', {
        topic: first.topic,
        partition: first.partition,
        outstanding: offsets.outstanding,
      });
      this.#consumer?.pause([{ topic: first.topic, partition: first.partition }]);
      offsets.onLow(Math.floor(this.options.streamBufferMaxSize / 2), () => {
        if (!this.#paused.delete(key)) return;
        this.#consumer?.resume([{ topic: first.topic, partition: first.partition }]);
      });
    }
  }

  #badMessage(message: IncomingMessage, error: Error, offsets: PartitionOffsets): void {
    const policy = this.options.onBadMessage;
    const where = { topic: message.topic, partition: message.partition, offset: message.offset };
    if (policy === 'stop') {
      offsets.track(message.offset, 1); // never done: the offset stays uncommitted
      this.logger.error('bad message; stopping (onBadMessage: stop)', { ...where, error });
      this.fail(error);
      return;
    }
    offsets.track(message.offset, 0);
    if (policy === 'skip') {
      this.#stats.skipped += 1;
      this.logger.warn('bad message skipped', { ...where, error });
      return;
    }
    this.#sendToDeadLetters(message, error);
  }

  #sendToDeadLetters(message: IncomingMessage, error: Error, agent?: Agent): void {
    const code = error instanceof StreamAppError ? error.code : 'STREAM_APP_ERR_AGENT_FAILED';
    const reason = error.message.slice(0, 1000);
    this.#stats.deadLettered += 1;
    this.logger.warn('message sent to the dead-letter topic', {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      deadLetterTopic: this.options.deadLetterTopic,
      code,
      reason,
      ...(agent ? { agent: agent.name } : {}),
    });
    this.produce({
      topic: this.options.deadLetterTopic,
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        [DEAD_LETTER_HEADERS.code]: code,
        [DEAD_LETTER_HEADERS.message]: reason,
        ...(agent ? { [DEAD_LETTER_HEADERS.agent]: agent.name } : {}),
        [DEAD_LETTER_HEADERS.topic]: message.topic,
        [DEAD_LETTER_HEADERS.partition]: String(message.partition),
        [DEAD_LETTER_HEADERS.offset]: String(message.offset),
        [DEAD_LETTER_HEADERS.timestamp]: String(message.timestamp),
      },
    }).catch(() => {}); // a failed delivery fails the next commit, which stops the app
    this.emit('dead-letter', {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      code,
      reason,
    });
  }

  deadLetter(event: StreamEvent, error: Error, agent: Agent): void {
    this.#sendToDeadLetters(
      event.message,
      new StreamAppError('STREAM_APP_ERR_AGENT_FAILED', `agent ${agent.name} failed: ${error.message}`),
      agent,
    );
  }

  async #assign(partitions: TopicPartition[]): Promise<void> {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      this.#assigned.add(key);
      this.#paused.delete(key);
      this.#offsets.forget([{ topic, partition }]);
    }
    this.logger.info('partitions assigned', { partitions: describePartitions(partitions) });
    this.emit('partitions-assigned', partitions);
    await this.#given.onPartitionsAssigned?.(partitions);
  }

  async #revoke(partitions: TopicPartition[], lost: boolean): Promise<void> {
    const keys = new Set(partitions.map(({ topic, partition }) => partitionKey(topic, partition)));
    for (const key of keys) {
      this.#assigned.delete(key);
      this.#paused.delete(key);
    }
    // Queued events of these partitions were never started: the next owner reads them again.
    const firstDropped = new Map<string, number>();
    const dropped = (event: StreamEvent) => {
      const key = partitionKey(event.topic, event.partition);
      if (!keys.has(key)) return false;
      firstDropped.set(key, Math.min(firstDropped.get(key) ?? Infinity, event.offset));
      return true;
    };
    for (const runners of this.#runners.values()) for (const runner of runners) runner.drop(dropped);
    if (!lost && this.#consumer) {
      // Wait (bounded) for the events agents hold, then commit what is done.
      const deadline = Date.now() + Math.min(this.options.shutdownTimeoutMs, 10_000);
      const busy = () =>
        partitions.some(({ topic, partition }) => {
          const offsets = this.#offsets.partition(topic, partition);
          const stopAt = firstDropped.get(partitionKey(topic, partition));
          return stopAt === undefined ? offsets.outstanding > 0 : (offsets.next ?? stopAt) < stopAt;
        });
      while (busy() && Date.now() < deadline && !this.#failure) await new Promise((resolve) => setTimeout(resolve, 20));
      if (busy())
        this.logger.warn(
          'partitions revoked while agents still hold some of their events; the new owner will process them again',
          { partitions: describePartitions(partitions) },
        );
      await this.commit(partitions).catch((error: unknown) =>
        this.logger.error('commit on revoke failed', { error: error as Error }),
      );
    }
    this.#offsets.forget(partitions);
    this.logger.info(lost ? 'partitions lost' : 'partitions revoked', { partitions: describePartitions(partitions) });
    this.emit('partitions-revoked', partitions);
    await this.#given.onPartitionsRevoked?.(partitions);
  }

  /** Commits every finished offset (of these partitions); sends are flushed first, so what an event produced is durable before it counts as done. */
  commit(partitions?: TopicPartition[]): Promise<void> {
    const run = async () => {
      const consumer = this.#consumer;
      if (!consumer) return;
      const offsets = this.#offsets.uncommitted(partitions);
      if (offsets.length === 0) return;
      await this.#transport!.flush();
      await consumer.commit(offsets);
      this.#offsets.markCommitted(offsets);
      this.#stats.commits += 1;
      this.logger.debug('committed', {
        offsets: offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(','),
      });
      this.emit('committed', offsets);
    };
    const next = this.#committing.then(run, run);
    this.#committing = next.catch(() => {});
    return next;
  }

  // ── agents' runtime ───────────────────────────────────────────────────────

  registerTopic(agent: Agent, topic: string): void {
    if (!this.topics.has(topic)) this.topic(topic);
    const routed = this.#routes.get(topic);
    if (routed?.includes(agent)) return;
    if (this.#consumer) {
      this.fail(
        new StreamAppError(
          'STREAM_APP_ERR_APP_STATE',
          `agent ${agent.name} started reading topic '${topic}' after the worker subscribed: call through()/groupBy() before the first read of the stream`,
        ),
      );
      return;
    }
    this.#route(topic, agent);
  }

  repartitionTopic(agent: Agent, name: string): StreamTarget {
    const topicName = `${this.id}-${agent.name.replace(/[^a-zA-Z0-9._-]/g, '_')}-${name}-repartition`;
    const existing = this.topics.get(topicName);
    if (existing) return existing as unknown as StreamTarget;
    const topic = new Topic(this, topicName, { keyType: 'json', valueType: agent.topic.valueCodec });
    this.topics.set(topicName, topic as unknown as Topic<never, never>);
    return topic as unknown as StreamTarget;
  }

  reply(event: StreamEvent, value: unknown): void {
    const replyTo = event.headers[REPLY_TO];
    const correlationId = event.headers[CORRELATION_ID];
    if (!replyTo || !correlationId) return;
    this.produce(Replies.message(replyTo.toString(), correlationId.toString(), value)).catch(() => {});
  }

  async ask(agent: Agent, message: TopicMessage<unknown, unknown>, timeoutMs: number): Promise<unknown> {
    if (!this.#transport) {
      throw new StreamAppError(
        'STREAM_APP_ERR_APP_STATE',
        `app ${this.id} is not connected: await app.start() or app.connect() before ask()`,
      );
    }
    this.#replies ??= new Replies(this.#transport, `${this.id}-replies`, `${this.id}-replies-${randomUUID()}`, {
      replicas: this.options.topicReplicationFactor,
      allowCreate: this.options.topicAllowDeclare,
    });
    return this.#replies.ask(agent, message, timeoutMs);
  }

  /** Stops the app because something it cannot go past happened (policy `stop`, a failed delivery). */
  fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    this.logger.error('app failed; stopping', { error });
    this.emit('failed', error);
    void this.stop().catch(() => {});
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  /**
   * Graceful stop: no new messages, agents finish what they hold (bounded by `shutdownTimeoutMs`),
   * sends are flushed, finished offsets committed, clients closed.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state !== 'created';
    this.#state = 'stopping';
    clearInterval(this.#commitTimer);
    const runners = [...this.#runners.values()].flat();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(runners.map((runner) => runner.stop())).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.options.shutdownTimeoutMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.logger.error('agents did not finish within shutdownTimeoutMs; committing what is done', {
        code: 'STREAM_APP_ERR_SHUTDOWN_TIMEOUT',
        shutdownTimeoutMs: this.options.shutdownTimeoutMs,
      });
    }
    // Safe even after a failure: an offset that failed is never done, so the commit stops before it.
    await this.commit().catch((error: unknown) => this.logger.error('final commit failed', { error: error as Error }));
    await this.#consumer?.close();
    this.#consumer = undefined;
    await this.#replies?.close();
    await this.#transport?.close();
    this.#transport = undefined;
    const credentials = this.options.credentials;
    if (credentials?.kind === 'oauth') credentials.lifecycle.close();
    this.#state = 'stopped';
    if (wasRunning) this.logger.info('app stopped', { ...this.stats() });
    this.emit('stopped');
  }

  async #declare(): Promise<void> {
    const specs = [...this.topics.values()].map((topic) => topic.spec());
    if (!this.topics.has(this.options.deadLetterTopic)) {
      specs.push({
        name: this.options.deadLetterTopic,
        partitions: this.options.topicPartitions,
        replicas: this.options.topicReplicationFactor,
        config: {},
      });
    }
    await this.#transport!.declareTopics(specs, this.options.topicAllowDeclare);
  }

  #route(topic: string, agent: Agent): void {
    const agents = this.#routes.get(topic) ?? [];
    if (!agents.includes(agent)) agents.push(agent);
    this.#routes.set(topic, agents);
  }

  #assertNotStarted(what: string): void {
    if (this.#state !== 'created' || this.#consumer) {
      throw new StreamAppError('STREAM_APP_ERR_APP_STATE', `${what}: declare topics and agents before the app starts`);
    }
  }

  #assertState(expected: AppState, action: string): void {
    if (this.#state !== expected) {
      throw new StreamAppError('STREAM_APP_ERR_APP_STATE', `cannot ${action} app ${this.id}: it is ${this.#state}`);
    }
  }

  override toString(): string {
    return `App(${this.id})`;
  }
}

function describePartitions(partitions: TopicPartition[]): string {
  return partitions.map(({ topic, partition }) => `${topic}/${partition}`).join(',');
}
