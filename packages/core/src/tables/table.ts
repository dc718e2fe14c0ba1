import type { Codec } from '../codecs/codecs.js';
import { currentEvent } from '../agents/current-event.js';
import { CoreError } from '../errors/index.js';
import type { StreamEvent } from '../streams/event.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { StoreWrite, TableStore } from '../stores/store.js';
import { resolveCodec, type TypeSpec } from '../topics/topic.js';
import type { Duration } from '../clock/duration.js';
import type { WindowedTable, WindowKindSpec, WindowOptions } from '../windows/windowed-table.js';
import { partitionForKey } from '../transport/partitioner.js';
import type { OutgoingMessage, TopicPartitionOffset, TopicSpec } from '../transport/transport.js';
import { keyFromId, keyId } from './key-id.js';

export interface TableOptions<V = unknown, K = string> {
  /** What `get` returns for a missing key, made fresh each time (like Faust's `default=int`). */
  default?: () => V;
  /** Default `string`. */
  keyType?: TypeSpec<K>;
  /** Default `json`. A Record class decodes and validates every value read back from the changelog. */
  valueType?: TypeSpec<V>;
  /** Partitions of the changelog; must equal those of the topics the agents writing it read. Default: the app's `topicPartitions`. */
  partitions?: number;
  /** `memory` (default), `lmdb` (on disk under the app's `stateDir`), or a store object. */
  store?: 'memory' | 'lmdb' | TableStore;
  /** The changelog topic: its name (default `<app>-<table>-changelog`), replicas, extra config. */
  changelog?: { name?: string; replicas?: number; config?: { [name: string]: string } };
}

/** What a table needs from its app. */
export interface TableOwner {
  readonly id: string;
  readonly topicDefaults: { partitions: number; replicas: number; validate: boolean };
  /** Makes the store a table asked for by name. */
  makeStore(kind: 'memory' | 'lmdb'): TableStore;
  /**
   * Whether a write from `event` goes ahead: `drop` when its partition was revoked meanwhile (the new
   * owner processes the event again); throws when the table does not hold that partition, or is not
   * co-partitioned with the event's topic (which also fails the app).
   */
  checkWrite(table: Table<unknown, unknown>, event: StreamEvent): 'write' | 'drop';
  /** Turns a declared table into a windowed one (the owner builds it: windows import tables, not the reverse). */
  window<V, K>(table: Table<V, K>, kind: WindowKindSpec, options: WindowOptions<V, K>): WindowedTable<V, K>;
}

/** A table with its types erased, for lists of tables of different types (an agent's `tables`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Table is invariant in V and K; any table belongs in such a list
export type AnyTable = Table<any, any> | WindowedTable<any, any>;

interface PendingWrite {
  key: unknown;
  /** undefined: deleted. */
  value: unknown;
}

type Writes = Map<number, Map<string, PendingWrite>>;

/**
 * A key/value table sharded like the topics its agents read, like Faust's `app.Table`: reads and
 * writes from an agent go to the partition of the event being processed; every write lands in the
 * store and, coalesced per key over a commit interval, in a compacted changelog topic, from which
 * the partition is recovered wherever it moves.
 */
export class Table<V = unknown, K = string> {
  readonly name: string;
  readonly changelogTopic: string;
  readonly partitions: number;
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
  readonly options: TableOptions<V, K>;
  /** Every worker holds every partition (`app.globalTable`). */
  readonly global: boolean;
  readonly store: TableStore;
  readonly #owner: TableOwner;
  /** Partitions this worker serves: recovered, assigned (or all, for a global table). */
  readonly #active = new Set<number>();
  #pending: Writes = new Map();
  /** Writes being flushed: still read from until the store has them. */
  #flushing: Writes | undefined;

