/** A message as the transport hands it over: raw bytes, numeric offset. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: { [name: string]: Buffer };
  timestamp: number;
}

export interface OutgoingMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: { [name: string]: Buffer | string };
  partition?: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The next offset to read, as Kafka commits it. */
  offset: number;
}

export interface TopicSpec {
  name: string;
  partitions: number;
  replicas: number;
  config: { [name: string]: string };
}

export interface ConsumerHandlers {
  /** A fetched batch of one partition. Called synchronously, in offset order. */
  onMessages(messages: IncomingMessage[]): void;
  onAssigned(partitions: TopicPartition[]): Promise<void> | void;
  /** Awaited before the partitions are given away: the place to finish and commit their work. */
  onRevoked(partitions: TopicPartition[], lost: boolean): Promise<void> | void;
}

export interface ConsumerOptions {
  groupId: string;
  topics: string[];
  /** Static membership (`group.instance.id`): a restart within the session timeout keeps its partitions. */
  groupInstanceId?: string;
  sessionTimeoutMs?: number;
  fromBeginning: boolean;
}

/**
 * What an App needs from Kafka. `KafkaTransport` is the real one; the test
 * driver in `@stream-app/testing` runs the same App over memory.
 */
export interface Transport {
  /** Where and as whom, for the banner and errors. */
  readonly description: { bootstrap: string; mechanism: string };
  connect(): Promise<void>;
  /** Creates missing topics (when allowed) or fails naming what is missing. */
  declareTopics(specs: TopicSpec[], allowCreate: boolean): Promise<void>;
  send(message: OutgoingMessage): Promise<void>;
  /** Resolves when everything sent so far is acknowledged by the broker, or rejects with the first failure. */
  flush(): Promise<void>;
  consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer>;
  close(): Promise<void>;
}

export interface Consumer {
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  close(): Promise<void>;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
