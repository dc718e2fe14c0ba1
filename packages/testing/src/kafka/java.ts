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
        if (error) {
          const shown = args.map(withoutPasswords).join(' ');
          reject(
            new Error(
              `${mainClass} ${shown} failed (${error.code ?? error.signal}): ${withoutPasswords(reason ?? '')}`,
            ),
          );
        } else resolve(stdout);
      },
    );
  });
}

/** A tool's arguments carry SCRAM passwords (`password=...`): errors show them as `password=<redacted>`. */
function withoutPasswords(text: string): string {
  return text.replace(/(password=)[^,\]\s]+/gi, '$1<redacted>');
}
