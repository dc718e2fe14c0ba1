import type { Consumer, TopicPartitionOffset, Transport } from '../transport/transport.js';

/**
 * How finished offsets become committed. At least once: flush what was sent, then commit the
 * offsets behind it. Exactly once will commit a transaction here instead.
 */
export interface CommitStrategy {
  readonly name: string;
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
