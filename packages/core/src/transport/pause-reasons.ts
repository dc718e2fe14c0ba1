import type { PauseReason } from '../sensors/sensor.js';
import { partitionKey, type TopicPartition } from './transport.js';

/**
 * Why each partition is paused. Backpressure and recovery pause the same partitions for different
 * reasons; one resuming must not resume the other's, so a partition runs again only when none is left.
 */
export class PauseReasons {
  readonly #paused = new Map<string, { partition: TopicPartition; reasons: Set<PauseReason> }>();

  /** Adds the reason; returns the partitions that were running until now (to pause in the client). */
  pause(partitions: TopicPartition[], reason: PauseReason): TopicPartition[] {
    const started: TopicPartition[] = [];
    for (const partition of partitions) {
      const key = partitionKey(partition.topic, partition.partition);
      const entry = this.#paused.get(key);
      if (entry) entry.reasons.add(reason);
      else {
        this.#paused.set(key, { partition, reasons: new Set([reason]) });
        started.push(partition);
      }
    }
    return started;
  }

  /** Removes the reason; returns the partitions left with no reason (to resume in the client). */
  resume(partitions: TopicPartition[], reason: PauseReason): TopicPartition[] {
    const free: TopicPartition[] = [];
    for (const partition of partitions) {
      const key = partitionKey(partition.topic, partition.partition);
      const entry = this.#paused.get(key);
      if (!entry || !entry.reasons.delete(reason) || entry.reasons.size > 0) continue;
      this.#paused.delete(key);
      free.push(partition);
    }
    return free;
  }

  isPaused(topic: string, partition: number): boolean {
    return this.#paused.has(partitionKey(topic, partition));
  }

  /** Revoked partitions: their pauses end (the consumer resumes them in the client). */
  forget(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#paused.delete(partitionKey(topic, partition));
  }

  list(): Array<TopicPartition & { reasons: PauseReason[] }> {
    return [...this.#paused.values()].map(({ partition, reasons }) => ({ ...partition, reasons: [...reasons] }));
  }
}
