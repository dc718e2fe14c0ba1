import { instanceFor, AgentRunner, type AgentRuntime } from '../agents/agent-runner.js';
import type { Agent } from '../agents/agent.js';
import type { Committer } from '../committer/committer.js';
import type { PartitionOffsets } from '../committer/offset-tracker.js';
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import type { Logger } from '../logging/logger.js';
import type { PauseReason, Sensors } from '../sensors/sensor.js';
import { StreamEvent } from '../streams/event.js';
import type { Topology } from '../topology/topology.js';
import { partitionKey, type Consumer, type IncomingMessage, type TopicPartition } from '../transport/transport.js';

export interface ConductorOptions {
  onBadMessage: 'dead-letter' | 'skip' | 'stop';
  streamBufferMaxSize: number;
  /** How long a revocation waits for the events agents hold. */
  revokeDrainMs: number;
}

/**
 * Routes fetched messages to the agents that read them, like Faust's conductor: decodes them with
 * the topic's codecs, hands each to the agent instance its key belongs to, and pauses a partition
 * whose agents fall behind. It owns the agent runners and what happens to them on a rebalance.
 */
export class Conductor {
  readonly #topology: Topology;
  readonly #committer: Committer;
  readonly #deadLetters: DeadLetters;
  readonly #sensors: Sensors;
  readonly #log: Logger;
  readonly #options: ConductorOptions;
  readonly #fail: (error: Error) => void;
  readonly #runners = new Map<Agent, AgentRunner[]>();
  readonly #assigned = new Set<string>();
  /** Partitions held back (a table recovers them): what was fetched before the pause took hold waits here. */
  readonly #held = new Map<string, IncomingMessage[][]>();
  readonly #onAck: (event: StreamEvent) => void;
  #consumer: Consumer | undefined;
  #stopping = false;
  received = 0;
  skipped = 0;

  constructor(
    parts: { topology: Topology; committer: Committer; deadLetters: DeadLetters; sensors: Sensors; logger: Logger },
    options: ConductorOptions,
    fail: (error: Error) => void,
  ) {
    this.#topology = parts.topology;
    this.#committer = parts.committer;
    this.#deadLetters = parts.deadLetters;
    this.#sensors = parts.sensors;
    this.#log = parts.logger;
    this.#options = options;
    this.#fail = fail;
    this.#onAck = (event) => this.#sensors.emit('onEventAcked', event);
  }

  attach(consumer: Consumer): void {
    this.#consumer = consumer;
  }

  detach(): void {
    this.#consumer = undefined;
  }

  /** Starts every agent's instances; the ones whose bodies read a `through`/`groupBy` topic announce it now. */
  startAgents(runtime: AgentRuntime): void {
    for (const agent of this.#topology.agents.values()) {
      const runners = Array.from({ length: agent.concurrency }, (_, index) => new AgentRunner(agent, index, runtime));
      this.#runners.set(agent, runners);
      for (const runner of runners) runner.start();
    }
  }

