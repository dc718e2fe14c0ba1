import { KafkaJS } from '@confluentinc/kafka-javascript';
import { kafkaClientConfig, StreamAppError, type Credentials } from '@stream-app/credentials';
import { connectClient, explainKafkaError, KafkaDiagnostics } from '../kafka/kafka-diagnostics.js';
import type { Logger } from '../logging/logger.js';
import type {
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  IncomingMessage,
  OutgoingMessage,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
} from './transport.js';

// librdkafka's rebalance event codes (RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS / __REVOKE_PARTITIONS).
const ASSIGN_PARTITIONS = -175;

export interface KafkaTransportOptions {
  bootstrap: string;
  credentials?: Credentials;
  /** `User:<name>` the broker will see, for errors about ACLs. */
  principal: () => Promise<string>;
  logger: Logger;
  /** librdkafka properties for every client (e.g. `client.id`), below the ones stream-app sets. */
  clientConfig?: { [property: string]: unknown };
}

type KafkaMessage = KafkaJS.KafkaMessage;

/** Messages for one topic gathered during a tick, and the promise every sender of them holds. */
interface PendingBatch {
  messages: KafkaJS.Message[];
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function pendingBatch(): PendingBatch {
  const batch = { messages: [] } as unknown as PendingBatch;
  batch.done = new Promise<void>((resolve, reject) => Object.assign(batch, { resolve, reject }));
  return batch;
}

/** The transport over `@confluentinc/kafka-javascript` (librdkafka). */
export class KafkaTransport implements Transport {
  readonly description: { bootstrap: string; mechanism: string };
  readonly #options: KafkaTransportOptions;
  readonly #kafka: KafkaJS.Kafka;
  readonly #diagnostics: KafkaDiagnostics;
  #producer: KafkaJS.Producer | undefined;
  readonly #consumers = new Set<KafkaConsumer>();
  // Sends are gathered per topic and handed to the client once per tick: one call and one promise per batch.
  #pending = new Map<string, PendingBatch>();
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: StreamAppError | undefined;

  constructor(options: KafkaTransportOptions) {
    this.#options = options;
    const security = kafkaClientConfig(options.credentials);
    this.description = {
      bootstrap: options.bootstrap,
      mechanism: security.kafkaJS.sasl
        ? security.kafkaJS.sasl.mechanism.toUpperCase()
        : security.kafkaJS.ssl
          ? 'SSL'
          : 'PLAINTEXT',
    };
    const log = options.logger.child({ source: 'librdkafka' });
    // librdkafka retries transient trouble itself ("…: retrying"); only what it gives up on is worth a warning.
    this.#diagnostics = new KafkaDiagnostics((level, message) =>
      (level === 'error' || level === 'warn') && !/retrying\)?$/.test(message) ? log.warn(message) : log.debug(message),
    );
    this.#kafka = new KafkaJS.Kafka({
      ...options.clientConfig,
      ...security,
      kafkaJS: { ...security.kafkaJS, brokers: [options.bootstrap], logger: this.#diagnostics.logger },
    } as never);
  }

  async connect(): Promise<void> {
    const producer = this.#kafka.producer({
      // Idempotence keeps retried batches in order and free of duplicates; acks from all in-sync replicas.
      'enable.idempotence': true,
      'linger.ms': 5,
    } as never);
    await connectClient(producer, this.#diagnostics, this.#options.bootstrap);
    this.#producer = producer;
  }

  async declareTopics(specs: TopicSpec[], allowCreate: boolean): Promise<void> {
    const admin = this.#kafka.admin();
    await connectClient(admin, this.#diagnostics, this.#options.bootstrap);
    try {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((spec) => !existing.has(spec.name));
      if (missing.length > 0 && !allowCreate) {
        throw new StreamAppError(
          'STREAM_APP_ERR_TOPIC_MISSING',
          `topic${missing.length > 1 ? 's' : ''} ${missing.map((spec) => `'${spec.name}'`).join(', ')} ` +
            `do${missing.length > 1 ? '' : 'es'} not exist (or ${await this.#options.principal()} may not Describe ${missing.length > 1 ? 'them' : 'it'}), ` +
            'and topicAllowDeclare is false. Create them (kafka-topics.sh --create), grant Describe, or set topicAllowDeclare: true.',
          { details: { topics: missing.map((spec) => spec.name) } },
        );
      }
      if (missing.length > 0) {
        try {
          await admin.createTopics({
            topics: missing.map((spec) => ({
              topic: spec.name,
              numPartitions: spec.partitions,
              replicationFactor: spec.replicas,
              configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
            })),
          });
        } catch (error) {
          // The client reports one error per topic; "already exists" means another worker was quicker.
          const failures = ((error as { errors?: unknown[] }).errors ?? [error]) as Array<{
            code?: number;
            topic?: string;
          }>;
          const real = failures.filter((failure) => failure.code !== 36);
          const first = real[0];
          if (first) {
            const explained = explainKafkaError(first, {
              principal: await this.#options.principal(),
              operation: 'Create',
              resource: first.topic ?? '?',
            });
            if (explained instanceof StreamAppError) throw explained;
            throw new StreamAppError(
              'STREAM_APP_ERR_TOPIC_MISSING',
              `could not create topic '${first.topic ?? '?'}': ${(first as Error).message}. Check its partitions, replicas and config, or create it yourself.`,
              { cause: first, details: { topics: real.map((failure) => failure.topic) } },
            );
          }
        }
      }
      const present = specs.filter((spec) => existing.has(spec.name));
      if (present.length > 0) {
        const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.name) });
        for (const topic of metadata) {
          const spec = present.find((candidate) => candidate.name === topic.name);
          if (spec && topic.partitions.length < spec.partitions) {
            this.#options.logger.warn('topic has fewer partitions than declared', {
              topic: topic.name,
              partitions: topic.partitions.length,
              declared: spec.partitions,
            });
          }
        }
      }
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  send(message: OutgoingMessage): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    let batch = this.#pending.get(message.topic);
    if (!batch) {
      batch = pendingBatch();
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
          new StreamAppError(
            'STREAM_APP_ERR_APP_STATE',
            'the app is not connected: call app.start() or app.connect() first',
          ),
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
              : new StreamAppError(
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
    await this.flush().catch(() => {});
    await this.#producer?.disconnect().catch(() => {});
    this.#producer = undefined;
  }
}

