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
        // Kafka's tools print their whole usage after the reason: keep the reason.
        const reason = `${stderr}\n${stdout}`.split(/^Option\s+Description/m)[0]?.trim();
        if (error)
          reject(new Error(`${mainClass} ${args.join(' ')} failed (${error.code ?? error.signal}): ${reason}`));
        else resolve(stdout);
      },
    );
  });
}
