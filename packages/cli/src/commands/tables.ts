import { SetTable } from '@stream-app/core';
import { APP_HELP, APP_OPTIONS, appOf, type Command } from './command.js';

export const tablesCommand: Command = {
  name: 'tables',
  summary: "list the app's tables: kind, partitions, store and changelog topic",
  help: `usage: stream-app tables -A <module> [--json]

Lists the tables the app module declares (nothing connects to Kafka). Windowed tables show as the
table they are kept in.

options:
${APP_HELP}`,
  options: APP_OPTIONS,
  async run(values, _positionals, context) {
    const app = await appOf(values, context);
    const { out } = context;
    const tables = [...app.tables.values()].map((table) => ({
      name: table.name,
      kind: table.global ? 'global' : table instanceof SetTable ? 'set' : 'table',
      partitions: table.partitions,
      store: table.store.constructor.name.replace(/Store$/, '').toLowerCase() || 'custom',
      changelog: table.changelogTopic,
      writtenBy: [...app.agents.values()]
        .filter((agent) => agent.tables.includes(table as never))
        .map((agent) => agent.name),
    }));
    out.result({ app: app.id, tables });
    if (tables.length === 0) {
      out.line(`${app.id} declares no tables.`);
      return 0;
    }
    out.table(
      ['TABLE', 'KIND', 'PARTITIONS', 'STORE', 'CHANGELOG', 'WRITTEN BY'],
      tables.map((table) => [
        table.name,
        table.kind,
        String(table.partitions),
        table.store,
        table.changelog,
        table.writtenBy.join(', ') || '-',
      ]),
    );
    return 0;
  },
};
