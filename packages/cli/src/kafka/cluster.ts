import { createLogger, KafkaTransport, type App } from '@stream-app/core';
import type { Io } from '../io.js';

/**
 * Runs `work` with an admin client that connects as the app does (its broker, credentials and token),
 * without declaring any topic or joining any group, then closes it.
 */
export async function withCluster<T>(app: App, io: Io, work: (transport: KafkaTransport) => Promise<T>): Promise<T> {
  const credentials = app.options.credentials;
  const release = credentials?.kind === 'oauth' ? credentials.lifecycle.retain() : undefined;
  const transport = new KafkaTransport({
    bootstrap: app.options.bootstrap,
    ...(credentials ? { credentials } : {}),
    principal: () => app.principal(),
    // The client's retries are noise here; what it gives up on comes back as a coded error.
    logger: createLogger({ level: 'error', format: 'pretty', write: io.err }),
  });
  try {
    return await work(transport);
  } finally {
    await transport.close().catch(() => {});
    release?.();
  }
}
