import { KafkaJS } from '@confluentinc/kafka-javascript';
import { kafkaClientConfig } from '@stream-app/credentials/kafka';
import { CoreError, StreamAppError } from '../errors/index.js';
import { connectClient, explainKafkaError, KafkaDiagnostics } from '../kafka/kafka-diagnostics.js';
import { ConnectionLog } from '../kafka/connection-log.js';
import { ReadRefusals, type Reads } from '../kafka/read-refusals.js';
import { KafkaAdmin } from './kafka-admin.js';
import { commonConfig, type KafkaTransportOptions } from './kafka-config.js';
import { KafkaConsumer } from './kafka-consumer.js';
import { KafkaPartitionReader } from './kafka-partition-reader.js';
import { KafkaTransactions } from './kafka-transactions.js';
import { SendBatcher } from './send-batcher.js';
import type {
  ConnectOptions,
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  OutgoingMessage,
  PartitionReader,
  TopicPartitionOffset,
  Transport,
} from './transport.js';

export type { KafkaTransportOptions } from './kafka-config.js';

/** The transport over `@confluentinc/kafka-javascript` (librdkafka): one producer, one admin client, the group consumers. */
export class KafkaTransport implements Transport {
  readonly description: { bootstrap: string; mechanism: string };
  readonly admin: KafkaAdmin;
  readonly #options: KafkaTransportOptions;
  readonly #kafka: KafkaJS.Kafka;
  readonly #diagnostics: KafkaDiagnostics;
  #producer: KafkaJS.Producer | undefined;
  #transactional: ConnectOptions['transactional'];
  #transactions: KafkaTransactions | undefined;
  readonly #consumers = new Set<KafkaConsumer>();
  /** What the last group consumer reads, for the warning when the broker refuses it. */
  #reads: Reads | undefined;
  readonly #readers = new Set<PartitionReader>();
  readonly #batcher: SendBatcher;

