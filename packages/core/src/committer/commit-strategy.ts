import type { Consumer, TopicPartitionOffset, Transport, TransactionPort } from '../transport/transport.js';

/**
 * How finished offsets become committed. At least once: flush what was sent, then commit the
 * offsets behind it. Exactly once: commit the transaction holding what was sent, with the offsets.
 */
export interface CommitStrategy {
  readonly name: 'at_least_once' | 'exactly_once';
  commit(offsets: TopicPartitionOffset[], consumer: Consumer): Promise<void>;
}

export class AtLeastOnce implements CommitStrategy {
  readonly name = 'at_least_once';
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async commit(offsets: TopicPartitionOffset[], consumer: Consumer): Promise<void> {
    // What the events behind these offsets produced is durable before they count as done.
    await this.#transport.flush();
    await consumer.commit(offsets);
  }
}

/**
 * One transaction per commit: the agents' output, the tables' changelog records and the consumed
 * offsets become visible together or not at all. The committer runs it at a barrier (no event in
 * progress), and aborts and rewinds when it fails.
 */
export class ExactlyOnce implements CommitStrategy {
  readonly name = 'exactly_once';
  readonly transactions: TransactionPort;

  constructor(transactions: TransactionPort) {
    this.transactions = transactions;
  }

  commit(offsets: TopicPartitionOffset[], consumer: Consumer): Promise<void> {
    return this.transactions.commit(offsets, consumer);
  }
}
