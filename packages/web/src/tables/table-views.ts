import type { App, Logger, Sensor } from '@stream-app/core';
import { Record } from '@stream-app/core';
import { Members } from './members.js';

/** An answer of a table view, ready for the HTTP reply. */
export interface ViewAnswer {
  status: number;
  headers: { [name: string]: string };
  body: unknown;
}

/** Marks a request one worker forwarded to another: the owner answers it, never forwards it again. */
export const FORWARDED_BY = 'x-stream-app-forwarded-by';
const SERVED_BY = 'x-stream-app-served-by';
const FORWARD_TIMEOUT_MS = 5_000;
const PASSED_ON = ['www-authenticate', 'retry-after', 'cache-control'];

/**
 * `GET /tables/:name/:key`, like Faust's table views and Kafka Streams' interactive queries: the
 * worker that serves the key's partition answers from its store; another forwards the request to it,
 * found through the members topic.
 */
export class TableViews {
  readonly #app: App;
  readonly #logger: Logger;
  readonly #members: Members | undefined;
  #url = '';
  #removeSensor: (() => void) | undefined;

  constructor(app: App, logger: Logger) {
    this.#app = app;
    this.#logger = logger;
    const partitioned = [...app.tables.values()].some((table) => !table.global);
    // The members topic is declared by the app when it has the web option (it may be given here only).
    this.#members = partitioned && app.options.web ? new Members(app, logger) : undefined;
  }

  async start(url: string): Promise<void> {
    this.#url = url;
    const members = this.#members;
    if (!members) return;
    const changed = () => members.changed();
    const sensor: Sensor = {
      onPartitionsAssigned: changed,
      onPartitionsRevoked: changed,
      // Standby and global-table reads report progress all along: only a partition that now serves counts.
      onTableRecovery: (progress) => {
        if (progress.done && progress.purpose === 'recovery') changed();
      },
    };
    this.#removeSensor = this.#app.addSensor(sensor);
    members.start(url);
  }

  async stop(): Promise<void> {
    this.#removeSensor?.();
    await this.#members?.stop();
  }

  async lookup(
    name: string,
    rawKey: string,
    headers: { [name: string]: string | string[] | undefined },
  ): Promise<ViewAnswer> {
    const table = this.#app.tables.get(name);
    if (!table) {
      return answer(
        404,
        'STREAM_APP_ERR_WEB_NOT_FOUND',
        `the app has no table '${name}' (tables: ${[...this.#app.tables.keys()].join(', ') || 'none'})`,
      );
    }
    let key: unknown;
    try {
      // The path segment is the key as the topic carries it, read with the table's key type.
      key = table.keyCodec.decode(Buffer.from(rawKey));
    } catch (error) {
      return answer(
        400,
        'STREAM_APP_ERR_WEB_BAD_REQUEST',
        `'${rawKey}' is not a key of table '${name}' (${table.keyCodec.name}): ${(error as Error).message}`,
      );
    }
    const partition = table.partitionOf(key);
    if (table.global || table.isActive(partition)) {
      const value = table.getIn(partition, key);
      if (value === undefined) {
        return answer(404, 'STREAM_APP_ERR_WEB_NOT_FOUND', `table '${name}' has no key ${JSON.stringify(rawKey)}`, {
          partition,
        });
      }
      return {
        status: 200,
        headers: { [SERVED_BY]: this.#url },
        body: { table: name, key, partition, value: value instanceof Record ? value.toPlain() : value },
      };
    }
    if (headers[FORWARDED_BY] !== undefined || !this.#members) {
      return unavailable(name, partition, 'this worker does not serve it now (a rebalance may be moving it)');
    }
    return this.#forward(name, rawKey, partition, headers);
  }

  async #forward(
    name: string,
    rawKey: string,
    partition: number,
    headers: { [name: string]: string | string[] | undefined },
  ): Promise<ViewAnswer> {
    const members = this.#members!;
    // A cached owner may have moved: one fresh read of the members topic before giving up.
    for (const fresh of [false, true]) {
      try {
        const owner = await members.ownerOf(name, partition, fresh);
        if (!owner) continue;
        const response = await fetch(`${owner}/tables/${encodeURIComponent(name)}/${encodeURIComponent(rawKey)}`, {
          headers: {
            [FORWARDED_BY]: this.#url,
            ...(typeof headers.authorization === 'string' ? { authorization: headers.authorization } : {}),
          },
          signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        });
        if (response.status === 503 && !fresh) continue;
        const text = await response.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text) as unknown;
        } catch {
          // not JSON: passed on as it came
        }
        // The owner's refusal (a token that expired in between) keeps its challenge.
        const passed: { [name: string]: string } = { [SERVED_BY]: response.headers.get(SERVED_BY) ?? owner };
        for (const header of PASSED_ON) {
          const value = response.headers.get(header);
          if (value !== null) passed[header] = value;
        }
        return { status: response.status, headers: passed, body };
      } catch (error) {
        this.#logger.debug('forwarding a table view failed', { table: name, partition, error: error as Error });
      }
    }
    return unavailable(name, partition, 'no worker announces it on the members topic now');
  }
}

function answer(status: number, code: string, message: string, extra: object = {}): ViewAnswer {
  return { status, headers: {}, body: { code, message, ...extra } };
}

function unavailable(name: string, partition: number, why: string): ViewAnswer {
  return {
    status: 503,
    headers: { 'retry-after': '1' },
    body: {
      code: 'STREAM_APP_ERR_TABLE_VIEW_UNAVAILABLE',
      message: `partition ${partition} of table '${name}' cannot be read: ${why}; try again shortly`,
      partition,
    },
  };
}
