import { APP_HELP, APP_OPTIONS, appOf, type Command } from './command.js';

export const agentsCommand: Command = {
  name: 'agents',
  summary: "list the app's agents: what each reads, its concurrency and sinks",
  help: `usage: stream-app agents -A <module> [--json]

Lists the agents the app module declares (nothing connects to Kafka).

options:
${APP_HELP}`,
  options: APP_OPTIONS,
  async run(values, _positionals, { out, cwd, io }) {
    const app = await appOf(values, { out, cwd, io });
    const agents = [...app.agents.values()].map((agent) => ({
      name: agent.name,
      topic: agent.topic.name,
      concurrency: agent.concurrency,
      sinks: agent.sinks.map((sink) => (typeof sink === 'function' ? sink.name || '(function)' : sink.name)),
      tables: agent.tables.map((table) => table.name),
    }));
    out.result({ app: app.id, agents });
    if (agents.length === 0) {
      out.line(`${app.id} declares no agents.`);
      return 0;
    }
    out.table(
      ['AGENT', 'READS', 'CONCURRENCY', 'SINKS', 'TABLES'],
      agents.map((agent) => [
        agent.name,
        agent.topic,
        String(agent.concurrency),
        agent.sinks.join(', ') || '-',
        agent.tables.join(', ') || '-',
      ]),
    );
    return 0;
  },
};
