import {
  CoreError,
  PauseReasons,
  partitionForKey,
  type AdminPort,
  type ConnectOptions,
  type Consumer,
  type ConsumerHandlers,
  type ConsumerOptions,
  type IncomingMessage,
  type MessageHeaders,
  type OutgoingMessage,
  type PartitionReader,
  type TopicPartition,
  type TopicPartitionOffset,
  type TopicSpec,
  type Transport,
  type TransactionPort,
} from '@stream-app/core';

/** At most this many messages per hand-over, so that a paused partition stops soon, as with a broker's fetches. */
const MAX_BATCH = 100;

export interface MemoryTransportOptions {
  /** Topics (name → partitions) that exist before any app declares one, e.g. for `topicAllowDeclare: false`. */
  topics?: { [name: string]: number };
}

/** A partition of a consumer's assignment and how far it has been handed over. */
interface Assigned extends TopicPartition {
  key: string;
  /** Where the consumer started (its group's committed offset, or the beginning or end). */
  start: number;
  /** The next offset to hand over. */
  position: number;
}

interface Subscription {
  options: ConsumerOptions;
  handlers: ConsumerHandlers;
  assigned: Map<string, Assigned>;
  paused: PauseReasons;
  /** Revoking or closed: nothing more is handed over. */
  stopped: boolean;
}

/** Work a consumer has not finished: messages not yet handed over, or handed over and not committed. */
export interface UnfinishedPartition extends TopicPartition {
  groupId: string;
  /** The log end offset. */
  end: number;
  /** The next offset the consumer will be handed. */
  position: number;
  /** The group's committed offset, if it committed. */
  committed: number | undefined;
}

/**
 * A `Transport` that keeps topics in memory, for testing an App without Kafka. Topics are arrays of
 * messages per partition; each consumer gets every partition of the topics it subscribes to (there is
 * no group balancing) and is handed new messages asynchronously, in offset order per partition,
 * starting after its group's committed offset. Sends are delivered at once, so `flush()` only
 * reports the first failed send (to a topic that does not exist, or a partition it does not have).
 * Connected `transactional` (exactly once), the app's sends wait in its transaction until it commits
 * (then they are appended with the offsets, at once) or aborts (then they are gone).
 */
export class MemoryTransport implements Transport {
  readonly description = { bootstrap: 'memory', mechanism: 'none' };
  /** Where a message without a timestamp gets one: the system's time, or the test's clock (the driver sets it). */
  now: () => number = Date.now;
  readonly #topics = new Map<string, IncomingMessage[][]>();
  /** Every message of a topic in the order it was sent, over all partitions. */
  readonly #sent = new Map<string, IncomingMessage[]>();
  readonly #committed = new Map<string, Map<string, number>>();
  readonly #subscriptions = new Set<Subscription>();
  readonly #roundRobin = new Map<string, number>();
  readonly #watchers = new Set<() => void>();
  #connected = false;
  #scheduled = false;
  #failure: CoreError | undefined;
  /** Exactly once: the open transaction's messages, checked and waiting for the commit. */
  #transaction: Array<OutgoingMessage & { partition: number }> | undefined;
  #failNextCommit: { error: Error; after: Promise<unknown> } | undefined;
  transactions: TransactionPort | undefined;

  constructor(options: MemoryTransportOptions = {}) {
    for (const [name, partitions] of Object.entries(options.topics ?? {})) this.createTopic(name, partitions);
  }

