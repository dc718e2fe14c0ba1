import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** Runs a Kafka tool's main class on the resolved classpath and returns its output. */
export function runKafkaTool(lib: string, mainClass: string, args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'java',
      ['-Xmx256m', '-cp', join(lib, '*'), mainClass, ...args],
      { timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${mainClass} failed: ${error.message}\n${stdout}\n${stderr}`.trim()));
        else resolve(stdout);
      },
    );
  });
}
