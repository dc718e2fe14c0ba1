import { CoreError, StreamAppError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import type { IncomingMessage, OutgoingMessage } from '../transport/transport.js';

/** Headers a dead-lettered message carries, beside its original key, value and headers. */
export const DEAD_LETTER_HEADERS = {
  code: 'stream-app.error.code',
  message: 'stream-app.error.message',
  agent: 'stream-app.error.agent',
  topic: 'stream-app.source.topic',
  partition: 'stream-app.source.partition',
  offset: 'stream-app.source.offset',
  timestamp: 'stream-app.source.timestamp',
} as const;

/**
 * The dead-letter topic: a message that could not be processed goes there with its original key,
 * value and every header, plus why and where it came from; the stream goes on.
 */
export class DeadLetters {
  readonly topic: string;
  readonly #produce: (message: OutgoingMessage) => Promise<void>;
  readonly #sensors: Sensors;
  readonly #log: Logger;
  #count = 0;

  constructor(topic: string, produce: (message: OutgoingMessage) => Promise<void>, sensors: Sensors, log: Logger) {
    this.topic = topic;
    this.#produce = produce;
    this.#sensors = sensors;
    this.#log = log;
  }

  get count(): number {
    return this.#count;
  }

  send(message: IncomingMessage, error: Error, agent?: string): void {
    const code = error instanceof StreamAppError ? error.code : 'STREAM_APP_ERR_AGENT_FAILED';
    const reason = error.message.slice(0, 1000);
    this.#count += 1;
    const where = { topic: message.topic, partition: message.partition, offset: message.offset };
    this.#log.warn('message sent to the dead-letter topic', {
      ...where,
      deadLetterTopic: this.topic,
      code,
      reason,
      ...(agent ? { agent } : {}),
    });
    this.#produce({
      topic: this.topic,
      key: message.key,
      value: message.value,
      headers: {
        ...message.headers,
        [DEAD_LETTER_HEADERS.code]: code,
        [DEAD_LETTER_HEADERS.message]: reason,
        ...(agent ? { [DEAD_LETTER_HEADERS.agent]: agent } : {}),
        [DEAD_LETTER_HEADERS.topic]: message.topic,
        [DEAD_LETTER_HEADERS.partition]: String(message.partition),
        [DEAD_LETTER_HEADERS.offset]: String(message.offset),
        [DEAD_LETTER_HEADERS.timestamp]: String(message.timestamp),
      },
    }).catch(() => {}); // a failed delivery fails the next commit, which stops the app
    this.#sensors.emit('onDeadLetter', { ...where, code, reason, ...(agent ? { agent } : {}) });
  }

  /** The events an agent held when it failed. */
  sendForAgent(message: IncomingMessage, error: Error, agent: string): void {
    this.send(
      message,
      new CoreError('STREAM_APP_ERR_AGENT_FAILED', `agent ${agent} failed: ${error.message}`, { details: { agent } }),
      agent,
    );
  }
}
