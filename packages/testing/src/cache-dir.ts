import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where downloads and builds that outlive a checkout are kept (Maven-resolved
 * Kafka jars, for one). Shared by every clone on the machine.
 */
export function cacheDir(...parts: string[]): string {
  const root =
    process.env.STREAM_APP_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'stream-app');
  return join(root, ...parts);
}
