import type { Clock, ClockTimer } from '../clock/clock.js';
import type { Logger } from '../logging/logger.js';
import type { Sensors } from '../sensors/sensor.js';
import { partitionKey, type Consumer, type TopicPartition } from '../transport/transport.js';
import type { CommitStrategy } from './commit-strategy.js';
import { OffsetTracker } from './offset-tracker.js';

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
  readonly #beforeCommit: Array<() => Promise<void> | void> = [];
  #strategy: CommitStrategy | undefined;
  #consumer: Consumer | undefined;
  #inFlight: Promise<void> | undefined;
  #next: NextCommit | undefined;
  #timer: ClockTimer | undefined;
  #commits = 0;

  constructor(clock: Clock, sensors: Sensors, log: Logger) {
    this.#clock = clock;
    this.#sensors = sensors;
    this.#log = log;
  }

  get commits(): number {
    return this.#commits;
  }

  get strategy(): CommitStrategy | undefined {
    return this.#strategy;
  }

  /** Runs before every commit, in the order added (e.g. flush a table's store). */
  beforeCommit(hook: () => Promise<void> | void): void {
    this.#beforeCommit.push(hook);
  }

  attach(consumer: Consumer, strategy: CommitStrategy): void {
    this.#consumer = consumer;
    this.#strategy = strategy;
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
