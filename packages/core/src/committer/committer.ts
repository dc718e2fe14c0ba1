import type { Clock, ClockTimer } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import { partitionKey, type Consumer, type TopicPartition } from '../transport/transport.js';
import { ExactlyOnce, type CommitStrategy } from './commit-strategy.js';
import { OffsetTracker } from './offset-tracker.js';

/**
 * Exactly once: where a commit waits until no event is in progress (new ones are held back), so that
 * a slow event cannot let its successors' output commit ahead of it; and how the events since the
 * last commit are read again after an abort.
 */
export interface Barrier {
  /** Holds new events back; resolves true when no event is in progress, false when it gave up (the app stops). */
  enter(): Promise<boolean>;
  /** Lets the held events through. */
  leave(): void;
  /** After an abort: every partition with events since the last commit is fetched again from it. */
  rewind(): void;
}

type Hook = () => Promise<void> | void;

/** A commit waiting for the one in flight; every caller meanwhile joins it. */
interface NextCommit {
  /** undefined = every partition. */
  partitions: Map<string, TopicPartition> | undefined;
  done: Promise<void>;
  start: () => void;
}

/**
 * Offset bookkeeping and the commit loop: one commit in flight at a time; the next one carries
 * everything finished meanwhile (like Faust's consumer, which makes a second commit wait for the
 * first instead of queueing). Before a commit, the `beforeCommit` hooks run (a store's flush).
 */
export class Committer {
  readonly offsets = new OffsetTracker();
  readonly #clock: Clock;
  readonly #sensors: Sensors;
  readonly #log: Logger;
  readonly #beforeCommit: Hook[] = [];
  readonly #afterCommit: Hook[] = [];
  readonly #onAbort: Hook[] = [];
  #strategy: CommitStrategy | undefined;
  #barrier: Barrier | undefined;
  #consumer: Consumer | undefined;
  #inFlight: Promise<void> | undefined;
  #next: NextCommit | undefined;
  #timer: ClockTimer | undefined;
  #commits = 0;
  #aborts = 0;

  constructor(clock: Clock, sensors: Sensors, log: Logger) {
    this.#clock = clock;
    this.#sensors = sensors;
    this.#log = log;
  }

  get commits(): number {
    return this.#commits;
  }

  /** Transactions aborted (exactly once). */
  get aborts(): number {
    return this.#aborts;
  }

  get strategy(): CommitStrategy | undefined {
    return this.#strategy;
  }

  /** Runs before every commit, in the order added (e.g. flush a table's store). */
  beforeCommit(hook: Hook): void {
    this.#beforeCommit.push(hook);
  }

  /** Exactly once: runs after each committed transaction (a table's store gets its writes). */
  afterCommit(hook: Hook): void {
    this.#afterCommit.push(hook);
  }

  /** Exactly once: runs after each aborted transaction (a table forgets its writes since the last commit). */
  onAbort(hook: Hook): void {
    this.#onAbort.push(hook);
  }

  /** Exactly once needs the barrier. */
  attach(consumer: Consumer, strategy: CommitStrategy, barrier?: Barrier): void {
    this.#consumer = consumer;
    this.#strategy = strategy;
    this.#barrier = barrier;
  }

  detach(): void {
    this.#consumer = undefined;
  }

  /** Commits every `intervalMs`; a failed commit goes to `onError`. */
  startInterval(intervalMs: number, onError: (error: Error) => void): void {
    this.#timer = this.#clock.setInterval(() => void this.commit().catch(onError), intervalMs);
  }

