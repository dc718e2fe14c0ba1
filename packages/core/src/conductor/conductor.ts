import { instanceFor, AgentRunner, type AgentRuntime } from '../agents/agent-runner.js';
import type { Agent } from '../agents/agent.js';
import type { Barrier, Committer } from '../committer/committer.js';
import type { PartitionOffsets } from '../committer/offset-tracker.js';
import type { DeadLetters } from '../dead-letters/dead-letters.js';
import type { Logger } from '../logging/logger.js';
import { StreamAppError } from '../errors/index.js';
import type { PauseReason, Sensors } from '../sensors/sensor.js';
import { StreamEvent } from '../streams/event.js';
import type { Topology } from '../topology/topology.js';
import {
  partitionKey,
  type Consumer,
  type IncomingMessage,
  type TopicPartition,
  type TopicPartitionOffset,
} from '../transport/transport.js';

export interface ConductorOptions {
  onBadMessage: 'dead-letter' | 'skip' | 'stop';
  streamBufferMaxSize: number;
  /** How long a revocation waits for the events agents hold (at least once). */
  revokeDrainMs: number;
  /** Commits wait at the barrier, and a revocation commits everything first. */
  exactlyOnce: boolean;
}

/** How often a commit that waits at the barrier says for what. */
const BARRIER_WARN_MS = 10_000;

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
  readonly #abandoned: () => boolean;
  readonly #runners = new Map<Agent, AgentRunner[]>();
  readonly #assigned = new Map<string, TopicPartition>();
  /** Partitions held back (a table recovers them): what was fetched before the pause took hold waits here. */
  readonly #held = new Map<string, IncomingMessage[][]>();
  /** Per agent, what a StreamEvent calls when done (made once: one closure per message would cost). */
  readonly #onAck = new Map<Agent, (event: StreamEvent) => void>();
  #consumer: Consumer | undefined;
  #stopping = false;
  /** Exactly once: fetched batches wait here, undecoded, while a commit is at the barrier. */
  #gate: IncomingMessage[][] | undefined;
  readonly #gated = new Map<string, number>();
  #gatePaused: TopicPartition[] = [];
  /** The highest offset handed to `receive` per partition (exactly once: to tell a rewind's records from stale ones). */
  readonly #lastReceived = new Map<string, number>();
  /**
   * Partitions rewound, with the highest offset received before: until the consumer's seek takes
   * effect, the client may still hand over records it fetched before, all above that offset.
   */
  readonly #rewound = new Map<string, number>();
  /** When the app stops: a barrier waits at most until then. */
  barrierDeadline: number | undefined;
  /** Exactly once: the committer waits here. */
  readonly barrier: Barrier = {
    enter: () => this.#enterBarrier(),
    leave: () => this.#leaveBarrier(),
    rewind: () => this.#rewind(),
  };
  received = 0;
  skipped = 0;

  constructor(
    parts: {
      topology: Topology;
      committer: Committer;
      deadLetters: DeadLetters;
      sensors: Sensors;
      logger: Logger;
      /** The app failed: a barrier stops waiting. */
      abandoned: () => boolean;
    },
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
    this.#abandoned = parts.abandoned;
  }

  /** The partitions assigned to this worker now. */
  get assignment(): TopicPartition[] {
    return [...this.#assigned.values()];
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

  /** No message is handed to agents from now on (exactly once: before the last commit of a stop). */
  stopReceiving(): void {
    this.#stopping = true;
    // Agents finish the events in hand and take no queued one: the last commit stops before those.
    this.#pauseQueues(true);
  }

  /** A batch from the consumer. */
  receive(fetched: IncomingMessage[]): void {
    if (this.#stopping) return;
    const first = fetched[0]!;
    const key = partitionKey(first.topic, first.partition);
    if (!this.#assigned.has(key)) return;
    const messages = this.#options.exactlyOnce ? this.#afterSeek(key, fetched) : fetched;
    if (messages.length > 0) this.#dispatch(messages);
  }

  /** A batch received, or released by a recovery hold or the barrier's gate. */
  #dispatch(messages: IncomingMessage[]): void {
    const first = messages[0]!;
    const key = partitionKey(first.topic, first.partition);
    if (this.#stopping || !this.#assigned.has(key)) return;
    // Held (recovering) first: what a release hands over is older than anything the gate holds of it.
    const held = this.#held.get(key);
    if (held) {
      held.push(messages);
      return;
    }
    if (this.#gate) {
      this.#holdAtGate(key, messages);
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
        runner.channel(message.topic)!.push(new StreamEvent(message, key, value, offsets, entry, this.#ackFor(agent)));
      }
    }
    this.#backpressure(offsets);
  }

  #ackFor(agent: Agent): (event: StreamEvent) => void {
    let onAck = this.#onAck.get(agent);
    if (!onAck) {
      onAck = (event) => this.#sensors.emit('onEventAcked', event, agent);
      this.#onAck.set(agent, onAck);
    }
    return onAck;
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
      const code = error instanceof StreamAppError ? error.code : 'STREAM_APP_ERR_DECODE';
      this.#sensors.emit('onSkipped', { ...where, code, reason: error.message.slice(0, 1000) });
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
    for (const messages of kept) this.#dispatch(messages);
  }

  assign(partitions: TopicPartition[]): void {
    for (const tp of partitions) {
      const key = partitionKey(tp.topic, tp.partition);
      this.#assigned.set(key, tp);
      this.#rewound.delete(key);
      this.#lastReceived.delete(key);
    }
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
    if (this.#options.exactlyOnce) {
      // Gone before the commit, so that nothing of theirs starts after it: later batches, the gate's, and
      // queued (never started) events. The commit at the barrier covers every partition; its offsets of
      // these stop before their first dropped event. A lost partition's offsets are refused by the group
      // (its generation is gone), which aborts and rewinds.
      const revoked = (topic: string, partition: number) => keys.has(partitionKey(topic, partition));
      if (this.#gate) this.#gate = this.#gate.filter((batch) => !revoked(batch[0]!.topic, batch[0]!.partition));
      this.#dropQueued((event) => revoked(event.topic, event.partition));
      // Only a permanent failure is thrown (an unknown outcome, an ACL): going on could process twice.
      await this.#committer.commit().catch((error: unknown) => this.#fail(error as Error));
      this.#committer.offsets.forget(partitions);
      return;
    }
    const firstDropped = new Map<string, number>();
    const dropped = (event: StreamEvent) => {
      const key = partitionKey(event.topic, event.partition);
      if (!keys.has(key)) return false;
      firstDropped.set(key, Math.min(firstDropped.get(key) ?? Infinity, event.offset));
      return true;
    };
    this.#dropQueued(dropped);
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

  // ── exactly once ─────────────────────────────────────────────────────────

  /**
   * Agents take no new event from their queues and new batches wait at the gate; resolves when no
   * event is in progress. Queued events are not started, and the offsets committed stop before them,
   * unless an instance finished events after one still queued (concurrency > 1, or several agents on
   * a topic): then every event handed over is finished first, so that none is done twice.
   */
  async #enterBarrier(): Promise<boolean> {
    this.#gate ??= [];
    const offsets = this.#committer.offsets;
    const isAssigned = (p: PartitionOffsets) => this.#assigned.has(partitionKey(p.topic, p.partition));
    for (;;) {
      this.#pauseQueues(true);
      if (!(await this.#waitAtBarrier(() => offsets.inProgress() === 0))) return false;
      const outOfOrder = [...offsets.all].filter((p) => p.doneOutOfOrder);
      if (outOfOrder.length === 0) return true;
      // Revoked partitions' queued events were dropped, and stopped agents take no more: work done behind one
      // of those cannot commit exactly. Abort; the events are processed again (here or by the next owner).
      if (this.#stopping || outOfOrder.some((p) => !isAssigned(p))) {
        this.#log.warn('aborting the transaction: agent instances finished events out of order', {
          code: 'STREAM_APP_ERR_TRANSACTION_ABORTED',
          partitions: outOfOrder.map((p) => `${p.topic}/${p.partition}`).join(','),
        });
        return false;
      }
      this.#pauseQueues(false);
      // Assigned now, at each check: a revocation meanwhile drops its partitions' queued events.
      const drained = await this.#waitAtBarrier(
        () => this.#stopping || offsets.outstanding([...this.#assigned.values()]) === 0,
      );
      if (!drained || this.#stopping) return false;
      // Again from the top: an event of a partition revoked during the drain may still be in progress.
    }
  }

  async #waitAtBarrier(done: () => boolean): Promise<boolean> {
    let warnAt = Date.now() + BARRIER_WARN_MS;
    // Real time, like the drain: a test's clock must not hold a commit up.
    while (!done()) {
      if (this.#abandoned() || (this.barrierDeadline !== undefined && Date.now() >= this.barrierDeadline)) return false;
      if (Date.now() >= warnAt) {
        warnAt += BARRIER_WARN_MS;
        this.#log.warn('a commit waits for agents to finish the events they hold (exactly once)', {
          inProgress: this.#committer.offsets.inProgress(),
          outstanding: this.#committer.offsets.outstanding(),
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return true;
  }

  #pauseQueues(paused: boolean): void {
    for (const runners of this.#runners.values()) for (const runner of runners) runner.pauseQueues(paused);
  }

  /** Drops the queued (never started) events that match from every agent instance. */
  #dropQueued(matches: (event: StreamEvent) => boolean): void {
    for (const runners of this.#runners.values()) for (const runner of runners) runner.drop(matches);
  }

  /**
   * What of a fetched batch is new. None of a batch fetched before a rewind's seek took effect (it is read
   * again after the seek). And none of what was received before, unless a rewind asked for it: the client
   * has been seen to read a partition again from an earlier offset by itself (a seek back to a batch's
   * first offset after pauses for the barrier and for backpressure), and exactly once, those records would
   * be processed and committed twice (the committed offset went 4258, then 4096).
   */
  #afterSeek(key: string, messages: IncomingMessage[]): IncomingMessage[] {
    const staleAbove = this.#rewound.get(key);
    if (staleAbove !== undefined) {
      if (messages[0]!.offset > staleAbove) return [];
      this.#rewound.delete(key);
    }
    const received = this.#lastReceived.get(key);
    const fresh = received === undefined ? messages : messages.filter((message) => message.offset > received);
    if (fresh.length < messages.length) {
      this.#log.debug('dropped records the client handed over again', {
        topic: messages[0]!.topic,
        partition: messages[0]!.partition,
        from: messages[0]!.offset,
        dropped: messages.length - fresh.length,
      });
    }
    if (fresh.length > 0) this.#lastReceived.set(key, fresh[fresh.length - 1]!.offset);
    return fresh;
  }

  #leaveBarrier(): void {
    if (!this.#stopping) this.#pauseQueues(false);
    const gated = this.#gate ?? [];
    this.#gate = undefined;
    this.#gated.clear();
    if (this.#gatePaused.length > 0) {
      const paused = this.#gatePaused;
      this.#gatePaused = [];
      this.#consumer?.resume(paused, 'barrier');
      this.#sensors.emit('onPartitionsResumed', paused, 'barrier');
    }
    for (const messages of gated) this.#dispatch(messages);
  }

  /**
   * A long barrier: a partition with `streamBufferMaxSize` messages at the gate is paused, right after it
   * handed a batch over. (Pausing one that handed nothing over yet would drop what the client prefetched
   * for it without reading it again.)
   */
  #holdAtGate(key: string, messages: IncomingMessage[]): void {
    this.#gate!.push(messages);
    const gated = (this.#gated.get(key) ?? 0) + messages.length;
    this.#gated.set(key, gated);
    if (gated < this.#options.streamBufferMaxSize || !this.#consumer) return;
    const partition = this.#assigned.get(key);
    if (!partition || this.#gatePaused.includes(partition)) return;
    this.#gatePaused.push(partition);
    this.#consumer.pause([partition], 'barrier');
    this.#sensors.emit('onPartitionsPaused', [partition], 'barrier');
  }

  /** After an aborted transaction: partitions with events since the last commit are fetched again from it. */
  #rewind(): void {
    const seeks: TopicPartitionOffset[] = [];
    for (const offsets of this.#committer.offsets.all) {
      const target = offsets.rewindTarget;
      if (target === undefined) continue;
      // Also a partition being revoked, whose revocation waits on this commit: what it did since the last
      // commit was aborted, so its revocation's commit must not commit it (its next owner reads it again).
      const key = partitionKey(offsets.topic, offsets.partition);
      const assigned = this.#assigned.has(key);
      offsets.rewind(target, assigned);
      if (!assigned) continue;
      seeks.push({ topic: offsets.topic, partition: offsets.partition, offset: target });
      const last = this.#lastReceived.get(key);
      if (last !== undefined) this.#rewound.set(key, last);
      this.#lastReceived.delete(key);
    }
    if (seeks.length === 0) return;
    const rewound = new Set(seeks.map(({ topic, partition }) => partitionKey(topic, partition)));
    const isRewound = (topic: string, partition: number) => rewound.has(partitionKey(topic, partition));
    if (this.#gate) this.#gate = this.#gate.filter((batch) => !isRewound(batch[0]!.topic, batch[0]!.partition));
    this.#dropQueued((event) => isRewound(event.topic, event.partition));
    this.#consumer?.seek(seeks);
    this.#log.info('read again from the last commit', {
      partitions: seeks.map(({ topic, partition, offset }) => `${topic}/${partition}@${offset}`).join(','),
    });
  }
}

export function describePartitions(partitions: TopicPartition[]): string {
  return partitions.map(({ topic, partition }) => `${topic}/${partition}`).join(',');
}
