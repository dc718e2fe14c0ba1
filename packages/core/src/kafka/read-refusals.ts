import type { Logger } from '../logging/logger.js';
import { explainKafkaError } from './kafka-diagnostics.js';

// The consumer reports a fetch or join the broker refuses only as a log line of the client, with a stack:
// "Consumer encountered error while consuming. Retrying. Error details: KafkaJSProtocolError: Broker: Topic authorization failed …"
const REFUSED = /^Consumer encountered error while consuming\..*?Broker: (Topic|Group) authorization failed/s;
const CODES = { Topic: 29, Group: 30 } as const;
/** One warning per kind of refusal this often: the client retries by itself, and the log must not fill. */
const EVERY_MS = 30_000;

/** What the group consumers read: named in the warning. */
export interface Reads {
  groupId: string;
  topics: string[];
}

/**
 * Turns the client's log lines about a refused read (an ACL removed while the worker runs) into one coded
 * warning that names the principal and the ACL to add, at most every 30 s. The client keeps retrying,
 * and reading goes on by itself when the ACL is back.
 */
export class ReadRefusals {
  readonly #log: Logger;
  readonly #principal: () => Promise<string>;
  readonly #reads: () => Reads | undefined;
  readonly #lastWarned = new Map<string, number>();

  constructor(log: Logger, principal: () => Promise<string>, reads: () => Reads | undefined) {
    this.#log = log;
    this.#principal = principal;
    this.#reads = reads;
  }

  /** True when `message` is a refused read, which is then warned about (or left out if warned lately). */
  handled(message: string): boolean {
    const kind = REFUSED.exec(message)?.[1] as keyof typeof CODES | undefined;
    if (!kind) return false;
    const now = Date.now();
    if (now - (this.#lastWarned.get(kind) ?? -Infinity) < EVERY_MS) return true;
    this.#lastWarned.set(kind, now);
    const reads = this.#reads();
    const resource = kind === 'Topic' ? reads?.topics.join(',') : reads?.groupId;
    void this.#principal()
      .catch(() => 'the principal')
      .then((principal) => {
        const error = explainKafkaError({ code: CODES[kind], message }, { principal, operation: 'Read', resource });
        this.#log.warn('the broker refuses to let this worker read; the client retries until the ACL allows it', {
          code: 'STREAM_APP_ERR_KAFKA_AUTHORIZATION',
          error: error as Error,
        });
      });
    return true;
  }
}
