import { randomUUID } from 'node:crypto';
import { membersTopicName, type App, type Logger, type PartitionReader } from '@stream-app/core';

/** What a worker announces on `<app>-members`: where its web server is, and which table partitions it serves. */
export interface Announcement {
  url: string;
  tables: { [table: string]: number[] };
  /** When it was announced (ms): of two workers claiming a partition, the later one holds it. */
  at: number;
}

const ANNOUNCE_DELAY_MS = 100;
/** How long a read of the members topic answers lookups before it is read again. */
const FRESH_MS = 2_000;

/**
 * The app's workers as they announce themselves on a compacted one-partition topic, keyed by worker:
 * how a worker finds the one that serves a table key, with Kafka as the only shared service.
 */
export class Members {
  readonly workerId = randomUUID();
  readonly #app: App;
  readonly #logger: Logger;
  readonly #topic: string;
  #url: string | undefined;
  #timer: NodeJS.Timeout | undefined;
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
  }

  /** The partitions served changed (assignment, revocation, recovery done): announce, shortly, once. */
  changed(): void {
    if (!this.#url || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#announced = this.#announced.then(() => this.#announce());
    }, ANNOUNCE_DELAY_MS);
    this.#timer.unref();
  }

  /** The URL of the worker serving `partition` of `table`, by the members topic as read now or lately. */
  async ownerOf(table: string, partition: number, fresh = false): Promise<string | undefined> {
    const members = await this.#read(fresh);
    let owner: Announcement | undefined;
    for (const [worker, member] of members) {
      if (worker === this.workerId) continue;
      if (!member.tables[table]?.includes(partition)) continue;
      if (!owner || member.at > owner.at) owner = member;
    }
    return owner?.url;
  }

  /** Withdraws this worker (a tombstone) and closes the reader. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const url = this.#url;
    this.#url = undefined;
    await this.#announced;
    if (url && this.#app.transport && this.#app.state === 'running') {
      await this.#app
        .produce({ topic: this.#topic, key: Buffer.from(this.workerId), value: null })
        .catch((error: unknown) =>
          this.#logger.debug('withdrawing from the members topic failed', { error: error as Error }),
        );
    }
    const reader = await this.#reader?.catch(() => undefined);
    this.#reader = undefined;
    await reader?.close().catch(() => {});
  }

  async #announce(): Promise<void> {
    if (!this.#url || !this.#app.transport) return;
    const tables: Announcement['tables'] = {};
    for (const [name, table] of this.#app.tables) if (!table.global) tables[name] = table.activePartitions;
    const announcement: Announcement = { url: this.#url, tables, at: Date.now() };
    try {
      await this.#app.produce({
        topic: this.#topic,
        key: Buffer.from(this.workerId),
        value: Buffer.from(JSON.stringify(announcement)),
      });
      this.#logger.debug('announced on the members topic', { topic: this.#topic, tables: JSON.stringify(tables) });
    } catch (error) {
      this.#logger.warn(
        'announcing this worker on the members topic failed; other workers cannot forward table views here',
        {
          topic: this.#topic,
          error: error as Error,
        },
      );
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
    const reader = await this.#reader;
    const members = new Map<string, Announcement>();
    await reader.readToEnd(
      { topic: this.#topic, partition: 0 },
      0,
      () => false,
      (messages) => {
        for (const message of messages) {
          const worker = message.key?.toString();
          if (!worker) continue;
          if (message.value === null) {
            members.delete(worker);
            continue;
          }
          try {
            members.set(worker, JSON.parse(message.value.toString()) as Announcement);
          } catch {
            this.#logger.debug('an unreadable announcement on the members topic was ignored', {
              offset: message.offset,
            });
          }
        }
      },
    );
    this.#known = { at: Date.now(), members };
    return members;
  }
}
