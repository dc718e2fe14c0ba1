import { homedir } from 'node:os';
import { join } from 'node:path';

/** Machine-wide cache shared by every clone (same rule as @stream-app/testing's cacheDir). */
export function cacheDir(...parts) {
  const root =
    process.env.STREAM_APP_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'stream-app');
  return join(root, ...parts);
}