  constructor(owner: TableOwner, name: string, options: TableOptions<V, K> = {}, global = false) {
    if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]{1,200}$/.test(name)) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `table name ${JSON.stringify(name)} is not valid: use 1 to 200 letters, digits, '.', '_' or '-' (it names the changelog topic)`,
        { details: { option: 'name' } },
      );
    }
    const partitions = options.partitions ?? owner.topicDefaults.partitions;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `table '${name}': partitions must be a positive integer, got ${String(options.partitions)}`,
        { details: { option: 'partitions' } },
      );
    }
    if (options.default !== undefined && typeof options.default !== 'function') {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `table '${name}': default must be a function that makes the value (e.g. () => 0), got ${typeof options.default}`,
        { details: { option: 'default' } },
      );
    }
    this.#owner = owner;
    this.name = name;
    this.options = options;
    this.global = global;
    this.partitions = partitions;
    this.changelogTopic = options.changelog?.name ?? `${owner.id}-${name}-changelog`;
    const validate = owner.topicDefaults.validate;
    this.keyCodec = resolveCodec(options.keyType ?? 'string', validate) as Codec<K>;
    this.valueCodec = resolveCodec(options.valueType ?? 'json', validate) as Codec<V>;
    const store = options.store ?? 'memory';
    if (typeof store === 'string') {
      if (store !== 'memory' && store !== 'lmdb') {
        throw new CoreError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `table '${name}': store must be 'memory', 'lmdb' or a store object, got ${JSON.stringify(store)}`,
          { details: { option: 'store' } },
        );
      }
      this.store = store === 'memory' ? new MemoryStore() : owner.makeStore(store);
    } else this.store = store;
  }

  // ── reads and writes ─────────────────────────────────────────────────────

  /** The value of `key`, or the default's (not stored) when missing. */
  get(key: K): V | undefined {
    const id = keyId(key, this.keyCodec);
    const found = this.#find(id, key);
    // A pending delete is found with no value: like a missing key, it reads as the default.
    if (found !== undefined && found.value !== undefined) return found.value as V;
    return this.options.default?.();
  }

  has(key: K): boolean {
    const found = this.#find(keyId(key, this.keyCodec), key);
    return found !== undefined && found.value !== undefined;
  }

  /** Sets `key` in the partition of the event the calling agent is processing. */
  set(key: K, value: V): void {
    if (value === undefined || value === null) {
      throw new CoreError(
        'STREAM_APP_ERR_TABLE_WRITE',
        `table '${this.name}': set(key, ${String(value)}) stores nothing; to remove a key, call delete(key)`,
        { details: { table: this.name } },
      );
    }
    this.#write(key, value);
  }

  delete(key: K): void {
    this.#write(key, undefined);
  }

  /** Keys of the partitions this worker holds (every partition for a global table). */
  *keys(): IterableIterator<K> {
    for (const [key] of this.entries()) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value;
  }

  *entries(): IterableIterator<[K, V]> {
    for (const partition of [...this.#active].sort((a, b) => a - b)) yield* this.entriesIn(partition);
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Keys held by this worker. */
  get size(): number {
    let size = 0;
    for (const _ of this.entries()) size += 1;
    return size;
  }

  /** The partitions this worker holds now. */
  get activePartitions(): number[] {
    return [...this.#active].sort((a, b) => a - b);
  }

  isActive(partition: number): boolean {
    return this.#active.has(partition);
  }

  #write(key: K, value: V | undefined): void {
    let partition: number;
    if (this.global) {
      // Every worker holds every partition of a global table: a key's partition is its hash, as Kafka's.
      partition = this.partitionOf(key);
    } else {
      const event = currentEvent();
      if (!event) {
        throw new CoreError(
          'STREAM_APP_ERR_TABLE_WRITE',
          `table '${this.name}' was written outside an agent: a write belongs to the partition of the event being processed, ` +
            'so set and delete only from an agent (or from code it awaits).',
          { details: { table: this.name } },
        );
      }
      if (this.#owner.checkWrite(this as Table<unknown, unknown>, event) === 'drop') return;
      partition = event.partition;
    }
    this.#put(partition, key, value);
  }

  #put(partition: number, key: K, value: V | undefined, id = keyId(key, this.keyCodec)): void {
    let writes = this.#pending.get(partition);
    if (!writes) {
      writes = new Map();
      this.#pending.set(partition, writes);
    }
    writes.set(id, { key, value });
  }

  /** The partition a key belongs to when its stream is keyed by it: the hash Kafka's producers use. */
  partitionOf(key: K): number {
    return partitionForKey(this.keyCodec.encode(key), this.partitions);
  }

  /** Where a key's value is now: a pending write, a write being flushed, or the store. */
  #find(id: string, key: K): { value: unknown } | undefined {
    if (this.global) return this.#findIn(this.partitionOf(key), id);
    const event = currentEvent();
    if (event) return this.#findIn(event.partition, id);
    for (const partition of this.#active) {
      const found = this.#findIn(partition, id);
      if (found) return found;
    }
    return undefined;
  }

  #findIn(partition: number, id: string): { value: unknown } | undefined {
    const pending = this.#pending.get(partition)?.get(id) ?? this.#flushing?.get(partition)?.get(id);
    if (pending) return pending;
    const value = this.store.get(partition, id);
    return value === undefined ? undefined : { value };
  }

  // ── windows ──────────────────────────────────────────────────────────────

  /** Windows of `size` one after another (`[0, size)`, `[size, 2·size)`, …): "page views per 5 minutes". */
  tumbling(size: Duration, options: WindowOptions<V, K> = {}): WindowedTable<V, K> {
    return this.#owner.window(this, { type: 'tumbling', size }, options);
  }

  /** Windows of `size` starting every `step`, overlapping: an event counts in `size / step` of them. */
  hopping(size: Duration, step: Duration, options: WindowOptions<V, K> = {}): WindowedTable<V, K> {
    return this.#owner.window(this, { type: 'hopping', size, step }, options);
  }

  /** One window per event, reaching `size` back from it: "the last 5 minutes" at every event. */
  sliding(size: Duration, options: WindowOptions<V, K> = {}): WindowedTable<V, K> {
    return this.#owner.window(this, { type: 'sliding', size }, options);
  }

  /** Sessions of a key: events less than `gap` apart belong to one window, which a longer silence closes. */
  session(gap: Duration, options: WindowOptions<V, K> = {}): WindowedTable<V, K> {
    return this.#owner.window(this, { type: 'session', gap }, options);
  }

  /** This table, or the windowed table that took its place. */
  get backing(): Table<unknown, unknown> {
    return (this.replacedBy ?? this) as Table<unknown, unknown>;
  }

  /** Set when `tumbling()` & co. made a windowed table of this one. */
  replacedBy: Table<unknown, unknown> | undefined;

  // ── for subclasses: how values become changelog bytes, by key id ──────────

  protected encodeValue(_id: string, value: unknown): Buffer {
    return this.valueCodec.encode(value as V);
  }

  decodeValue(_id: string, bytes: Buffer): unknown {
    return this.valueCodec.decode(bytes);
  }

  /**
   * Writes `key` in a partition this worker holds, from outside an agent too (a windowed table's
   * clock closes windows between events); a partition not held here is left alone.
   */
  writeTo(partition: number, key: K, value: V | undefined, id = keyId(key, this.keyCodec)): void {
    if (this.#active.has(partition)) this.#put(partition, key, value, id);
  }

  /** The value of `key` in one partition, undefined when missing (`id`: its key id, when the caller has it). */
  getIn(partition: number, key: K, id = keyId(key, this.keyCodec)): V | undefined {
    return this.#findIn(partition, id)?.value as V | undefined;
  }

  /** Every key id and value of one partition (pending writes over the store's). */
  *entriesIn(partition: number): IterableIterator<[K, V]> {
    const seen = new Set<string>();
    for (const layer of [this.#pending.get(partition), this.#flushing?.get(partition)]) {
      for (const [id, write] of layer ?? []) {
        if (seen.has(id)) continue;
        seen.add(id);
        if (write.value !== undefined) yield [write.key as K, write.value as V];
      }
    }
    for (const [id, value] of this.store.entries(partition)) {
      if (!seen.has(id)) yield [keyFromId(id, this.keyCodec) as K, value as V];
    }
  }

  // ── for the table manager ────────────────────────────────────────────────

  /** The compacted changelog topic. */
  spec(): TopicSpec {
    return {
      name: this.changelogTopic,
      partitions: this.partitions,
      replicas: this.options.changelog?.replicas ?? this.#owner.topicDefaults.replicas,
      config: { 'cleanup.policy': 'compact', ...this.options.changelog?.config },
    };
  }

  activate(partition: number): void {
    this.#active.add(partition);
  }

  /** The store closes with the worker. */
  close(): Promise<void> {
    return this.store.close();
  }

  /** The worker gave the partition away: its unflushed writes are dropped (the next owner reprocesses their events). */
  async deactivate(partition: number): Promise<void> {
    this.#active.delete(partition);
    this.#pending.delete(partition);
    await this.store.release(partition);
  }

  /**
   * Sends this interval's writes (one record per key) to the changelog, then applies them to the
   * store with a checkpoint no later than the first of them, so that data and checkpoint agree.
   * With `applyLater` (exactly once) the store is left alone and the returned function applies them
   * once their transaction committed; until then they are read from memory, and an abort discards them.
   */
  async flush(
    produce: (messages: OutgoingMessage[]) => Promise<TopicPartitionOffset[]>,
    applyLater = false,
  ): Promise<() => Promise<void>> {
    if (this.#pending.size === 0) return async () => {};
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = batch;
    const messages: OutgoingMessage[] = [];
    const storeWrites = new Map<number, Map<string, StoreWrite>>();
    let first: Map<number, number>;
    try {
      for (const [partition, writes] of batch) {
        const forStore = new Map<string, StoreWrite>();
        storeWrites.set(partition, forStore);
        for (const [id, { key, value }] of writes) {
          const bytes = value === undefined ? null : this.encodeValue(id, value);
          forStore.set(id, { bytes, value });
          messages.push({
            topic: this.changelogTopic,
            partition,
            key: key === undefined || key === null ? null : this.keyCodec.encode(key as K),
            value: bytes,
          });
        }
      }
      first = new Map((await produce(messages)).map(({ partition, offset }) => [partition, offset]));
    } catch (error) {
      this.#flushing = undefined;
      // Exactly once, the transaction aborts and its writes are discarded: they must not come back.
      if (!applyLater) this.#restore(batch);
      throw error;
    }
    const apply = async () => {
      if (this.#flushing !== batch) return; // discarded meanwhile (an aborted transaction)
      try {
        for (const [partition, writes] of storeWrites) {
          // A partition given away during the flush is the next owner's: its store must not move on.
          if (!this.global && !this.#active.has(partition)) continue;
          await this.store.apply(partition, writes, first.get(partition)!);
        }
      } finally {
        this.#flushing = undefined;
      }
    };
    if (!applyLater) await apply();
    return apply;
  }

  /**
   * Exactly once, after an aborted transaction: the writes since the last commit are thrown away
   * (their events are processed again); the store holds only what committed.
   */
  discardUncommitted(): void {
    this.#pending = new Map();
    this.#flushing = undefined;
  }

  /** Puts back the writes of a failed flush, under any newer write of the same key, so that nothing is lost. */
  #restore(batch: Writes): void {
    for (const [partition, writes] of batch) {
      if (!this.global && !this.#active.has(partition)) continue;
      const newer = this.#pending.get(partition);
      if (!newer) {
        this.#pending.set(partition, writes);
        continue;
      }
      for (const [id, write] of writes) if (!newer.has(id)) newer.set(id, write);
    }
  }

  /**
   * Applies changelog records read back (a recovery or a standby) to the store, with the checkpoint
   * after them; returns how many were skipped because they do not decode (a codec or Record type that
   * changed since they were written): a recovery must finish, and one bad record must not hold it up.
   */
  async applyChangelog(
    partition: number,
    records: Array<{ key: Buffer | null; value: Buffer | null }>,
    checkpoint: number,
  ): Promise<number> {
    const writes = new Map<string, StoreWrite>();
    // A store that keeps decoded values gets them here, where a bad one can be skipped.
    const decodeValues = this.store.kind === 'memory';
    let skipped = 0;
    for (const { key, value } of records) {
      if (key === null) continue;
      try {
        const id = keyId(this.keyCodec.decode(key), this.keyCodec);
        writes.set(
          id,
          value !== null && decodeValues ? { bytes: value, value: this.decodeValue(id, value) } : { bytes: value },
        );
      } catch {
        skipped += 1;
      }
    }
    await this.store.apply(partition, writes, checkpoint);
    return skipped;
  }

  toString(): string {
    return `Table(${this.name})`;
  }
}
