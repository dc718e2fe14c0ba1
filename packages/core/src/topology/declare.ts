import { CoreError } from '../errors/index.js';
import type { Logger } from '../logging/logger.js';
import type { AdminPort, TopicSpec } from '../transport/transport.js';

/**
 * Creates the missing topics when the app may, or fails naming each one; warns of a topic with fewer
 * partitions than declared.
 */
export async function declareTopics(
  admin: AdminPort,
  specs: TopicSpec[],
  options: { allowCreate: boolean; principal: () => Promise<string>; logger: Logger },
): Promise<void> {
  const counts = await admin.partitionCounts(specs.map((spec) => spec.name));
  const missing = specs.filter((spec) => !counts.has(spec.name));
  if (missing.length > 0 && !options.allowCreate) {
    const many = missing.length > 1;
    throw new CoreError(
      'STREAM_APP_ERR_TOPIC_MISSING',
      `topic${many ? 's' : ''} ${missing.map((spec) => `'${spec.name}'`).join(', ')} ` +
        `do${many ? '' : 'es'} not exist (or ${await options.principal()} may not Describe ${many ? 'them' : 'it'}), ` +
        'and topicAllowDeclare is false. Create them (kafka-topics.sh --create), grant Describe, or set topicAllowDeclare: true.',
      { details: { topics: missing.map((spec) => spec.name) } },
    );
  }
  await admin.createTopics(missing);
  for (const spec of specs) {
    const partitions = counts.get(spec.name);
    if (partitions !== undefined && partitions < spec.partitions) {
      options.logger.warn('topic has fewer partitions than declared', {
        topic: spec.name,
        partitions,
        declared: spec.partitions,
      });
    }
  }
}
