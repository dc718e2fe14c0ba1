import { currentEvent, currentScope } from '../agents/current-event.js';
import type { Clock } from '../clock/clock.js';
import { toMs, type Duration } from '../clock/duration.js';
import { CoreError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import type { StreamEvent } from '../streams/event.js';
import { keyFromId, keyId } from '../tables/key-id.js';
import type { Table, TableOwner } from '../tables/table.js';
import { MinHeap } from './min-heap.js';
import { fixedWindows, slidingWindow, type Window, type WindowKind } from './window.js';
import { parseWindowKey, STREAM_TIME_KEY, windowKey, WindowTable } from './window-table.js';

/** A window kind as a user writes it: sizes in milliseconds or as `'5m'`-style strings. */
export type WindowKindSpec =
  | { type: 'tumbling'; size: Duration }
  | { type: 'hopping'; size: Duration; step: Duration }
  | { type: 'sliding'; size: Duration }
  | { type: 'session'; gap: Duration };

export interface WindowOptions<V, K> {
  /** How long an event may arrive after its window ended and still count in it. Default 0. */
  grace?: Duration;
  /**
   * How long after its end a window is kept (to read with `delta`, `value`) before it is deleted from
   * the store and tombstoned in the changelog. At least `grace`; default `grace` plus one window size (or gap).
   */
  expires?: Duration;
  /** An event too late for every window it falls in: `drop` it (counted; the default) or send it to the dead-letter topic. */
  late?: 'drop' | 'dead-letter';
  /**
   * Event time: the record's timestamp (default; after `through`/`groupBy`, the original record's), a field of the value (epoch milliseconds, a Date or
   * an ISO-8601 string), or a function of the event.
   */
  eventTime?: string | ((event: StreamEvent) => number);
  /**
   * What moves a partition's windows to their close: its stream time (the latest event time written,
   * the default; as in Kafka Streams) or the app's clock (a quiet partition closes its windows too).
   */
  closeOn?: 'stream-time' | 'clock';
  /** Called once for each window that closes, on the worker that owns it, with its final value. */
  onWindowClose?: (key: K, window: Window, value: V) => unknown;
  /** How two values merge: the events inside a sliding window, sessions an event joins. Default: numbers add. */
  combine?: (a: V, b: V) => V;
}

/** What a windowed table needs from its app. */
export interface WindowOwner extends TableOwner {
  readonly clock: Clock;
  readonly sensors: Sensors;
  readonly logger: Logger;
  deadLetterEvent(event: StreamEvent, error: Error, agent: string): void;
}

/** A window of a key, its value and whether it has closed (its value is final). */
export interface WindowValue<V> {
  window: Window;
  value: V;
  closed: boolean;
}

/** One entry of a windowed table's store: a window (a sliding table's: the events of one millisecond). */
interface Stored {
  key: string;
  keyId: string;
  start: number;
  end: number;
  closesAt: number;
  expiresAt: number;
  closed: boolean;
  gone: boolean;
}

/** What a worker knows of one partition it serves: its stream time and its windows, by key and by deadline. */
class PartitionWindows {
  streamTime = -Infinity;
  readonly byKey = new Map<string, Map<string, Stored>>();
  readonly closing = new MinHeap<Stored>((stored) => stored.closesAt);
  readonly expiring = new MinHeap<Stored>((stored) => stored.expiresAt);

  add(stored: Stored): void {
    let windows = this.byKey.get(stored.keyId);
    if (!windows) this.byKey.set(stored.keyId, (windows = new Map()));
    windows.set(stored.key, stored);
    if (!stored.closed) this.closing.push(stored);
    this.expiring.push(stored);
  }

  remove(stored: Stored): void {
    stored.gone = true;
    const windows = this.byKey.get(stored.keyId);
    windows?.delete(stored.key);
    if (windows?.size === 0) this.byKey.delete(stored.keyId);
  }
}

const sumNumbers = (a: unknown, b: unknown): unknown => {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  throw new CoreError(
    'STREAM_APP_ERR_INVALID_OPTIONS',
    `windows of values that are not numbers need a way to merge two of them: give the window { combine: (a, b) => ... }`,
    { details: { option: 'combine' } },
  );
};

/**
 * A table of values per key and window of time, like Faust's windowed tables and Kafka Streams'
 * windowed aggregations: `update(key, fn)` from an agent applies `fn` to every open window the event
 * falls in; reads are relative to the event's time, to now, or to any time. Each partition keeps its
 * stream time (the latest event time written), in its changelog too: a window closes, once, when
 * stream time passes its end plus the grace period, and is deleted when it passes its expiry, after
 * a rebalance or a restart as before it.
 */
export class WindowedTable<V = unknown, K = string> {
  readonly name: string;
  readonly kind: WindowKind;
  readonly grace: number;
  readonly expires: number;
  /** The table behind it: window entries keyed `<start>|<end>|<key>`, and each partition's stream time. */
  readonly table: WindowTable;
  readonly #base: Table<V, K>;
  readonly #owner: WindowOwner;
  readonly #options: WindowOptions<V, K>;
  readonly #combine: (a: V, b: V) => V;
  readonly #partitions = new Map<number, PartitionWindows>();
  /** `onWindowClose` promises not settled yet. */
  readonly #closing = new Set<Promise<unknown>>();
  #ticker: { cancel(): void } | undefined;

  constructor(owner: WindowOwner, base: Table<V, K>, kind: WindowKindSpec, options: WindowOptions<V, K>) {
    if (base.global) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `table '${base.name}' is a global table: windows belong to the partition of their events, use app.table()`,
        { details: { option: 'window' } },
      );
    }
    this.#owner = owner;
    this.#base = base;
    this.#options = options;
    this.name = base.name;
    this.kind = resolveKind(kind);
    this.grace = options.grace === undefined ? 0 : toMs(options.grace, 'grace', { allowZero: true });
    const span = this.kind.type === 'session' ? this.kind.gap : this.kind.size;
    this.expires =
      options.expires === undefined ? this.grace + span : toMs(options.expires, 'expires', { allowZero: true });
    if (this.expires < this.grace) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `table '${base.name}': expires (${this.expires} ms) is shorter than grace (${this.grace} ms): a window would be deleted before it closes`,
        { details: { option: 'expires' } },
      );
    }
    for (const [option, allowed] of [
      ['late', ['drop', 'dead-letter']],
      ['closeOn', ['stream-time', 'clock']],
    ] as const) {
      const value = options[option];
      if (value !== undefined && !(allowed as readonly string[]).includes(value)) {
        throw new CoreError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `table '${base.name}': ${option} must be ${allowed.map((one) => `'${one}'`).join(' or ')}, got ${JSON.stringify(value)}`,
          { details: { option } },
        );
      }
    }
    this.#combine = (options.combine ?? sumNumbers) as (a: V, b: V) => V;
    this.table = new WindowTable(owner, base.name, base.options as never, {
      activated: (partition) => this.#activated(partition),
      deactivated: (partition) => this.#partitions.delete(partition),
      beforeFlush: () => this.closesSettled(),
      closed: () => this.#ticker?.cancel(),
    });
    base.replacedBy = this.table as unknown as Table<unknown, unknown>;
  }

  /** The windowed table itself (what the table manager recovers and flushes). */
  get backing(): Table<unknown, unknown> {
    return this.table as unknown as Table<unknown, unknown>;
  }

  // ── writes ───────────────────────────────────────────────────────────────

  /**
   * Applies `fn` to the key's value in every window the current event falls in (its default when the
   * window is new), like Faust's `table[key] += 1`. A window that closed already is left alone; an
   * event too late for all of its windows is dropped or dead-lettered (option `late`).
   */
  update(key: K, fn: (value: V) => V): void {
    const event = currentEvent();
    if (!event) {
      throw new CoreError(
        'STREAM_APP_ERR_TABLE_WRITE',
        `windowed table '${this.name}' was written outside an agent: a window belongs to the time and partition of the event being processed`,
        { details: { table: this.name } },
      );
    }
    if (this.#owner.checkWrite(this.backing, event) === 'drop') return;
    const time = this.#eventTime(event);
    if (time === undefined) return;
    const partition = event.partition;
    const state = this.#state(partition);
    const streamTime = Math.max(state.streamTime, this.#closeOnClock ? this.#owner.clock.now() : time);
    const id = keyId(key, this.#base.keyCodec);
    const wrote =
      this.kind.type === 'session'
        ? this.#updateSession(state, partition, id, time, streamTime, fn)
        : this.#updateWindows(state, partition, id, time, streamTime, fn);
    if (!wrote) this.#late(event, time, streamTime);
    this.#advance(partition, state, streamTime);
  }

  /** Sets the key's value in every open window of the current event. */
  set(key: K, value: V): void {
    this.update(key, () => value);
  }

  /** When a stored entry closes (its window is final) and expires (is deleted): one rule for writes and recoveries. */
  #deadlines(start: number, end: number): { closesAt: number; expiresAt: number } {
    const kind = this.kind;
    switch (kind.type) {
      case 'session':
        return { closesAt: end + kind.gap + this.grace, expiresAt: end + kind.gap + this.expires };
      case 'sliding':
        // A bucket's own window closes with it; the bucket is read by later windows until the last that holds it expires.
        return { closesAt: end + this.grace, expiresAt: start + kind.size + this.expires };
      default:
        return { closesAt: end + this.grace, expiresAt: end + this.expires };
    }
  }

  /** The value `fn` makes of `current` (the default in a new window); it must make one. */
  #apply(fn: (value: V) => V, current: V | undefined): V {
    const value = fn(current === undefined ? (this.#base.options.default?.() as V) : current);
    if (value === undefined || value === null) {
      throw new CoreError(
        'STREAM_APP_ERR_TABLE_WRITE',
        `windowed table '${this.name}': update's function returned ${String(value)}; return the window's new value`,
        { details: { table: this.name } },
      );
    }
    return value;
  }

  #updateWindows(
    state: PartitionWindows,
    partition: number,
    id: string,
    time: number,
    streamTime: number,
    fn: (value: V) => V,
  ): boolean {
    const kind = this.kind as Exclude<WindowKind, { type: 'session' }>;
    const windows =
      kind.type === 'sliding'
        ? [{ start: time, end: time + 1 }] // the bucket of this millisecond: sliding windows read across them
        : fixedWindows(kind.size, kind.type === 'hopping' ? kind.step : kind.size, time);
    let wrote = false;
    for (const { start, end } of windows) {
      const { closesAt, expiresAt } = this.#deadlines(start, end);
      // A sliding bucket counts while any window that holds it may still be open: until `size` after it.
      const openUntil = kind.type === 'sliding' ? start + kind.size + this.grace : closesAt;
      if (openUntil <= streamTime) continue;
      const key = windowKey(start, end, id);
      const tableId = keyId(key, this.table.keyCodec); // once: hashing a long key string is most of a lookup
      const current = this.table.getIn(partition, key, tableId) as V | undefined;
      this.table.writeTo(partition, key, this.#apply(fn, current), tableId);
      wrote = true;
      if (state.byKey.get(id)?.has(key)) continue;
      // A late sliding bucket counts in later windows; its own window closed already and is not announced.
      const closed = closesAt <= streamTime;
      state.add({ key, keyId: id, start, end, closesAt, expiresAt, closed, gone: false });
      // On the clock the stream time is written only when it matters: a recovery must know this one closed.
      if (closed && this.#closeOnClock) this.table.writeTo(partition, STREAM_TIME_KEY, streamTime);
    }
    return wrote;
  }

  /**
   * Joins the event to the open sessions of its key at most `gap` away (merging them when it bridges
   * two). A closed session is final: an event near it starts a session of its own.
   */
  #updateSession(
    state: PartitionWindows,
    partition: number,
    id: string,
    time: number,
    streamTime: number,
    fn: (value: V) => V,
  ): boolean {
    const gap = (this.kind as { gap: number }).gap;
    const joined = [...(state.byKey.get(id)?.values() ?? [])].filter(
      (session) => !session.closed && time >= session.start - gap && time <= session.end - 1 + gap,
    );
    const start = Math.min(time, ...joined.map((session) => session.start));
    const end = Math.max(time + 1, ...joined.map((session) => session.end));
    const { closesAt, expiresAt } = this.#deadlines(start, end);
    if (closesAt <= streamTime) return false;
    let value: V | undefined;
    for (const session of joined) {
      const one = this.table.getIn(partition, session.key) as V;
      value = value === undefined ? one : this.#combine(value, one);
    }
    const key = windowKey(start, end, id);
    const merged = this.#apply(fn, value);
    for (const session of joined) {
      if (session.key === key) continue;
      this.table.writeTo(partition, session.key, undefined);
      state.remove(session);
    }
    this.table.writeTo(partition, key, merged);
    if (!state.byKey.get(id)?.has(key)) {
      state.add({ key, keyId: id, start, end, closesAt, expiresAt, closed: false, gone: false });
    }
    return true;
  }

  #late(event: StreamEvent, time: number, streamTime: number): void {
    this.#owner.sensors.emit('onLateEvent', {
      table: this.name,
      topic: event.topic,
      partition: event.partition,
      offset: event.offset,
      eventTime: time,
      streamTime,
    });
    const error = new CoreError(
      'STREAM_APP_ERR_LATE_EVENT',
      `event at ${new Date(time).toISOString()} is too late for table '${this.name}': every window it falls in closed ` +
        `(stream time ${new Date(streamTime).toISOString()}, grace ${this.grace} ms). Give the window a longer { grace } to count such events.`,
      { details: { table: this.name, eventTime: time, streamTime } },
    );
    if (this.#options.late === 'dead-letter') {
      this.#owner.deadLetterEvent(event, error, currentScope()?.agent.name ?? 'unknown');
    } else {
      this.#owner.logger.debug('late event dropped', { table: this.name, eventTime: time, streamTime });
    }
  }

  // ── reads ────────────────────────────────────────────────────────────────

  /** The windows of `key`, to read relative to the event, to now, or to any time. */
  get(key: K): WindowSet<V> {
    return new WindowSet<V>(this as unknown as WindowedTable<V, unknown>, key);
  }

  /** Keys with at least one window, in the partitions this worker holds. */
  *keys(): IterableIterator<K> {
    for (const partition of this.table.activePartitions) {
      for (const id of this.#partitions.get(partition)?.byKey.keys() ?? []) {
        yield keyFromId(id, this.#base.keyCodec) as K;
      }
    }
  }

  /** A partition's stream time (undefined before its first event). */
  streamTime(partition: number): number | undefined {
    const time = this.#partitions.get(partition)?.streamTime;
    return time === undefined || time === -Infinity ? undefined : time;
  }

  /** @internal The value of the key's window holding `time`, or the default. */
  valueAt(key: unknown, time: number): V {
    const found = this.#find(key);
    const fallback = () => this.#base.options.default?.() as V;
    if (!found) return fallback();
    const { partition, windows } = found;
    const kind = this.kind;
    if (kind.type === 'sliding') {
      return this.#slidingValue(partition, [...windows.values()], slidingWindow(kind.size, time)) ?? fallback();
    }
    // Of the hopping windows holding `time`, the one that opened last.
    const size = kind.type === 'session' ? 0 : kind.size;
    const step = kind.type === 'hopping' ? kind.step : size;
    if (kind.type === 'session') {
      for (const stored of windows.values()) {
        if (stored.start <= time && time < stored.end) return this.table.getIn(partition, stored.key) as V;
      }
      return fallback();
    }
    const start = Math.floor(time / step) * step;
    const value = this.table.getIn(partition, windowKey(start, start + size, keyId(key, this.#base.keyCodec)));
    return value === undefined ? fallback() : (value as V);
  }

  /** @internal Every window of the key, oldest first. */
  windowsOf(key: unknown): WindowValue<V>[] {
    const found = this.#find(key);
    if (!found) return [];
    const { partition, windows } = found;
    const all = [...windows.values()].sort((a, b) => a.start - b.start || a.end - b.end);
    return all.map((stored) => {
      const window = this.#announced(stored);
      const value =
        this.kind.type === 'sliding'
          ? this.#slidingValue(partition, all, window)!
          : (this.table.getIn(partition, stored.key) as V);
      return { window, value, closed: stored.closed };
    });
  }

  /** @internal The time an event's reads are relative to. */
  timeOf(event: StreamEvent): number {
    return this.#eventTime(event, false)!;
  }

  /** @internal */
  get clock(): Clock {
    return this.#owner.clock;
  }

  /** The key's windows, in the event's partition when in an agent, else in whichever held partition has them. */
  #find(key: unknown): { partition: number; windows: Map<string, Stored> } | undefined {
    const id = keyId(key, this.#base.keyCodec);
    const event = currentEvent();
    const partitions = event ? [event.partition] : this.table.activePartitions;
    for (const partition of partitions) {
      const windows = this.#partitions.get(partition)?.byKey.get(id);
      if (windows) return { partition, windows };
    }
    return undefined;
  }

  /** The events of a sliding window: the buckets of its key within it, combined. */
  #slidingValue(partition: number, buckets: Stored[], window: Window): V | undefined {
    let value: V | undefined;
    for (const bucket of buckets) {
      if (bucket.gone || bucket.start < window.start || bucket.start >= window.end) continue;
      const one = this.table.getIn(partition, bucket.key) as V;
      value = value === undefined ? one : this.#combine(value, one);
    }
    return value;
  }

  /** The window a stored entry stands for: a sliding bucket's is the window that ends with it. */
  #announced(stored: Stored): Window {
    return this.kind.type === 'sliding'
      ? slidingWindow(this.kind.size, stored.start)
      : { start: stored.start, end: stored.end };
  }

  // ── time: closing and expiring ───────────────────────────────────────────

  get #closeOnClock(): boolean {
    return this.#options.closeOn === 'clock';
  }

  #eventTime(event: StreamEvent, rejectBad = true): number | undefined {
    const source = this.#options.eventTime;
    let time: unknown = event.eventTime;
    let raw: unknown = time;
    if (typeof source === 'function') raw = time = source(event);
    else if (typeof source === 'string') {
      raw = (event.value as { [name: string]: unknown } | null)?.[source];
      time = raw instanceof Date ? raw.getTime() : typeof raw === 'string' ? Date.parse(raw) : raw;
    }
    if (typeof time === 'number' && Number.isFinite(time)) return Math.floor(time);
    const error = new CoreError(
      'STREAM_APP_ERR_EVENT_TIME',
      `table '${this.name}' found no event time in ${event.topic}/${event.partition}@${event.offset}: ` +
        (typeof source === 'string'
          ? `field '${source}' is ${JSON.stringify(raw ?? null)}; it must be epoch milliseconds, a Date or an ISO-8601 string`
          : `got ${JSON.stringify(raw ?? null)}; eventTime must give epoch milliseconds`),
      { details: { table: this.name } },
    );
    if (!rejectBad) throw error;
    this.#owner.deadLetterEvent(event, error, currentScope()?.agent.name ?? 'unknown');
    return undefined;
  }

  #state(partition: number): PartitionWindows {
    let state = this.#partitions.get(partition);
    if (!state) this.#partitions.set(partition, (state = new PartitionWindows()));
    return state;
  }

  /**
   * Moves a partition's stream time on: windows it passed close (once), those past their expiry are
   * deleted. The stream time goes to the changelog with them (on the clock: only when something closed
   * or expired, which is all a recovery needs to know).
   */
  #advance(partition: number, state: PartitionWindows, streamTime: number): void {
    if (streamTime <= state.streamTime) return;
    state.streamTime = streamTime;
    let changed = !this.#closeOnClock;
    for (let next = state.closing.peek(); next && next.closesAt <= streamTime; next = state.closing.peek()) {
      state.closing.pop();
      if (next.gone || next.closed) continue;
      next.closed = true;
      changed = true;
      this.#close(partition, state, next);
    }
    for (let next = state.expiring.peek(); next && next.expiresAt <= streamTime; next = state.expiring.peek()) {
      state.expiring.pop();
      if (next.gone) continue;
      this.table.writeTo(partition, next.key, undefined);
      state.remove(next);
      changed = true;
    }
    if (changed) this.table.writeTo(partition, STREAM_TIME_KEY, streamTime);
  }

  #close(partition: number, state: PartitionWindows, stored: Stored): void {
    const onClose = this.#options.onWindowClose;
    if (!onClose) return;
    const window = this.#announced(stored);
    const failed = (error: unknown) =>
      this.#owner.logger.error('onWindowClose threw; the window stays closed', {
        code: 'STREAM_APP_ERR_WINDOW_CLOSE',
        table: this.name,
        window: `${new Date(window.start).toISOString()}/${new Date(window.end).toISOString()}`,
        error: error as Error,
      });
    try {
      const value =
        this.kind.type === 'sliding'
          ? this.#slidingValue(partition, [...(state.byKey.get(stored.keyId)?.values() ?? [])], window)!
          : (this.table.getIn(partition, stored.key) as V);
      const result = onClose(keyFromId(stored.keyId, this.#base.keyCodec) as K, window, value);
      if (result instanceof Promise) {
        // Awaited before the next flush, so that what it sends is flushed before the offsets behind it are committed.
        const settled = result.catch(failed).finally(() => this.#closing.delete(settled));
        this.#closing.add(settled);
      }
    } catch (error) {
      failed(error);
    }
  }

  /**
   * @internal Resolves when the `onWindowClose` promises made so far have settled (before each flush),
   * or after 10 s of real time: a close that hangs, or awaits a commit itself, must not hold every commit.
   */
  async closesSettled(): Promise<void> {
    if (this.#closing.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all([...this.#closing]).then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!settled) {
      this.#owner.logger.error('onWindowClose promises still pending after 10 s; flushing without them', {
        code: 'STREAM_APP_ERR_WINDOW_CLOSE',
        table: this.name,
        pending: this.#closing.size,
      });
    }
  }

  /** A partition recovered here: its windows are indexed from the store, and whatever time passed meanwhile is applied. */
  #activated(partition: number): void {
    const state = new PartitionWindows();
    this.#partitions.set(partition, state);
    const found: Stored[] = [];
    for (const [key, value] of this.table.entriesIn(partition)) {
      if (key === STREAM_TIME_KEY) {
        state.streamTime = value as number;
        continue;
      }
      const parsed = parseWindowKey(key);
      if (!parsed) continue;
      const { start, end, keyId: id } = parsed;
      const { closesAt, expiresAt } = this.#deadlines(start, end);
      found.push({ key, keyId: id, start, end, closesAt, expiresAt, closed: false, gone: false });
    }
    // What closed before the stream time that was written with them was announced by the last owner.
    for (const stored of found) {
      stored.closed = stored.closesAt <= state.streamTime;
      state.add(stored);
    }
    const streamTime = state.streamTime;
    state.streamTime = -Infinity;
    this.#advance(partition, state, this.#closeOnClock ? Math.max(streamTime, this.#owner.clock.now()) : streamTime);
    if (this.#closeOnClock) this.#ticker ??= this.#owner.clock.setInterval(() => this.#tick(), CLOCK_TICK_MS);
  }

  #tick(): void {
    const now = this.#owner.clock.now();
    for (const [partition, state] of this.#partitions) {
      if (this.table.isActive(partition)) this.#advance(partition, state, now);
    }
  }

  toString(): string {
    return `WindowedTable(${this.name}, ${this.kind.type})`;
  }
}

