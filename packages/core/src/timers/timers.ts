import type { Logger } from '../logging/logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { TopicPartition, TopicSpec } from '../transport/transport.js';
import type { Timer } from './timer.js';

/**
 * The timers of an app, and who leads the group. The leader is chosen by Kafka itself, as Faust
 * does: every worker subscribes to the one-partition topic `<app>-leader` in the app's consumer
 * group, and the worker the group assigns its partition 0 is the leader. When it stops or dies the
 * group gives the partition to another within the session timeout; no other coordination service.
 */
export class Timers {
  readonly timers: Timer[] = [];
  readonly leaderTopic: string;
  #leader = false;
  readonly #logger: () => Logger;

  constructor(appId: string, logger: () => Logger) {
    this.leaderTopic = `${appId}-leader`;
    this.#logger = logger;
  }

  add(timer: Timer): void {
    this.timers.push(timer);
  }

  /** Whether the app needs a leader (a timer runs `onLeader`). */
  get electsLeader(): boolean {
    return this.timers.some((timer) => timer.onLeader);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Timers in the middle of a run. */
  get running(): number {
    return this.timers.filter((timer) => timer.running).length;
  }

  leaderSpec(replicas: number): TopicSpec {
    return { name: this.leaderTopic, partitions: 1, replicas, config: {} };
  }

  assigned(partitions: TopicPartition[]): void {
    if (!partitions.some(this.#leads)) return;
    this.#leader = true;
    this.#logger().info('this worker is the leader: it runs the onLeader timers', { topic: this.leaderTopic });
  }

  /**
   * The leader partition is given away: no new leader run starts here, and the one in progress (if
   * any) is waited for, up to `boundMs`, before the partition goes, so that two leaders never overlap.
   */
  async revoked(partitions: TopicPartition[], boundMs: number): Promise<void> {
    if (!this.#leader || !partitions.some(this.#leads)) return;
    this.#leader = false;
    this.#logger().info('this worker is no longer the leader', { topic: this.leaderTopic });
    const runs = this.timers.filter((timer) => timer.onLeader).map((timer) => timer.currentRun);
    await bounded(Promise.all(runs), boundMs);
  }

  start(supervisor: Supervisor): void {
    for (const timer of this.timers) timer.start((task) => supervisor.start(task));
  }

  /** Stops every timer; a run in progress may finish, for up to `boundMs`. Returns whether all did. */
  async stop(boundMs: number): Promise<boolean> {
    this.#leader = false;
    return bounded(Promise.all(this.timers.map((timer) => timer.stop())), boundMs);
  }

  /** Partition 0 leads, even of a leader topic someone made with more partitions. */
  readonly #leads = (tp: TopicPartition) => tp.topic === this.leaderTopic && tp.partition === 0;
}

/** Whether `promise` settled within `ms` (real time: a stop or a rebalance must not wait on a test's clock). */
async function bounded(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
