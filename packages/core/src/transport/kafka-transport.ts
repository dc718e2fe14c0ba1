import { KafkaJS } from '@confluentinc/kafka-javascript';
import { kafkaClientConfig } from '@stream-app/credentials/kafka';
import { CoreError, StreamAppError } from '../errors/index.js';
import { connectClient, explainKafkaError, KafkaDiagnostics } from '../kafka/kafka-diagnostics.js';
import { KafkaAdmin } from './kafka-admin.js';
import { commonConfig, type KafkaTransportOptions } from './kafka-config.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { KafkaPartitionReader } from './kafka-partition-reader.js';
import type {
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  OutgoingMessage,
  PartitionReader,
  Transport,
} from './transport.js';

export type { KafkaTransportOptions } from './kafka-config.js';

/** Messages for one topic gathered during a tick, and the promise every sender of them holds. */
class PendingBatch {
  readonly messages: KafkaJS.Message[] = [];
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** The transport over `@confluentinc/kafka-javascript` (librdkafka): one producer, one admin client, the group consumers. */
export class KafkaTransport implements Transport {
  readonly description: { bootstrap: string; mechanism: string };
  readonly admin: KafkaAdmin;
  readonly #options: KafkaTransportOptions;
  readonly #kafka: KafkaJS.Kafka;
  readonly #diagnostics: KafkaDiagnostics;
  #producer: KafkaJS.Producer | undefined;
  readonly #consumers = new Set<KafkaConsumer>();
  readonly #readers = new Set<PartitionReader>();
  // Sends are gathered per topic and handed to the client once per tick: one call and one promise per batch.
  #pending = new Map<string, PendingBatch>();
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: StreamAppError | undefined;

  constructor(options: KafkaTransportOptions) {
    this.#options = options;
    const sasl = kafkaClientConfig(options.credentials).kafkaJS;
    this.description = {
      bootstrap: options.bootstrap,
      mechanism: sasl.sasl ? sasl.sasl.mechanism.toUpperCase() : sasl.ssl ? 'SSL' : 'PLAINTEXT',
    };
    const log = options.logger.child({ source: 'librdkafka' });
    // librdkafka retries transient trouble itself ("…: retrying"); only what it gives up on is worth a warning.
    this.#diagnostics = new KafkaDiagnostics((level, message) =>
      (level === 'error' || level === 'warn') && !/retrying\)?$/.test(message) ? log.warn(message) : log.debug(message),
    );
    this.#kafka = new KafkaJS.Kafka(commonConfig(options, this.#diagnostics.logger));
    this.admin = new KafkaAdmin(this.#kafka, this.#diagnostics, options);
  }

  async connect(): Promise<void> {
    const producer = this.#kafka.producer({
      // Idempotence keeps retried batches in order and free of duplicates; acks from all in-sync replicas.
      'enable.idempotence': true,
      'linger.ms': 5,
    });
    await connectClient(producer, this.#diagnostics, this.#options.bootstrap);
    this.#producer = producer;
  }

  async reader(): Promise<PartitionReader> {
    const reader = await KafkaPartitionReader.open(this.#options);
    this.#readers.add(reader);
    return {
      readToEnd: (partition, from, onMessages) => reader.readToEnd(partition, from, onMessages),
      close: async () => {
        this.#readers.delete(reader);
        await reader.close();
      },
    };
  }

  send(message: OutgoingMessage): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    let batch = this.#pending.get(message.topic);
    if (!batch) {
      batch = new PendingBatch();
      this.#pending.set(message.topic, batch);
    }
    batch.messages.push({
      key: message.key,
      value: message.value,
      ...(message.headers ? { headers: message.headers } : {}),
      ...(message.partition === undefined ? {} : { partition: message.partition }),
    });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#dispatch());
    }
    return batch.done;
  }

  #dispatch(): void {
    this.#scheduled = false;
    const batches = this.#pending;
    this.#pending = new Map();
    const producer = this.#producer;
    for (const [topic, batch] of batches) {
      if (!producer) {
        batch.reject(
          new CoreError('STREAM_APP_ERR_APP_STATE', 'the app is not connected: call app.start() or app.connect() first'),
        );
        continue;
      }
      const sent = producer.send({ topic, messages: batch.messages }).then(
        () => batch.resolve(),
        async (error: unknown) => {
          const explained = explainKafkaError(error, {
            principal: await this.#options.principal().catch(() => 'the principal'),
            operation: 'Write',
            resource: topic,
          });
          const failure =
            explained instanceof StreamAppError
              ? explained
              : new CoreError(
                  'STREAM_APP_ERR_DELIVERY',
                  `could not produce to topic '${topic}': ${(error as Error).message}`,
                  { cause: error, details: { topic } },
                );
          this.#failure ??= failure;
          batch.reject(failure);
        },
      );
      this.#inFlight.add(sent);
      void sent.finally(() => this.#inFlight.delete(sent));
    }
  }

  async flush(): Promise<void> {
    if (this.#scheduled) this.#dispatch();
    // Only what was sent before this call: under steady load, waiting for later sends would stall every commit.
    await Promise.all([...this.#inFlight]);
    if (this.#failure) throw this.#failure;
  }

  async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer> {
    const consumer = new KafkaConsumer(this.#kafka, this.#diagnostics, this.#options, options, handlers);
    await consumer.start();
    this.#consumers.add(consumer);
    consumer.onClose = () => this.#consumers.delete(consumer);
    return consumer;
  }

  async close(): Promise<void> {
    for (const consumer of [...this.#consumers]) await consumer.close();
    for (const reader of [...this.#readers]) await reader.close().catch(() => {});
    this.#readers.clear();
    await this.admin.close();
    await this.flush().catch(() => {});
    await this.#producer?.disconnect().catch(() => {});
    this.#producer = undefined;
  }
}
