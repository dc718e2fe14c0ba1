import { Table, type TableOptions, type TableOwner } from '../tables/table.js';

/** The key of each partition's stream time in a windowed table's store and changelog. */
export const STREAM_TIME_KEY = '~stream-time';
const STREAM_TIME_ID = `s${STREAM_TIME_KEY}`;

/** What a windowed table does when one of its partitions starts or stops being served here. */
export interface WindowTableHooks {
  activated(partition: number): void;
  deactivated(partition: number): void;
  /** Before each flush: what the window closes started is awaited, so that it is flushed with them. */
  beforeFlush(): Promise<void>;
  closed(): void;
}

/**
 * The table behind a windowed table: keyed by `<start>|<end>|<key id>` strings, one entry per
 * window, plus each partition's stream time under `~stream-time` (a number, whatever the value type),
 * so that a recovery knows which windows were closed already.
 */
export class WindowTable extends Table<unknown, string> {
  readonly #hooks: WindowTableHooks;

  constructor(owner: TableOwner, name: string, options: TableOptions<unknown, unknown>, hooks: WindowTableHooks) {
    super(owner, name, { ...options, keyType: 'string' } as TableOptions<unknown, string>);
    this.#hooks = hooks;
  }

  protected override encodeValue(id: string, value: unknown): Buffer {
    return id === STREAM_TIME_ID ? Buffer.from(String(value)) : super.encodeValue(id, value);
  }

  override decodeValue(id: string, bytes: Buffer): unknown {
    return id === STREAM_TIME_ID ? Number(bytes.toString()) : super.decodeValue(id, bytes);
  }

  override activate(partition: number): void {
    super.activate(partition);
    this.#hooks.activated(partition);
  }

  override async deactivate(partition: number): Promise<void> {
    this.#hooks.deactivated(partition);
    await super.deactivate(partition);
  }

  override async flush(
    produce: Parameters<Table<unknown, string>['flush']>[0],
    applyLater = false,
  ): Promise<() => Promise<void>> {
    await this.#hooks.beforeFlush();
    return super.flush(produce, applyLater);
  }

  /** The windows' index is rebuilt from what the store holds: the discarded writes may have opened or closed some. */
  override discardUncommitted(): void {
    super.discardUncommitted();
    for (const partition of this.activePartitions) {
      this.#hooks.deactivated(partition);
      this.#hooks.activated(partition);
    }
  }

  override close(): Promise<void> {
    this.#hooks.closed();
    return super.close();
  }
}

/** A window entry's store key; the key id last, since it may hold any character. */
export function windowKey(start: number, end: number, keyId: string): string {
  return `${start}|${end}|${keyId}`;
}

export function parseWindowKey(key: string): { start: number; end: number; keyId: string } | undefined {
  const first = key.indexOf('|');
  const second = key.indexOf('|', first + 1);
  if (first < 0 || second < 0) return undefined;
  const start = Number(key.slice(0, first));
  const end = Number(key.slice(first + 1, second));
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return { start, end, keyId: key.slice(second + 1) };
}
