// `node scripts/pnpm.mjs <args>` runs the pinned pnpm, installing it first if needed.
import { spawnSync } from 'node:child_process';
import { ensurePnpm } from './lib/pnpm.mjs';

const result = spawnSync(process.execPath, [ensurePnpm(), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
