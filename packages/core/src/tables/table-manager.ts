import { join } from 'node:path';
import type { Agent } from '../agents/agent.js';
import { sleep, type Clock } from '../clock/clock.js';
import type { Conductor } from '../conductor/conductor.js';
import { CoreError, StreamAppError } from '../errors/index.js';
import { explainKafkaError } from '../kafka/kafka-diagnostics.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import { LmdbStore } from '../stores/lmdb-store.js';
import type { TableStore } from '../stores/store.js';
import type { StreamEvent } from '../streams/event.js';
import type { Supervised, SupervisedTask, Supervisor } from '../supervisor/supervisor.js';
import {
  partitionKey,
  type PartitionReader,
  type TopicPartition,
  type TopicSpec,
  type Transport,
} from '../transport/transport.js';
import { recoverPartition, type RecoveryPurpose } from './recovery.js';
import type { Table } from './table.js';

type AnyTable = Table<unknown, unknown>;

/** What the manager uses of the runtime; read at each use (the clock and logger may be replaced before start). */
export interface TableManagerParts {
  appId: string;
  stateDir: string;
  /** Copies of each table partition to keep on other workers. */
  standbyReplicas: number;
  /** The group consumer's client.id, by which this worker finds itself among the group's members. */
  clientId: string;
  clock: Clock;
  sensors: Sensors;
  logger: Logger;
  supervisor: Supervisor;
  conductor: Conductor;
  transport: () => Transport;
  fail: (error: Error) => void;
  principal: () => Promise<string>;
}

/** How often a global table (and a standby) reads what its changelog gained. */
const FOLLOW_INTERVAL_MS = 1_000;
/** How often standbys are chosen again from the group's assignment (also after each rebalance here). */
const STANDBY_PLAN_MS = 5_000;

interface Job {
  table: AnyTable;
  partition: number;
}

const jobKey = (table: AnyTable, partition: number) => `${table.name}\u0000${partition}`;

/**
 * The tables of an app, like Faust's table manager: their changelog topics, the co-partitioning
 * checks at start, the flush before each commit, and the recoveries: a partition assigned to this
 * worker is held (paused for `recovery`) until every table has read its changelog partition, then
 * its agents get its events. Recoveries and the following of global tables run as one supervised
 * task over one partition reader.
 */
export class TableManager implements SupervisedTask {
  readonly name = 'tables';
  readonly kind = 'recovery';
  readonly tables = new Map<string, AnyTable>();
  readonly #parts: TableManagerParts;
  /** Partition counts of the app's topics, known at start. */
  #counts = new Map<string, number>();
  readonly #checked = new Set<string>();
  /** Source partitions assigned to this worker. */
  readonly #assigned = new Map<string, TopicPartition>();
  readonly #queue: Job[] = [];
  /** For each held source partition, the recoveries it waits for. */
  readonly #blockers = new Map<string, { partition: TopicPartition; jobs: Set<Job> }>();
  readonly #follow = new Map<string, Job>();
  #reader: PartitionReader | undefined;
  #supervised: Supervised | undefined;
  #wake: (() => void) | undefined;
  /** A poke that came while the loop was busy: it looks again instead of sleeping. */
  #poked = false;
  #progressed = false;
  #agents: Agent[] = [];
  readonly #sourceTopics = new Map<AnyTable, Set<string>>();
  /** Standby copies this worker keeps, by job key. */
  readonly #standbys = new Map<string, Job>();
  #planned = -Infinity;
  /** Exactly once: the store writes of the transaction being committed. */
  readonly #toApply: Array<() => Promise<void>> = [];

  constructor(parts: TableManagerParts) {
    this.#parts = parts;
  }

