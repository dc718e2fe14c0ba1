import type { TopicPlan } from '@stream-app/core';
import { withCluster } from '../kafka/cluster.js';
import { APP_HELP, APP_OPTIONS, appOf, type Command } from './command.js';

export const topicsCommand: Command = {
  name: 'topics',
  summary: "list the app's topics with their partitions and who reads and writes them; --create them",
  help: `usage: stream-app topics -A <module> [--create] [--json]

Lists every topic the app uses (its own, the dead-letter topic, table changelogs, the timers' leader
topic, the web members topic), what it is for, which agents read and write it, and its partitions as
declared and as the broker has them. Repartition and reply topics are named <app id>-… and appear
when the agents start.

options:
${APP_HELP}
      --create                   create the topics that are missing, as the worker would`,
  options: { ...APP_OPTIONS, create: { type: 'boolean' } },
  async run(values, _positionals, context) {
    const app = await appOf(values, context);
    const { out, io } = context;
    const plan = app.plan();
    const names = plan.topics.map((topic) => topic.name);
    const counts = await withCluster(app, io, async (transport) => {
      let found = await out.step(
        `reading ${names.length} topics from ${app.options.bootstrap}`,
        () => transport.admin.partitionCounts(names),
        (map) => `${map.size} of ${names.length} topics exist on ${app.options.bootstrap}`,
      );
      const missing = plan.topics.filter((topic) => !found.has(topic.name));
      if (values.create && missing.length > 0) {
        await out.step(
          `creating ${missing.map((topic) => topic.name).join(', ')}`,
          () => transport.admin.createTopics(missing),
          () => `created ${missing.length} topic${missing.length > 1 ? 's' : ''}`,
        );
        // The broker's metadata takes a moment to show new topics.
        for (let tries = 0; tries < 20; tries++) {
          found = await transport.admin.partitionCounts(names);
          if (missing.every((topic) => found.has(topic.name))) break;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      return found;
    });
    const topics = plan.topics.map((topic) => ({ ...view(topic), actualPartitions: counts.get(topic.name) ?? null }));
    out.result({ app: app.id, group: plan.group, internalTopicPrefix: plan.internalTopicPrefix, topics });
    out.line();
    out.table(
      ['TOPIC', 'ROLE', 'PARTITIONS', 'READ BY', 'WRITTEN BY'],
      topics.map((topic) => [
        topic.name,
        topic.role,
        partitions(topic.partitions, topic.actualPartitions),
        topic.readBy.join(', ') || '-',
        topic.writtenBy.join(', ') || '-',
      ]),
    );
    const missing = topics.filter((topic) => topic.actualPartitions === null);
    if (missing.length > 0 && !values.create) {
      out.line();
      out.line(
        out.mark(
          'warn',
          `${missing.length} missing; the worker creates them${plan.declaresTopics ? '' : ' only with topicAllowDeclare'}, or run stream-app topics --create`,
        ),
      );
    }
    return 0;
  },
};

function view({ name, role, partitions, replicas, config, readBy, writtenBy }: TopicPlan) {
  return { name, role, partitions, replicas, config, readBy, writtenBy };
}

function partitions(declared: number, actual: number | null): string {
  if (actual === null) return `missing (declared ${declared})`;
  return actual === declared ? String(actual) : `${actual} (declared ${declared})`;
}
