import type { StreamAppError } from '../errors/index.js';
import type { OutgoingMessage } from './transport.js';

/**
 * What the batcher hands the client: one topic's messages gathered in one tick. It calls `queued`
 * once the client has them (synchronously after its produce call) and resolves when they are delivered.
 */
export type SendBatch = (
  topic: string,
  messages: Array<Omit<OutgoingMessage, 'topic'>>,
  queued: () => void,
  /** The transactions' epoch when the batch was gathered (exactly once; 0 otherwise). */
  epoch: number,
) => Promise<void>;

/** Messages for one topic gathered during a tick, and the promise every sender of them holds. */
class PendingBatch {
  readonly messages: Array<Omit<OutgoingMessage, 'topic'>> = [];
  readonly done: Promise<void>;
  readonly epoch: number;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(epoch: number) {
    this.epoch = epoch;
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/**
 * Gathers sends per topic and hands them to the client once per tick: one call and one promise per
 * batch instead of per message. The first failed batch fails every later send and flush, so the
 * next commit stops the app instead of committing past a lost message.
 */
export class SendBatcher {
  readonly #send: SendBatch;
  readonly #explain: (error: unknown, topic: string) => Promise<StreamAppError>;
  #pending = new Map<string, PendingBatch>();
  #scheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: StreamAppError | undefined;

  /**
   * Exactly once, a send resolves when its message is in the transaction (`whenQueued`): it counts only
   * when the transaction commits, and a failed delivery fails that commit, which aborts and rewinds.
   */
  #whenQueued = false;

  readonly #epoch: () => number;

  constructor(
    send: SendBatch,
    explain: (error: unknown, topic: string) => Promise<StreamAppError>,
    epoch: () => number = () => 0,
  ) {
    this.#send = send;
    this.#explain = explain;
    this.#epoch = epoch;
  }

  resolveWhenQueued(): void {
    this.#whenQueued = true;
  }

  get failure(): StreamAppError | undefined {
    return this.#failure;
  }

  /** Exactly once, after an abort: the failed batch's transaction is gone, and its events are processed again. */
  forgetFailure(): void {
    this.#failure = undefined;
  }

  send(message: OutgoingMessage): Promise<void> {
    // Exactly once, a failure is the transaction's: the commit meets it, aborts and forgets it.
    if (this.#failure && !this.#whenQueued) return Promise.reject(this.#failure);
    const epoch = this.#epoch();
    let batch = this.#pending.get(message.topic);
    if (!batch || batch.epoch !== epoch) {
      // A batch gathered before an abort goes on its own (the transport drops it); this one starts afresh.
      if (batch) this.#dispatchOne(message.topic, batch);
      batch = new PendingBatch(epoch);
      this.#pending.set(message.topic, batch);
    }
    const { topic: _topic, ...rest } = message;
    batch.messages.push(rest);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#dispatch());
    }
    return batch.done;
  }

  #dispatch(): void {
    this.#scheduled = false;
    const batches = this.#pending;
    this.#pending = new Map();
    for (const [topic, batch] of batches) this.#dispatchOne(topic, batch);
  }

  #dispatchOne(topic: string, batch: PendingBatch): void {
    const queued = this.#whenQueued ? () => batch.resolve() : () => {};
    const sent = this.#send(topic, batch.messages, queued, batch.epoch).then(
      () => batch.resolve(),
      async (error: unknown) => {
        const failure = await this.#explain(error, topic);
        this.#failure ??= failure;
        batch.reject(failure);
      },
    );
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
  }

  /** Resolves when what was sent before this call is acknowledged; rejects with the first failure. */
  async flush(): Promise<void> {
    if (this.#scheduled) this.#dispatch();
    // Only what was sent before this call: under steady load, waiting for later sends would stall every commit.
    await Promise.all([...this.#inFlight]);
    if (this.#failure) throw this.#failure;
  }
}
