import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, explainKafkaError, type KafkaDiagnostics } from '../kafka/kafka-diagnostics.js';
import type { PauseReason } from '../sensors/sensor.js';
import type { KafkaTransportOptions } from './kafka-config.js';
import { addHeader } from './kafka-partition-reader.js';
import { PauseReasons } from './pause-reasons.js';
import {
  partitionKey,
  type Consumer,
  type ConsumerHandlers,
  type ConsumerOptions,
  type IncomingMessage,
  type MessageHeaders,
  type TopicPartition,
  type TopicPartitionOffset,
} from './transport.js';

// librdkafka's rebalance event code RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS.
const ASSIGN_PARTITIONS = -175;
// RD_KAFKA_RESP_ERR__STATE: the client is not connected (a disconnect has begun).
const ERR_STATE = -172;
/** librdkafka's logical offset for "the beginning of the partition". */
const OFFSET_BEGINNING = -2;
/** How long an assignment waits for the group's committed offsets before the client looks them up itself. */
const COMMITTED_LOOKUP_MS = 60_000;

/** The app's group consumer: cooperative-sticky, manual commits, rebalance callbacks awaited. */
export class KafkaConsumer implements Consumer {
  onClose: () => void = () => {};
  readonly #client: KafkaJS.Consumer;
  readonly #diagnostics: KafkaDiagnostics;
  readonly #transport: KafkaTransportOptions;
  readonly #options: ConsumerOptions;
  readonly #handlers: ConsumerHandlers;
  readonly #pauses = new PauseReasons();
  /** The partitions assigned now: the client keeps a seek or pause of any other and applies it later. */
  readonly #held = new Set<string>();
  /** The partitions the client has delivered from, in this ownership or an earlier one. */
  readonly #delivered = new Set<string>();
  #topics: string[];
  #closed = false;

