// Payments on Confluent Cloud: tokens from your own identity provider, sent with Confluent Cloud's SASL
// extensions by confluentCloud(). `stream-app worker -A src/app.ts`; the settings come from the environment.
import { agent, App, service, type Stream } from '@stream-app/core';
import { ClientCredentialsProvider, OAuthCredentials } from '@stream-app/credentials';
import { confluentCloud } from '@stream-app/identity-providers';
import { Payment } from './payment.js';

/** An unset or empty variable is undefined. */
function env(name: string): string | undefined {
  return process.env[name] || undefined;
}
function required(name: string): string {
  const value = env(name);
  if (value === undefined) throw new Error(`set ${name} (see examples/confluent-cloud/README.md)`);
  return value;
}

const identityPoolId = env('CONFLUENT_IDENTITY_POOL_ID');
const scope = env('OIDC_SCOPE');

export const app = new App({
  id: env('PAYMENTS_APP_ID') ?? 'payments',
  broker: required('CONFLUENT_BOOTSTRAP'),
  credentials: new OAuthCredentials({
    tokenProvider: confluentCloud({
      logicalCluster: required('CONFLUENT_LOGICAL_CLUSTER'),
      ...(identityPoolId ? { identityPoolId } : {}),
      // Any OAuth client credentials provider: Confluent Cloud has no token endpoint of its own.
      provider: new ClientCredentialsProvider({
        tokenEndpoint: required('OIDC_TOKEN_ENDPOINT'),
        clientId: required('OIDC_CLIENT_ID'),
        clientSecret: required('OIDC_CLIENT_SECRET'),
        ...(scope ? { scope } : {}),
        allowInsecureLoopback: true, // plain HTTP only ever to 127.0.0.1/localhost: a local test server
      }),
    }),
    // Confluent Cloud is SASL_SSL with a public CA. KAFKA_TLS=false is for a local broker without TLS only.
    ssl: env('KAFKA_TLS') !== 'false',
  }),
  topicPartitions: 3,
  // Confluent Cloud (Basic, Standard, Enterprise, Dedicated) keeps 3 replicas of every topic.
  topicReplicationFactor: Number(env('PAYMENTS_REPLICATION_FACTOR') ?? 3),
});

export const payments = app.topic(env('PAYMENTS_TOPIC') ?? 'payments', { valueType: Payment });

@service(app)
export class Ledger {
  @agent(payments)
  async book(stream: Stream<Payment>) {
    for await (const payment of stream) {
      console.log(`payment ${payment.paymentId}: ${(payment.amountCents / 100).toFixed(2)} ${payment.currency}`);
    }
  }
}
