import { KafkaJS } from '@confluentinc/kafka-javascript';
import { ClientCredentialsProvider, OAuthCredentials } from '@stream-app/credentials';
import type { IdentityProviderClient, IdentityProviderInfo } from '../identity-provider/start-identity-provider.js';
import type { KafkaInfo } from '../kafka/kafka-info.js';

/** OAuth client credentials for one of the test bed's clients (its identity provider is plain HTTP on loopback). */
export function testbedCredentials(
  identityProvider: Pick<IdentityProviderInfo, 'tokenEndpoint'>,
  client: Pick<IdentityProviderClient, 'clientId'> & { clientSecret: string },
): OAuthCredentials {
  return new OAuthCredentials({
    tokenProvider: new ClientCredentialsProvider({
      tokenEndpoint: identityProvider.tokenEndpoint,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      scope: 'kafka',
      allowInsecureLoopback: true,
    }),
  });
}

/** A client on the PLAIN listener as the super user: for tests to write and read what no App would. */
export function adminKafka(kafka: KafkaInfo): KafkaJS.Kafka {
  return new KafkaJS.Kafka({
    kafkaJS: {
      brokers: [kafka.bootstrap.admin],
      sasl: { mechanism: 'plain', username: kafka.adminUser.username, password: kafka.adminUser.password },
      logLevel: KafkaJS.logLevel.ERROR,
    },
  });
}
