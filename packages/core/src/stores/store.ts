/** One write: the value's bytes as the changelog has them (null: deleted), and the value when the writer has it decoded. */
export interface StoreWrite {
  bytes: Buffer | null;
  value?: unknown;
}

/** Everything a store is told about the table it holds. */
export interface StoreContext {
  app: string;
  table: string;
  /** Where persistent stores keep their files: `<stateDir>/<app>/<table>`. */
  path: string;
  /** Bytes of a value (as the changelog has them) back to the value; `id` is its key id. */
  decode(bytes: Buffer, id: string): unknown;
}

/**
 * Where a table keeps its data, partition by partition, keyed by the table's key id (`s<string>`, `n<number>`, or `b<base64 of the encoded key>`).
 * `apply` writes a batch and the partition's checkpoint together: the checkpoint is the changelog
 * offset from which a recovery must read to bring this data up to date, and a store never holds
 * data its checkpoint does not cover.
 */
export interface TableStore {
  readonly kind: string;
  /** Opens the store (files, handles); called once before anything else. */
  open(context: StoreContext): Promise<void>;
  get(partition: number, id: string): unknown;
  /** Every key id and value of a partition. */
  entries(partition: number): Iterable<[string, unknown]>;
  /** The changelog offset to recover this partition from; undefined when the store knows nothing of it. */
  checkpoint(partition: number): number | undefined;
  /** Applies writes and moves the checkpoint, atomically. */
  apply(partition: number, writes: ReadonlyMap<string, StoreWrite>, checkpoint: number): Promise<void> | void;
  /** Forgets a partition's data and checkpoint (a changelog that no longer covers them). */
  clear(partition: number): Promise<void> | void;
  /**
   * The worker no longer holds this partition. A memory store drops it; a persistent one keeps it
   * on disk, so that getting the partition back replays only the changelog's tail.
   */
  release(partition: number): Promise<void> | void;
  close(): Promise<void>;
}
