import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TOKEN_HELP, tokenCommand } from './commands/token.js';
import { WORKER_HELP, workerCommand } from './commands/worker.js';
import type { Io } from './io.js';

const HELP = `stream-app: Faust-style stream processing for TypeScript, with OAuth to Kafka built in

usage: stream-app <command> [options]

commands:
  worker    run an app's agents (stream-app worker -A ./src/app.ts)
  token     fetch an access token and show its claims (never the token)
  help      this text

Run "stream-app <command> --help" for a command's options.`;

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    io.out(HELP);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    io.out(pkg.version);
    return 0;
  }
  if (command === 'worker') {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: {
          app: { type: 'string', short: 'A' },
          loglevel: { type: 'string', short: 'l' },
          'log-format': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (error) {
      io.err(`${WORKER_HELP}\n\nerror: ${(error as Error).message}`);
      return 2;
    }
    if (parsed.values.help) {
      io.out(WORKER_HELP);
      return 0;
    }
    return workerCommand(parsed.values, io);
  }
  if (command === 'token') {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: {
          issuer: { type: 'string' },
          'token-endpoint': { type: 'string' },
          'client-id': { type: 'string' },
          'client-secret-env': { type: 'string' },
          scope: { type: 'string' },
          audience: { type: 'string' },
          resource: { type: 'string' },
          'allow-insecure-loopback': { type: 'boolean' },
          help: { type: 'boolean' },
        },
      });
    } catch (error) {
      io.err(`${TOKEN_HELP}\n\nerror: ${(error as Error).message}`);
      return 2;
    }
    if (parsed.values.help) {
      io.out(TOKEN_HELP);
      return 0;
    }
    return tokenCommand(parsed.values, io);
  }
  io.err(`${HELP}\n\nerror: unknown command "${command}"`);
  return 2;
}