/** How often windows closing on the clock are looked at. */
const CLOCK_TICK_MS = 1_000;
/** How long a flush waits for `onWindowClose` promises. */
const CLOSE_WAIT_MS = 10_000;

/** The windows of one key of a windowed table, like Faust's `table[key].current()` & co. */
export class WindowSet<V> {
  readonly #table: WindowedTable<V, unknown>;
  readonly #key: unknown;

  constructor(table: WindowedTable<V, unknown>, key: unknown) {
    this.#table = table;
    this.#key = key;
  }

  /** The value in the window of the event being processed (its event time). */
  current(): V {
    return this.#table.valueAt(this.#key, this.#eventTime('current()'));
  }

  /** The value in the window holding the app clock's now. */
  now(): V {
    return this.#table.valueAt(this.#key, this.#table.clock.now());
  }

  /** The value in the window holding the event's time minus `ms` (`delta('5m')`: five minutes before the event). */
  delta(ms: Duration): V {
    return this.#table.valueAt(this.#key, this.#eventTime('delta()') - toMs(ms, 'delta', { allowZero: true }));
  }

  /** The value in the window holding `time` (epoch milliseconds or a Date). */
  at(time: number | Date): V {
    return this.#table.valueAt(this.#key, typeof time === 'number' ? time : time.getTime());
  }

