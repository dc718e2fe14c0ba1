import { randomUUID } from 'node:crypto';
// The lower-level API is a CommonJS export Node cannot name statically: reach it through the default export.
import kafka, { type KafkaConsumer, type LibrdKafkaError, type Message } from '@confluentinc/kafka-javascript';
import { CoreError } from '../errors/index.js';
import { librdkafkaConfig, type KafkaTransportOptions } from './kafka-config.js';
import type { IncomingMessage, MessageHeaders, PartitionReader, TopicPartition } from './transport.js';

const BATCH = 500;
const TIMEOUT_MS = 30_000;

/**
 * A partition reader over the client's lower-level consumer: `assign` with an offset, never
 * `subscribe`, so it joins no group and commits nothing (its group.id is never used).
 */
export class KafkaPartitionReader implements PartitionReader {
  readonly #consumer: KafkaConsumer;
  readonly #eof = new Map<string, number>();

  private constructor(consumer: KafkaConsumer) {
    this.#consumer = consumer;
    consumer.on('partition.eof', ({ topic, partition, offset }) => this.#eof.set(`${topic}/${partition}`, offset));
  }

  static async open(
    options: KafkaTransportOptions,
    groupId = `stream-app-reader-${randomUUID()}`,
  ): Promise<KafkaPartitionReader> {
    const log = options.logger.child({ source: 'partition-reader' });
    const consumer = new kafka.KafkaConsumer(
      {
        ...librdkafkaConfig(options),
        'group.id': groupId,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'enable.partition.eof': true,
        // A changelog truncated under a reader (compaction, deleted records) goes on from its earliest offset.
        'auto.offset.reset': 'earliest',
      },
      {},
    );
    // What librdkafka logs is read for what happens to the reader's connections (re-authentications).
    const connections = options.connections;
    const name = `partition-reader-${groupId.slice(-8)}`;
    consumer.on('event.log', (entry: { message: string }) => {
      if (!connections?.handled(entry.message, name)) log.debug(entry.message, { client: name });
    });
    // The client emits 'error' for a failed token callback; unobserved, it would crash the process.
    const warn = (error: LibrdKafkaError) => {
      if (!connections?.handled(error.message, name)) log.warn(error.message);
    };
    consumer.on('event.error', warn);
    consumer.on('error' as 'event.error', warn);
    await new Promise<void>((resolve, reject) =>
      consumer.connect({ timeout: TIMEOUT_MS }, (error) =>
        error
          ? reject(
              new CoreError(
                'STREAM_APP_ERR_KAFKA_CONNECTION',
                `the partition reader could not connect to Kafka at ${options.bootstrap}: ${error.message}`,
                { cause: error, retriable: true, details: { bootstrap: options.bootstrap } },
              ),
            )
          : resolve(),
      ),
    );
    consumer.setDefaultConsumeTimeout(200);
    return new KafkaPartitionReader(consumer);
  }

  async readToEnd(
    { topic, partition }: TopicPartition,
    from: number,
    shouldStop: () => boolean,
    onMessages: (messages: IncomingMessage[]) => void,
  ): Promise<number> {
    const high = await new Promise<number>((resolve, reject) =>
      this.#consumer.queryWatermarkOffsets(topic, partition, TIMEOUT_MS, (error, offsets) =>
        error ? reject(error) : resolve(offsets.highOffset),
      ),
    );
    if (from >= high) return from;
    const key = `${topic}/${partition}`;
    this.#eof.delete(key);
    this.#consumer.assign([{ topic, partition, offset: from }]);
    let next = from;
    try {
      // Compaction and transaction markers leave gaps, so the end is the high watermark or the client's end-of-partition event.
      while (next < high && (this.#eof.get(key) ?? -1) < high && !shouldStop()) {
        const messages = await new Promise<Message[]>((resolve, reject) =>
          this.#consumer.consume(BATCH, (error, batch) => (error ? reject(error) : resolve(batch))),
        );
        const mine = messages.filter((m) => m.topic === topic && m.partition === partition && m.offset >= next);
        if (mine.length === 0) continue;
        onMessages(mine.map(incoming));
        next = mine[mine.length - 1]!.offset + 1;
      }
    } finally {
      this.#consumer.unassign();
    }
    if (shouldStop()) return next;
    return Math.max(next, Math.min(high, this.#eof.get(key) ?? next));
  }

  /** The committed offsets of the group this reader was opened with (an OffsetFetch; it joins no group). */
  committed(partitions: TopicPartition[]): Promise<Array<TopicPartition & { offset: number }>> {
    return new Promise((resolve, reject) =>
      this.#consumer.committed(partitions, TIMEOUT_MS, (error, offsets) =>
        error
          ? reject(error)
          : resolve(
              offsets
                .filter(({ offset }) => offset !== undefined && offset >= 0)
                .map(({ topic, partition, offset }) => ({ topic, partition, offset: offset! })),
            ),
      ),
    );
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#consumer.disconnect(() => resolve()));
  }
}

function incoming(message: Message): IncomingMessage {
  const headers: MessageHeaders = {};
  for (const header of message.headers ?? []) {
    for (const [name, value] of Object.entries(header)) addHeader(headers, name, value);
  }
  return {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: typeof message.key === 'string' ? Buffer.from(message.key) : (message.key ?? null),
    value: message.value ?? null,
    headers,
    timestamp: message.timestamp ?? 0,
  };
}

/** Adds one value of a header; a name seen again keeps every value, in order. */
export function addHeader(headers: MessageHeaders, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  const buffer = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  // Own keys only: a header named "constructor" or "__proto__" must not meet Object.prototype.
  const known = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (Array.isArray(known)) known.push(buffer);
  else setOwn(headers, name, known === undefined ? buffer : [known, buffer]);
}

function setOwn(headers: MessageHeaders, name: string, value: Buffer | Buffer[]): void {
  Object.defineProperty(headers, name, { value, writable: true, enumerable: true, configurable: true });
}
