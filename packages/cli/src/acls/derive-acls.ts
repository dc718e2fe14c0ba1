import type { AppPlan } from '@stream-app/core';

export type AclResource = 'topic' | 'group' | 'transactional-id' | 'cluster';
export type AclPattern = 'literal' | 'prefixed';
export type AclOperation = 'Read' | 'Write' | 'Create' | 'Describe' | 'DescribeConfigs' | 'IdempotentWrite' | 'All';

/** One ACL the app needs: allow `principal` these operations on one resource (pattern). */
export interface AclRule {
  resourceType: AclResource;
  /** `kafka-cluster` for the cluster. */
  name: string;
  patternType: AclPattern;
  operations: AclOperation[];
  /** Why the app needs it, for the printed commands. */
  reason: string;
}

/**
 * Every ACL an app needs, from its plan, and nothing broader:
 * - the topics its agents read: Read, Describe;
 * - the topics it declares to write (sinks, topics nobody in the app reads, a dead-letter topic named
 *   outside the app's prefix): Write, Describe;
 * - everything it names `<id>-…` at run time (changelogs, repartition, leader, members, reply and the
 *   default dead-letter topics), as one prefixed rule: Read, Write, Describe;
 * - its consumer group `<id>`, and the `<id>-replies-…` groups of `ask()` callers: Read, Describe;
 * - under exactly once, its transactional ids `<id>-…`: Write, Describe;
 * - when it may declare topics, Create on those same topics (Kafka authorizes CreateTopics by Create
 *   on the topic as well as on the cluster, so the cluster-wide right is not needed).
 * The idempotent producer needs no IdempotentWrite on the cluster since Kafka 2.8 (KIP-679): Write on
 * a topic is enough.
 */
export function deriveAcls(plan: AppPlan): AclRule[] {
  const prefix = plan.internalTopicPrefix;
  const outside = plan.topics.filter((topic) => !topic.name.startsWith(prefix));
  const rules: AclRule[] = [];
  const create = plan.declaresTopics ? (['Create'] as const) : [];
  for (const topic of outside) {
    const reads = topic.role === 'source' || topic.readBy.length > 0;
    const writes = topic.role !== 'source' || topic.writtenBy.length > 0;
    const operations: AclOperation[] = [...(reads ? ['Read' as const] : []), ...(writes ? ['Write' as const] : [])];
    rules.push({
      resourceType: 'topic',
      name: topic.name,
      patternType: 'literal',
      operations: [...operations, 'Describe', ...create],
      reason: describeTopic(topic.role, topic.readBy, topic.writtenBy),
    });
  }
  rules.push({
    resourceType: 'topic',
    name: prefix,
    patternType: 'prefixed',
    operations: ['Read', 'Write', 'Describe', ...create],
    reason: `the app's internal topics (${
      plan.topics
        .filter((topic) => topic.name.startsWith(prefix))
        .map((topic) => topic.name)
        .join(', ') || 'none yet'
    }; repartition and reply topics when agents start)`,
  });
  rules.push({
    resourceType: 'group',
    name: plan.group,
    patternType: 'literal',
    operations: ['Read', 'Describe'],
    reason: 'the consumer group its workers join and commit offsets in',
  });
  rules.push({
    resourceType: 'group',
    name: `${plan.group}-replies-`,
    patternType: 'prefixed',
    operations: ['Read', 'Describe'],
    reason: 'the reply consumers of agent.ask() callers (a group <id>-replies-<uuid> each)',
  });
  if (plan.transactionalIdPrefix) {
    rules.push({
      resourceType: 'transactional-id',
      name: plan.transactionalIdPrefix,
      patternType: 'prefixed',
      operations: ['Write', 'Describe'],
      reason: 'exactly once: each worker producer is transactional',
    });
  }
  return rules;
}

function describeTopic(role: string, readBy: string[], writtenBy: string[]): string {
  const parts = [role];
  if (readBy.length > 0) parts.push(`read by ${readBy.join(', ')}`);
  if (writtenBy.length > 0) parts.push(`written by ${writtenBy.join(', ')}`);
  return parts.join('; ');
}

const FLAG: { [type in Exclude<AclResource, 'cluster'>]: string } = {
  topic: '--topic',
  group: '--group',
  'transactional-id': '--transactional-id',
};

/** The rules as `kafka-acls.sh` command lines, one per rule. */
export function kafkaAclsCommands(rules: AclRule[], principal: string, bootstrap: string): string[] {
  return rules.map((rule) =>
    [
      'kafka-acls.sh',
      `--bootstrap-server ${bootstrap}`,
      '--command-config admin.properties',
      '--add',
      `--allow-principal '${principal}'`,
      ...rule.operations.map((operation) => `--operation ${operation}`),
      rule.resourceType === 'cluster' ? '--cluster' : `${FLAG[rule.resourceType]} '${rule.name}'`,
      `--resource-pattern-type ${rule.patternType}`,
    ].join(' '),
  );
}