  constructor(
    kafka: KafkaJS.Kafka,
    diagnostics: KafkaDiagnostics,
    transport: KafkaTransportOptions,
    options: ConsumerOptions,
    handlers: ConsumerHandlers,
  ) {
    this.#diagnostics = diagnostics;
    this.#transport = transport;
    this.#options = options;
    this.#handlers = handlers;
    this.#topics = options.topics;
    this.#client = kafka.consumer({
      kafkaJS: { groupId: options.groupId, fromBeginning: options.fromBeginning, autoCommit: false },
      'partition.assignment.strategy': 'cooperative-sticky',
      ...(options.groupInstanceId ? { 'group.instance.id': options.groupInstanceId } : {}),
      ...(options.clientId ? { 'client.id': options.clientId } : {}),
      ...(options.sessionTimeoutMs ? { 'session.timeout.ms': options.sessionTimeoutMs } : {}),
      rebalance_cb: async (
        error: { code: number },
        assignment: TopicPartition[],
        fns: { assignmentLost(): boolean },
      ) => {
        const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }));
        if (error.code === ASSIGN_PARTITIONS) {
          for (const { topic, partition } of partitions) this.#held.add(partitionKey(topic, partition));
          const committed = await this.#committed(partitions);
          this.#forgetLastConsumed(partitions, committed);
          await this.#handlers.onAssigned(partitions);
          // Returned, they are assigned as they are, at the committed offsets asked here: the client would
          // otherwise apply a seek it kept from when one of them was not held (a late rewind, a pause), and
          // librdkafka starts a partition whose committed offset was held up by an open transaction
          // (UNSTABLE_OFFSET_COMMIT) while its assignment changed at auto.offset.reset, from offset 0.
          return partitions.map((p) => {
            const offset = committed.get(partitionKey(p.topic, p.partition));
            return offset === undefined ? p : { ...p, offset };
          });
        }
        for (const { topic, partition } of partitions) this.#held.delete(partitionKey(topic, partition));
        const paused = partitions.filter(({ topic, partition }) => this.#pauses.isPaused(topic, partition));
        this.#pauses.forget(partitions);
        // librdkafka keeps an application pause through a revocation: the partition would come back paused.
        // Queued in the client, the resume runs after this callback whatever the handler does.
        if (paused.length > 0 && !this.#closed) ignoreStateError(() => this.#client.resume(byTopic(paused)));
        await this.#handlers.onRevoked(partitions, fns.assignmentLost());
        return undefined;
      },
    });
  }

  async start(): Promise<void> {
    await connectClient(this.#client, this.#diagnostics, this.#transport.bootstrap);
    try {
      await this.#client.subscribe({ topics: this.#topics });
    } catch (error) {
      await this.#client.disconnect().catch(() => {});
      throw await this.#explain(error, 'Read', this.#topics.join(','));
    }
    await this.#client.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        if (this.#closed || batch.messages.length === 0) return;
        const { topic, partition } = batch;
        this.#delivered.add(partitionKey(topic, partition));
        // Resolved before handing over: a pause inside the handler must not rewind what is already queued.
        resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
        this.#handlers.onMessages(batch.messages.map((message) => incoming(topic, partition, message)));
        // Let the agents take this batch before the next one. Batches the client has prefetched come in
        // microtasks only, so without a turn of the event loop they outran the agents until the app paused
        // the partition; a pause throws the prefetched messages away and a resume fetches them again, which
        // cost about half the CPU per message in bench/src/agent-vs-handwritten.ts.
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
  }

  /** The client itself: a transactional producer sends offsets with its group's metadata. */
  get client(): KafkaJS.Consumer {
    return this.#client;
  }

  seek(offsets: TopicPartitionOffset[]): void {
    if (this.#closed) return;
    for (const { topic, partition, offset } of offsets) {
      if (!this.#held.has(partitionKey(topic, partition))) continue;
      ignoreStateError(() => this.#client.seek({ topic, partition, offset: String(offset) }));
    }
  }

  async subscribe(topics: string[]): Promise<void> {
    if (this.#closed) return;
    this.#topics = topics;
    try {
      await this.#client.subscribe({ topics, replace: true });
    } catch (error) {
      throw await this.#explain(error, 'Read', topics.join(','));
    }
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0 || this.#closed) return;
    try {
      await this.#client.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })),
      );
    } catch (error) {
      throw await this.#explain(error, 'Read', this.#options.groupId);
    }
  }

  pause(partitions: TopicPartition[], reason: PauseReason = 'manual'): void {
    const started = this.#pauses.pause(
      partitions.filter(({ topic, partition }) => this.#held.has(partitionKey(topic, partition))),
      reason,
    );
    if (started.length > 0 && !this.#closed) ignoreStateError(() => this.#client.pause(byTopic(started)));
  }

  resume(partitions: TopicPartition[], reason: PauseReason = 'manual'): void {
    const free = this.#pauses.resume(partitions, reason);
    if (free.length > 0 && !this.#closed) ignoreStateError(() => this.#client.resume(byTopic(free)));
  }

  paused(): Array<TopicPartition & { reasons: PauseReason[] }> {
    return this.#pauses.list();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Disconnecting revokes the assignment; onRevoked commits what is done before this resolves.
    await this.#client.disconnect().catch(() => {});
    this.#closed = true;
    this.onClose();
  }

  /**
   * The committed offsets of `partitions` (those with none left out), asked until the coordinator
   * answers: read committed, it holds them back while a transaction that carries them is open. Past a
   * minute, or refused for good, the client's own lookup takes over (and reports what it meets).
   */
  async #committed(partitions: TopicPartition[]): Promise<Map<string, number>> {
    const offsets = new Map<string, number>();
    if (partitions.length === 0) return offsets;
    const giveUpAt = Date.now() + COMMITTED_LOOKUP_MS;
    for (;;) {
      try {
        for (const { topic, partition, offset } of await this.#client.committed(partitions, 10_000)) {
          if (offset !== null && Number(offset) >= 0) offsets.set(partitionKey(topic, partition), Number(offset));
        }
        return offsets;
      } catch (error) {
        // Disconnecting: nothing will be read, librdkafka's own lookup is as good.
        if (this.#closed || (error as { code?: unknown }).code === ERR_STATE) return offsets;
        const permanent = (error as { retriable?: unknown }).retriable === false;
        if (permanent || Date.now() >= giveUpAt) {
          this.#transport.logger.warn("could not ask the group's committed offsets; the client looks them up itself", {
            code: 'STREAM_APP_ERR_KAFKA_CONNECTION',
            error: error as Error,
          });
          return offsets;
        }
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /**
   * The client remembers the last offset it delivered of a partition through a revocation, and a pause
   * seeks back to it: paused at assignment (a table's recovery hold) before anything was delivered, a
   * partition this process held before would re-read from there, over what another member committed
   * meanwhile. A seek makes the client forget it: to the committed offset, where the partition starts
   * anyway, or with none committed to the beginning (the reset policy of a consumer that reads from the
   * beginning; the client's seek takes no "end"). Queued now, the seek runs after the assignment and
   * before any pause asked by the handler.
   */
  #forgetLastConsumed(partitions: TopicPartition[], committed: Map<string, number>): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (!this.#delivered.has(key)) continue;
      const offset = committed.get(key) ?? (this.#options.fromBeginning ? OFFSET_BEGINNING : undefined);
      if (offset === undefined) continue;
      ignoreStateError(() => this.#client.seek({ topic, partition, offset: String(offset) }));
    }
  }

  async #explain(error: unknown, operation: string, resource: string): Promise<Error> {
    const explained = explainKafkaError(error, { principal: await this.#transport.principal(), operation, resource });
    return explained instanceof Error ? explained : new Error(String(explained));
  }
}

// Pause and resume throw once a disconnect has begun (ERR__STATE); there is nothing left to pause then.
function ignoreStateError(call: () => unknown): void {
  try {
    call();
  } catch {
    // the consumer is disconnecting
  }
}

function byTopic(partitions: TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  return [...topics].map(([topic, list]) => ({ topic, partitions: list }));
}

function incoming(topic: string, partition: number, message: KafkaJS.KafkaMessage): IncomingMessage {
  const headers: MessageHeaders = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    for (const one of Array.isArray(value) ? value : [value]) addHeader(headers, name, one);
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: (message.key as Buffer | null | undefined) ?? null,
    value: (message.value as Buffer | null | undefined) ?? null,
    headers,
    timestamp: Number(message.timestamp),
  };
}
