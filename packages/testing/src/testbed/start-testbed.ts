import {
  startIdentityProvider,
  type IdentityProvider,
  type IdentityProviderClient,
} from '../identity-provider/start-identity-provider.js';
import { startKafka, type KafkaBroker, type KafkaOptions } from '../kafka/start-kafka.js';
import type { KafkaInfo } from '../kafka/kafka-info.js';
import type { IdentityProviderInfo } from '../identity-provider/start-identity-provider.js';
import type { ProgressListener } from '../progress.js';
import type { AclBinding } from '../kafka/acls.js';

/** OAuth clients every test bed has. Their secrets are test fixtures, not secrets. */
export const TESTBED_CLIENTS = {
  /** May do anything with any topic, group or transactional id, and create topics. */
  app: { clientId: 'stream-app-test', clientSecret: 'stream-app-test-secret' },
  /** May read, write and describe every topic and group, but create nothing. */
  restricted: { clientId: 'restricted', clientSecret: 'restricted-secret' },
  /** Authenticates fine, has no ACL at all. */
  noAcls: { clientId: 'no-acls', clientSecret: 'no-acls-secret' },
  /** Starts with no ACL; the CLI's acls test grants it what `stream-app acls --apply` derives, and nothing else may. */
  leastPrivilege: { clientId: 'least-privilege', clientSecret: 'least-privilege-secret' },
} satisfies Record<string, IdentityProviderClient>;

export interface TestbedOptions {
  clients?: IdentityProviderClient[];
  accessTokenLifetimeSec?: number;
  kafka?: Omit<KafkaOptions, 'identityProvider'>;
  onProgress?: ProgressListener;
}

/** Plain data about a running test bed, safe to hand to other processes. */
export interface TestbedInfo {
  identityProvider: IdentityProviderInfo;
  kafka: KafkaInfo;
  clients: typeof TESTBED_CLIENTS;
}

export interface Testbed {
  identityProvider: IdentityProvider;
  kafka: KafkaBroker;
  info(): TestbedInfo;
  stop(): Promise<void>;
}

/** Starts the identity provider, then the broker that trusts it. */
export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const identityProvider = await startIdentityProvider({
    clients: [...Object.values(TESTBED_CLIENTS), ...(options.clients ?? [])],
    ...(options.accessTokenLifetimeSec ? { accessTokenLifetimeSec: options.accessTokenLifetimeSec } : {}),
  });
  let kafka: KafkaBroker | undefined;
  try {
    kafka = await startKafka({
      ...options.kafka,
      identityProvider,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    await grantTestbedAcls(kafka);
  } catch (error) {
    await kafka?.stop();
    await identityProvider.stop();
    throw error;
  }
  return {
    identityProvider,
    kafka,
    info: () => ({
      identityProvider: {
        issuer: identityProvider.issuer,
        tokenEndpoint: identityProvider.tokenEndpoint,
        jwksUri: identityProvider.jwksUri,
        audience: identityProvider.audience,
        algorithm: identityProvider.algorithm,
        signingKey: identityProvider.signingKey,
      },
      kafka: {
        version: kafka.version,
        bootstrap: kafka.bootstrap,
        caFile: kafka.caFile,
        adminUser: kafka.adminUser,
        passwordUser: kafka.passwordUser,
        dataDir: kafka.dataDir,
        logFile: kafka.logFile,
        lib: kafka.lib,
      },
      clients: TESTBED_CLIENTS,
    }),
    async stop() {
      await kafka.stop();
      await identityProvider.stop();
    },
  };
}

async function grantTestbedAcls(kafka: KafkaBroker): Promise<void> {
  const restricted = `User:${TESTBED_CLIENTS.restricted.clientId}`;
  // The PLAIN user gets exactly the OAuth app's rights, so that the two listeners can be compared.
  const apps = [`User:${TESTBED_CLIENTS.app.clientId}`, `User:${kafka.passwordUser.username}`];
  const appAcls = (principal: string): AclBinding[] => [
    { principal, resourceType: 'topic', name: '*', operations: ['All'] },
    { principal, resourceType: 'group', name: '*', operations: ['All'] },
    { principal, resourceType: 'transactional-id', name: '*', operations: ['All'] },
    { principal, resourceType: 'cluster', operations: ['Create', 'Describe', 'IdempotentWrite', 'DescribeConfigs'] },
  ];
  await kafka.createAcls([
    ...apps.flatMap(appAcls),
    { principal: restricted, resourceType: 'topic', name: '*', operations: ['Read', 'Write', 'Describe'] },
    { principal: restricted, resourceType: 'group', name: '*', operations: ['Read', 'Describe'] },
  ]);
}
