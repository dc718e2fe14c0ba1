// The one test command: lint, format, types, each package's build, then every
// test against a real broker and identity provider, on Node 20 and Node 24.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNativeClient } from './lib/native.mjs';
import { ensureNode } from './lib/node-runtime.mjs';
import { ensurePnpm } from './lib/pnpm.mjs';
import { scanForSecrets } from './lib/secret-scan.mjs';
import { bold, fail, repoRoot, step, stepAsync } from './lib/ui.mjs';

const pnpm = ensurePnpm();
// `--reliability-only` (npm run test:reliability): the checks and builds, then the reliability suite alone.
const reliabilityOnly = process.argv.includes('--reliability-only');
const vitestArgs = process.argv.slice(2).filter((arg) => arg !== '--reliability-only');
const bin = (name) => join(repoRoot, 'node_modules', '.bin', name);
const run = (label, command, args, env = process.env) =>
  step(label, () => {
    const result = spawnSync(command, args, { cwd: repoRoot, stdio: 'inherit', env });
    if (result.status !== 0) fail(`${label} failed`);
  });

run('lint (eslint)', bin('eslint'), ['.', '--max-warnings=0']);
run('format (prettier --check)', bin('prettier'), ['--check', '.', '--log-level=warn']);
run('types (tsc)', bin('tsc'), ['-p', 'tsconfig.json']);
run('docs snippets compile', process.execPath, [join(repoRoot, 'scripts', 'check-docs.mjs')]);
run('build every package on its own', process.execPath, [pnpm, '-r', '--reporter=append-only', 'build']);

const testEnv = {
  ...process.env,
  // Cloud SDKs must never probe a metadata address from a test.
  AWS_EC2_METADATA_DISABLED: 'true',
  METADATA_SERVER_DETECTION: 'none',
  // The native client blocks a libuv thread per connecting client; the default 4 is too few for a test run.
  UV_THREADPOOL_SIZE: '16',
  // Its output is piped (to keep it for the secret scan): keep the colours a terminal would show.
  ...(process.stdout.isTTY ? { FORCE_COLOR: '1' } : {}),
};
const vitest = join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
const reports = join(repoRoot, '.cache', 'test-reports');
mkdirSync(reports, { recursive: true });
// What the suite prints, and what its worker processes print (the tests keep that to themselves), for the secret scan.
const logs = join(reports, 'logs');
rmSync(logs, { recursive: true, force: true });
mkdirSync(logs, { recursive: true });
testEnv.STREAM_APP_TEST_LOG_DIR = logs;

/** Runs a command with its output shown as it comes and kept in `logFile`; resolves with its exit status. */
function runTeed(command, args, logFile) {
  return new Promise((resolve) => {
    const log = createWriteStream(logFile);
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['inherit', 'pipe', 'pipe'], env: testEnv });
    child.stdout.on('data', (chunk) => (process.stdout.write(chunk), log.write(chunk)));
    child.stderr.on('data', (chunk) => (process.stderr.write(chunk), log.write(chunk)));
    child.on('close', (status) => log.end(() => resolve(status)));
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
async function vitestOn(nodeBinary, label, extraArgs = []) {
  const report = join(reports, `${label.replace(/\W+/g, '-')}.json`);
  rmSync(report, { force: true }); // a run that dies early must not be counted with an old report
  ensureNativeClient(nodeBinary);
  const status = await runTeed(
    nodeBinary,
    [
      vitest,
      'run',
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...extraArgs,
      // A filter given to `npm test -- <filter>` may match files of one run and not the other.
      ...(vitestArgs.length > 0 ? ['--passWithNoTests', ...vitestArgs] : []),
    ],
    join(logs, `vitest-${label}.log`),
  );
  if (existsSync(report)) {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += json.numPassedTests;
    totals.failed += json.numFailedTests;
    totals.skipped += json.numPendingTests + (json.numTodoTests ?? 0);
  }
  return status === 0;
}

// The oldest supported Node and the current LTS, whichever of them runs this script; then the reliability
// suite (docs/reliability.md), which breaks a test bed of its own, once, on the current LTS. The broker-heavy
// end-to-end files run on the current LTS only, to keep the run within its time budget; every other file runs
// on both.
const CURRENT_LTS = 24;
const BROKER_HEAVY = ['**/*.e2e.test.ts', 'packages/credentials/test/oauth-kafka.test.ts'];
const results = [];
if (!reliabilityOnly) {
  for (const major of [20, CURRENT_LTS]) {
    const binary = ensureNode(major);
    const excluded = major === CURRENT_LTS ? [] : BROKER_HEAVY.flatMap((glob) => ['--exclude', glob]);
    const label =
      major === CURRENT_LTS
        ? `tests on Node ${major}`
        : `tests on Node ${major} (all but the broker-heavy end-to-end files)`;
    results.push(await stepAsync(label, () => vitestOn(binary, `node-${major}`, excluded)));
  }
}
const reliability = ['--config', join(repoRoot, 'vitest.reliability.config.ts')];
results.push(
  await stepAsync(`reliability suite on Node ${CURRENT_LTS}`, () =>
    vitestOn(ensureNode(CURRENT_LTS), `reliability-node-${CURRENT_LTS}`, reliability),
  ),
);
// Leave node_modules loadable by the Node that runs the rest of the tools.
ensureNativeClient(process.execPath);

process.stdout.write(
  `\n${bold('tests')}: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`,
);
if (results.includes(false) || totals.failed > 0 || totals.passed === 0) process.exit(1);

// No token, key, secret or password in anything the suite or its workers printed, in any log format.
step('no secrets in the logs', () => {
  const files = readdirSync(logs);
  const found = files.flatMap((file) => scanForSecrets(readFileSync(join(logs, file), 'utf8'), file));
  for (const { what, source, excerpt } of found) process.stderr.write(`  ${what} in ${source}: ${excerpt}\n`);
  if (found.length > 0) fail(`${found.length} secret(s) in the test logs (${files.length} files in ${logs})`);
});
