import { EventEmitter } from 'node:events';
import type { Credentials } from '@stream-app/credentials/kafka';
import { Agent, type AgentFunction, type AgentOptions } from '../agents/agent.js';
import type { Clock } from '../clock/clock.js';
import { CoreError } from '../errors/index.js';
import { noConnections, type KafkaConnectionCounts } from '../kafka/connection-log.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { Runtime, type AppState } from '../runtime/runtime.js';
import type { DeadLetterInfo, Sensor } from '../sensors/sensor.js';
import { SetTable } from '../tables/set-table.js';
import { Table, type TableOptions } from '../tables/table.js';
import { Topic, type TopicMessage, type TopicOptions } from '../topics/topic.js';
import type { Duration } from '../clock/duration.js';
import { toMs } from '../clock/duration.js';
import { cronSchedule, everySchedule } from '../timers/schedule.js';
import { Timer, type TimerOptions } from '../timers/timer.js';
import { WindowTable } from '../windows/window-table.js';
import type { AnyTopic, Service } from '../topology/topology.js';
import type { OutgoingMessage, TopicPartition, TopicPartitionOffset, Transport } from '../transport/transport.js';
import { makePage, type Page, type PageHandler, type PageOptions } from '../web/pages.js';
import { resolveAppOptions, type AppOptions, type ResolvedAppOptions } from './app-options.js';
import { withEnvOptions } from './env-options.js';
import type { AppPlan } from '../topology/plan.js';

export type { AppState } from '../runtime/runtime.js';

export interface AppStats {
  /** Messages handed to agents. */
  received: number;
  /** Messages sent to the dead-letter topic (bad input and the events of failed agents). */
  deadLettered: number;
  /** Bad messages skipped under `onBadMessage: 'skip'`. */
  skipped: number;
  commits: number;
  /** Exactly once: transactions aborted (their events were processed again). */
  transactionsAborted: number;
  pausedPartitions: number;
  /** Messages fetched and not yet done, over every assigned partition. */
  outstanding: number;
  /** Table partitions waiting for or in recovery (their source partitions are held until done). */
  recovering: number;
  /** Timers in the middle of a run. */
  timersRunning: number;
  /** The Kafka clients' connections: authentications, re-authentications (and refused ones), drops. */
  kafkaConnections: KafkaConnectionCounts;
}

export interface CrontabOptions extends TimerOptions {
  /** An IANA time zone (`Europe/Paris`) the expression is read in; default the process's. */
  timezone?: string;
}

/** What `@service(app)` registers of a class: its agents, timers and pages. */
export interface ServiceMembers {
  pages?: Array<{ method: string; path: string; options: PageOptions }>;
  agents: Array<{ method: string; topic: Topic<never, never>; options: AgentOptions }>;
  timers: Array<
    | { method: string; every: Duration; options: TimerOptions }
    | { method: string; crontab: string; options: CrontabOptions }
  >;
}

interface AppEvents {
  started: [];
  'partitions-assigned': [TopicPartition[]];
  'partitions-revoked': [TopicPartition[]];
  committed: [TopicPartitionOffset[]];
  'dead-letter': [DeadLetterInfo];
  failed: [Error];
  stopped: [];
}

/**
 * A stream-processing application, like Faust's `faust.App`: topics, agents and the worker that
 * runs them with at-least-once offsets, dead letters, backpressure and graceful shutdown. A façade:
 * the work is done by the services of its runtime (conductor, committer, supervisor, sensors, …).
 */
export class App extends EventEmitter<AppEvents> {
  readonly id: string;
  readonly options: ResolvedAppOptions;
  readonly #runtime: Runtime;
  readonly #pages: Page[] = [];

