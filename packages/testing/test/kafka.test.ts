import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort, silentProgress, startIdentityProvider, startKafka } from '../src/index.js';

// These start brokers of their own (the shared one must not be restarted under other test files).
describe('startKafka', () => {
  it('restart() keeps ports and data; stop() removes the data', async () => {
    const idp = await startIdentityProvider({ clients: [{ clientId: 'probe', clientSecret: 'probe-secret' }] });
    const kafka = await startKafka({
      identityProvider: idp,
      onProgress: silentProgress,
      reauthMs: 10_000,
      reauthListeners: [5_000],
    });
    try {
      expect(kafka.startupMs).toBeGreaterThan(0);
      const { reauth, ...listeners } = kafka.bootstrap;
      expect(Object.keys(reauth)).toEqual(['5000']);
      for (const address of [...Object.values(listeners), ...Object.values(reauth)])
        expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
      const admin = kafka.createAdminClient();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'survives-restart', numPartitions: 2 }] });
      await admin.disconnect();

      const before = { ...kafka.bootstrap };
      await kafka.restart();
      expect(kafka.bootstrap).toEqual(before);
      const again = kafka.createAdminClient();
      await again.connect();
      expect(await again.listTopics()).toContain('survives-restart');
      await again.disconnect();
    } finally {
      await kafka.stop();
      await idp.stop();
    }
    expect(existsSync(kafka.dataDir)).toBe(false);
  });

  it('a broker that cannot start fails with the tail of its log', async () => {
    // Nothing listens there: Kafka fetches the JWKS at start and gives up.
    const deadJwks = `http://127.0.0.1:${await freePort()}/jwks`;
    const error = await startKafka({
      identityProvider: { issuer: 'http://127.0.0.1:1', jwksUri: deadJwks, audience: 'urn:kafka:broker' },
      onProgress: silentProgress,
      startTimeoutMs: 90_000,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/^Kafka did not start: /);
    // The cause, dug out from under the broker's shutdown noise.
    expect(error?.message).toContain('Errors in');
    expect(error?.message).toContain('java.net.ConnectException: Connection refused');
    expect(error?.message).toContain('Last lines of');
  });
});
