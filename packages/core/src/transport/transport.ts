import type { PauseReason } from '../sensors/sensor.js';

/** Headers as Kafka has them: a name may repeat, and then every value is kept, in order. */
export interface MessageHeaders {
  [name: string]: Buffer | Buffer[];
}

/** A message as the transport hands it over: raw bytes, numeric offset. */
export interface IncomingMessage {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: MessageHeaders;
  timestamp: number;
}

export interface OutgoingMessage {
  topic: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: { [name: string]: Buffer | string | Array<Buffer | string> };
  partition?: number;
  /** Epoch milliseconds (the record's CreateTime); default: when it is produced. */
  timestamp?: number;
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

/** A partition's first offset and its high watermark (the offset the next message will get). */
export interface PartitionWatermarks {
  partition: number;
  low: number;
  high: number;
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
  /** The consumer's `client.id`: how this worker finds itself among the group's members. */
  clientId?: string;
  topics: string[];
  /** Static membership (`group.instance.id`): a restart within the session timeout keeps its partitions. */
  groupInstanceId?: string;
  sessionTimeoutMs?: number;
  fromBeginning: boolean;
}

/** The long-lived admin client of a transport. */
export interface AdminPort {
  /** Partition counts of those of `topics` that exist (a missing topic is absent from the map). */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /** Creates topics; one that another worker created meanwhile is no error. Fails with a coded error naming the ACL when refused. */
  createTopics(specs: TopicSpec[]): Promise<void>;
  /** Low and high watermarks of every partition of a topic. */
  watermarks(topic: string): Promise<PartitionWatermarks[]>;
  /** A consumer group's committed offsets (partitions it never committed are absent). */
  groupOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]>;
  /** A consumer group's members and what each is assigned; assignments are complete only while it is `stable`. */
  groupMembers(groupId: string): Promise<{ state: 'stable' | 'rebalancing' | 'empty'; members: GroupMember[] }>;
}

export interface GroupMember {
  memberId: string;
  clientId: string;
  partitions: TopicPartition[];
}

/**
 * Reads partitions outside the consumer group (assign, seek, read to the end), for changelog
 * recovery and standbys: nothing is committed and no group is joined.
 */
export interface PartitionReader {
  /**
   * Reads `partition` from offset `from` up to its high watermark at the time of the call, handing
   * batches in offset order to `onMessages`; resolves with the offset after the last one read. Between
   * batches `shouldStop()` can end it early (it then resolves with where it got to).
   */
  readToEnd(
    partition: TopicPartition,
    from: number,
    shouldStop: () => boolean,
    onMessages: (messages: IncomingMessage[]) => void,
  ): Promise<number>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Exactly once: the producer is transactional, with this `transactional.id` and transaction timeout. */
  transactional?: { id: string; timeoutMs: number };
}

/**
 * The producer's transactions (exactly once). What is sent between two commits is one transaction,
 * begun by the first send after a commit or an abort; sends made while a commit or an abort is under
 * way wait for the next transaction.
 */
export interface TransactionPort {
  /** Commits what was sent since the last commit or abort together with the consumer's offsets. */
  commit(offsets: TopicPartitionOffset[], consumer: Consumer): Promise<void>;
  /** Throws away what was sent since the last commit; a fenced producer is replaced by a new one. */
  abort(): Promise<void>;
}

/**
 * What an App needs from Kafka. `KafkaTransport` is the real one; the test driver in
 * `@stream-app/testing` runs the same App over memory.
 */
export interface Transport {
  /** Where and as whom, for the banner and errors. */
  readonly description: { bootstrap: string; mechanism: string };
  connect(options?: ConnectOptions): Promise<void>;
  /** The producer's transactions, when connected with `transactional`. */
  readonly transactions: TransactionPort | undefined;
  /** The admin port (after `connect`). */
  readonly admin: AdminPort;
  /** A new partition reader; close it when done. */
  reader(): Promise<PartitionReader>;
  send(message: OutgoingMessage): Promise<void>;
  /** Resolves when everything sent before this call is acknowledged by the broker, or rejects with the first failure. */
  flush(): Promise<void>;
  /**
   * Sends at once (not gathered per tick) and resolves when the broker has every message, with the
   * lowest offset each partition got: what a table's changelog flush records as its checkpoint.
   */
  sendNow(messages: OutgoingMessage[]): Promise<TopicPartitionOffset[]>;
  consume(options: ConsumerOptions, handlers: ConsumerHandlers): Promise<Consumer>;
  close(): Promise<void>;
}

export interface Consumer {
  /** Replaces the subscription (a topic the app met after it subscribed, e.g. a late `groupBy`). */
  subscribe(topics: string[]): Promise<void>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Reads these partitions again from these offsets (exactly once, after an aborted transaction). */
  seek(offsets: TopicPartitionOffset[]): void;
  /** Pauses for a reason; a partition resumes only when every reason it was paused for is resumed. */
  pause(partitions: TopicPartition[], reason?: PauseReason): void;
  resume(partitions: TopicPartition[], reason?: PauseReason): void;
  /** Partitions paused now, with their reasons. */
  paused(): Array<TopicPartition & { reasons: PauseReason[] }>;
  close(): Promise<void>;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** The first value of a header (a repeated header keeps every value; most readers want one). */
export function firstHeader(headers: MessageHeaders, name: string): Buffer | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