  constructor(options: AppOptions) {
    super();
    // STREAM_APP_* variables fill what the code leaves out (docs/configuration.md).
    options = withEnvOptions(options);
    this.options = resolveAppOptions(options);
    this.id = this.options.id;
    const given = options.logger;
    const logger = (given && 'child' in given ? given : createLogger(given ?? {})).child({ app: this.id });
    this.#runtime = new Runtime(this.options, options, logger, (error) => this.emit('failed', error));
    this.#runtime.onStopped = () => this.emit('stopped');
    this.#runtime.sensors.add({
      onPartitionsAssigned: (partitions) => this.emit('partitions-assigned', partitions),
      onPartitionsRevoked: (partitions) => this.emit('partitions-revoked', partitions),
      onCommit: (offsets) => this.emit('committed', offsets),
      onDeadLetter: (info) => this.emit('dead-letter', info),
    });
  }

  get logger(): Logger {
    return this.#runtime.logger;
  }

  get state(): AppState {
    return this.#runtime.state;
  }

  get failure(): Error | undefined {
    return this.#runtime.failure;
  }

  get credentials(): Credentials | undefined {
    return this.options.credentials;
  }

  /** The declared topics, by name (internal ones included once known). */
  get topics(): ReadonlyMap<string, AnyTopic> {
    return this.#runtime.topology.topics;
  }

  /** The declared agents, by name. */
  get agents(): ReadonlyMap<string, Agent> {
    return this.#runtime.topology.agents;
  }

  /** Where and as whom the app connects (after `connect`/`start`). */
  get transport(): Transport | undefined {
    return this.#runtime.transport;
  }

  /** Replaces the logger before start (the worker command does, for --loglevel and --log-format). */
  setLogger(logger: Logger): void {
    this.#assertNotStarted('setLogger');
    this.#runtime.logger = logger;
  }

  /** Runs the app over another transport than its options say, e.g. the test driver's in-memory one; before start. */
  setTransport(transport: Transport): void {
    if (this.state !== 'created' || this.#runtime.transport) {
      throw new CoreError('STREAM_APP_ERR_APP_STATE', `setTransport: app ${this.id} is already connected`, {
        details: { state: this.state },
      });
    }
    this.#runtime.transportOverride = transport;
  }

  /** Reads time from another clock than the system's, e.g. a `ManualClock` a test moves; before start. */
  setClock(clock: Clock): void {
    this.#assertNotStarted('setClock');
    this.#runtime.clock = clock;
  }

  /** Adds a listener on what the runtime does (metrics, tracing, tests); returns the function that removes it. */
  addSensor(sensor: Sensor): () => void {
    return this.#runtime.sensors.add(sensor);
  }

  /** The partitions assigned to this worker now (its agents' topics, and the leader topic of `onLeader` timers). */
  get assignment(): TopicPartition[] {
    return this.state === 'created' ? [] : this.#runtime.conductor.assignment;
  }

  stats(): AppStats {
    const runtime = this.#runtime;
    return {
      received: runtime.conductor.received,
      deadLettered: runtime.deadLetters.count,
      skipped: runtime.conductor.skipped,
      commits: runtime.committer.commits,
      transactionsAborted: runtime.committer.aborts,
      pausedPartitions: runtime.conductor.pausedPartitions,
      outstanding: runtime.committer.offsets.outstanding(),
      recovering: runtime.tables.recovering,
      timersRunning: runtime.timers.running,
      kafkaConnections: runtime.connections?.counts ?? noConnections(),
    };
  }

  /** Declares a topic (created at start when missing and allowed). Same name, same Topic. */
  topic<V = unknown, K = string>(name: string, options: TopicOptions<V, K> = {}): Topic<V, K> {
    const known = this.#runtime.topology.topics.get(name);
    if (known) return known as Topic<V, K>;
    this.#assertNotStarted(`app.topic('${name}')`);
    const topic = new Topic<V, K>(this.#runtime, name, options);
    this.#runtime.topology.addTopic(topic);
    return topic;
  }

  /**
   * Declares a table, like Faust's `app.Table`: sharded like the topics its agents read, written from
   * agents, kept in a store and a compacted changelog `<id>-<name>-changelog`, recovered wherever its
   * partitions move. Same name, same Table.
   */
  table<V = unknown, K = string>(name: string, options: TableOptions<V, K> = {}): Table<V, K> {
    return this.#addTable(name, () => new Table<V, K>(this.#runtime, name, options));
  }

  /** A table every worker holds whole (every partition), ready before any agent starts; like Faust's `GlobalTable`. */
  globalTable<V = unknown, K = string>(name: string, options: TableOptions<V, K> = {}): Table<V, K> {
    return this.#addTable(name, () => new Table<V, K>(this.#runtime, name, options, true));
  }

  /** A table whose values are sets (`add`, `discard`, `members`), like Faust's `SetTable`. */
  setTable<M = unknown, K = string>(name: string, options: Omit<TableOptions<M[], K>, 'default'> = {}): SetTable<M, K> {
    return this.#addTable(name, () => new SetTable<M, K>(this.#runtime, name, options));
  }

  /** The declared tables, by name. */
  get tables(): ReadonlyMap<string, Table<unknown, unknown>> {
    return this.#runtime.tables.tables;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table type: Table is invariant in V and K
  #addTable<T extends Table<any, any>>(name: string, make: () => T): T {
    const table = make();
    const known = this.#runtime.tables.tables.get(name);
    if (known) {
      if (known instanceof WindowTable) {
        throw new CoreError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `table '${name}' is windowed: use the WindowedTable its tumbling(), hopping(), sliding() or session() returned`,
          { details: { option: 'name' } },
        );
      }
      if (known.constructor !== table.constructor || known.global !== table.global) {
        throw new CoreError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `a table named '${name}' already exists as a ${known.global ? 'global table' : known.constructor.name}; give this one another name`,
          { details: { option: 'name' } },
        );
      }
      return known as unknown as T;
    }
    this.#assertNotStarted(`app.table('${name}')`);
    this.#runtime.tables.add(table as unknown as Table<unknown, unknown>);
    return table;
  }

  /**
   * Runs `fn` every `interval` (ms or `'10s'`) while the app runs, like Faust's `@app.timer`: on every
   * worker, or on the group's leader only (`onLeader`). When it throws it is logged and restarted with backoff.
   */
  timer(interval: Duration, fn: () => unknown, options: TimerOptions = {}): Timer {
    toMs(interval, 'interval');
    return this.#addTimer(new Timer(this.#runtime.timerParts, (now) => everySchedule(interval, now), fn, options));
  }

  /**
   * Runs `fn` at the times of a cron expression (`'*\/5 * * * *'`: every five minutes; six fields for
   * seconds), in `timezone`, like Faust's `@app.crontab`; on the leader only with `onLeader`.
   */
  crontab(expression: string, fn: () => unknown, options: CrontabOptions = {}): Timer {
    const schedule = cronSchedule(expression, options.timezone);
    return this.#addTimer(new Timer(this.#runtime.timerParts, () => schedule, fn, options));
  }

  /** The declared timers and crontabs. */
  get timers(): readonly Timer[] {
    return this.#runtime.timers.timers;
  }

  /** Whether this worker leads the group now (runs the `onLeader` timers). */
  get isLeader(): boolean {
    return this.#runtime.timers.isLeader;
  }

  #addTimer(timer: Timer): Timer {
    this.#assertNotStarted(`timer ${timer.name}`);
    if (typeof timer.fn !== 'function') {
      throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `timer ${timer.name} needs a function`, {
        details: { option: 'fn' },
      });
    }
    this.#runtime.timers.add(timer);
    return timer;
  }

  /**
   * Serves `handler` at `path` (`/orders/:id`) on the worker's web server (`web` option), like Faust's
   * `@app.page`; it is given the request and returns what to answer (JSON), checked with `web.auth` unless `public`.
   */
  page(path: string, handler: PageHandler, options: PageOptions = {}): Page {
    this.#assertNotStarted(`page ${path}`);
    const page = makePage(path, handler, options);
    for (const method of page.methods) {
      if (this.#pages.some((known) => known.path === path && known.methods.includes(method))) {
        throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `a page already serves ${method} ${path}`, {
          details: { option: 'path' },
        });
      }
    }
    this.#pages.push(page);
    return page;
  }

  /** The declared pages. */
  get pages(): readonly Page[] {
    return this.#pages;
  }

  /** Declares an agent: `fn` receives the topic's stream; what it yields goes to `sink`s and `ask` callers. */
  agent<V, K>(topic: Topic<V, K> | string, fn: AgentFunction<V>, options: AgentOptions = {}): Agent<V, K> {
    const source = typeof topic === 'string' ? this.topic<V, K>(topic) : topic;
    this.#assertNotStarted(`app.agent(${source.name})`);
    const agent = new Agent<V, K>(this.#runtime, source, fn, options);
    if (this.agents.has(agent.name)) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `an agent named ${agent.name} already exists; give one a { name }`,
        { details: { option: 'name' } },
      );
    }
    this.#runtime.topology.addAgent(agent as Agent);
    return agent;
  }

  /** Registers a decorated class's agents and timers (what `@service(app)` calls). */
  service(type: new () => object, { agents, timers, pages = [] }: ServiceMembers): Map<string, Agent> {
    const service: Service = { type };
    const created = new Map<string, Agent>();
    for (const { method, path, options } of pages) {
      const runtime = this.#runtime;
      const page: Page = this.page(
        path,
        (request) => (runtime.topology.thisFor(page) as { [name: string]: PageHandler })[method]!(request),
        options,
      );
      this.#runtime.topology.bindService(page, service);
    }
    for (const declared of timers) {
      const method = declared.method;
      const fn = function (this: { [name: string]: () => unknown }) {
        return this[method]!();
      };
      const options = { name: `${type.name}.${method}`, ...declared.options };
      const timer =
        'every' in declared
          ? this.timer(declared.every, fn, options)
          : this.crontab(declared.crontab, fn, options as CrontabOptions);
      this.#runtime.topology.bindService(timer, service);
    }
    for (const { method, topic, options } of agents) {
      const fn: AgentFunction<unknown> = function (this: { [name: string]: (stream: unknown) => unknown }, stream) {
        return this[method]!(stream) as ReturnType<AgentFunction<unknown>>;
      };
      const agent = this.agent(topic as Topic<unknown, unknown>, fn, { name: `${type.name}.${method}`, ...options });
      this.#runtime.topology.bindService(agent as Agent, service);
      created.set(method, agent as Agent);
    }
    return created;
  }

  /** Produces a message whose key and value are already bytes (what another producer might write). */
  produce(message: OutgoingMessage): Promise<void> {
    return this.#runtime.produce(message);
  }

  /** Sends to a topic by name or Topic (for code outside agents). */
  send<V, K>(topic: Topic<V, K> | string, message: TopicMessage<V, K>): Promise<void> {
    return (typeof topic === 'string' ? this.topic<V, K>(topic) : topic).send(message);
  }

  /**
   * Connects as a client: the producer, and the app's topics declared. Enough to `send` and `ask`;
   * `start()` does this and then runs the agents.
   */
  connect(): Promise<void> {
    return this.#runtime.connect();
  }

  /** Runs the agents: connects, declares topics, joins the consumer group and consumes until `stop()`. */
  async start(): Promise<void> {
    await this.#runtime.start();
    this.emit('started');
  }

  /**
   * Graceful stop: no new messages, agents finish what they hold (bounded by `shutdownTimeoutMs`),
   * sends are flushed, finished offsets committed, clients closed. Always ends in `stopped`.
   */
  stop(): Promise<void> {
    return this.#runtime.stop();
  }

  /** Commits every finished offset now (the worker does so every `commitIntervalMs`). */
  commit(): Promise<void> {
    return this.#runtime.committer.commit();
  }

  /** Stops the app because of `error` (logged, emitted as `failed`, kept as `failure`); a second failure is ignored. */
  fail(error: Error): void {
    this.#runtime.fail(error);
  }

  /**
   * The app's topics (its own, dead letters, changelogs, leader, members) with who reads and writes each,
   * its group and the prefixes of what it names at run time: what `stream-app topics` and `acls` show.
   */
  plan(): AppPlan {
    return this.#runtime.plan();
  }

  /** The principal the broker sees, for the banner and ACL errors. */
  principal(): Promise<string> {
    return this.#runtime.principal();
  }

  #assertNotStarted(what: string): void {
    if (this.state !== 'created' || this.#runtime.topology.subscribed) {
      throw new CoreError('STREAM_APP_ERR_APP_STATE', `${what}: declare topics and agents before the app starts`, {
        details: { state: this.state },
      });
    }
  }

  override toString(): string {
    return `App(${this.id})`;
  }
}
