// Makes a fresh clone ready: checks the machine, installs what it may, then
// installs the workspace with the native Kafka client built from source.
// Safe to run again: every step is skipped when already done.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNativeClient, nativeBuildEnv } from './lib/native.mjs';
import { ensurePnpm } from './lib/pnpm.mjs';
import { checkNode, checkToolchain, ensureNativeBuildPackages } from './lib/system.mjs';
import { repoRoot, step } from './lib/ui.mjs';

checkNode();
checkToolchain();
ensureNativeBuildPackages();
const pnpm = ensurePnpm();
if (!installIsCurrent()) {
  step('installing the workspace (pnpm install; the first one builds librdkafka, about two minutes)', () =>
    execFileSync(process.execPath, [pnpm, 'install', '--reporter=append-only'], {
      cwd: repoRoot,
      stdio: ['ignore', 'inherit', 'inherit'],
      env: nativeBuildEnv(process.execPath),
    }),
  );
}
ensureNativeClient(process.execPath);

/** pnpm keeps a copy of the lockfile it installed; when it matches and no manifest is newer, there is nothing to do. */
function installIsCurrent() {
  const installed = join(repoRoot, 'node_modules', '.pnpm', 'lock.yaml');
  const lockfile = join(repoRoot, 'pnpm-lock.yaml');
  if (!existsSync(installed) || !existsSync(lockfile)) return false;
  if (readFileSync(installed, 'utf8') !== readFileSync(lockfile, 'utf8')) return false;
  const installedAt = statSync(installed).mtimeMs;
  const manifests = ['package.json', 'pnpm-workspace.yaml', ...workspaceManifests()];
  return manifests.every((file) => statSync(join(repoRoot, file)).mtimeMs <= installedAt);
}

function workspaceManifests() {
  return ['packages', 'examples']
    .flatMap((dir) => readdirSync(join(repoRoot, dir)).map((name) => join(dir, name, 'package.json')))
    .concat('bench/package.json')
    .filter((file) => existsSync(join(repoRoot, file)));
}
