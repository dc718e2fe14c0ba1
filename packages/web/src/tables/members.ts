import { membersTopicName, type App, type Logger, type PartitionReader } from '@stream-app/core';

/** What a worker announces on `<app>-members`: where its web server is, and which table partitions it serves. */
export interface Announcement {
  url: string;
  tables: { [table: string]: number[] };
  /** When it was announced (ms): of two workers claiming a partition, the later one holds it. */
  at: number;
}

const ANNOUNCE_DELAY_MS = 100;
/** Announced again this often, changed or not: an announcement a transaction abort dropped comes back. */
const HEARTBEAT_MS = 30_000;
/** How long a read of the members topic answers lookups before it is read again. */
const FRESH_MS = 2_000;
/** The longest a stop waits to withdraw (a broker that is down must not hold the worker's stop). */
const WITHDRAW_MS = 3_000;

/**
 * The app's workers as they announce themselves on a compacted one-partition topic, keyed by their web
 * URL (a worker restarted at the same address replaces its record): how a worker finds the one that
 * serves a table key, with Kafka as the only shared service. Announcements are sent apart from the
 * agents' output (`sendNow`), so that one that fails is logged and never fails a commit.
 */
export class Members {
  readonly #app: App;
  readonly #logger: Logger;
  readonly #topic: string;
  #url: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #last: string | undefined;
  #announced: Promise<void> = Promise.resolve();
  #reader: Promise<PartitionReader> | undefined;
  #known: { at: number; members: Map<string, Announcement> } | undefined;
  #reading: Promise<Map<string, Announcement>> | undefined;

  constructor(app: App, logger: Logger) {
    this.#app = app;
    this.#logger = logger;
    this.#topic = membersTopicName(app.id);
  }

  start(url: string): void {
    this.#url = url;
    this.changed();
    this.#heartbeat = setInterval(() => this.#queue(true), HEARTBEAT_MS);
    this.#heartbeat.unref();
  }

  /** The partitions served may have changed (assignment, revocation, recovery done): announce shortly, once. */
  changed(): void {
    if (!this.#url || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#queue(false);
    }, ANNOUNCE_DELAY_MS);
    this.#timer.unref();
  }

  /** The URL of another worker serving `partition` of `table`, by the members topic as read now or lately. */
  async ownerOf(table: string, partition: number, fresh = false): Promise<string | undefined> {
    const members = await this.#read(fresh);
    let owner: Announcement | undefined;
    for (const member of members.values()) {
      if (member.url === this.#url || !member.tables[table]?.includes(partition)) continue;
      if (!owner || member.at > owner.at) owner = member;
    }
    return owner?.url;
  }

  /** Withdraws this worker (a tombstone), waiting at most a few seconds, and closes the reader. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    clearInterval(this.#heartbeat);
    this.#timer = undefined;
    const url = this.#url;
    this.#url = undefined;
    const withdraw = this.#announced.then(async () => {
      const transport = this.#app.transport;
      if (url && transport && this.#app.state === 'running') {
        await transport.sendNow([{ topic: this.#topic, key: Buffer.from(url), value: null }]);
      }
    });
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([withdraw, new Promise((resolve) => (bound = setTimeout(resolve, WITHDRAW_MS)))])
      .catch((error: unknown) =>
        this.#logger.debug('withdrawing from the members topic failed', { error: error as Error }),
      )
      .finally(() => clearTimeout(bound));
    const reader = await this.#reader?.catch(() => undefined);
    this.#reader = undefined;
    await reader?.close().catch(() => {});
  }

  #queue(always: boolean): void {
    this.#announced = this.#announced.then(() => this.#announce(always));
  }

  async #announce(always: boolean): Promise<void> {
    const transport = this.#app.transport;
    if (!this.#url || !transport || this.#app.state !== 'running') return;
    const tables: Announcement['tables'] = {};
    for (const [name, table] of this.#app.tables) if (!table.global) tables[name] = table.activePartitions;
    const served = JSON.stringify(tables);
    if (!always && served === this.#last) return;
    const announcement: Announcement = { url: this.#url, tables, at: Date.now() };
    try {
      await transport.sendNow([
        { topic: this.#topic, key: Buffer.from(this.#url), value: Buffer.from(JSON.stringify(announcement)) },
      ]);
      this.#last = served;
      this.#logger.debug('announced on the members topic', { topic: this.#topic, tables: served });
    } catch (error) {
      this.#logger.warn('announcing this worker on the members topic failed; it is tried again in 30 s', {
        code: 'STREAM_APP_ERR_TABLE_VIEW_UNAVAILABLE',
        topic: this.#topic,
        error: error as Error,
      });
    }
  }

  async #read(fresh: boolean): Promise<Map<string, Announcement>> {
    if (!fresh && this.#known && Date.now() - this.#known.at < FRESH_MS) return this.#known.members;
    this.#reading ??= this.#readTopic().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #readTopic(): Promise<Map<string, Announcement>> {
    const transport = this.#app.transport;
    if (!transport) return new Map();
    this.#reader ??= transport.reader();
    let reader: PartitionReader;
    try {
      reader = await this.#reader;
    } catch (error) {
      this.#reader = undefined; // the next lookup tries again
      throw error;
    }
    const members = new Map<string, Announcement>();
    await reader.readToEnd(
      { topic: this.#topic, partition: 0 },
      0,
      () => false,
      (messages) => {
        for (const message of messages) {
          const worker = message.key?.toString();
          if (!worker) continue;
          const announcement = message.value === null ? undefined : parse(message.value);
          if (announcement) members.set(worker, announcement);
          else members.delete(worker);
        }
      },
    );
    this.#known = { at: Date.now(), members };
    return members;
  }
}

/** An announcement as written by a worker, or undefined for anything else (only http(s) URLs are forwarded to). */
function parse(bytes: Buffer): Announcement | undefined {
  try {
    const value = JSON.parse(bytes.toString()) as Partial<Announcement> | null;
    if (!value || typeof value.url !== 'string' || typeof value.at !== 'number') return undefined;
    if (!/^https?:\/\/[^/?#\s]+$/.test(value.url)) return undefined;
    const tables = value.tables;
    if (!tables || typeof tables !== 'object') return undefined;
    for (const partitions of Object.values(tables)) {
      if (!Array.isArray(partitions) || !partitions.every((partition) => Number.isInteger(partition))) return undefined;
    }
    return { url: value.url, tables, at: value.at };
  } catch {
    return undefined;
  }
}
