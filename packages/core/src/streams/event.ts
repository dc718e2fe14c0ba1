import type { OffsetEntry, PartitionOffsets } from '../committer/offset-tracker.js';
import type { IncomingMessage, MessageHeaders } from '../transport/transport.js';

/** The event time of a forwarded event (`through`, `groupBy`): the timestamp of the record it came from. */
export const EVENT_TIME_HEADER = 'stream-app.event-time';

/**
 * A message as an agent sees it: typed key and value plus where it came from.
 * `ack()` says this agent is done with it; streams do it for you when the
 * agent asks for the next value (unless the stream is `noAck()`).
 */
export class StreamEvent<V = unknown, K = unknown> {
  readonly key: K;
  readonly value: V;
  readonly message: IncomingMessage;
  #offsets: PartitionOffsets | undefined;
  #entry: OffsetEntry | undefined;
  #acked = false;
  #started = false;
  readonly #onAck: ((event: StreamEvent) => void) | undefined;

  constructor(
    message: IncomingMessage,
    key: K,
    value: V,
    offsets?: PartitionOffsets,
    entry?: OffsetEntry,
    onAck?: (event: StreamEvent) => void,
  ) {
    this.message = message;
    this.key = key;
    this.value = value;
    this.#offsets = offsets;
    this.#entry = entry;
    this.#onAck = onAck;
  }

  get topic(): string {
    return this.message.topic;
  }
  get partition(): number {
    return this.message.partition;
  }
  get offset(): number {
    return this.message.offset;
  }
  get timestamp(): number {
    return this.message.timestamp;
  }
  /** When it happened: the timestamp of the record it was forwarded from (`through`, `groupBy`), else its own. */
  get eventTime(): number {
    const forwarded = this.message.headers[EVENT_TIME_HEADER];
    const first = Array.isArray(forwarded) ? forwarded[0] : forwarded;
    const time = first === undefined ? Number.NaN : Number(first.toString());
    return Number.isFinite(time) ? time : this.message.timestamp;
  }
  /** Every header; a name that repeats has all its values, in order. */
  get headers(): MessageHeaders {
    return this.message.headers;
  }
  get acked(): boolean {
    return this.#acked;
  }

  /** An agent took it from its queue: in progress until acknowledged (what a commit's barrier waits for). */
  start(): void {
    if (this.#started || this.#acked || !this.#offsets) return;
    this.#started = true;
    this.#offsets.inProgress += 1;
  }

  ack(): void {
    if (this.#acked) return;
    this.#acked = true;
    // Never below 0: an abort while the app stopped with this event in progress reset the count.
    if (this.#started) this.#offsets!.inProgress = Math.max(0, this.#offsets!.inProgress - 1);
    if (this.#offsets && this.#entry) this.#offsets.release(this.#entry);
    this.#onAck?.(this as StreamEvent);
  }
}