  stopInterval(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  /** Commits every finished offset (of these partitions only, when given). */
  commit(partitions?: TopicPartition[]): Promise<void> {
    if (!this.#inFlight) return this.#run(partitions);
    const wanted = partitions ? new Map(partitions.map((p) => [partitionKey(p.topic, p.partition), p])) : undefined;
    if (this.#next) {
      const next = this.#next;
      if (!wanted) next.partitions = undefined;
      else if (next.partitions) for (const [key, partition] of wanted) next.partitions.set(key, partition);
      return next.done;
    }
    let start!: () => void;
    const done = new Promise<void>((resolve, reject) => {
      start = () => {
        const chosen = this.#next!.partitions;
        this.#next = undefined;
        this.#run(chosen ? [...chosen.values()] : undefined).then(resolve, reject);
      };
    });
    this.#next = { partitions: wanted, done, start };
    return done;
  }

  #run(partitions: TopicPartition[] | undefined): Promise<void> {
    const run = this.#commitNow(partitions);
    this.#inFlight = run;
    const settled = () => {
      this.#inFlight = undefined;
      this.#next?.start();
    };
    run.then(settled, settled);
    return run;
  }

  async #commitNow(partitions: TopicPartition[] | undefined): Promise<void> {
    const consumer = this.#consumer;
    const strategy = this.#strategy;
    if (!consumer || !strategy) return;
    if (strategy instanceof ExactlyOnce) return this.#commitTransaction(consumer, strategy, this.#barrier!);
    const offsets = this.offsets.uncommitted(partitions);
    const started = this.#clock.now();
    const generation = this.offsets.generation;
    // Also with nothing to commit: a store may have writes no offset is behind (windows closed on the clock).
    for (const hook of this.#beforeCommit) await hook();
    if (offsets.length === 0) return;
    await strategy.commit(offsets, consumer);
    // A rebalance during the commit: what it committed may not be stored, so the next commit sends it again.
    if (this.offsets.generation === generation) this.offsets.markCommitted(offsets);
    this.#commits += 1;
    this.#log.debug('committed', { offsets: offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(',') });
    this.#sensors.emit('onCommit', offsets, this.#clock.now() - started);
  }

  /**
   * One transaction: at the barrier, every partition's finished offsets (a transaction covers them all),
   * the tables' changelog writes, then the commit. A failed one is aborted and its events read again;
   * only a permanent cause (the broker's ACLs, a record it will never take) is thrown, to stop the app.
   */
  async #commitTransaction(consumer: Consumer, strategy: ExactlyOnce, barrier: Barrier): Promise<void> {
    const started = this.#clock.now();
    const ready = await barrier.enter();
    try {
      if (!ready) {
        // The app stops with an event still in progress: nothing of this interval may commit without it.
        await this.#abort(strategy, barrier, undefined, started);
        return;
      }
      const offsets = this.offsets.uncommitted();
      try {
        for (const hook of this.#beforeCommit) await hook();
        await strategy.commit(offsets, consumer);
      } catch (error) {
        await this.#abort(strategy, barrier, error as Error, started);
        if (isPermanent(error)) throw error;
        return;
      }
      this.offsets.markCommitted(offsets);
      for (const hook of this.#afterCommit) await hook();
      if (offsets.length === 0) return;
      this.#commits += 1;
      this.#log.debug('committed', { offsets: offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).join(',') });
      this.#sensors.emit('onCommit', offsets, this.#clock.now() - started);
    } finally {
      barrier.leave();
    }
  }

  async #abort(strategy: ExactlyOnce, barrier: Barrier, error: Error | undefined, started: number): Promise<void> {
    this.#aborts += 1;
    try {
      await strategy.transactions.abort();
    } catch (abortError) {
      this.#log.warn('could not abort the transaction; the broker aborts it when its timeout ends', {
        error: abortError as Error,
      });
    }
    for (const hook of this.#onAbort) await hook();
    barrier.rewind();
    this.#sensors.emit('onTransactionAborted', { error, durationMs: this.#clock.now() - started });
    if (error && !isPermanent(error)) {
      this.#log.warn('transaction aborted; its events are processed again from the last commit', {
        code: 'STREAM_APP_ERR_TRANSACTION_ABORTED',
        error,
      });
    }
  }

  /** Waits (up to `timeoutMs`) until the events held of these partitions are done, or `stopAt` of each is reached. */
  async drain(
    partitions: TopicPartition[],
    stopAt: Map<string, number>,
    timeoutMs: number,
    abandoned: () => boolean,
  ): Promise<boolean> {
    const busy = () =>
      partitions.some(({ topic, partition }) => {
        const offsets = this.offsets.partition(topic, partition);
        const until = stopAt.get(partitionKey(topic, partition));
        return until === undefined ? offsets.outstanding > 0 : (offsets.next ?? until) < until;
      });
    // Real time, not the clock's: the drain bounds a rebalance, which a test's clock must not hold up.
    const deadline = Date.now() + timeoutMs;
    while (busy() && Date.now() < deadline && !abandoned()) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return !busy();
  }
}

/** Kafka error codes no retry gets past: the record is too large, invalid or corrupt. */
const REFUSED_RECORD = new Set([2, 10, 87]);

/** A failure the next transaction would meet again: an ACL missing, a record the broker refuses. */
function isPermanent(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (code === 'STREAM_APP_ERR_KAFKA_AUTHORIZATION' || code === 'STREAM_APP_ERR_TRANSACTION_FAILED') return true;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'number' && REFUSED_RECORD.has(cause.code);
}