  /** A declared table made windowed (`table.tumbling()` & co.): the windowed one takes its place. */
  replace(table: AnyTable, by: AnyTable): void {
    if (this.tables.get(table.name) !== table) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `table '${table.name}' is already windowed: call tumbling(), hopping(), sliding() or session() once per table`,
        { details: { option: 'name' } },
      );
    }
    this.tables.set(table.name, by);
  }

  add(table: AnyTable): void {
    if (this.tables.has(table.name)) {
      throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `a table named '${table.name}' already exists`, {
        details: { option: 'name' },
      });
    }
    this.tables.set(table.name, table);
  }

  get clientId(): string {
    return this.#parts.clientId;
  }

  /** Table partitions this worker keeps as standby copies now. */
  get standbys(): Array<{ table: string; partition: number }> {
    return [...this.#standbys.values()].map(({ table, partition }) => ({ table: table.name, partition }));
  }

  /** Table partitions waiting for or in recovery. */
  get recovering(): number {
    return this.#queue.length;
  }

  makeStore(kind: 'memory' | 'lmdb'): TableStore {
    if (kind !== 'lmdb') {
      throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `no table store named ${kind}: use 'memory' or 'lmdb'`, {
        details: { option: 'store' },
      });
    }
    return new LmdbStore();
  }

  /** The changelog topics, of the global tables or of the others. */
  specs(which: { global: boolean }): TopicSpec[] {
    return [...this.tables.values()].filter((table) => table.global === which.global).map((table) => table.spec());
  }

  /** Opens every table's store (before global tables are recovered and agents start). */
  async openStores(): Promise<void> {
    for (const table of this.tables.values()) {
      await table.store.open({
        app: this.#parts.appId,
        table: table.name,
        path: join(this.#parts.stateDir, this.#parts.appId, table.name),
        decode: (bytes, id) => table.decodeValue(id, bytes),
      });
    }
  }

  /**
   * Checks, before anything is consumed, that each table is written from one topic with its partition
   * count (the topics known once agents have started: their own, or their groupBy/through topic), then
   * starts recoveries. A mismatch fails the start before any changelog is created.
   */
  async prepare(agents: Agent[], subscription: string[]): Promise<void> {
    // The subscription's counts: those of every topic an agent body may process.
    if (this.tables.size === 0) return;
    this.#agents = agents;
    const admin = this.#parts.transport().admin;
    const changelogs = [...this.tables.values()].map((table) => table.changelogTopic);
    this.#counts = await admin.partitionCounts([...new Set([...subscription, ...changelogs])]);
    for (const table of this.tables.values()) {
      const changelog = this.#counts.get(table.changelogTopic);
      if (changelog !== undefined && changelog !== table.partitions) {
        throw new CoreError(
          'STREAM_APP_ERR_TABLE_PARTITIONS',
          `table '${table.name}' has ${table.partitions} partitions but its changelog topic '${table.changelogTopic}' has ${changelog}: ` +
            `give the table { partitions: ${changelog} }, or delete the changelog topic (its state is then lost) so that the app creates it with ${table.partitions}.`,
          {
            details: { table: table.name, topic: table.changelogTopic, expected: table.partitions, actual: changelog },
          },
        );
      }
      if (table.global) continue;
      const sources = new Set<string>();
      for (const agent of this.#writers(table)) {
        for (const topic of this.#parts.conductor.bodyTopics(agent)) {
          sources.add(topic);
          const count = this.#counts.get(topic);
          if (count !== undefined && count !== table.partitions) throw this.#mismatch(table, topic, count, agent);
        }
      }
      if (sources.size > 1) {
        // Partition p of two topics may be on two workers: both would serve table partition p.
        throw new CoreError(
          'STREAM_APP_ERR_TABLE_PARTITIONS',
          `table '${table.name}' would be written from events of ${[...sources].map((t) => `'${t}'`).join(' and ')}: ` +
            'partition p of each can be assigned to different workers, and both would write table partition p. ' +
            'Name the tables each agent writes with { tables: [...] } so that each table is written from one topic, ' +
            'or read the others through() that topic.',
          { details: { table: table.name, topic: [...sources].join(','), expected: table.partitions } },
        );
      }
      this.#sourceTopics.set(table, sources);
    }
    this.#supervised = this.#parts.supervisor.start(this);
    this.#poke();
  }

  /** Global tables read every partition of their changelog before the app consumes anything. */
  async recoverGlobalTables(): Promise<void> {
    const globals = [...this.tables.values()].filter((table) => table.global);
    if (globals.length === 0) return;
    const reader = await this.#openReader();
    for (const table of globals) {
      for (let partition = 0; partition < table.partitions; partition++) {
        await this.#recover({ table, partition }, reader, 'recovery');
        table.activate(partition);
        this.#follow.set(jobKey(table, partition), { table, partition });
      }
    }
  }

  /** A write from an agent: to a partition this worker holds, from a topic co-partitioned with the table. */
  checkWrite(table: AnyTable, event: StreamEvent): 'write' | 'drop' {
    if (!table.isActive(event.partition)) {
      // The event's partition was revoked while the agent still worked on it: its new owner processes it again.
      if (!this.#assigned.has(partitionKey(event.topic, event.partition))) return 'drop';
      throw new CoreError(
        'STREAM_APP_ERR_TABLE_WRITE',
        `agent wrote table '${table.name}' from ${event.topic}/${event.partition}, but this worker does not hold the table's partition ${event.partition}: ` +
          `name the table in the agent's { tables: [...] } so that its partitions are recovered with the agent's`,
        { details: { table: table.name } },
      );
    }
    const key = `${table.name}\u0000${event.topic}`;
    if (this.#checked.has(key)) return 'write';
    const count = this.#counts.get(event.topic);
    if ((count !== undefined && count !== table.partitions) || event.partition >= table.partitions) {
      const error = this.#mismatch(table, event.topic, count ?? event.partition + 1);
      this.#parts.fail(error);
      throw error;
    }
    this.#checked.add(key);
    return 'write';
  }

  /**
   * Before every commit: each table's writes of the interval to its changelog and store. Exactly once
   * (`inTransaction`), the changelog records go into the commit's transaction, and the store gets them
   * only in `applyCommitted`, after it committed.
   */
  async flush(inTransaction = false): Promise<void> {
    const transport = this.#parts.transport();
    // Every flush settles before a failure is thrown: an abort's discard must come after each of them.
    const results = await Promise.allSettled(
      [...this.tables.values()].map((table) => table.flush((messages) => transport.sendNow(messages), inTransaction)),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    if (inTransaction)
      this.#toApply.push(...results.map((result) => (result as PromiseFulfilledResult<() => Promise<void>>).value));
  }

  /** Exactly once: the flushed writes of the transaction that just committed go to the stores. */
  async applyCommitted(): Promise<void> {
    const applies = this.#toApply.splice(0);
    for (const apply of applies) await apply();
  }

  /** Exactly once: the transaction aborted; every table forgets the writes made since the last commit. */
  discardUncommitted(): void {
    this.#toApply.length = 0;
    for (const table of this.tables.values()) table.discardUncommitted();
  }

  /** Holds newly assigned source partitions until their table partitions are recovered. */
  assigned(partitions: TopicPartition[]): void {
    const held: TopicPartition[] = [];
    for (const tp of partitions) {
      const jobs = new Set<Job>();
      for (const table of this.tables.values()) {
        if (table.global || tp.partition >= table.partitions || !this.#sources(table).has(tp.topic)) continue;
        this.#assigned.set(partitionKey(tp.topic, tp.partition), tp);
        if (table.activePartitions.includes(tp.partition)) continue;
        let job = this.#queue.find((queued) => queued.table === table && queued.partition === tp.partition);
        if (!job) {
          job = { table, partition: tp.partition };
          this.#queue.push(job);
        }
        jobs.add(job);
      }
      if (jobs.size > 0) {
        this.#blockers.set(partitionKey(tp.topic, tp.partition), { partition: tp, jobs });
        held.push(tp);
      }
    }
    this.#parts.conductor.hold(held, 'recovery');
    this.#planned = -Infinity;
    this.#poke();
  }

  /** After the revoked partitions' work is committed: table partitions no assigned source partition needs are let go. */
  async revoked(partitions: TopicPartition[]): Promise<void> {
    for (const { topic, partition } of partitions) {
      this.#assigned.delete(partitionKey(topic, partition));
      this.#blockers.delete(partitionKey(topic, partition));
    }
    for (const table of this.tables.values()) {
      if (table.global) continue;
      for (const partition of new Set(partitions.map((tp) => tp.partition))) {
        if (this.#needed(table, partition)) continue;
        const index = this.#queue.findIndex((job) => job.table === table && job.partition === partition);
        if (index >= 0) this.#queue.splice(index, 1);
        if (table.activePartitions.includes(partition)) await table.deactivate(partition);
      }
    }
    this.#planned = -Infinity;
    this.#poke();
  }

  async close(): Promise<void> {
    const stopped = this.#supervised?.stop();
    this.#poke();
    await stopped;
    this.#supervised = undefined;
    await this.#reader?.close().catch(() => {});
    this.#reader = undefined;
    for (const table of this.tables.values()) {
      await table
        .close()
        .catch((error: unknown) =>
          this.#parts.logger.error('closing a table store failed', { table: table.name, error: error as Error }),
        );
    }
  }

  // ── the supervised task: recoveries first, then following ───────────────

  async runOnce(): Promise<void> {
    try {
      await this.#run();
    } catch (error) {
      // The reader's errors are the client's: an authorization failure gets its code (and fails the app in onExit).
      const explained = explainKafkaError(error, {
        principal: await this.#parts.principal().catch(() => 'the principal'),
        operation: 'Read',
        resource: [...this.tables.values()].map((table) => table.changelogTopic).join(','),
      });
      throw explained instanceof Error ? explained : error;
    }
  }

  async #run(): Promise<void> {
    this.#progressed = false;
    const stopping = () => this.#supervised?.stopping ?? false;
    while (!stopping()) {
      const job = this.#queue[0];
      if (job) {
        const reader = await this.#openReader();
        if (this.#needed(job.table, job.partition)) {
          await this.#recover(job, reader, 'recovery');
          if (stopping()) break; // cut short: the partition is not whole
          if (this.#needed(job.table, job.partition)) {
            job.table.activate(job.partition);
            this.#standbys.delete(jobKey(job.table, job.partition));
          }
        }
        if (this.#queue[0] === job) this.#queue.shift();
        this.#progressed = true;
        this.#unblock(job);
        continue;
      }
      if (this.#parts.standbyReplicas > 0 && this.#parts.clock.now() - this.#planned >= STANDBY_PLAN_MS) {
        await this.#planStandbys();
      }
      const followed = [...this.#follow.values(), ...this.#standbys.values()];
      if (followed.length > 0) {
        const reader = await this.#openReader();
        for (const job of followed) {
          if (this.#queue.length > 0 || stopping()) break;
          await this.#recover(job, reader, this.#follow.has(jobKey(job.table, job.partition)) ? 'global' : 'standby');
        }
      }
      if (this.#queue.length > 0 || stopping()) continue;
      if (this.#poked) {
        this.#poked = false;
        continue;
      }
      const idle =
        followed.length > 0 ? FOLLOW_INTERVAL_MS : this.#parts.standbyReplicas > 0 ? STANDBY_PLAN_MS : 3_600_000;
      await sleep(this.#parts.clock, idle, {
        onAbort: (wake) => (this.#wake = wake),
      });
      this.#wake = undefined;
    }
  }

  onExit(error: Error | undefined, stopping: boolean): boolean {
    if (stopping || !error) return !stopping;
    if (error instanceof StreamAppError && /AUTHORIZATION|TOPIC_MISSING/.test(error.code)) {
      this.#parts.fail(error);
      return false;
    }
    this.#parts.logger.warn('table recovery failed; retrying', { error });
    void this.#reader?.close().catch(() => {});
    this.#reader = undefined;
    return true;
  }

  progressed(): boolean {
    return this.#progressed;
  }

  // ── internals ────────────────────────────────────────────────────────────

  #poke(): void {
    if (this.#wake) this.#wake();
    else this.#poked = true;
  }

  async #openReader(): Promise<PartitionReader> {
    this.#reader ??= await this.#parts.transport().reader();
    return this.#reader;
  }

  #recover(job: Job, reader: PartitionReader, purpose: RecoveryPurpose) {
    const stopping = () => this.#supervised?.stopping ?? false;
    return recoverPartition(job.table, job.partition, {
      // A recovery ends early only when the worker stops; a standby or global pass also when a recovery waits.
      shouldStop: purpose === 'recovery' ? stopping : () => stopping() || this.#queue.length > 0,
      admin: this.#parts.transport().admin,
      reader,
      clock: this.#parts.clock,
      sensors: this.#parts.sensors,
      logger: this.#parts.logger,
      purpose,
    });
  }

  /**
   * Chooses the standby copies this worker keeps. The client's assignors are fixed, so standbys are
   * derived from the group's current assignment (through the admin port): members sorted by member
   * id; the owner of a table partition is the member assigned its source partitions; its standbys
   * are the next `standbyReplicas` members after the owner, wrapping around. Every worker computes
   * the same plan from the same view, with no coordination of its own.
   */
  async #planStandbys(): Promise<void> {
    this.#planned = this.#parts.clock.now();
    const group = await this.#parts.transport().admin.groupMembers(this.#parts.appId);
    // While the group rebalances its members show no assignment: keep the copies until it is stable again.
    if (group.state !== 'stable') return;
    const members = group.members.sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
    const me = members.findIndex((member) => member.clientId === this.#parts.clientId);
    const wanted = new Map<string, Job>();
    if (me >= 0 && members.length > 1) {
      for (const table of this.tables.values()) {
        if (table.global) continue;
        const sources = this.#sources(table);
        for (let partition = 0; partition < table.partitions; partition++) {
          const owner = members.findIndex((member) =>
            member.partitions.some((tp) => tp.partition === partition && sources.has(tp.topic)),
          );
          if (owner < 0 || owner === me) continue;
          const replicas = Math.min(this.#parts.standbyReplicas, members.length - 1);
          const distance = (me - owner + members.length) % members.length;
          if (distance >= 1 && distance <= replicas && !table.activePartitions.includes(partition)) {
            wanted.set(jobKey(table, partition), { table, partition });
          }
        }
      }
    }
    for (const [key, job] of this.#standbys) {
      if (wanted.has(key)) continue;
      this.#standbys.delete(key);
      if (!job.table.activePartitions.includes(job.partition)) await job.table.store.release(job.partition);
    }
    for (const [key, job] of wanted) {
      if (!this.#standbys.has(key)) {
        this.#parts.logger.info('keeping a standby copy of a table partition', {
          table: job.table.name,
          partition: job.partition,
        });
      }
      this.#standbys.set(key, job);
    }
  }

  /** A recovery ended: the source partitions that waited only for it run again. */
  #unblock(job: Job): void {
    const free: TopicPartition[] = [];
    for (const [tpKey, blocker] of this.#blockers) {
      blocker.jobs.delete(job);
      if (blocker.jobs.size === 0) {
        this.#blockers.delete(tpKey);
        free.push(blocker.partition);
      }
    }
    this.#parts.conductor.release(free, 'recovery');
  }

  /** Whether an assigned source partition still needs this table partition. */
  #needed(table: AnyTable, partition: number): boolean {
    for (const tp of this.#assigned.values()) {
      if (tp.partition === partition && this.#sources(table).has(tp.topic)) return true;
    }
    return false;
  }

  /** Agents that write the table: those that name it in `tables`, or every agent when none names any table. */
  #writers(table: AnyTable): Agent[] {
    const declared = this.#agents.filter((agent) => agent.tables.length > 0);
    if (declared.length === 0) return this.#agents;
    return declared.filter((agent) => agent.tables.some((named) => named.backing === table));
  }

  /** The topic whose partitions carry the table's partitions (the one its writers' bodies process), known at prepare. */
  #sources(table: AnyTable): Set<string> {
    return this.#sourceTopics.get(table) ?? new Set();
  }

  #mismatch(table: AnyTable, topic: string, count: number, agent?: Agent): CoreError {
    return new CoreError(
      'STREAM_APP_ERR_TABLE_PARTITIONS',
      `${agent ? `agent ${agent.name} reads` : 'an agent wrote from'} topic '${topic}' with ${count} partitions into table '${table.name}' with ${table.partitions}: ` +
        `a write belongs to the partition of its event, so they must match. Give the table { partitions: ${count} } ` +
        `(and delete its changelog if it exists), or read the stream through() a topic of ${table.partitions} partitions` +
        (agent
          ? `; if ${agent.name} does not write the table, name the tables each agent writes with { tables: [...] }.`
          : '.'),
      { details: { table: table.name, topic, expected: table.partitions, actual: count } },
    );
  }
}
