import type { Agent, App, DeadLetterInfo, KafkaConnectionEvent, Sensor, TableRecoveryProgress } from '@stream-app/core';
import type { IncomingMessage, OutgoingMessage, StreamEvent, TopicPartition } from '@stream-app/core';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuthOutcome } from '../auth/bearer-guard.js';

/** How long a scrape waits for the broker's watermarks and committed offsets. */
const LAG_TIMEOUT_MS = 2_000;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The worker's Prometheus metrics, a sensor on the app: counters move with every event, gauges (lag,
 * table sizes, token expiry) are read when scraped. Names follow Prometheus conventions: `_total`
 * for counters, base units (seconds), `stream_app_` prefix.
 */
export class WorkerMetrics implements Sensor {
  readonly registry: Registry;
  readonly #app: App;
  readonly #received: Counter<'topic'>;
  readonly #sent: Counter<'topic'>;
  readonly #processing: Histogram<'agent'>;
  readonly #commit: Histogram;
  readonly #deadLettered: Counter<'code'>;
  readonly #skipped: Counter<'code'>;
  readonly #restarts: Counter<'agent'>;
  readonly #taskFailures: Counter<'task'>;
  readonly #recoveryRead: Gauge<'table' | 'partition' | 'purpose'>;
  readonly #recoveryTotal: Gauge<'table' | 'partition' | 'purpose'>;
  readonly #rebalances: Counter<'kind'>;
  readonly #tokenRefreshes: Counter<'outcome'>;
  readonly #kafkaAuth: Counter<'kind'>;
  readonly #webAuth: Counter<'route' | 'outcome' | 'mode'>;
  readonly #aborts: Counter;
  readonly #lagFailures: Counter;
  // The hot paths' label sets, resolved once: prom-client hashes the labels on every call otherwise.
  readonly #receivedBy = new Map<string, ReturnType<Counter<'topic'>['labels']>>();
  readonly #sentBy = new Map<string, ReturnType<Counter<'topic'>['labels']>>();
  readonly #processingBy = new Map<string, ReturnType<Histogram<'agent'>['labels']>>();
  /** When each message was fetched, for the time to its ack (per agent). */
  readonly #fetchedAt = new WeakMap<IncomingMessage, number>();
  /** Partitions assigned to this worker now (the ones whose lag it reports). */
  readonly #assigned = new Map<string, TopicPartition>();

