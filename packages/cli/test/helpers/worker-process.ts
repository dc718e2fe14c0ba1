// A `stream-app worker` child process as a user starts it, with its output collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestbedInfo } from '@stream-app/testing';
import { afterEach } from 'vitest';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface Worker {
  process: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, what: string, timeoutMs?: number): Promise<void>;
}

/** Starts `stream-app worker -A <app>` with the testbed's broker and the test app client in its environment. */
export function startWorker(testbed: TestbedInfo, app: string, env: { [name: string]: string }): Worker {
  const client = testbed.clients.app;
  return spawnWorker(app, {
    env: {
      ...process.env,
      KAFKA_BOOTSTRAP: testbed.kafka.bootstrap.oauth,
      OIDC_TOKEN_ENDPOINT: testbed.identityProvider.tokenEndpoint,
      OIDC_CLIENT_ID: client.clientId,
      OIDC_CLIENT_SECRET: client.clientSecret,
      ...env,
    },
  });
}

/**
 * Starts `stream-app worker -A <app>` with exactly the environment given (an example's test passes a clean
 * one, so that a developer's own AWS_* or STREAM_APP_* variables cannot leak in), in `cwd`.
 */
export function spawnWorker(app: string, options: { env: NodeJS.ProcessEnv; cwd?: string }): Worker {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'worker',
      '-A',
      app,
      '--log-format',
      'json',
      ...(process.env.STREAM_APP_TEST_WORKER_LOGLEVEL
        ? ['--loglevel', process.env.STREAM_APP_TEST_WORKER_LOGLEVEL]
        : []),
    ],
    { env: options.env, ...(options.cwd ? { cwd: options.cwd } : {}), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const listeners = new Set<() => void>();
  // The test run scans every worker's output for secrets (scripts/test.mjs sets the directory).
  const dir = process.env.STREAM_APP_TEST_LOG_DIR;
  const log = dir ? createWriteStream(join(dir, `worker-${process.pid}-${child.pid}.log`), { flags: 'a' }) : undefined;
  log?.on('error', () => {}); // the scan misses a line rather than the test failing on it
  const collect = (chunk: Buffer) => {
    log?.write(chunk);
    output.push(...chunk.toString().split('\n').filter(Boolean));
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  // After 'close' all output has been read: a pattern not seen by then will never come.
  let closed = false;
  child.once('close', () => {
    closed = true;
    log?.end();
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    output,
    exited,
    waitFor: (pattern, what, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          listeners.delete(check);
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (output.some((line) => pattern.test(line))) settle();
          else if (closed) settle(new Error(`the worker exited before ${what}; worker output:\n${output.join('\n')}`));
        };
        const timer = setTimeout(
          () => settle(new Error(`timed out waiting for ${what}; worker output:\n${output.join('\n')}`)),
          timeoutMs,
        );
        listeners.add(check);
        check();
      }),
  };
}

/** Workers and temporary directories of a test file: after each test, workers still running are killed and the directories removed. */
export function workerPool(testbed: TestbedInfo) {
  const workers: Worker[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      if (worker.process.exitCode === null && worker.process.signalCode === null) worker.process.kill('SIGKILL');
      await worker.exited;
    }
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    start(app: string, env: { [name: string]: string }): Worker {
      const worker = startWorker(testbed, app, env);
      workers.push(worker);
      return worker;
    },
    tempDir(prefix: string): string {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return dir;
    },
  };
}

/** A worker's JSON log lines (the banner and other plain lines left out). */
export function logEntries(worker: Worker, from = 0): Array<{ msg?: string; [field: string]: unknown }> {
  return worker.output.slice(from).flatMap((line) => {
    try {
      return [JSON.parse(line) as { msg?: string }];
    } catch {
      return [];
    }
  });
}
