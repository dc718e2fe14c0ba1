// Makes a fresh clone ready: checks the machine, installs what it may, then
// installs the workspace with the native Kafka client built from source.
// Safe to run again: every step is skipped when already done.
import { execFileSync } from 'node:child_process';
import { ensureNativeClient, nativeBuildEnv } from './lib/native.mjs';
import { ensurePnpm } from './lib/pnpm.mjs';
import { checkNode, checkToolchain, ensureNativeBuildPackages } from './lib/system.mjs';
import { repoRoot, step } from './lib/ui.mjs';

checkNode();
checkToolchain();
ensureNativeBuildPackages();
const pnpm = ensurePnpm();
step('installing the workspace (pnpm install)', () =>
  execFileSync(process.execPath, [pnpm, 'install', '--frozen-lockfile=false', '--reporter=append-only'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: nativeBuildEnv(process.execPath),
  }),
);
ensureNativeClient(process.execPath);
