import { partitionKey, type TopicPartition, type TopicPartitionOffset } from '../transport/transport.js';

/** One fetched message on its way through the app: done when nothing holds it any more. */
export interface OffsetEntry {
  readonly offset: number;
  /** How many agents (or the dead-letter path) still hold it. */
  holders: number;
  /** How many held it at first: fewer now means some agent is done with it. */
  readonly total: number;
}

/**
 * The offsets of one partition in fetch order. The committable offset is the first one not yet
 * done: with 3 slow and 4, 5 done, it stays at 3 (Kafka's "next offset to read"), so a restart
 * re-reads 3, 4 and 5 and loses nothing.
 */
export class PartitionOffsets {
  readonly topic: string;
  readonly partition: number;
  /** Events an agent took from its queue and has not acknowledged yet. */
  inProgress = 0;
  #entries: OffsetEntry[] = [];
  #head = 0;
  #next: number | undefined;
  #committed: number | undefined;
  /** The first offset tracked since this partition was assigned or rewound. */
  #first: number | undefined;
  /** The last offset committed since it was assigned (kept through `recommit`): where an abort rewinds to. */
  #durable: number | undefined;
  /** Some agent finished an event since the last commit or rewind (an abort must then rewind). */
  #touched = false;
  #low: { threshold: number; callback: () => void } | undefined;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  track(offset: number, holders: number): OffsetEntry {
    this.#first ??= offset;
    const entry = { offset, holders, total: holders };
    if (holders > 0) this.#entries.push(entry);
    else if (this.#head === this.#entries.length) this.#next = offset + 1;
    else this.#entries.push(entry);
    return entry;
  }

  /** One holder is done with it. */
  release(entry: OffsetEntry): void {
    if (entry.holders <= 0) return;
    entry.holders -= 1;
    this.#touched = true;
    if (entry.holders > 0) return;
    const entries = this.#entries;
    while (this.#head < entries.length && entries[this.#head]!.holders === 0) {
      this.#next = entries[this.#head]!.offset + 1;
      this.#head += 1;
    }
    if (this.#low && this.outstanding <= this.#low.threshold) {
      const { callback } = this.#low;
      this.#low = undefined;
      callback();
    }
    if (this.#head === entries.length) {
      this.#entries = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Whether an `onLow` callback waits (the partition is paused for backpressure). */
  get lowWatch(): boolean {
    return this.#low !== undefined;
  }

  /** Calls back once, when at most `threshold` messages are outstanding (to resume a paused partition). */
  onLow(threshold: number, callback: () => void): void {
    this.#low = { threshold, callback };
  }

  /** The first offset not yet done (or the one after the last done). */
  get next(): number | undefined {
    return this.#head < this.#entries.length ? this.#entries[this.#head]!.offset : this.#next;
  }

  /**
   * Whether some agent is done with an event that is not done as a whole, or with one after it: instances
   * (or several agents on the topic) finished out of order, so that the committable offset is behind work done.
   */
  get doneOutOfOrder(): boolean {
    for (let i = this.#head; i < this.#entries.length; i++) {
      const entry = this.#entries[i]!;
      // total 0: a bad message dead-lettered at once, behind one still queued.
      if (entry.holders < entry.total || entry.total === 0) return true;
    }
    return false;
  }

  /** Messages fetched and not yet done. */
  get outstanding(): number {
    return this.#entries.length - this.#head;
  }

  /** The offset to commit, when it moved since the last commit. */
  get uncommitted(): number | undefined {
    const next = this.next;
    return next !== undefined && next !== this.#committed ? next : undefined;
  }

  markCommitted(offset: number): void {
    this.#committed = Math.max(offset, this.#committed ?? -1);
    this.#durable = Math.max(offset, this.#durable ?? -1);
    this.#touched = false;
  }

  /**
   * Where to read again after an aborted transaction: the last committed offset, or the first one
   * fetched since the assignment; undefined when nothing was processed since that commit.
   */
  get rewindTarget(): number | undefined {
    const target = this.#durable ?? this.#first;
    return target === undefined || (this.next === target && !this.#touched) ? undefined : target;
  }

  /**
   * Forgets every event since `target` (they will be fetched again from there); a backpressure pause is
   * lifted, unless `resume` is false (a partition being revoked: it is not held any more).
   */
  rewind(target: number, resume = true): void {
    this.#entries = [];
    this.#head = 0;
    this.#next = undefined;
    this.#first = target;
    this.#touched = false;
    const low = this.#low;
    this.#low = undefined;
    if (resume) low?.callback();
  }

  /** Forgets what was committed, so that the next commit sends the offset again. */
  recommit(): void {
    this.#committed = undefined;
  }
}

export class OffsetTracker {
  readonly #partitions = new Map<string, PartitionOffsets>();
  /** Moves on at each `recommitAll`: a commit that started before one must not mark its offsets committed. */
  generation = 0;

  partition(topic: string, partition: number): PartitionOffsets {
    const key = partitionKey(topic, partition);
    let offsets = this.#partitions.get(key);
    if (!offsets) {
      offsets = new PartitionOffsets(topic, partition);
      this.#partitions.set(key, offsets);
    }
    return offsets;
  }

  get all(): IterableIterator<PartitionOffsets> {
    return this.#partitions.values();
  }

  forget(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#partitions.delete(partitionKey(topic, partition));
  }

  /** Offsets that moved since their last commit, optionally only of these partitions. */
  uncommitted(only?: TopicPartition[]): TopicPartitionOffset[] {
    const keys = only ? new Set(only.map(({ topic, partition }) => partitionKey(topic, partition))) : undefined;
    const out: TopicPartitionOffset[] = [];
    for (const [key, offsets] of this.#partitions) {
      if (keys && !keys.has(key)) continue;
      const offset = offsets.uncommitted;
      if (offset !== undefined) out.push({ topic: offsets.topic, partition: offsets.partition, offset });
    }
    return out;
  }

  markCommitted(offsets: TopicPartitionOffset[]): void {
    for (const { topic, partition, offset } of offsets)
      this.#partitions.get(partitionKey(topic, partition))?.markCommitted(offset);
  }

  /**
   * After a rebalance: every partition's offset is committed again at the next commit. A commit made
   * while the group was rebalancing can be reported done by the client and still not be stored (seen
   * with a member that joined and died before the rebalance completed); committing again is harmless.
   */
  recommitAll(): void {
    this.generation += 1;
    for (const offsets of this.#partitions.values()) offsets.recommit();
  }

  /** Events taken by agents and not acknowledged, over every partition. */
  inProgress(): number {
    let total = 0;
    for (const offsets of this.#partitions.values()) total += offsets.inProgress;
    return total;
  }

  outstanding(only?: TopicPartition[]): number {
    let total = 0;
    for (const offsets of only
      ? only.map(({ topic, partition }) => this.#partitions.get(partitionKey(topic, partition)))
      : this.#partitions.values()) {
      total += offsets?.outstanding ?? 0;
    }
    return total;
  }
}
