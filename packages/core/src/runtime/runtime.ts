import { randomUUID } from 'node:crypto';
import type { Agent } from '../agents/agent.js';
import type { AgentRuntime } from '../agents/agent-runner.js';
import { runInScope } from '../agents/current-event.js';
import { systemClock, type Clock } from '../clock/clock.js';
import { AtLeastOnce, ExactlyOnce, type CommitStrategy } from '../committer/commit-strategy.js';
import { Committer } from '../committer/committer.js';
import { Conductor, describePartitions } from '../conductor/conductor.js';
import { DeadLetters } from '../dead-letters/dead-letters.js';
import { CoreError } from '../errors/index.js';
import { ConnectionLog } from '../kafka/connection-log.js';
import type { TokenLifecycle } from '@stream-app/credentials/kafka';
import type { Logger } from '../logging/logger.js';
import { Replies, REPLY_TO, CORRELATION_ID } from '../replies/replies.js';
import { Sensors } from '../sensors/sensor.js';
import type { StreamEvent } from '../streams/event.js';
import type { StreamTarget } from '../streams/stream.js';
import type { TableStore } from '../stores/store.js';
import { Supervisor } from '../supervisor/supervisor.js';
import type { Table, TableOwner } from '../tables/table.js';
import { TableManager } from '../tables/table-manager.js';
import { Timers } from '../timers/timers.js';
import { Tracing } from '../tracing/tracing.js';
import type { Timer, TimerParts } from '../timers/timer.js';
import { WindowedTable, type WindowKindSpec, type WindowOptions } from '../windows/windowed-table.js';
import { Topic, type TopicMessage, type TopicOwner } from '../topics/topic.js';
import { declareTopics } from '../topology/declare.js';
import type { AppPlan, TopicPlan } from '../topology/plan.js';
import { Topology } from '../topology/topology.js';
import { KafkaTransport } from '../transport/kafka-transport.js';
import {
  firstHeader,
  type Consumer,
  type OutgoingMessage,
  type TopicPartition,
  type TopicSpec,
  type Transport,
} from '../transport/transport.js';
import type { AppOptions, ResolvedAppOptions } from '../app/app-options.js';
import { membersTopicName } from '../web/web-options.js';

export type AppState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

type Hook = 'onPartitionsAssigned' | 'onPartitionsRevoked';

/**
 * The internal object behind an `App`: it owns the services (topology, conductor, committer, dead
 * letters, supervisor, sensors, clock, transport) and the lifecycle. Topics, agents and runners talk
 * to it; users talk to the App.
 */
export class Runtime implements AgentRuntime, TopicOwner, TableOwner {
  readonly id: string;
  readonly options: ResolvedAppOptions;
  readonly given: AppOptions;
  readonly topology = new Topology();
  readonly sensors: Sensors;
  /** What the Kafka clients logged about their connections (made at connect, with the logger then set). */
  connections: ConnectionLog | undefined;
  readonly timers: Timers;
  logger: Logger;
  clock: Clock = systemClock;
  state: AppState = 'created';
  failure: Error | undefined;
  transport: Transport | undefined;
  transportOverride: Transport | undefined;
  /** Made at connect when the `tracing` option is on (it loads `@opentelemetry/api` then). */
  tracing: Tracing | undefined;
  #supervisor: Supervisor | undefined;
  #committer: Committer | undefined;
  #deadLetters: DeadLetters | undefined;
  #conductor: Conductor | undefined;
  #replies: Replies | undefined;
  #tables: TableManager | undefined;
  #releaseToken: (() => void) | undefined;
  #stopping: Promise<void> | undefined;
  #lateTopics: Promise<void> = Promise.resolve();
  #consumer: Consumer | undefined;
  readonly #refused = new WeakSet<StreamEvent>();
  readonly #onFail: (error: Error) => void;
  /** Told once, when a stop has ended. */
  onStopped: () => void = () => {};

  constructor(options: ResolvedAppOptions, given: AppOptions, logger: Logger, onFail: (error: Error) => void) {
    this.id = options.id;
    this.options = options;
    this.given = given;
    this.logger = logger;
    this.#onFail = onFail;
    this.sensors = new Sensors((error, hook) =>
      this.logger.warn('a sensor threw; it is skipped for this event', { hook, error: error as Error }),
    );
    this.topology.onLateTopic = (topic) => this.#subscribeLate(topic);
    this.timers = new Timers(this.id, () => this.logger);
  }

