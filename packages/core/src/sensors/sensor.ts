import type { Agent } from '../agents/agent.js';
import type { KafkaConnectionEvent } from '../kafka/connection-log.js';
import type { StreamEvent } from '../streams/event.js';
import type { IncomingMessage, OutgoingMessage, TopicPartition, TopicPartitionOffset } from '../transport/transport.js';

/** A message that went to the dead-letter topic, and why. */
export interface DeadLetterInfo {
  topic: string;
  partition: number;
  offset: number;
  code: string;
  reason: string;
  agent?: string;
}

/** How far a table partition's recovery has read its changelog. */
export interface TableRecoveryProgress {
  table: string;
  partition: number;
  /** Records read so far. */
  read: number;
  /** Offsets between where it started and the high watermark it reads to (compaction may leave fewer records). */
  total: number;
  recordsPerSecond: number;
  done: boolean;
  /** Why it was read: a partition to serve, a standby copy, or a global table's following. */
  purpose: 'recovery' | 'standby' | 'global';
}

/** An event too late for every window of a windowed table it falls in (dropped or dead-lettered). */
export interface LateEventInfo {
  table: string;
  topic: string;
  partition: number;
  offset: number;
  eventTime: number;
  /** The partition's stream time (or the clock, for windows that close on it) when the event came. */
  streamTime: number;
}

/** Why a partition is paused; `manual` when the caller gave no reason. */
export type PauseReason = 'backpressure' | 'recovery' | 'manual' | (string & {});

/**
 * A listener on what the runtime does, like Faust's sensors and kafkajs's instrumentation events.
 * Every hook is optional and called synchronously; metrics, tracing and the test driver are sensors.
 * A hook that throws is logged and never disturbs the stream.
 */
export interface Sensor {
  /** A fetched message, before it is decoded. */
  onMessageReceived?(message: IncomingMessage): void;
  /** An agent is done with an event (`agent` is the one that was; several may read one topic). */
  onEventAcked?(event: StreamEvent, agent: Agent): void;
  /** An agent yielded a value (for the event it was working on). */
  onAgentYield?(agent: Agent, event: StreamEvent | undefined, value: unknown): void;
  /** A message handed to the producer (agents' sinks, sends, dead letters, replies). */
  onSend?(message: OutgoingMessage): void;
  /** Offsets committed, and how long the commit took. */
  onCommit?(offsets: TopicPartitionOffset[], durationMs: number): void;
  /** Exactly once: a transaction was aborted (`error` says why; none when the app stopped mid-event) and its events are read again. */
  onTransactionAborted?(info: { error?: Error; durationMs: number }): void;
  onPartitionsAssigned?(partitions: TopicPartition[]): void;
  onPartitionsRevoked?(partitions: TopicPartition[], lost: boolean): void;
  onPartitionsPaused?(partitions: TopicPartition[], reason: PauseReason): void;
  onPartitionsResumed?(partitions: TopicPartition[], reason: PauseReason): void;
  onDeadLetter?(info: DeadLetterInfo): void;
  /** A bad message skipped under `onBadMessage: 'skip'` (`agent` is never set). */
  onSkipped?(info: DeadLetterInfo): void;
  /** A supervised task (an agent instance) failed and will be restarted after `restartInMs`, or not (undefined). */
  onTaskFailed?(task: string, error: Error, restartInMs: number | undefined): void;
  /** A table partition's recovery from its changelog progressed (`done` on the last call). */
  onTableRecovery?(progress: TableRecoveryProgress): void;
  /** An event came too late for a windowed table (see `late` of its window options). */
  onLateEvent?(info: LateEventInfo): void;
  /** A timer or crontab ran (`error` when it threw; it is restarted with backoff). */
  onTimerRun?(info: { timer: string; durationMs: number; error?: Error }): void;
  /** The credentials' token lifecycle got a new token, or failed to. */
  onTokenRefresh?(info: { ok: boolean; expiresAt?: number; error?: Error }): void;
  /** A Kafka client's connection authenticated, re-authenticated (KIP-368), failed to re-authenticate or dropped. */
  onKafkaConnection?(event: KafkaConnectionEvent): void;
}

type Hook = keyof Sensor;

/** Fans each hook out to every sensor, like Faust's SensorDelegate; a throwing sensor is reported, not propagated. */
export class Sensors {
  readonly #sensors: Sensor[] = [];
  readonly #onError: (error: unknown, hook: string) => void;

  constructor(onError: (error: unknown, hook: string) => void) {
    this.#onError = onError;
  }

  /** Adds a sensor; returns the function that removes it. */
  add(sensor: Sensor): () => void {
    this.#sensors.push(sensor);
    return () => {
      const index = this.#sensors.indexOf(sensor);
      if (index >= 0) this.#sensors.splice(index, 1);
    };
  }

  /** Whether any sensor has this hook (to skip building its arguments on hot paths). */
  has(hook: Hook): boolean {
    return this.#sensors.some((sensor) => sensor[hook] !== undefined);
  }

  emit<H extends Hook>(hook: H, ...args: Parameters<NonNullable<Sensor[H]>>): void {
    for (const sensor of this.#sensors) {
      const fn = sensor[hook] as ((...a: typeof args) => void) | undefined;
      if (!fn) continue;
      try {
        fn.apply(sensor, args);
      } catch (error) {
        this.#onError(error, hook);
      }
    }
  }
}
