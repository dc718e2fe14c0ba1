import { KafkaJS } from '@confluentinc/kafka-javascript';
import { CoreError, StreamAppError } from '../errors/index.js';
import {
  authenticationError,
  connectClient,
  explainKafkaError,
  type KafkaDiagnostics,
} from '../kafka/kafka-diagnostics.js';
import type { KafkaTransportOptions } from './kafka-config.js';
import { KafkaPartitionReader } from './kafka-partition-reader.js';
import type { AdminPort, GroupMember, PartitionWatermarks, TopicPartitionOffset, TopicSpec } from './transport.js';

const TOPIC_ALREADY_EXISTS = 36;

/** The admin port over one long-lived admin client, connected on first use. */
export class KafkaAdmin implements AdminPort {
  readonly #kafka: KafkaJS.Kafka;
  readonly #diagnostics: KafkaDiagnostics;
  readonly #options: KafkaTransportOptions;
  #client: Promise<KafkaJS.Admin> | undefined;

  constructor(kafka: KafkaJS.Kafka, diagnostics: KafkaDiagnostics, options: KafkaTransportOptions) {
    this.#kafka = kafka;
    this.#diagnostics = diagnostics;
    this.#options = options;
  }

  #admin(): Promise<KafkaJS.Admin> {
    this.#client ??= (async () => {
      const admin = this.#kafka.admin();
      await connectClient(admin, this.#diagnostics, this.#options.bootstrap);
      return admin;
    })();
    this.#client.catch(() => (this.#client = undefined));
    return this.#client;
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const admin = await this.#admin();
    const existing = new Set(await admin.listTopics().catch((error: unknown) => this.#refused(error)));
    const present = topics.filter((topic) => existing.has(topic));
    const counts = new Map<string, number>();
    if (present.length === 0) return counts;
    for (const topic of await admin.fetchTopicMetadata({ topics: present })) {
      counts.set(topic.name, topic.partitions.length);
    }
    return counts;
  }

  /**
   * The admin client's connect resolves before the broker has checked the credentials, so a refusal
   * shows first as a transport failure of the next request: the broker's reason, when it gave one,
   * replaces it.
   */
  #refused(error: unknown): never {
    const failure = this.#diagnostics.authenticationFailure;
    if (failure && !(error instanceof StreamAppError)) throw authenticationError(failure, error);
    throw error;
  }

  async createTopics(specs: TopicSpec[]): Promise<void> {
    const admin = await this.#admin();
    // Asking the client to create a topic that exists makes it wait out its timeout: leave those out.
    const existing = new Set(specs.length > 0 ? await admin.listTopics() : []);
    const missing = specs.filter((spec) => !existing.has(spec.name));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        topics: missing.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicas,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    } catch (error) {
      // The client reports one error per topic; "already exists" means another worker was quicker.
      const failures = ((error as { errors?: unknown[] }).errors ?? [error]) as Array<{
        code?: number;
        topic?: string;
      }>;
      const first = failures.find((failure) => failure.code !== TOPIC_ALREADY_EXISTS);
      if (!first) return;
      const explained = explainKafkaError(first, {
        principal: await this.#options.principal(),
        operation: 'Create',
        resource: first.topic ?? '?',
      });
      if (explained instanceof StreamAppError) throw explained;
      throw new CoreError(
        'STREAM_APP_ERR_TOPIC_MISSING',
        `could not create topic '${first.topic ?? '?'}': ${(first as Error).message}. Check its partitions, replicas and config, or create it yourself.`,
        { cause: first, details: { topics: failures.map((failure) => failure.topic) } },
      );
    }
  }

  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    const admin = await this.#admin();
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets
      .map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }))
      .sort((a, b) => a.partition - b.partition);
  }

  async groupOffsets(groupId: string, topics: string[]): Promise<TopicPartitionOffset[]> {
    const counts = await this.partitionCounts(topics);
    const partitions = [...counts].flatMap(([topic, count]) =>
      Array.from({ length: count }, (_, partition) => ({ topic, partition })),
    );
    if (partitions.length === 0) return [];
    // An OffsetFetch from a consumer that never joins: the admin client's fetchOffsets crashed the process
    // in @confluentinc/kafka-javascript 1.10.1 when asked over the OAUTHBEARER listener.
    const reader = await KafkaPartitionReader.open(this.#options, groupId);
    try {
      // A group's coordinator may be loading or moving (COORDINATOR_LOAD_IN_PROGRESS, _NOT_AVAILABLE, NOT_COORDINATOR): retried.
      for (let attempt = 1; ; attempt++) {
        try {
          return await reader.committed(partitions);
        } catch (error) {
          if (attempt >= 10 || ![14, 15, 16].includes((error as { code?: number }).code ?? 0)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      }
    } finally {
      await reader.close();
    }
  }

  async groupMembers(groupId: string): Promise<{ state: 'stable' | 'rebalancing' | 'empty'; members: GroupMember[] }> {
    const admin = await this.#admin();
    const { groups } = await admin.describeGroups([groupId]);
    const group = groups[0];
    const members = (group?.members ?? []).map((member) => ({
      memberId: member.memberId,
      clientId: member.clientId,
      partitions: (member.assignment?.topicPartitions ?? []).map(({ topic, partition }) => ({ topic, partition })),
    }));
    // Anything but STABLE with members is a rebalance (PREPARING_REBALANCE, COMPLETING_REBALANCE).
    const stable = group?.state === KafkaJS.ConsumerGroupStates.STABLE;
    return { state: members.length === 0 ? 'empty' : stable ? 'stable' : 'rebalancing', members };
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await (await client?.catch(() => undefined))?.disconnect().catch(() => {});
  }
}