  /** What timers read of the runtime, at each use. */
  get timerParts(): TimerParts {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below read the runtime when used
    const runtime = this;
    return {
      get clock() {
        return runtime.clock;
      },
      sensors: this.sensors,
      get logger() {
        return runtime.logger;
      },
      isLeader: () => this.timers.isLeader,
      thisFor: (timer: Timer) => this.topology.thisFor(timer),
    };
  }

  // ── services, made at start with the clock and logger the app ends up with ───

  get supervisor(): Supervisor {
    return (this.#supervisor ??= new Supervisor(this.clock, this.sensors, this.logger));
  }

  get committer(): Committer {
    return (this.#committer ??= new Committer(this.clock, this.sensors, this.logger));
  }

  get deadLetters(): DeadLetters {
    return (this.#deadLetters ??= new DeadLetters(
      this.options.deadLetterTopic,
      (message) => this.produce(message),
      this.sensors,
      this.logger,
    ));
  }

  get conductor(): Conductor {
    return (this.#conductor ??= new Conductor(
      {
        topology: this.topology,
        committer: this.committer,
        deadLetters: this.deadLetters,
        sensors: this.sensors,
        logger: this.logger,
        abandoned: () => this.failure !== undefined,
      },
      {
        onBadMessage: this.options.onBadMessage,
        streamBufferMaxSize: this.options.streamBufferMaxSize,
        revokeDrainMs: Math.min(this.options.shutdownTimeoutMs, 10_000),
        exactlyOnce: this.exactlyOnce,
      },
      (error) => this.fail(error),
    ));
  }