  /** Every window the key has (closed ones until they expire), oldest first. */
  value(): WindowValue<V>[] {
    return this.#table.windowsOf(this.#key);
  }

  #eventTime(what: string): number {
    const event = currentEvent();
    if (!event) {
      throw new CoreError(
        'STREAM_APP_ERR_WINDOW_READ',
        `${what} of table '${this.#table.name}' reads relative to the event being processed, and there is none here: call it from an agent, or use now() or at(time)`,
        { details: { table: this.#table.name } },
      );
    }
    return this.#table.timeOf(event);
  }
}

function resolveKind(kind: WindowKindSpec): WindowKind {
  switch (kind.type) {
    case 'tumbling':
      return { type: 'tumbling', size: toMs(kind.size, 'size') };
    case 'hopping': {
      const size = toMs(kind.size, 'size');
      const step = toMs(kind.step, 'step');
      if (step > size) {
        throw new CoreError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `a hopping window's step (${step} ms) is longer than its size (${size} ms): events between windows would count nowhere`,
          { details: { option: 'step' } },
        );
      }
      return { type: 'hopping', size, step };
    }
    case 'sliding':
      return { type: 'sliding', size: toMs(kind.size, 'size') };
    case 'session':
      return { type: 'session', gap: toMs(kind.gap, 'gap') };
  }
}