  /** Creates a topic (a no-op when it exists). */
  createTopic(name: string, partitions = 1): void {
    if (this.#topics.has(name)) return;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `topic '${name}': partitions must be a positive integer, got ${String(partitions)}`,
      );
    }
    this.#topics.set(
      name,
      Array.from({ length: partitions }, () => []),
    );
    this.#sent.set(name, []);
  }

  // ── Transport ──────────────────────────────────────────────────────────────

  async connect(options: ConnectOptions = {}): Promise<void> {
    // Connecting again after close is allowed: a restarted app finds the topics and commits of the last one.
    this.#connected = true;
    this.#failure = undefined;
    this.#transaction = undefined;
    this.transactions = options.transactional
      ? {
          commit: async (offsets, consumer) => {
            const failure = this.#failNextCommit;
            this.#failNextCommit = undefined;
            if (failure) {
              await failure.after;
              throw failure.error;
            }
            if (this.#failure) throw this.#failure;
            const messages = this.#transaction ?? [];
            if (messages.length === 0 && offsets.length === 0) return;
            this.#transaction = undefined;
            for (const message of messages) this.#append(message);
            await consumer.commit(offsets);
          },
          abort: async () => {
            this.#transaction = undefined;
            this.#failure = undefined;
          },
        }
      : undefined;
  }

  /** The admin port over the topics in memory. */
  readonly admin: AdminPort = {
    partitionCounts: async (topics) => {
      const counts = new Map<string, number>();
      for (const topic of topics) {
        const partitions = this.#topics.get(topic);
        if (partitions) counts.set(topic, partitions.length);
      }
      return counts;
    },
    createTopics: async (specs: TopicSpec[]) => {
      const created = specs.filter((spec) => !this.#topics.has(spec.name));
      for (const spec of created) this.createTopic(spec.name, spec.partitions);
      // A subscription to a topic that did not exist yet gets its partitions now, as after a metadata refresh.
      for (const subscription of this.#subscriptions) {
        const added = created
          .filter((spec) => subscription.options.topics.includes(spec.name))
          .map((spec) => spec.name);
        if (added.length > 0 && !subscription.stopped) await this.#assign(subscription, added);
      }
    },
    watermarks: async (topic) =>
      (this.#topics.get(topic) ?? []).map((log, partition) => ({ partition, low: 0, high: log.length })),
    // Every consumer gets every partition here (no balancing): each is a member holding them all.
    groupMembers: async (groupId) => {
      const members = [...this.#subscriptions]
        .filter((subscription) => subscription.options.groupId === groupId && !subscription.stopped)
        .map((subscription, index) => ({
          memberId: `member-${index}`,
          clientId: subscription.options.clientId ?? '',
          partitions: [...subscription.assigned.values()].map(({ topic, partition }) => ({ topic, partition })),
        }));
      return { state: members.length === 0 ? 'empty' : 'stable', members };
    },
    groupOffsets: async (groupId, topics) =>
      topics.flatMap((topic) =>
        [...this.committed(groupId, topic)].map(([partition, offset]) => ({ topic, partition, offset })),
      ),
  };

  /** Reads a partition outside any group, as a changelog recovery would. */
  async reader(): Promise<PartitionReader> {
    return {
      readToEnd: async ({ topic, partition }, from, shouldStop, onMessages) => {
        const log = this.#topics.get(topic)?.[partition] ?? [];
        const end = log.length;
        for (let offset = from; offset < end; offset += MAX_BATCH) {
          if (shouldStop()) return offset;
          onMessages(log.slice(offset, Math.min(end, offset + MAX_BATCH)).map(copy));
        }
        return Math.max(from, end);
      },
      close: async () => {},
    };
  }

  send(message: OutgoingMessage): Promise<void> {
    if (!this.#connected) {
      return Promise.reject(
        new CoreError('STREAM_APP_ERR_APP_STATE', 'the memory transport is not connected (or already closed)'),
      );
    }
    if (this.#failure) return Promise.reject(this.#failure);
    const partitions = this.#topics.get(message.topic);
    if (!partitions) {
      return this.#fail(message.topic, `it does not exist; declare it with app.topic() before the app starts`);
    }
    const partition = this.#partitionFor(message, partitions.length);
    if (!partitions[partition]) {
      return this.#fail(message.topic, `it has ${partitions.length} partition(s), there is no partition ${partition}`);
    }
    if (this.transactions) {
      (this.#transaction ??= []).push({ ...message, partition });
      this.#changed();
      return Promise.resolve();
    }
    this.#append({ ...message, partition });
    return Promise.resolve();
  }

  /** Appends a checked message to its partition's log, as another (not transactional) producer would. */
  #append(message: OutgoingMessage & { partition: number }): IncomingMessage {
    const { partition } = message;
    const log = this.#topics.get(message.topic)![partition]!;
    const headers: MessageHeaders = {};
    for (const [name, value] of Object.entries(message.headers ?? {})) {
      headers[name] = Array.isArray(value) ? value.map((one) => Buffer.from(one)) : Buffer.from(value);
    }
    const stored: IncomingMessage = {
      topic: message.topic,
      partition,
      offset: log.length,
      // Copies: a producer may reuse its buffers, a broker would not see that.
      key: message.key === null ? null : Buffer.from(message.key),
      value: message.value === null ? null : Buffer.from(message.value),
      headers,
      timestamp: message.timestamp ?? this.now(),
    };
    log.push(stored);
    this.#sent.get(message.topic)!.push(stored);
    this.#schedule();
    this.#changed();
    return stored;
  }

  async flush(): Promise<void> {
    if (this.#failure) throw this.#failure;
  }

  async sendNow(messages: OutgoingMessage[]): Promise<TopicPartitionOffset[]> {
    const first = new Map<string, TopicPartitionOffset>();
    for (const message of messages) {
      const partitions = this.#topics.get(message.topic);
      const partition = partitions ? this.#partitionFor(message, partitions.length) : 0;
      const key = partitionKey(message.topic, partition);
      // In a transaction, the offset it will get is not known yet; the log's end now is no later than it.
      const end = partitions?.[partition]?.length ?? 0;
      await this.send({ ...message, partition });
      const offset = this.transactions ? end : partitions![partition]!.length - 1;
      if (!first.has(key)) first.set(key, { topic: message.topic, partition, offset });
    }
    return [...first.values()];
  }

  /** Appends a message now, outside the app's transaction (what the test driver's `put` does). */
  async sendDirect(message: OutgoingMessage): Promise<IncomingMessage> {
    if (!this.transactions) {
      await this.send(message);
      return this.#sent.get(message.topic)!.at(-1)!;
    }
    const partitions = this.#topics.get(message.topic);
    if (!partitions)
      return this.#fail(message.topic, 'it does not exist; declare it with app.topic() before the app starts');
    return this.#append({ ...message, partition: this.#partitionFor(message, partitions.length) });
  }

  /**
   * Exactly once: the app's next transaction commit fails with `error` (it aborts and reads its events
   * again), once `after` settles: a commit held that long is in flight while the test does something else.
   */
  failNextCommit(
    error: Error = new Error('injected commit failure'),
    after: Promise<unknown> = Promise.resolve(),
  ): void {
    this.#failNextCommit = { error, after };
  }

  /**
   * A rebalance that takes these partitions of `topic` from every consumer holding them (cooperatively:
   * the others stay): each finishes and commits their work in its revocation handler, as with a broker.
   * Nobody is given them; a consumer that subscribes afterwards starts at the group's committed offsets.
   */
  async revoke(topic: string, partitions: number[]): Promise<void> {
    for (const subscription of this.#subscriptions) {
      const taken = partitions
        .map((partition) => subscription.assigned.get(partitionKey(topic, partition)))
        .filter((assigned) => assigned !== undefined);
      if (taken.length === 0 || subscription.stopped) continue;
      for (const { key } of taken) subscription.assigned.delete(key);
      // As the Kafka consumer does: a pause does not outlive the assignment.
      subscription.paused.forget(taken.map(({ partition }) => ({ topic, partition })));
      await subscription.handlers.onRevoked(
        taken.map(({ partition }) => ({ topic, partition })),
        false,
      );
    }
    this.#changed();
  }

  /**
   * A fault of a real client: every consumer holding the partition reads it again from `offset` by itself,
   * unasked (librdkafka's KafkaJS layer was seen to seek back to a batch's first offset after pauses).
   */
  readAgainFrom(topic: string, partition: number, offset: number): void {
    for (const subscription of this.#subscriptions) {
      const assigned = subscription.assigned.get(partitionKey(topic, partition));
      if (assigned) assigned.position = offset;
    }
    this.#schedule();
  }

  async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer> {
    if (!this.#connected) {
      throw new CoreError('STREAM_APP_ERR_APP_STATE', 'the memory transport is not connected (or already closed)');
    }
    const subscription: Subscription = {
      options,
      handlers,
      assigned: new Map(),
      paused: new PauseReasons(),
      stopped: false,
    };
    this.#subscriptions.add(subscription);
    await this.#assign(
      subscription,
      options.topics.filter((topic) => this.#topics.has(topic)),
    );
    return {
      subscribe: async (topics) => {
        subscription.options = { ...subscription.options, topics };
        if (!subscription.stopped)
          await this.#assign(
            subscription,
            topics.filter((topic) => this.#topics.has(topic)),
          );
      },
      commit: async (offsets: TopicPartitionOffset[]) => {
        if (!this.#subscriptions.has(subscription)) return; // closed: a no-op, as with KafkaTransport
        const group = this.#committed.get(options.groupId) ?? new Map<string, number>();
        this.#committed.set(options.groupId, group);
        for (const { topic, partition, offset } of offsets) group.set(partitionKey(topic, partition), offset);
        this.#changed();
      },
      seek: (offsets: TopicPartitionOffset[]) => {
        for (const { topic, partition, offset } of offsets) {
          const assigned = subscription.assigned.get(partitionKey(topic, partition));
          if (assigned) assigned.position = offset;
        }
        this.#schedule();
      },
      pause: (partitions, reason = 'manual') => {
        subscription.paused.pause(partitions, reason);
        this.#changed();
      },
      resume: (partitions, reason = 'manual') => {
        subscription.paused.resume(partitions, reason);
        this.#schedule();
        this.#changed();
      },
      paused: () => subscription.paused.list(),
      close: () => this.#close(subscription),
    };
  }

  async close(): Promise<void> {
    for (const subscription of [...this.#subscriptions]) await this.#close(subscription);
    this.#connected = false;
    this.#changed();
  }

  // ── for tests ──────────────────────────────────────────────────────────────

  /** The topics that exist, with their partition counts. */
  topics(): Map<string, number> {
    return new Map([...this.#topics].map(([name, partitions]) => [name, partitions.length]));
  }

  /** Every message of a topic, in the order it was sent (empty if the topic does not exist). */
  messages(topic: string): readonly IncomingMessage[] {
    return [...(this.#sent.get(topic) ?? [])];
  }

  /** A group's committed offsets of a topic, by partition (Kafka's "next offset to read"). */
  committed(groupId: string, topic: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const [key, offset] of this.#committed.get(groupId) ?? []) {
      const [name, partition] = key.split('\u0000');
      if (name === topic) out.set(Number(partition), offset);
    }
    return new Map([...out].sort(([a], [b]) => a - b));
  }

  /**
   * Partitions where an open consumer has messages still to be handed over, or (for `groupId`) was
   * handed messages its group has not committed. Empty means every consumer is caught up and that
   * group finished everything it read.
   */
  unfinished(groupId: string): UnfinishedPartition[] {
    const out: UnfinishedPartition[] = [];
    for (const subscription of this.#subscriptions) {
      if (subscription.stopped) continue;
      const group = subscription.options.groupId;
      for (const assigned of subscription.assigned.values()) {
        const end = this.#topics.get(assigned.topic)![assigned.partition]!.length;
        const committed = this.#committed.get(group)?.get(assigned.key);
        const done = group === groupId ? (committed ?? assigned.start) : assigned.position;
        if (assigned.position < end || done < assigned.position) {
          out.push({
            groupId: group,
            topic: assigned.topic,
            partition: assigned.partition,
            end,
            position: assigned.position,
            committed,
          });
        }
      }
    }
    return out;
  }

  /** Calls `listener` after anything changes (a send, a hand-over, a commit, a pause); returns the unsubscribe. */
  watch(listener: () => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  // ── internals ──────────────────────────────────────────────────────────────

  #partitionFor(message: OutgoingMessage, partitions: number): number {
    if (message.partition !== undefined) return message.partition;
    if (message.key !== null) return partitionForKey(message.key, partitions);
    const next = this.#roundRobin.get(message.topic) ?? 0;
    this.#roundRobin.set(message.topic, next + 1);
    return next % partitions;
  }

  /** Like KafkaTransport: the first failed send fails every later send and flush, so the app's next commit stops it. */
  #fail(topic: string, why: string): Promise<never> {
    this.#failure ??= new CoreError('STREAM_APP_ERR_DELIVERY', `could not produce to topic '${topic}': ${why}`, {
      details: { topic },
    });
    this.#changed();
    return Promise.reject(this.#failure);
  }

  async #assign(subscription: Subscription, topics: string[]): Promise<void> {
    const partitions: TopicPartition[] = [];
    const group = this.#committed.get(subscription.options.groupId);
    for (const topic of topics) {
      const logs = this.#topics.get(topic)!;
      logs.forEach((log, partition) => {
        const key = partitionKey(topic, partition);
        if (subscription.assigned.has(key)) return;
        const start = group?.get(key) ?? (subscription.options.fromBeginning ? 0 : log.length);
        subscription.assigned.set(key, { topic, partition, key, start, position: start });
        partitions.push({ topic, partition });
      });
    }
    if (partitions.length === 0) return;
    await subscription.handlers.onAssigned(partitions);
    this.#schedule();
    this.#changed();
  }

  async #close(subscription: Subscription): Promise<void> {
    if (!this.#subscriptions.has(subscription) || subscription.stopped) return;
    subscription.stopped = true;
    // As a broker does on leaving the group: the app finishes and commits the revoked partitions' work.
    const partitions = [...subscription.assigned.values()].map(({ topic, partition }) => ({ topic, partition }));
    try {
      if (partitions.length > 0) await subscription.handlers.onRevoked(partitions, false);
    } finally {
      this.#subscriptions.delete(subscription);
      this.#changed();
    }
  }

  // Hand-overs happen on a later turn of the event loop, never inside send(): as with a broker, a
  // producer is never re-entered by the consumer of what it just sent.
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    let handed = false;
    for (const subscription of this.#subscriptions) {
      for (const assigned of subscription.assigned.values()) {
        if (subscription.stopped || subscription.paused.isPaused(assigned.topic, assigned.partition)) continue;
        const log = this.#topics.get(assigned.topic)![assigned.partition]!;
        if (assigned.position >= log.length) continue;
        const batch = log.slice(assigned.position, assigned.position + MAX_BATCH).map(copy);
        // Moved on before handing over: a pause inside the handler must not hand the same messages again.
        assigned.position += batch.length;
        handed = true;
        subscription.handlers.onMessages(batch);
      }
    }
    if (handed) {
      this.#schedule(); // what is left beyond MAX_BATCH, or was sent meanwhile
      this.#changed();
    }
  }

  #changed(): void {
    for (const watcher of this.#watchers) watcher();
  }
}

/** What a consumer is handed: its own headers object, as from a fetch. */
function copy(message: IncomingMessage): IncomingMessage {
  return { ...message, headers: { ...message.headers } };
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
