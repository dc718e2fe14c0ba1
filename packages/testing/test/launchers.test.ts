import { describe, expect, it } from 'vitest';
import { startIdentityProvider, startKafka } from '../src/index.js';

describe('startKafka', () => {
  it('starts a broker that validates tokens from the identity provider', async () => {
    const idp = await startIdentityProvider({ clients: [{ clientId: 'probe', clientSecret: 'probe-secret' }] });
    const kafka = await startKafka({ identityProvider: idp });
    try {
      const admin = kafka.createAdminClient();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'probe', numPartitions: 1 }] });
      expect(await admin.listTopics()).toContain('probe');
      await admin.disconnect();
    } finally {
      await kafka.stop();
      await idp.stop();
    }
  });
});
