import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runKafkaTool } from './java.js';
import type { KafkaInfo } from './kafka-info.js';

export type AclOperation =
  | 'All'
  | 'Read'
  | 'Write'
  | 'Create'
  | 'Delete'
  | 'Alter'
  | 'Describe'
  | 'ClusterAction'
  | 'DescribeConfigs'
  | 'AlterConfigs'
  | 'IdempotentWrite';

export interface AclBinding {
  /** e.g. `User:orders-service` (an OAuth client's principal is `User:<sub>`). */
  principal: string;
  resourceType: 'topic' | 'group' | 'cluster' | 'transactional-id';
  /** Ignored for `cluster`. `*` matches every resource. */
  name?: string;
  patternType?: 'literal' | 'prefixed';
  operations: AclOperation[];
  permission?: 'allow' | 'deny';
}

const RESOURCE_FLAG = { topic: '--topic', group: '--group', 'transactional-id': '--transactional-id' } as const;

/**
 * Grants ACLs (or denials) through the admin (super user) listener with Kafka's own
 * AclCommand: the native client has no CreateAcls API. Bindings that differ
 * only in their resource share one run of the tool (one JVM start each).
 */
export function createAcls(kafka: KafkaInfo, acls: AclBinding[]): Promise<void> {
  return aclCommand(kafka, '--add', acls);
}

/** Removes ACLs granted (or denied) by `createAcls`, given as they were granted. */
export function removeAcls(kafka: KafkaInfo, acls: AclBinding[]): Promise<void> {
  return aclCommand(kafka, '--remove', acls);
}

async function aclCommand(kafka: KafkaInfo, action: '--add' | '--remove', acls: AclBinding[]): Promise<void> {
  const commandConfig = join(kafka.dataDir, 'admin-client.properties');
  writeFileSync(commandConfig, adminClientProperties(kafka), { mode: 0o600 });
  const runs = new Map<string, string[]>();
  for (const acl of acls) {
    const head = [acl.permission === 'deny' ? '--deny-principal' : '--allow-principal', acl.principal];
    for (const operation of acl.operations) head.push('--operation', operation);
    head.push('--resource-pattern-type', acl.patternType ?? 'literal');
    const key = head.join(' ');
    const resource =
      acl.resourceType === 'cluster' ? ['--cluster'] : [RESOURCE_FLAG[acl.resourceType], acl.name ?? '*'];
    runs.set(key, [...(runs.get(key) ?? head), ...resource]);
  }
  for (const args of runs.values()) {
    await runKafkaTool(kafka.lib, 'org.apache.kafka.tools.AclCommand', [
      '--bootstrap-server',
      kafka.bootstrap.admin,
      '--command-config',
      commandConfig,
      action,
      '--force',
      ...args,
    ]);
  }
}

function adminClientProperties(kafka: KafkaInfo): string {
  return [
    'security.protocol=SASL_PLAINTEXT',
    'sasl.mechanism=PLAIN',
    `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${kafka.adminUser.username}" password="${kafka.adminUser.password}";`,
    '',
  ].join('\n');
}
