import { CoreError } from '../errors/index.js';
import { codecNamed, recordCodec, type Codec } from '../codecs/codecs.js';
import { Record, type RecordClass } from '../records/record.js';
import type { OutgoingMessage, TopicSpec } from '../transport/transport.js';

/** A codec, a codec's name (`json`, `string`, `raw`, …) or a Record class (decoded from JSON and validated). */
export type TypeSpec<T = unknown> = Codec<T> | string | RecordClass<T & Record>;

export interface TopicOptions<V = unknown, K = unknown> {
  /** Default `string`. */
  keyType?: TypeSpec<K>;
  /** Default `json`. A Record class decodes and validates every value. */
  valueType?: TypeSpec<V>;
  /** Default: the app's `topicPartitions`. */
  partitions?: number;
  /** Default: the app's `topicReplicationFactor`. */
  replicas?: number;
  /** `retention.ms`. */
  retention?: number;
  /** `cleanup.policy=compact`. */
  compacted?: boolean;
  /** Any other topic configuration, e.g. `{ 'max.message.bytes': '2097152' }`. */
  config?: { [name: string]: string };
  /** Validate Record values (default: the app's `validation`, on). */
  validate?: boolean;
}

export interface TopicMessage<V, K> {
  value: V;
  key?: K;
  headers?: { [name: string]: Buffer | string };
  partition?: number;
  /** The record's timestamp in epoch milliseconds (its event time for windowed tables); default: now. */
  timestamp?: number;
}

/** What a Topic needs from its app. */
export interface TopicOwner {
  readonly topicDefaults: { partitions: number; replicas: number; validate: boolean };
  produce(message: OutgoingMessage): Promise<void>;
}

/** A Kafka topic with typed keys and values, like Faust's `app.topic()`. */
export class Topic<V = unknown, K = unknown> {
  readonly name: string;
  readonly keyCodec: Codec<K>;
  readonly valueCodec: Codec<V>;
  readonly options: TopicOptions<V, K>;
  readonly #owner: TopicOwner;

  constructor(owner: TopicOwner, name: string, options: TopicOptions<V, K> = {}) {
    if (typeof name !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(name)) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `topic name ${JSON.stringify(name)} is not valid: use 1 to 249 letters, digits, '.', '_' or '-'`,
      );
    }
    for (const option of ['partitions', 'replicas', 'retention'] as const) {
      const value = options[option];
      if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
        throw new CoreError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `topic '${name}': ${option} must be a positive integer, got ${String(value)}`,
        );
      }
    }
    this.#owner = owner;
    this.name = name;
    this.options = options;
    const validate = options.validate ?? owner.topicDefaults.validate;
    this.keyCodec = resolveCodec(options.keyType ?? 'string', validate) as Codec<K>;
    this.valueCodec = resolveCodec(options.valueType ?? 'json', validate) as Codec<V>;
  }

  /** Produces one message; resolves when the broker has it. */
  send(message: TopicMessage<V, K>): Promise<void> {
    return this.#owner.produce(this.encode(message));
  }

  encode(message: TopicMessage<V, K>): OutgoingMessage {
    return {
      topic: this.name,
      key: message.key === undefined || message.key === null ? null : this.keyCodec.encode(message.key),
      value: message.value === undefined || message.value === null ? null : this.valueCodec.encode(message.value),
      ...(message.headers ? { headers: message.headers } : {}),
      ...(message.partition === undefined ? {} : { partition: message.partition }),
      ...(message.timestamp === undefined ? {} : { timestamp: message.timestamp }),
    };
  }

  spec(): TopicSpec {
    const config: { [name: string]: string } = { ...this.options.config };
    if (this.options.retention !== undefined) config['retention.ms'] = String(this.options.retention);
    if (this.options.compacted) config['cleanup.policy'] = 'compact';
    return {
      name: this.name,
      partitions: this.options.partitions ?? this.#owner.topicDefaults.partitions,
      replicas: this.options.replicas ?? this.#owner.topicDefaults.replicas,
      config,
    };
  }

  toString(): string {
    return `Topic(${this.name})`;
  }
}

export function resolveCodec(spec: TypeSpec, validate: boolean): Codec {
  if (typeof spec === 'string') return codecNamed(spec);
  if (typeof spec === 'function' && spec.prototype instanceof Record)
    return recordCodec(spec as RecordClass, 'json', { validate });
  if (typeof spec === 'object' && spec !== null && typeof spec.decode === 'function') return spec;
  throw new CoreError(
    'STREAM_APP_ERR_INVALID_OPTIONS',
    'keyType/valueType must be a codec name (json, string, raw), a codec object or a Record class',
  );
}
