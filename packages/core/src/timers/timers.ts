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
    if (!partitions.some((tp) => tp.topic === this.leaderTopic)) return;
    this.#leader = true;
    this.#logger().info('this worker is the leader: it runs the onLeader timers', { topic: this.leaderTopic });
  }

  revoked(partitions: TopicPartition[]): void {
    if (!this.#leader || !partitions.some((tp) => tp.topic === this.leaderTopic)) return;
    this.#leader = false;
    this.#logger().info('this worker is no longer the leader', { topic: this.leaderTopic });
  }

  start(supervisor: Supervisor): void {
    for (const timer of this.timers) timer.start((task) => supervisor.start(task));
  }

  /** Stops every timer; a run in progress finishes first. */
  async stop(): Promise<void> {
    await Promise.all(this.timers.map((timer) => timer.stop()));
    this.#leader = false;
  }
}