  /** Ends every agent after what it holds; resolves false when that took longer than `timeoutMs`. */
  async stopAgents(timeoutMs: number): Promise<boolean> {
    this.#stopping = true;
    const runners = [...this.#runners.values()].flat();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(runners.map((runner) => runner.stop())).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return finished;
  }

  /** The topics whose events an agent's body processes (its own, or the topic of its `groupBy`/`through`). */
  bodyTopics(agent: Agent): string[] {
    const topics = this.#runners.get(agent)?.[0]?.bodyTopics() ?? [];
    return topics.length > 0 ? topics : [agent.topic.name];
  }

  get pausedPartitions(): number {
    return this.#consumer?.paused().length ?? 0;
  }

  receive(messages: IncomingMessage[]): void {
    if (this.#stopping) return;
    const first = messages[0]!;
    const key = partitionKey(first.topic, first.partition);
    if (!this.#assigned.has(key)) return;
    const held = this.#held.get(key);
    if (held) {
      held.push(messages);
      return;
    }
    const offsets = this.#committer.offsets.partition(first.topic, first.partition);
    const agents = this.#topology.readers(first.topic);
    const topic = this.#topology.topics.get(first.topic);
    const observed = this.#sensors.has('onMessageReceived');
    for (const message of messages) {
      if (observed) this.#sensors.emit('onMessageReceived', message);
      let key: unknown;
      let value: unknown;
      try {
        key = message.key === null || !topic ? message.key : topic.keyCodec.decode(message.key);
        value = topic ? topic.valueCodec.decode(message.value) : message.value;
      } catch (error) {
        this.#badMessage(message, error as Error, offsets);
        continue;
      }
      const entry = offsets.track(message.offset, agents.length);
      this.received += 1;
      for (const agent of agents) {
        const runners = this.#runners.get(agent)!;
        const runner = runners[instanceFor(message.key, message.partition, runners.length)]!;
        runner.channel(message.topic)!.push(new StreamEvent(message, key, value, offsets, entry, this.#onAck));
      }
    }
    this.#backpressure(offsets);
  }

  #backpressure(offsets: PartitionOffsets): void {
    const max = this.#options.streamBufferMaxSize;
    const consumer = this.#consumer;
    if (!consumer || offsets.outstanding < max || offsets.lowWatch) return;
    const partition = [{ topic: offsets.topic, partition: offsets.partition }];
    this.#log.debug('pausing partition: its agents are behind', {
      topic: offsets.topic,
      partition: offsets.partition,
      outstanding: offsets.outstanding,
    });
    consumer.pause(partition, 'backpressure');
    this.#sensors.emit('onPartitionsPaused', partition, 'backpressure');
    offsets.onLow(Math.floor(max / 2), () => {
      this.#consumer?.resume(partition, 'backpressure');
      this.#sensors.emit('onPartitionsResumed', partition, 'backpressure');
    });
  }

  #badMessage(message: IncomingMessage, error: Error, offsets: PartitionOffsets): void {
    const policy = this.#options.onBadMessage;
    const where = { topic: message.topic, partition: message.partition, offset: message.offset };
    if (policy === 'stop') {
      offsets.track(message.offset, 1); // never done: the offset stays uncommitted
      this.#log.error('bad message; stopping (onBadMessage: stop)', { ...where, error });
      this.#fail(error);
      return;
    }
    offsets.track(message.offset, 0);
    if (policy === 'skip') {
      this.skipped += 1;
      this.#log.warn('bad message skipped', { ...where, error });
      return;
    }
    this.#deadLetters.send(message, error);
  }

  /** Pauses partitions for `reason` and keeps anything fetched meanwhile, until `release`. */
  hold(partitions: TopicPartition[], reason: PauseReason): void {
    if (partitions.length === 0) return;
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (!this.#held.has(key)) this.#held.set(key, []);
    }
    this.#consumer?.pause(partitions, reason);
    this.#sensors.emit('onPartitionsPaused', partitions, reason);
  }

  /** Resumes held partitions and hands their agents what was fetched while they were held. */
  release(partitions: TopicPartition[], reason: PauseReason): void {
    const kept: IncomingMessage[][] = [];
    const released: TopicPartition[] = [];
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      const held = this.#held.get(key);
      if (!held) continue;
      this.#held.delete(key);
      released.push(tp);
      kept.push(...held);
    }
    if (released.length === 0) return;
    this.#consumer?.resume(released, reason);
    this.#sensors.emit('onPartitionsResumed', released, reason);
    for (const messages of kept) this.receive(messages);
  }

  assign(partitions: TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#assigned.add(partitionKey(topic, partition));
    this.#committer.offsets.forget(partitions);
  }

  /**
   * Revoked partitions: their queued events are dropped (the next owner reads them again); on a
   * graceful revocation the events agents hold are waited for (bounded) and what is done is committed.
   */
  async revoke(partitions: TopicPartition[], lost: boolean, abandoned: () => boolean): Promise<void> {
    const keys = new Set(partitions.map(({ topic, partition }) => partitionKey(topic, partition)));
    for (const key of keys) {
      this.#assigned.delete(key);
      this.#held.delete(key);
    }
    const firstDropped = new Map<string, number>();
    const dropped = (event: StreamEvent) => {
      const key = partitionKey(event.topic, event.partition);
      if (!keys.has(key)) return false;
      firstDropped.set(key, Math.min(firstDropped.get(key) ?? Infinity, event.offset));
      return true;
    };
    for (const runners of this.#runners.values()) for (const runner of runners) runner.drop(dropped);
    if (!lost && this.#consumer) {
      const drained = await this.#committer.drain(partitions, firstDropped, this.#options.revokeDrainMs, abandoned);
      if (!drained) {
        this.#log.warn(
          'partitions revoked while agents still hold some of their events; the new owner will process them again',
          { partitions: describePartitions(partitions) },
        );
      }
      await this.#committer
        .commit(partitions)
        .catch((error: unknown) => this.#log.error('commit on revoke failed', { error: error as Error }));
    }
    this.#committer.offsets.forget(partitions);
  }
}

export function describePartitions(partitions: TopicPartition[]): string {
  return partitions.map(({ topic, partition }) => `${topic}/${partition}`).join(',');
}
