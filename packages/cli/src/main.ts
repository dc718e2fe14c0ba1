import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { StreamAppError } from '@stream-app/credentials/errors';
import { aclsCommand } from './commands/acls.js';
import { agentsCommand } from './commands/agents.js';
import { UsageError, type Command } from './commands/command.js';
import { devCommand } from './commands/dev.js';
import { doctorCommand } from './commands/doctor.js';
import { sendCommand } from './commands/send.js';
import { tablesCommand } from './commands/tables.js';
import { tokenCommand } from './commands/token.js';
import { topicsCommand } from './commands/topics.js';
import { workerCommand } from './commands/worker.js';
import type { Io } from './io.js';
import { loadDotEnv } from './loader/dotenv.js';
import { Output } from './output/output.js';

export const COMMANDS: readonly Command[] = [
  workerCommand,
  sendCommand,
  agentsCommand,
  tablesCommand,
  topicsCommand,
  tokenCommand,
  aclsCommand,
  doctorCommand,
  devCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `stream-app: Faust-style stream processing for TypeScript, with OAuth to Kafka built in

usage: stream-app <command> [options]

commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

Settings come from the app module, STREAM_APP_* variables and a .env file in the current directory
(docs/configuration.md). Run "stream-app <command> --help" for a command's options.`;
}

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], io: Io, cwd = process.cwd()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    io.out(help());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    io.out(pkg.version);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.err(`${help()}\n\nerror: unknown command "${name}"`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.positionals === true,
    });
  } catch (error) {
    io.err(`${command.help}\n\nerror: ${(error as Error).message}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(command.help);
    return 0;
  }
  const out = new Output(io, { json: (parsed.values as { json?: unknown }).json === true });
  try {
    loadDotEnv(cwd, io.env);
    return await command.run(parsed.values, parsed.positionals, { io, out, cwd });
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${command.help}\n\nerror: ${error.message}`);
      return 2;
    }
    const { code, message, details } = error as StreamAppError & { details?: { problems?: unknown } };
    if (out.json) io.out(JSON.stringify({ error: { code, message, ...(details ? { details } : {}) } }, null, 2));
    // A refused Record lists each field on its own line.
    const problems = Array.isArray(details?.problems) ? (details.problems as Array<{ message: string }>) : [];
    if (problems.length > 0) {
      out.error(`error ${code}: ${message.split(':')[0]}:`);
      for (const problem of problems) out.error(`  - ${problem.message}`);
    } else {
      out.error(`error${code ? ` ${code}` : ''}: ${message}`);
    }
    if (!(error instanceof StreamAppError) && process.env.STREAM_APP_DEBUG) io.err(String((error as Error).stack));
    return 1;
  }
}
