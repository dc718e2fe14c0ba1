import type { ParseArgsConfig } from 'node:util';
import type { App } from '@stream-app/core';
import type { Io } from '../io.js';
import { loadApp } from '../loader/load-app.js';
import type { Output } from '../output/output.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = { [name: string]: string | boolean | Array<string | boolean> | undefined };

export interface CommandContext {
  io: Io;
  out: Output;
  cwd: string;
}

/** One `stream-app <name>` command: its options for `node:util` parseArgs, its help, and what it does. */
export interface Command {
  name: string;
  summary: string;
  /** The text of `--help`: usage, what it does, its options. */
  help: string;
  options: OptionSpecs;
  /** Whether it takes positional arguments (`send <topic>`). */
  positionals?: boolean;
  /** Returns the exit code: 0 done or healthy, 1 failed or found problems, 2 wrong usage. */
  run(values: OptionValues, positionals: string[], context: CommandContext): Promise<number>;
}

/** The options every command that reads the app module has. */
export const APP_OPTIONS = {
  app: { type: 'string', short: 'A' },
  json: { type: 'boolean' },
} as const satisfies OptionSpecs;

export const APP_HELP = `  -A, --app <module>[:<export>]  the module that creates the App (a .ts or .js file)
      --json                     one JSON document on stdout, for scripts`;

/** A usage mistake: the command prints it under its help and exits 2. */
export class UsageError extends Error {}

/** Loads `-A`; a missing option is a usage error. */
export async function appOf(values: OptionValues, context: CommandContext): Promise<App> {
  if (typeof values.app !== 'string') throw new UsageError('-A <module> is required: the module that creates the App');
  return loadApp(values.app, context.cwd);
}

export function text(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}
