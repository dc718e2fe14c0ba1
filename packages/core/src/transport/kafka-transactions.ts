import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { CoreError } from '../errors/index.js';
import type { Consumer, TopicPartitionOffset, TransactionPort } from './transport.js';

/** What the transactions need of the transport around them. */
export interface TransactionParts {
  producer(): KafkaJS.Producer;
  /** The client of the group consumer, whose group generation fences a zombie's offsets (KIP-447). */
  clientOf(consumer: Consumer): KafkaJS.Consumer;
  /** Waits for the deliveries of what was sent so far; rejects with the first failed one. */
  flush(): Promise<void>;
  /** Forgets a failed delivery: its transaction is aborted, so it is sent again when its events are processed again. */
  forgetFailure(): void;
  /** Closes the fenced producer and connects a new one with the same transactional id. */
  replaceProducer(): Promise<void>;
  /** The transaction timeout: how long a commit whose outcome is unknown is retried. */
  timeoutMs: number;
}

/**
 * The transactions of the transport's producer. A send checks `isOpen` (and awaits `open()` until it
 * holds) synchronously before its produce call; a commit or an abort closes the door while it runs,
 * and sends that come meanwhile wait for the next transaction.
 */
export class KafkaTransactions implements TransactionPort {
  readonly #parts: TransactionParts;
  #open = false;
  #opening: Promise<void> | undefined;
  /** Set while a commit or abort runs: new transactions begin after it. */
  #ending: Promise<void> | undefined;
  /**
   * Moves on each time a commit closes the door, or an abort begins without one. A batch of sends carries
   * the epoch it was gathered in; an abort makes those gathered before its transaction's door closed
   * stale (`isStale`), and the transport drops them even when the client would get them only afterwards
   * (they waited at the door, or a failed flush left them in flight): let into the next transaction, they
   * were committed with no offsets (a woken zombie's output, next to the new owner's). Sends gathered
   * while a commit runs are not stale: they wait for the next transaction, also when that commit fails.
   */
  epoch = 0;
  #staleBelow = 0;
  /** The epoch at which the last commit closed the door, while its failure waits for the abort. */
  #failedAt: number | undefined;
  /** Set from the moment an abort is asked for: nothing may be produced into the transaction it aborts. */
  aborting: Promise<void> | undefined;
  constructor(parts: TransactionParts) {
    this.#parts = parts;
  }

  /** Whether a batch gathered at `epoch` belonged to a transaction that aborted. */
  isStale(epoch: number): boolean {
    return epoch < this.#staleBelow;
  }

  get isOpen(): boolean {
    return this.#open && !this.#ending;
  }

  /** Resolves when a transaction is open (begun here when none is). */
  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return (this.#opening ??= this.#begin().finally(() => (this.#opening = undefined)));
  }

  async #begin(): Promise<void> {
    while (this.#ending) await this.#ending.catch(() => {});
    if (this.#open) return;
    await this.#parts.producer().transaction();
    this.#open = true;
  }

  async commit(offsets: TopicPartitionOffset[], consumer: Consumer): Promise<void> {
    await this.#opening?.catch(() => {});
    if (!this.#open && offsets.length === 0) return;
    if (!this.#open) await this.open();
    // Before the door closes: what is sent while this waits is in the transaction, and the commit flushes it.
    await this.#parts.flush();
    const closedAt = ++this.epoch;
    this.#failedAt = closedAt;
    await this.#end(async () => {
      const producer = this.#parts.producer();
      if (offsets.length > 0) {
        await producer.sendOffsets({ consumer: this.#parts.clientOf(consumer), topics: byTopic(offsets) });
      }
      // A retriable failure (a timeout, the coordinator moving) leaves the outcome unknown: the coordinator
      // may have prepared the commit, so aborting now could still commit it. Retry until the transaction
      // timeout; past it, the worker stops rather than process the events again.
      const deadline = Date.now() + this.#parts.timeoutMs;
      for (;;) {
        try {
          await producer.commit();
          break;
        } catch (error) {
          if (!(error as { retriable?: boolean }).retriable) throw error;
          if (Date.now() >= deadline) {
            throw new CoreError(
              'STREAM_APP_ERR_TRANSACTION_FAILED',
              `the transaction's commit did not complete within transactionTimeoutMs (${this.#parts.timeoutMs} ms), and its outcome is unknown: ${(error as Error).message}. The worker stops; a restart reads from what committed`,
              { retriable: false, cause: error, details: { timeoutMs: this.#parts.timeoutMs } },
            );
          }
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      this.#open = false;
    });
    this.#failedAt = undefined;
  }

  abort(): Promise<void> {
    // After a failed commit, what was gathered before its door closed; else everything gathered so far.
    this.#staleBelow = this.#failedAt ?? ++this.epoch;
    this.#failedAt = undefined;
    const aborting = this.#abort().finally(() => {
      if (this.aborting === aborting) this.aborting = undefined;
    });
    this.aborting = aborting;
    return aborting;
  }

  async #abort(): Promise<void> {
    await this.#opening?.catch(() => {});
    await this.#end(async () => {
      try {
        if (this.#open) await this.#parts.producer().abort();
      } catch {
        // A fenced or otherwise failed producer cannot abort: a new one with the same id aborts what it left open.
        await this.#parts.replaceProducer();
      }
      this.#open = false;
      this.#parts.forgetFailure();
    });
  }

  async #end(work: () => Promise<void>): Promise<void> {
    while (this.#ending) await this.#ending.catch(() => {});
    const ending = work();
    this.#ending = ending;
    try {
      await ending;
    } finally {
      this.#ending = undefined;
    }
  }
}

function byTopic(
  offsets: TopicPartitionOffset[],
): Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> {
  const topics = new Map<string, Array<{ partition: number; offset: string }>>();
  for (const { topic, partition, offset } of offsets) {
    const list = topics.get(topic) ?? [];
    list.push({ partition, offset: String(offset) });
    topics.set(topic, list);
  }
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}