  constructor(app: App, registry = new Registry()) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the gauges' collect functions run with prom-client's `this`
    const metrics = this;
    this.#app = app;
    this.registry = registry;
    for (const partition of app.assignment) this.#assigned.set(`${partition.topic}/${partition.partition}`, partition);
    registry.setDefaultLabels({ app: app.id });
    const registers = [registry];
    this.#received = new Counter({
      name: 'stream_app_messages_received_total',
      help: 'Messages fetched from Kafka, per topic.',
      labelNames: ['topic'],
      registers,
    });
    this.#sent = new Counter({
      name: 'stream_app_messages_sent_total',
      help: 'Messages handed to the producer (sinks, sends, dead letters, replies), per topic.',
      labelNames: ['topic'],
      registers,
    });
    this.#processing = new Histogram({
      name: 'stream_app_event_processing_seconds',
      help: 'From fetch to the agent being done with the event, per agent.',
      labelNames: ['agent'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#commit = new Histogram({
      name: 'stream_app_commit_duration_seconds',
      help: 'How long offset commits (transactions under exactly once) took.',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#aborts = new Counter({
      name: 'stream_app_transactions_aborted_total',
      help: 'Exactly once: transactions aborted (their events are processed again).',
      registers,
    });
    this.#deadLettered = new Counter({
      name: 'stream_app_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by error code.',
      labelNames: ['code'],
      registers,
    });
    this.#skipped = new Counter({
      name: 'stream_app_messages_skipped_total',
      help: "Bad messages skipped under onBadMessage: 'skip', by error code.",
      labelNames: ['code'],
      registers,
    });
    this.#restarts = new Counter({
      name: 'stream_app_agent_restarts_total',
      help: 'Agent failures followed by a restart, per agent.',
      labelNames: ['agent'],
      registers,
    });
    this.#taskFailures = new Counter({
      name: 'stream_app_task_failures_total',
      help: 'Failures of supervised tasks (agents, timers, table recovery), per task.',
      labelNames: ['task'],
      registers,
    });
    this.#recoveryRead = new Gauge({
      name: 'stream_app_table_recovery_records_read',
      help: "Records read so far from a table partition's changelog (purpose: recovery, standby, global).",
      labelNames: ['table', 'partition', 'purpose'],
      registers,
    });
    this.#recoveryTotal = new Gauge({
      name: 'stream_app_table_recovery_records',
      help: "Changelog offsets a read of a table partition's changelog covers (0 once done).",
      labelNames: ['table', 'partition', 'purpose'],
      registers,
    });
    this.#rebalances = new Counter({
      name: 'stream_app_rebalances_total',
      help: 'Partition assignments and revocations this worker took part in.',
      labelNames: ['kind'],
      registers,
    });
    this.#tokenRefreshes = new Counter({
      name: 'stream_app_token_refreshes_total',
      help: 'OAuth token fetches by the credentials (success) and failed ones (failure).',
      labelNames: ['outcome'],
      registers,
    });
    this.#kafkaAuth = new Counter({
      name: 'stream_app_kafka_connection_events_total',
      help: 'Kafka connections that authenticated, re-authenticated (KIP-368), failed to re-authenticate, or dropped.',
      labelNames: ['kind'],
      registers,
    });
    this.#webAuth = new Counter({
      name: 'stream_app_web_authentications_total',
      help: 'Bearer-token checks of web requests, per route and outcome (mode report: served anyway).',
      labelNames: ['route', 'outcome', 'mode'],
      registers,
    });
    this.#lagFailures = new Counter({
      name: 'stream_app_consumer_lag_failures_total',
      help: 'Scrapes that could not read the consumer lag from the broker (the lag is then left out).',
      registers,
    });
    new Gauge({
      name: 'stream_app_consumer_lag',
      help: "Messages behind the partition's end: high watermark minus the group's committed offset.",
      labelNames: ['topic', 'partition'],
      registers,
      collect: async function (this: Gauge<'topic' | 'partition'>) {
        this.reset();
        // The broker may be down when metrics matter most: the scrape goes on without lag, and says so.
        let bound: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          bound = setTimeout(
            () => reject(new Error(`no answer from the broker in ${LAG_TIMEOUT_MS} ms`)),
            LAG_TIMEOUT_MS,
          );
        });
        try {
          const rows = await Promise.race([metrics.#lag(), timeout]);
          for (const row of rows) this.set({ topic: row.topic, partition: String(row.partition) }, row.lag);
        } catch {
          metrics.#lagFailures.inc();
        } finally {
          clearTimeout(bound);
        }
      },
    });
    new Gauge({
      name: 'stream_app_assigned_partitions',
      help: 'Partitions assigned to this worker now.',
      registers,
      collect: function (this: Gauge) {
        this.set(metrics.#assigned.size);
      },
    });
    new Gauge({
      name: 'stream_app_table_keys',
      help: 'Keys held by this worker, per table (counted when scraped).',
      labelNames: ['table'],
      registers,
      collect: function (this: Gauge<'table'>) {
        this.reset();
        for (const [name, table] of metrics.#app.tables) this.set({ table: name }, table.size);
      },
    });
    new Gauge({
      name: 'stream_app_token_expiry_seconds',
      help: 'Seconds until the OAuth token in use expires (absent without OAuth credentials).',
      registers,
      collect: function (this: Gauge) {
        this.reset();
        const credentials = metrics.#app.credentials;
        if (credentials?.kind !== 'oauth') return;
        const { expiresAt } = credentials.lifecycle.stats();
        if (expiresAt !== undefined) this.set(Math.max(0, (expiresAt - Date.now()) / 1000));
      },
    });
    new Gauge({
      name: 'stream_app_paused_partitions',
      help: 'Partitions paused now (backpressure, table recovery).',
      registers,
      collect: function (this: Gauge) {
        this.set(metrics.#app.stats().pausedPartitions);
      },
    });
  }

  /** One bearer-token check of a web request (the route is its pattern, e.g. `/tables/:name/:key`). */
  webAuthentication(route: string, outcome: AuthOutcome, mode: 'enforce' | 'report'): void {
    this.#webAuth.inc({ route, outcome, mode });
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  // ── Sensor ────────────────────────────────────────────────────────────────

  onMessageReceived(message: IncomingMessage): void {
    child(this.#receivedBy, this.#received, message.topic, 'topic').inc();
    this.#fetchedAt.set(message, performance.now());
  }

  onEventAcked(event: StreamEvent, agent: Agent): void {
    const fetched = this.#fetchedAt.get(event.message);
    if (fetched !== undefined) {
      child(this.#processingBy, this.#processing, agent.name, 'agent').observe((performance.now() - fetched) / 1000);
    }
  }

  onSend(message: OutgoingMessage): void {
    child(this.#sentBy, this.#sent, message.topic, 'topic').inc();
  }

  onCommit(_offsets: unknown, durationMs: number): void {
    this.#commit.observe(durationMs / 1000);
  }

  onTransactionAborted(): void {
    this.#aborts.inc();
  }

  onDeadLetter(info: DeadLetterInfo): void {
    this.#deadLettered.inc({ code: info.code });
  }

  onSkipped(info: DeadLetterInfo): void {
    this.#skipped.inc({ code: info.code });
  }

  onTaskFailed(task: string, _error: Error, restartInMs: number | undefined): void {
    this.#taskFailures.inc({ task });
    const agent = task.replace(/#\d+$/, '');
    if (restartInMs !== undefined && this.#app.agents.has(agent)) this.#restarts.inc({ agent });
  }

  onTableRecovery(progress: TableRecoveryProgress): void {
    const labels = { table: progress.table, partition: String(progress.partition), purpose: progress.purpose };
    this.#recoveryRead.set(labels, progress.read);
    this.#recoveryTotal.set(labels, progress.done ? 0 : progress.total);
  }

  onPartitionsAssigned(partitions: TopicPartition[]): void {
    this.#rebalances.inc({ kind: 'assigned' });
    for (const partition of partitions) this.#assigned.set(`${partition.topic}/${partition.partition}`, partition);
  }

  onPartitionsRevoked(partitions: TopicPartition[], lost: boolean): void {
    this.#rebalances.inc({ kind: lost ? 'lost' : 'revoked' });
    for (const partition of partitions) this.#assigned.delete(`${partition.topic}/${partition.partition}`);
  }

  onTokenRefresh(info: { ok: boolean }): void {
    this.#tokenRefreshes.inc({ outcome: info.ok ? 'success' : 'failure' });
  }

  onKafkaConnection(event: KafkaConnectionEvent): void {
    this.#kafkaAuth.inc({ kind: event.kind });
  }

  /** Lag of the assigned partitions, from the broker: its high watermarks and the group's committed offsets. */
  async #lag(): Promise<Array<{ topic: string; partition: number; lag: number }>> {
    const admin = this.#app.transport?.admin;
    const assigned = [...this.#assigned.values()];
    if (!admin || assigned.length === 0) return [];
    const topics = [...new Set(assigned.map((partition) => partition.topic))];
    const [committed, ...watermarks] = await Promise.all([
      admin.groupOffsets(this.#app.id, topics),
      ...topics.map((topic) => admin.watermarks(topic)),
    ]);
    const marks = new Map<string, { low: number; high: number }>();
    topics.forEach((topic, index) => {
      for (const mark of watermarks[index]!) marks.set(`${topic}/${mark.partition}`, mark);
    });
    const done = new Map(committed.map((offset) => [`${offset.topic}/${offset.partition}`, offset.offset]));
    return assigned.map(({ topic, partition }) => {
      const key = `${topic}/${partition}`;
      const { low, high } = marks.get(key) ?? { low: 0, high: 0 };
      const at = done.get(key);
      // Nothing committed yet: all that is kept is behind (from the start, as `earliest` reads it).
      return { topic, partition, lag: Math.max(0, high - (at !== undefined && at >= 0 ? at : low)) };
    });
  }
}

/** The child of `metric` for one value of its only label, made once. */
function child<L extends string, C>(
  cache: Map<string, C>,
  metric: { labels(labels: Partial<Record<L, string>>): C },
  value: string,
  label: L,
): C {
  let found = cache.get(value);
  if (!found) {
    found = metric.labels({ [label]: value } as Partial<Record<L, string>>);
    cache.set(value, found);
  }
  return found;
}