  constructor(options: KafkaTransportOptions) {
    const sasl = kafkaClientConfig(options.credentials).kafkaJS;
    this.description = {
      bootstrap: options.bootstrap,
      mechanism: sasl.sasl ? sasl.sasl.mechanism.toUpperCase() : sasl.ssl ? 'SSL' : 'PLAINTEXT',
    };
    const log = options.logger.child({ source: 'librdkafka' });
    // librdkafka retries transient trouble itself ("…: retrying"); only what it gives up on is worth a warning.
    const refusals = new ReadRefusals(log, options.principal, () => this.#reads);
    const connections = options.connections ?? new ConnectionLog(log);
    this.#options = { ...options, connections };
    this.#diagnostics = new KafkaDiagnostics((level, message, extra) => {
      const client = (extra as { name?: string } | undefined)?.name;
      if (refusals.handled(message)) return;
      if (connections.handled(message, client)) return;
      const fields = client ? { client } : {};
      if ((level === 'error' || level === 'warn') && !/retrying\)?$/.test(message)) log.warn(message, fields);
      else log.debug(message, fields);
    });
    this.#kafka = new KafkaJS.Kafka(commonConfig(options, this.#diagnostics.logger));
    this.admin = new KafkaAdmin(this.#kafka, this.#diagnostics, options);
    this.#batcher = new SendBatcher(
      async (topic, messages, queued, epoch) => {
        const transactions = this.#transactions;
        // Gathered before an abort: its transaction is gone, and its events are processed again.
        const stale = () => transactions?.isStale(epoch) === true;
        for (;;) {
          if (stale()) {
            options.logger.debug('dropped messages sent in a transaction that aborted', {
              topic,
              messages: messages.length,
            });
            queued();
            return;
          }
          // Not into a transaction an abort is about to end: into the next one.
          if (transactions?.aborting) await transactions.aborting.catch(() => {});
          else await this.#inTransaction();
          // Nothing between these checks and the produce call: no transaction can end in between.
          if (!stale() && !transactions?.aborting && (transactions?.isOpen ?? true)) break;
        }
        const delivered = this.#connected().send({ topic, messages: messages.map(clientMessage) });
        queued();
        try {
          await delivered;
        } catch (error) {
          // Its transaction aborted meanwhile: the failure is that transaction's, not the next one's.
          if (!stale()) throw error;
        }
      },
      (error, topic) => this.#deliveryError(error, topic),
      () => this.#transactions?.epoch ?? 0,
    );
  }

  get transactions(): KafkaTransactions | undefined {
    return this.#transactions;
  }

  async connect(options: ConnectOptions = {}): Promise<void> {
    this.#transactional = options.transactional;
    this.#producer = await this.#connectProducer();
    if (this.#transactional) {
      this.#batcher.resolveWhenQueued();
      this.#transactions = new KafkaTransactions({
        producer: () => this.#connected(),
        clientOf: (consumer) => (consumer as KafkaConsumer).client,
        flush: () => this.#batcher.flush(),
        forgetFailure: () => this.#batcher.forgetFailure(),
        timeoutMs: this.#transactional.timeoutMs,
        replaceProducer: async () => {
          const fenced = this.#producer;
          this.#producer = undefined;
          await fenced?.disconnect().catch(() => {});
          this.#producer = await this.#connectProducer();
        },
      });
    }
  }

  async #connectProducer(): Promise<KafkaJS.Producer> {
    const transactional = this.#transactional;
    const producer = this.#kafka.producer({
      // Idempotence keeps retried batches in order and free of duplicates; acks from all in-sync replicas.
      'enable.idempotence': true,
      'linger.ms': 5,
      // The client's KafkaJS layer sets 5 retries, which an outage of a second or two (the broker
      // restarting, a token the identity provider cannot renew yet) uses up: the delivery then fails and
      // the worker stops. librdkafka's own default leaves the bound to message.timeout.ms (5 minutes; the
      // transaction timeout under exactly once).
      retries: 2_147_483_647,
      ...(transactional
        ? {
            'transactional.id': transactional.id,
            'transaction.timeout.ms': transactional.timeoutMs,
            // librdkafka's rule: a request may not outwait the transaction it belongs to.
            'socket.timeout.ms': Math.min(60_000, transactional.timeoutMs),
          }
        : {}),
    });
    try {
      await connectClient(producer, this.#diagnostics, this.#options.bootstrap);
    } catch (error) {
      throw await this.#producerRefused(error);
    }
    return producer;
  }

  /** A refused transactional id or idempotent write names the ACL to add. */
  async #producerRefused(error: unknown): Promise<unknown> {
    const cause = (error as { cause?: unknown }).cause ?? error;
    const code = (cause as { code?: unknown }).code;
    if (code !== 53 && code !== 31) return error;
    const principal = await this.#options.principal().catch(() => 'the principal');
    return code === 53
      ? explainKafkaError(cause, { principal, operation: 'Write', resource: this.#transactional?.id })
      : explainKafkaError(cause, { principal, operation: 'IdempotentWrite' });
  }

  #connected(): KafkaJS.Producer {
    const producer = this.#producer;
    if (!producer) {
      throw new CoreError(
        'STREAM_APP_ERR_APP_STATE',
        'the app is not connected: call app.start() or app.connect() first',
      );
    }
    return producer;
  }

  /**
   * Exactly once: resolves with a transaction open. Returns synchronously (a resolved promise, no await
   * inside) when one is open, but its caller resumes a microtask later: so the caller's produce call
   * follows a commit's `flush()` only if that flush counted the caller's batch as in flight, which it
   * does, the batch being added to the in-flight set when dispatched.
   */
  #inTransaction(): Promise<void> {
    const transactions = this.#transactions;
    if (!transactions || transactions.isOpen) return Promise.resolve();
    return (async () => {
      while (!transactions.isOpen) await transactions.open();
    })();
  }

  async reader(): Promise<PartitionReader> {
    const reader = await KafkaPartitionReader.open(this.#options);
    this.#readers.add(reader);
    return {
      readToEnd: (partition, from, shouldStop, onMessages) => reader.readToEnd(partition, from, shouldStop, onMessages),
      close: async () => {
        this.#readers.delete(reader);
        await reader.close();
      },
    };
  }

  send(message: OutgoingMessage): Promise<void> {
    return this.#batcher.send(message);
  }

  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  async sendNow(messages: OutgoingMessage[]): Promise<TopicPartitionOffset[]> {
    await this.#inTransaction();
    const producer = this.#connected();
    const byTopic = new Map<string, Array<Omit<OutgoingMessage, 'topic'>>>();
    for (const { topic, ...rest } of messages) {
      const list = byTopic.get(topic) ?? [];
      list.push(rest);
      byTopic.set(topic, list);
    }
    const first: TopicPartitionOffset[] = [];
    await Promise.all(
      [...byTopic].map(async ([topic, list]) => {
        try {
          // The client reports the lowest offset it wrote in each partition.
          for (const report of await producer.send({ topic, messages: list.map(clientMessage) })) {
            first.push({ topic, partition: report.partition, offset: Number(report.baseOffset) });
          }
        } catch (error) {
          throw await this.#deliveryError(error, topic);
        }
      }),
    );
    return first;
  }

  async #deliveryError(error: unknown, topic: string): Promise<StreamAppError> {
    if (error instanceof StreamAppError) return error;
    const explained = explainKafkaError(error, {
      principal: await this.#options.principal().catch(() => 'the principal'),
      operation: 'Write',
      resource: topic,
    });
    return explained instanceof StreamAppError
      ? explained
      : new CoreError('STREAM_APP_ERR_DELIVERY', `could not produce to topic '${topic}': ${(error as Error).message}`, {
          cause: error,
          details: { topic },
        });
  }

  async consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer> {
    this.#reads = { groupId: options.groupId, topics: options.topics };
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
    // A transaction left open (its commit failed) is aborted now rather than when the broker's timeout ends it.
    if (this.#transactions?.isOpen) await this.#transactions.abort().catch(() => {});
    await this.#producer?.disconnect().catch(() => {});
    this.#producer = undefined;
  }
}

/** The client's message shape: its timestamp is a string of epoch milliseconds. */
function clientMessage({ timestamp, ...message }: Omit<OutgoingMessage, 'topic'>) {
  return timestamp === undefined ? message : { ...message, timestamp: String(timestamp) };
}