class KafkaConsumer implements Consumer {
  onClose: () => void = () => {};
  readonly #client: KafkaJS.Consumer;
  readonly #diagnostics: KafkaDiagnostics;
  readonly #transport: KafkaTransportOptions;
  readonly #options: ConsumerOptions;
  readonly #handlers: ConsumerHandlers;
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
    this.#client = kafka.consumer({
      kafkaJS: { groupId: options.groupId, fromBeginning: options.fromBeginning, autoCommit: false },
      'partition.assignment.strategy': 'cooperative-sticky',
      ...(options.groupInstanceId ? { 'group.instance.id': options.groupInstanceId } : {}),
      ...(options.sessionTimeoutMs ? { 'session.timeout.ms': options.sessionTimeoutMs } : {}),
      rebalance_cb: async (
        error: { code: number },
        assignment: TopicPartition[],
        fns: { assignmentLost(): boolean },
      ) => {
        const partitions = assignment.map(({ topic, partition }) => ({ topic, partition }));
        if (error.code === ASSIGN_PARTITIONS) await this.#handlers.onAssigned(partitions);
        else await this.#handlers.onRevoked(partitions, fns.assignmentLost());
      },
    } as never);
  }

  async start(): Promise<void> {
    await connectClient(this.#client, this.#diagnostics, this.#transport.bootstrap);
    try {
      await this.#client.subscribe({ topics: this.#options.topics });
    } catch (error) {
      await this.#client.disconnect().catch(() => {});
      throw explainKafkaError(error, {
        principal: await this.#transport.principal(),
        operation: 'Read',
        resource: this.#options.topics.join(','),
      });
    }
    await this.#client.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        if (this.#closed || batch.messages.length === 0) return;
        const { topic, partition } = batch;
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

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0 || this.#closed) return;
    try {
      await this.#client.commitOffsets(
        offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset: String(offset) })),
      );
    } catch (error) {
      throw explainKafkaError(error, {
        principal: await this.#transport.principal(),
        operation: 'Read',
        resource: this.#options.groupId,
      });
    }
  }

  // Both throw once a disconnect has begun; there is nothing left to pause then.
  pause(partitions: TopicPartition[]): void {
    if (!this.#closed) ignoreStateError(() => this.#client.pause(groupByTopic(partitions)));
  }

  resume(partitions: TopicPartition[]): void {
    if (!this.#closed) ignoreStateError(() => this.#client.resume(groupByTopic(partitions)));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Disconnecting revokes the assignment; onRevoked commits what is done before this resolves.
    await this.#client.disconnect().catch(() => {});
    this.#closed = true;
    this.onClose();
  }
}

function ignoreStateError(call: () => unknown): void {
  try {
    call();
  } catch {
    // ERR__STATE: the consumer is disconnecting.
  }
}

function groupByTopic(partitions: TopicPartition[]): Array<{ topic: string; partitions: number[] }> {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  return [...topics].map(([topic, list]) => ({ topic, partitions: list }));
}

function incoming(topic: string, partition: number, message: KafkaMessage): IncomingMessage {
  const headers: { [name: string]: Buffer } = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = Buffer.isBuffer(first) ? first : Buffer.from(String(first));
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