  get tables(): TableManager {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the getters below read the runtime when used
    const runtime = this;
    return (this.#tables ??= new TableManager({
      appId: this.id,
      stateDir: this.options.stateDir,
      standbyReplicas: this.options.tableStandbyReplicas,
      clientId: `${this.given.clientConfig?.['client.id'] ?? this.id}-${randomUUID().slice(0, 8)}`,
      get clock() {
        return runtime.clock;
      },
      sensors: this.sensors,
      get logger() {
        return runtime.logger;
      },
      get supervisor() {
        return runtime.supervisor;
      },
      get conductor() {
        return runtime.conductor;
      },
      transport: () => this.transport!,
      fail: (error) => this.fail(error),
      principal: () => this.principal(),
    }));
  }

  get scopesEvents(): boolean {
    return (this.#tables?.tables.size ?? 0) > 0;
  }

  makeStore(kind: 'memory' | 'lmdb'): TableStore {
    return this.tables.makeStore(kind);
  }

  checkWrite(table: Table<unknown, unknown>, event: StreamEvent): 'write' | 'drop' {
    return this.tables.checkWrite(table, event);
  }

  window<V, K>(table: Table<V, K>, kind: WindowKindSpec, options: WindowOptions<V, K>): WindowedTable<V, K> {
    if (this.state !== 'created' || this.topology.subscribed) {
      throw new CoreError('STREAM_APP_ERR_APP_STATE', `table '${table.name}': make it windowed before the app starts`, {
        details: { state: this.state },
      });
    }
    const windowed = new WindowedTable(this, table, kind, options);
    this.tables.replace(
      table as unknown as Table<unknown, unknown>,
      windowed.table as unknown as Table<unknown, unknown>,
    );
    return windowed;
  }

  /** An event a table refuses goes to the dead-letter topic once, whichever tables refuse it. */
  deadLetterEvent(event: StreamEvent, error: Error, agent: string): void {
    if (this.#refused.has(event)) return;
    this.#refused.add(event);
    const tracing = this.tracing;
    if (!tracing) return this.deadLetters.send(event.message, error, agent);
    tracing.failed(event, error);
    runInScope({ currentEvent: event, agent: { name: agent } }, () =>
      this.deadLetters.send(event.message, error, agent),
    );
  }

  get exactlyOnce(): boolean {
    return this.options.processingGuarantee === 'exactly_once';
  }

  get onAgentError(): 'restart' | 'stop' {
    return this.options.onAgentError;
  }

  get topicDefaults() {
    return {
      partitions: this.options.topicPartitions,
      replicas: this.options.topicReplicationFactor,
      validate: this.options.validation,
    };
  }

  // ── TopicOwner / AgentRuntime ────────────────────────────────────────────

  produce(message: OutgoingMessage): Promise<void> {
    if (!this.transport || this.state === 'stopped') {
      return Promise.reject(
        new CoreError(
          'STREAM_APP_ERR_APP_STATE',
          `app ${this.id} is not running: await app.start() (worker) or app.connect() (client) before sending`,
          { details: { state: this.state } },
        ),
      );
    }
    const tracing = this.tracing;
    return tracing ? tracing.publish(message, (traced) => this.#send(traced)) : this.#send(message);
  }

  #send(message: OutgoingMessage): Promise<void> {
    this.sensors.emit('onSend', message);
    return this.transport!.send(message);
  }

  thisFor(agent: Agent): unknown {
    return this.topology.thisFor(agent);
  }

  registerTopic(agent: Agent, topic: string): Promise<void> {
    if (!this.topology.topics.has(topic)) this.topology.addTopic(new Topic(this, topic));
    this.topology.route(topic, agent);
    // A topic met after the worker subscribed is ready once declared and subscribed to.
    return this.topology.subscribed ? this.#lateTopics : Promise.resolve();
  }

  repartitionTopic(agent: Agent, name: string): StreamTarget {
    const topicName = Topology.repartitionName(this.id, agent, name);
    const existing = this.topology.topics.get(topicName);
    if (existing) return existing;
    const topic = new Topic(this, topicName, { keyType: 'json', valueType: agent.topic.valueCodec });
    this.topology.addTopic(topic);
    return topic;
  }

  deadLetter(event: StreamEvent, error: Error, agent: Agent): void {
    const send = () => this.deadLetters.sendForAgent(event.message, error, agent.name);
    // Sent from the supervisor, outside the agent's scope: in the event's, its span is the parent.
    if (this.tracing) runInScope({ currentEvent: event, agent }, send);
    else send();
  }

  reply(event: StreamEvent, value: unknown): void {
    const replyTo = firstHeader(event.headers, REPLY_TO);
    const correlationId = firstHeader(event.headers, CORRELATION_ID);
    if (!replyTo || !correlationId) return;
    this.produce(Replies.message(replyTo.toString(), correlationId.toString(), value)).catch(() => {});
  }

  async ask(agent: Agent, message: TopicMessage<unknown, unknown>, timeoutMs: number): Promise<unknown> {
    const transport = this.transport;
    if (!transport) {
      throw new CoreError(
        'STREAM_APP_ERR_APP_STATE',
        `app ${this.id} is not connected: await app.start() or app.connect() before ask()`,
        { details: { state: this.state } },
      );
    }
    this.#replies ??= new Replies(transport, {
      topic: `${this.id}-replies`,
      groupId: `${this.id}-replies-${randomUUID()}`,
      clock: this.clock,
      declare: (topic) =>
        this.#declare([
          {
            name: topic,
            partitions: 1,
            replicas: this.options.topicReplicationFactor,
            config: { 'retention.ms': String(3_600_000) },
          },
        ]),
    });
    return this.#replies.ask(agent, message, timeoutMs);
  }

  /** Stops the app because something it cannot go past happened (policy `stop`, a failed delivery, a hook). */
  fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.logger.error('app failed; stopping', { error });
    this.#onFail(error);
    // A failure while starting is thrown by start(), which then stops.
    if (this.state !== 'starting') void this.stop().catch(() => {});
  }

  // ── lifecycle ────────────────────────────────────────────────────────────

  /** `consumes`: a worker whose agents read topics; only its producer is transactional under exactly once. */
  async connect(consumes = false): Promise<void> {
    if (this.transport) return;
    this.#assertState('created', 'connect');
    this.state = 'starting';
    try {
      if (this.options.tracing && !this.tracing) {
        this.tracing = await Tracing.load(this.options.tracing, this.id);
        this.sensors.add(this.tracing);
      }
      const credentials = this.options.credentials;
      if (credentials?.kind === 'oauth' && !this.#releaseToken) {
        this.#releaseToken = credentials.lifecycle.retain();
        this.#watchToken(credentials.lifecycle);
      }
      this.connections = new ConnectionLog(this.logger.child({ source: 'librdkafka' }), (event) =>
        this.sensors.emit('onKafkaConnection', event),
      );
      const transport =
        this.transportOverride ??
        new KafkaTransport({
          bootstrap: this.options.bootstrap,
          ...(credentials ? { credentials } : {}),
          principal: () => this.principal(),
          logger: this.logger,
          connections: this.connections,
          ...(this.given.clientConfig ? { clientConfig: this.given.clientConfig } : {}),
        });
      await transport.connect(
        // A client (app.connect()) or a worker without agents has no offsets to commit with its sends.
        this.exactlyOnce && consumes
          ? {
              transactional: {
                // One per process: the group's generation fences a zombie (KIP-447), not the id.
                id: `${this.id}-${this.given.groupInstanceId ?? randomUUID()}`,
                timeoutMs: this.options.transactionTimeoutMs,
              },
            }
          : {},
      );
      this.transport = transport;
      await this.#declare(this.#specs());
      this.state = 'created';
    } catch (error) {
      this.state = 'created';
      await this.transport?.close().catch(() => {});
      this.transport = undefined;
      this.#releaseToken?.();
      this.#releaseToken = undefined;
      throw error;
    }
  }

  async start(): Promise<void> {
    this.#assertState('created', 'start');
    try {
      await this.connect(this.topology.agents.size > 0);
      this.state = 'starting';
      // Agent bodies run to their first await now; the topics of their through()/groupBy() are known after.
      if (this.scopesEvents) {
        // Global tables are whole before any agent body runs.
        await this.tables.openStores();
        await this.#declare(this.tables.specs({ global: true }));
        await this.tables.recoverGlobalTables();
      }
      this.conductor.startAgents(this);
      await this.#declare(this.#specs());
      const topics = this.#subscription();
      if (this.scopesEvents) {
        // Before anything is consumed: a co-partitioning mistake fails the start, before a changelog is
        // created with the wrong count.
        await this.tables.prepare([...this.topology.agents.values()], topics);
        await this.#declare(this.tables.specs({ global: false }));
        if (this.exactlyOnce) {
          this.committer.beforeCommit(() => this.tables.flush(true));
          this.committer.afterCommit(() => this.tables.applyCommitted());
          this.committer.onAbort(() => this.tables.discardUncommitted());
        } else {
          this.committer.beforeCommit(() => this.tables.flush());
        }
      }
      if (topics.length > 0) {
        const consumer = await this.transport!.consume(
          {
            groupId: this.id,
            ...(this.options.tableStandbyReplicas > 0 ? { clientId: this.tables.clientId } : {}),
            topics,
            fromBeginning: this.options.autoOffsetReset === 'earliest',
            ...(this.given.groupInstanceId ? { groupInstanceId: this.given.groupInstanceId } : {}),
            ...(this.given.sessionTimeoutMs ? { sessionTimeoutMs: this.given.sessionTimeoutMs } : {}),
          },
          {
            onMessages: (messages) => this.conductor.receive(messages),
            onAssigned: (partitions) => this.#assign(partitions),
            onRevoked: (partitions, lost) => this.#revoke(partitions, lost),
          },
        );
        this.conductor.attach(consumer);
        this.committer.attach(consumer, this.#commitStrategy(), this.conductor.barrier);
        this.#consumer = consumer;
      }
      if (this.failure) throw this.failure;
      this.timers.start(this.supervisor);
      this.committer.startInterval(this.options.commitIntervalMs, (error) => this.fail(error));
      this.state = 'running';
      this.logger.info('app started', { agents: this.topology.agents.size, topics: topics.join(',') });
    } catch (error) {
      await this.stop().catch(() => {});
      throw error;
    }
  }

  #commitStrategy(): CommitStrategy {
    if (!this.exactlyOnce) return new AtLeastOnce(this.transport!);
    const transactions = this.transport!.transactions;
    if (!transactions) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        "processingGuarantee 'exactly_once' needs a transport with transactions (the Kafka transport or the test driver's)",
      );
    }
    return new ExactlyOnce(transactions);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.state !== 'created';
    this.state = 'stopping';
    try {
      this.committer.stopInterval();
      if (!(await this.timers.stop(this.options.shutdownTimeoutMs))) {
        this.logger.error('timers did not finish their runs within shutdownTimeoutMs; stopping anyway', {
          code: 'STREAM_APP_ERR_SHUTDOWN_TIMEOUT',
          shutdownTimeoutMs: this.options.shutdownTimeoutMs,
        });
      }
      if (this.exactlyOnce) {
        // The agents finish the events in hand, queued ones are left for the next owner; the last commit's
        // barrier waits for them at most until the shutdown timeout, and aborts rather than commit without one.
        this.conductor.stopReceiving();
        this.conductor.barrierDeadline = Date.now() + this.options.shutdownTimeoutMs;
      }
      const finished = await this.conductor.stopAgents(this.options.shutdownTimeoutMs);
      if (!finished) {
        this.logger.error(
          this.exactlyOnce
            ? 'agents did not finish within shutdownTimeoutMs; the last transaction is aborted (its events are processed again)'
            : 'agents did not finish within shutdownTimeoutMs; committing what is done',
          {
            code: 'STREAM_APP_ERR_SHUTDOWN_TIMEOUT',
            shutdownTimeoutMs: this.options.shutdownTimeoutMs,
          },
        );
      }
      // Safe even after a failure: an offset that failed is never done, so the commit stops before it.
      await this.committer
        .commit()
        .catch((error: unknown) => this.logger.error('final commit failed', { error: error as Error }));
      await this.#consumer?.close().catch((error: unknown) => this.#hookOrCloseFailed(error));
      this.#consumer = undefined;
      await this.#tables?.close();
      this.conductor.detach();
      this.committer.detach();
      await this.#replies?.close().catch(() => {});
      await this.transport
        ?.close()
        .catch((error: unknown) => this.logger.error('closing the transport failed', { error: error as Error }));
    } finally {
      this.transport = undefined;
      this.#releaseToken?.();
      this.#releaseToken = undefined;
      this.state = 'stopped';
      if (wasRunning) this.logger.info('app stopped', {});
      this.onStopped();
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

  // ── rebalances ───────────────────────────────────────────────────────────

  async #assign(partitions: TopicPartition[]): Promise<void> {
    this.conductor.assign(partitions);
    this.committer.offsets.recommitAll();
    this.#tables?.assigned(partitions);
    this.timers.assigned(partitions);
    this.logger.info('partitions assigned', { partitions: describePartitions(partitions) });
    this.sensors.emit('onPartitionsAssigned', partitions);
    await this.#hook('onPartitionsAssigned', partitions);
  }

  async #revoke(partitions: TopicPartition[], lost: boolean): Promise<void> {
    // The leader's runs stop first and are waited for while agents drain.
    // Lost partitions are led elsewhere already: waiting would only delay the rejoin.
    const leading = this.timers.revoked(partitions, lost ? 0 : Math.min(this.options.shutdownTimeoutMs, 10_000));
    await this.conductor.revoke(partitions, lost, () => this.failure !== undefined);
    await this.#tables?.revoked(partitions);
    await leading;
    this.logger.info(lost ? 'partitions lost' : 'partitions revoked', { partitions: describePartitions(partitions) });
    this.sensors.emit('onPartitionsRevoked', partitions, lost);
    await this.#hook('onPartitionsRevoked', partitions);
  }

  /** A user's rebalance hook: what it throws fails the app with a code (the client would only log it). */
  async #hook(name: Hook, partitions: TopicPartition[]): Promise<void> {
    try {
      await this.given[name]?.(partitions);
    } catch (error) {
      this.#hookOrCloseFailed(
        new CoreError('STREAM_APP_ERR_HOOK_FAILED', `${name} threw: ${(error as Error)?.message ?? String(error)}`, {
          cause: error,
          details: { hook: name },
        }),
      );
    }
  }

  #hookOrCloseFailed(error: unknown): void {
    this.fail(error instanceof Error ? error : new Error(String(error)));
  }

  // ── topics ───────────────────────────────────────────────────────────────

  /** The app's topics and who reads and writes them, for the operations commands (see AppPlan). */
  plan(): AppPlan {
    const specs = [...this.#specs(), ...(this.#tables ? this.#tables.specs({ global: true }) : [])];
    if (this.#tables) specs.push(...this.#tables.specs({ global: false }));
    const agents = [...this.topology.agents.values()];
    const changelogs = new Map(
      [...(this.#tables?.tables.values() ?? [])].map((table) => [table.changelogTopic, table]),
    );
    const topics = specs.map((spec): TopicPlan => {
      const readBy = this.topology.readers(spec.name).map((agent) => agent.name);
      const sinkOf = agents
        .filter((agent) => agent.sinks.some((sink) => typeof sink !== 'function' && sinkTopic(sink) === spec.name))
        .map((agent) => agent.name);
      const table = changelogs.get(spec.name);
      if (table) return { ...spec, role: 'changelog', readBy: ['worker'], writtenBy: [`table ${table.name}`] };
      if (spec.name === this.options.deadLetterTopic) {
        return { ...spec, role: 'dead-letters', readBy, writtenBy: ['worker'] };
      }
      if (spec.name === this.timers.leaderTopic) return { ...spec, role: 'leader', readBy: ['worker'], writtenBy: [] };
      if (spec.name === membersTopicName(this.id)) {
        return { ...spec, role: 'members', readBy: ['worker'], writtenBy: ['worker'] };
      }
      const role = readBy.length > 0 ? 'source' : sinkOf.length > 0 ? 'sink' : 'declared';
      return { ...spec, role, readBy, writtenBy: sinkOf.length > 0 ? sinkOf : readBy.length > 0 ? [] : ['app'] };
    });
    return {
      id: this.id,
      group: this.id,
      topics,
      internalTopicPrefix: `${this.id}-`,
      transactionalIdPrefix: this.exactlyOnce ? `${this.id}-` : undefined,
      declaresTopics: this.options.topicAllowDeclare,
      processingGuarantee: this.options.processingGuarantee,
    };
  }

  /** The topics to declare (changelogs are declared by the table manager's turn in start). */
  #specs(): TopicSpec[] {
    const specs = this.topology.specs({
      name: this.options.deadLetterTopic,
      partitions: this.options.topicPartitions,
      replicas: this.options.topicReplicationFactor,
      config: {},
    });
    if (this.timers.electsLeader) specs.push(this.timers.leaderSpec(this.options.topicReplicationFactor));
    // Table views: workers find the owner of a key's partition through this topic (see docs/web.md).
    if (this.options.web && (this.#tables?.tables.size ?? 0) > 0) {
      specs.push({
        name: membersTopicName(this.id),
        partitions: 1,
        replicas: this.options.topicReplicationFactor,
        // Small segments and an eager cleaner: a worker's old announcements go soon after its new ones.
        config: { 'cleanup.policy': 'compact', 'segment.ms': '600000', 'min.cleanable.dirty.ratio': '0.1' },
      });
    }
    return specs;
  }

  /** The topics the group consumer reads: the agents', and the leader topic when a timer runs on the leader. */
  #subscription(): string[] {
    const topics = this.topology.subscription();
    return this.timers.electsLeader ? [...topics, this.timers.leaderTopic] : topics;
  }

  #declare(specs: TopicSpec[]): Promise<void> {
    return declareTopics(this.transport!.admin, specs, {
      allowCreate: this.options.topicAllowDeclare,
      principal: () => this.principal(),
      logger: this.logger,
    });
  }

  /** Like Faust's conductor: a topic an agent reads after the worker subscribed is declared, then subscribed to. */
  #subscribeLate(topic: string): void {
    this.logger.info('an agent reads a new topic; resubscribing', { topic });
    this.#lateTopics = this.#lateTopics
      .catch(() => {})
      .then(async () => {
        await this.#declare(this.#specs());
        await this.#consumer?.subscribe(this.#subscription());
      });
    this.#lateTopics.catch((error: unknown) => this.fail(error as Error));
  }

  #watchToken(lifecycle: TokenLifecycle): void {
    const ok = (info: { expiresAt: number }) =>
      this.sensors.emit('onTokenRefresh', { ok: true, expiresAt: info.expiresAt });
    const failed = (info: { error: Error }) => this.sensors.emit('onTokenRefresh', { ok: false, error: info.error });
    lifecycle.on('token', ok);
    lifecycle.on('refresh-failed', failed);
    const release = this.#releaseToken!;
    this.#releaseToken = () => {
      lifecycle.off('token', ok);
      lifecycle.off('refresh-failed', failed);
      release();
    };
  }

  #assertState(expected: AppState, action: string): void {
    if (this.state !== expected) {
      throw new CoreError('STREAM_APP_ERR_APP_STATE', `cannot ${action} app ${this.id}: it is ${this.state}`, {
        details: { state: this.state },
      });
    }
  }
}

/** The topic a sink writes to: a topic's own name, or the topic of an agent that is a sink. */
function sinkTopic(sink: { name: string; topic?: { name: string } }): string {
  return sink.topic?.name ?? sink.name;
}
