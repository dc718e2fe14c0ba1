import type { TopicSpec } from '../transport/transport.js';

/** Why the app has a topic. */
export type TopicRole = 'source' | 'sink' | 'declared' | 'changelog' | 'dead-letters' | 'leader' | 'members';

/** One topic the app declares, and who in the app reads and writes it. */
export interface TopicPlan extends TopicSpec {
  role: TopicRole;
  /** Agents (by name) that consume it, or `worker` for the app's own internal topics. */
  readBy: string[];
  /** Agents whose sink it is, tables whose changelog it is, or `worker`; a declared topic nobody reads is `app`. */
  writtenBy: string[];
}

/**
 * What an app is, as the operations commands (`topics`, `acls`, `doctor`) need it, known without
 * connecting: its consumer group, its topics with their specs, and the prefixes of what it makes at run
 * time (repartition and reply topics, transactional ids), which only a started agent body names.
 */
export interface AppPlan {
  id: string;
  group: string;
  topics: TopicPlan[];
  /** Every internal topic the app makes is named `<prefix>…` (changelogs, repartitions, leader, members, replies). */
  internalTopicPrefix: string;
  /** Under exactly once, the producer's transactional ids are `<prefix><instance or uuid>`. */
  transactionalIdPrefix: string | undefined;
  /** Whether the app creates missing topics (topicAllowDeclare). */
  declaresTopics: boolean;
  processingGuarantee: 'at_least_once' | 'exactly_once';
}
