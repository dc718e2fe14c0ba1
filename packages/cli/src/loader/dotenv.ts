import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';

/**
 * Reads `<cwd>/.env` (Node's own parser, the syntax of `node --env-file`) into `env` before the app
 * module loads, so that its STREAM_APP_* settings and the variables it reads itself are there. A
 * variable already set wins over the file. Returns the names it set.
 */
export function loadDotEnv(cwd: string, env: NodeJS.ProcessEnv): string[] {
  const file = join(cwd, '.env');
  if (!existsSync(file)) return [];
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(readFileSync(file, 'utf8')))) {
    if (env[name] !== undefined || value === undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
