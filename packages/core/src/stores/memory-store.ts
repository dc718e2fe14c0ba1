import type { StoreContext, StoreWrite, TableStore } from './store.js';

interface MemoryPartition {
  data: Map<string, unknown>;
  checkpoint: number | undefined;
}

/** Decoded values in maps, one per partition: the default store, and the test driver's. */
export class MemoryStore implements TableStore {
  readonly kind = 'memory';
  readonly #partitions = new Map<number, MemoryPartition>();

  #decode: (bytes: Buffer, id: string) => unknown = () => undefined;

  async open(context: StoreContext): Promise<void> {
    this.#decode = context.decode;
  }

  #partition(partition: number): MemoryPartition {
    let found = this.#partitions.get(partition);
    if (!found) {
      found = { data: new Map(), checkpoint: undefined };
      this.#partitions.set(partition, found);
    }
    return found;
  }

  get(partition: number, id: string): unknown {
    return this.#partitions.get(partition)?.data.get(id);
  }

  entries(partition: number): Iterable<[string, unknown]> {
    return this.#partitions.get(partition)?.data.entries() ?? [];
  }

  checkpoint(partition: number): number | undefined {
    return this.#partitions.get(partition)?.checkpoint;
  }

  apply(partition: number, writes: ReadonlyMap<string, StoreWrite>, checkpoint: number): void {
    const target = this.#partition(partition);
    for (const [id, write] of writes) {
      if (write.bytes === null) target.data.delete(id);
      else target.data.set(id, write.value === undefined ? this.#decode(write.bytes, id) : write.value);
    }
    target.checkpoint = checkpoint;
  }

  clear(partition: number): void {
    this.#partitions.delete(partition);
  }

  release(partition: number): void {
    this.#partitions.delete(partition);
  }

  async close(): Promise<void> {
    this.#partitions.clear();
  }
}
