// Finds (or installs, once) the pnpm version pinned in package.json's
// `packageManager`, inside .cache/tools, so a fresh machine needs only Node and npm.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, step } from './ui.mjs';

export function pnpmVersion() {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const match = /^pnpm@(.+)$/.exec(pkg.packageManager ?? '');
  if (!match) throw new Error('package.json must pin "packageManager": "pnpm@<version>"');
  return match[1];
}

export function ensurePnpm() {
  const version = pnpmVersion();
  const prefix = join(repoRoot, '.cache', 'tools', `pnpm-${version}`);
  const bin = join(prefix, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs');
  if (existsSync(bin)) return bin;
  step(`installing pnpm ${version} into .cache/tools`, () =>
    execFileSync('npm', ['install', '--prefix', prefix, '--no-save', '--no-package-lock', `pnpm@${version}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  return bin;
}
