import { randomUUID } from 'node:crypto';
import type { Agent } from '../agents/agent.js';
import type { Clock, ClockTimer } from '../clock/clock.js';
import { codecNamed } from '../codecs/codecs.js';
import { CoreError } from '../errors/index.js';
import type { TopicMessage } from '../topics/topic.js';
import {
  firstHeader,
  type Consumer,
  type IncomingMessage,
  type OutgoingMessage,
  type Transport,
} from '../transport/transport.js';

const json = codecNamed('json');

export const REPLY_TO = 'stream-app.reply-to';
export const CORRELATION_ID = 'stream-app.correlation-id';

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ClockTimer;
}

export interface RepliesOptions {
  topic: string;
  groupId: string;
  clock: Clock;
  /** Creates the reply topic when it is missing (and allowed). */
  declare: (topic: string) => Promise<void>;
}

/**
 * Request-reply for `agent.ask`: the request carries a reply topic and a correlation id; the agent's
 * worker produces what the agent yields to that topic. Each asking process reads the whole reply
 * topic in a group of its own and keeps the replies whose id it waits for.
 */
export class Replies {
  readonly #transport: Transport;
  readonly #options: RepliesOptions;
  readonly #waiting = new Map<string, Waiting>();
  #ready: Promise<void> | undefined;
  #consumer: Consumer | undefined;
  #closed = false;

  constructor(transport: Transport, options: RepliesOptions) {
    this.#transport = transport;
    this.#options = options;
  }

  static message(topic: string, correlationId: string, value: unknown): OutgoingMessage {
    return {
      topic,
      key: null,
      value: json.encode(value === undefined ? null : value),
      headers: { [CORRELATION_ID]: correlationId },
    };
  }

  /** `timeoutMs` bounds the whole call: starting the reply reader, sending, and waiting. */
  async ask(agent: Agent, message: TopicMessage<unknown, unknown>, timeoutMs: number): Promise<unknown> {
    const correlationId = randomUUID();
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = this.#options.clock.setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(
          new CoreError(
            'STREAM_APP_ERR_ASK_TIMEOUT',
            `agent ${agent.name} did not reply within ${timeoutMs} ms: is a worker running it, and does the agent yield a value for each message?`,
            { retriable: true, details: { agent: agent.name, timeoutMs } },
          ),
        );
      }, timeoutMs);
      this.#waiting.set(correlationId, { resolve, reject, timer });
    });
    try {
      await Promise.race([this.#start(), reply]);
      await Promise.race([
        agent.topic.send({
          ...message,
          headers: { ...message.headers, [REPLY_TO]: this.#options.topic, [CORRELATION_ID]: correlationId },
        }),
        reply,
      ]);
    } catch (error) {
      this.#waiting.get(correlationId)?.timer.cancel();
      this.#waiting.delete(correlationId);
      throw error;
    }
    return reply;
  }

  #start(): Promise<void> {
    this.#ready ??= (async () => {
      await this.#options.declare(this.#options.topic);
      let assigned!: () => void;
      const isAssigned = new Promise<void>((resolve) => (assigned = resolve));
      this.#consumer = await this.#transport.consume(
        { groupId: this.#options.groupId, topics: [this.#options.topic], fromBeginning: true },
        {
          onMessages: (messages) => messages.forEach((message) => this.#receive(message)),
          onAssigned: () => assigned(),
          onRevoked: () => {},
        },
      );
      if (this.#closed) await this.#consumer.close();
      await isAssigned;
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  #receive(message: IncomingMessage): void {
    const id = firstHeader(message.headers, CORRELATION_ID)?.toString();
    const waiting = id ? this.#waiting.get(id) : undefined;
    if (!waiting || !id) return;
    this.#waiting.delete(id);
    waiting.timer.cancel();
    try {
      waiting.resolve(json.decode(message.value));
    } catch (error) {
      waiting.reject(error as Error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiting of this.#waiting.values()) {
      waiting.timer.cancel();
      waiting.reject(new CoreError('STREAM_APP_ERR_APP_STATE', 'the app stopped before the reply arrived'));
    }
    this.#waiting.clear();
    this.#ready = undefined;
    // Not waiting for the assignment: a reader that was never assigned must not hold up the stop.
    const consumer = this.#consumer;
    this.#consumer = undefined;
    await consumer?.close();
  }
}
