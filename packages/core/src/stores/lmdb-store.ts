import { mkdir } from 'node:fs/promises';
import type { Database, RootDatabase } from 'lmdb';
import { CoreError } from '../errors/index.js';
import type { StoreContext, StoreWrite, TableStore } from './store.js';

/**
 * A table on disk in LMDB (`<stateDir>/<app>/<table>`): values as the changelog's bytes under
 * `[partition, key id]`, and each partition's checkpoint in a second database, written in the same
 * transaction as the data it describes, so that the two can never disagree.
 */
export class LmdbStore implements TableStore {
  readonly kind = 'lmdb';
  #root: RootDatabase | undefined;
  #data: Database<Buffer, [number, string]> | undefined;
  #checkpoints: Database<number, number> | undefined;
  #decode: (bytes: Buffer, id: string) => unknown = () => undefined;

  async open(context: StoreContext): Promise<void> {
    this.#decode = context.decode;
    try {
      // Loaded here, not at import: an app without a persistent table never loads the native module.
      const { open } = await import('lmdb');
      await mkdir(context.path, { recursive: true });
      this.#root = open({ path: context.path, maxDbs: 4 });
      this.#data = this.#root.openDB<Buffer, [number, string]>('data', { encoding: 'binary' });
      this.#checkpoints = this.#root.openDB<number, number>('checkpoints', { encoding: 'ordered-binary' });
    } catch (error) {
      throw new CoreError(
        'STREAM_APP_ERR_STORE',
        `table ${context.table}: could not open its LMDB store at ${context.path}: ${(error as Error).message}. ` +
          'Check that the directory is writable; give each worker its own stateDir.',
        { cause: error, details: { table: context.table, path: context.path } },
      );
    }
  }

  get #db(): Database<Buffer, [number, string]> {
    if (!this.#data) throw new CoreError('STREAM_APP_ERR_APP_STATE', 'the LMDB store is not open');
    return this.#data;
  }

  get(partition: number, id: string): unknown {
    const bytes = this.#db.get([partition, id]);
    return bytes === undefined ? undefined : this.#decode(bytes, id);
  }

  *entries(partition: number): Iterable<[string, unknown]> {
    for (const { key, value } of this.#db.getRange({ start: [partition], end: [partition + 1] })) {
      yield [key[1], this.#decode(value, key[1])];
    }
  }

  checkpoint(partition: number): number | undefined {
    return this.#checkpoints?.get(partition);
  }

  async apply(partition: number, writes: ReadonlyMap<string, StoreWrite>, checkpoint: number): Promise<void> {
    const data = this.#db;
    await data.transaction(() => {
      for (const [id, write] of writes) {
        if (write.bytes === null) void data.remove([partition, id]);
        else void data.put([partition, id], write.bytes);
      }
      void this.#checkpoints!.put(partition, checkpoint);
    });
  }

  async clear(partition: number): Promise<void> {
    const data = this.#db;
    await data.transaction(() => {
      for (const key of data.getKeys({ start: [partition], end: [partition + 1] })) void data.remove(key);
      void this.#checkpoints!.remove(partition);
    });
  }

  release(_partition: number): void {
    // Kept on disk: the next owner of this partition on this machine replays only what it missed.
  }

  async close(): Promise<void> {
    const root = this.#root;
    this.#root = this.#data = this.#checkpoints = undefined;
    await root?.close();
  }
}
