import { StreamAppError } from '@stream-app/credentials';
import type { Agent } from '../agents/agent.js';
import { codecNamed } from '../codecs/codecs.js';
import type { TopicMessage } from '../topics/topic.js';
import type { Consumer, IncomingMessage, OutgoingMessage, Transport } from '../transport/transport.js';

const json = codecNamed('json');

export const REPLY_TO = 'stream-app.reply-to';
export const CORRELATION_ID = 'stream-app.correlation-id';

interface Waiting {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request-reply for `agent.ask`: the request carries a reply topic and a correlation id; the agent's
 * worker produces what the agent yields to that topic. Each asking process reads the whole reply
 * topic in a group of its own and keeps the replies whose id it waits for.
 */
export class Replies {
  readonly #transport: Transport;
  readonly #topic: string;
  readonly #groupId: string;
  readonly #replicas: number;
  readonly #allowCreate: boolean;
  readonly #waiting = new Map<string, Waiting>();
  #ready: Promise<Consumer> | undefined;

  constructor(
    transport: Transport,
    topic: string,
    groupId: string,
    topics: { replicas: number; allowCreate: boolean },
  ) {
    this.#transport = transport;
    this.#topic = topic;
    this.#groupId = groupId;
    this.#replicas = topics.replicas;
    this.#allowCreate = topics.allowCreate;
  }

  static message(topic: string, correlationId: string, value: unknown): OutgoingMessage {
    return {
      topic,
      key: null,
      value: json.encode(value === undefined ? null : value),
      headers: { [CORRELATION_ID]: correlationId },
    };
  }

  async ask(agent: Agent, message: TopicMessage<unknown, unknown>, timeoutMs: number): Promise<unknown> {
    await this.#start();
    const correlationId = crypto.randomUUID();
    const reply = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(correlationId);
        reject(
          new StreamAppError(
            'STREAM_APP_ERR_ASK_TIMEOUT',
            `agent ${agent.name} did not reply within ${timeoutMs} ms: is a worker running it, and does the agent yield a value for each message?`,
            { retriable: true, details: { agent: agent.name, timeoutMs } },
          ),
        );
      }, timeoutMs);
      this.#waiting.set(correlationId, { resolve, reject, timer });
    });
    try {
      await agent.topic.send({
        ...message,
        headers: { ...message.headers, [REPLY_TO]: this.#topic, [CORRELATION_ID]: correlationId },
      });
    } catch (error) {
      const waiting = this.#waiting.get(correlationId);
      clearTimeout(waiting?.timer);
      this.#waiting.delete(correlationId);
      throw error;
    }
    return reply;
  }

  #start(): Promise<Consumer> {
    this.#ready ??= (async () => {
      await this.#transport.declareTopics(
        [{ name: this.#topic, partitions: 1, replicas: this.#replicas, config: { 'retention.ms': String(3_600_000) } }],
        this.#allowCreate,
      );
      let assigned!: () => void;
      const isAssigned = new Promise<void>((resolve) => (assigned = resolve));
      const consumer = await this.#transport.consume(
        { groupId: this.#groupId, topics: [this.#topic], fromBeginning: true },
        {
          onMessages: (messages) => messages.forEach((message) => this.#receive(message)),
          onAssigned: () => assigned(),
          onRevoked: () => {},
        },
      );
      await isAssigned;
      return consumer;
    })();
    this.#ready.catch(() => (this.#ready = undefined));
    return this.#ready;
  }

  #receive(message: IncomingMessage): void {
    const id = message.headers[CORRELATION_ID]?.toString();
    const waiting = id ? this.#waiting.get(id) : undefined;
    if (!waiting || !id) return;
    this.#waiting.delete(id);
    clearTimeout(waiting.timer);
    try {
      waiting.resolve(json.decode(message.value));
    } catch (error) {
      waiting.reject(error as Error);
    }
  }

  async close(): Promise<void> {
    for (const waiting of this.#waiting.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(new StreamAppError('STREAM_APP_ERR_APP_STATE', 'the app stopped before the reply arrived'));
    }
    this.#waiting.clear();
    const ready = this.#ready;
    this.#ready = undefined;
    if (ready) await (await ready.catch(() => undefined))?.close();
  }
}
