// `stream-app <command>` as a user runs it: a child process, in a directory of the test's choosing.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr, in the order they came. */
  output: string;
}

/** Runs the CLI to its end (or kills it after `timeoutMs`) with only the given environment beside PATH. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: { [name: string]: string }; timeoutMs?: number } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    // Not the test process's environment: a STREAM_APP_* variable of the developer's must not leak in.
    env: { PATH: process.env.PATH ?? '', UV_THREADPOOL_SIZE: '16', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk), (output += chunk)));
  child.stderr.on('data', (chunk: Buffer) => ((stderr += chunk), (output += chunk)));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    }),
  );
}
