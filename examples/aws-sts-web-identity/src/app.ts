// An AWS workload on Aiven for Apache Kafka with no client secret anywhere: its IAM role asks AWS STS
// GetWebIdentityToken for a JWT (sub = the role ARN) and presents it over OAUTHBEARER.
// `stream-app worker -A src/app.ts` runs it; every setting comes from the environment (see README.md).
import { agent, App, Record, service, type Stream } from '@stream-app/core';
import { createSslContext, OAuthCredentials } from '@stream-app/credentials';
import { awsStsWebIdentity } from '@stream-app/identity-providers';
import { IsNotEmpty, IsPositive, IsString } from 'class-validator';

function env(name: string, fallback?: string): string {
  const value = process.env[name] || fallback;
  if (value === undefined) throw new Error(`set ${name} (see examples/aws-sts-web-identity/README.md)`);
  return value;
}

export class Order extends Record {
  @IsString() @IsNotEmpty() orderId!: string;
  @IsPositive() amount!: number;
}

const stsEndpoint = process.env.STS_ENDPOINT; // a VPC endpoint, or the local test's STS stand-in
const caFile = process.env.KAFKA_CA_FILE; // Aiven signs its service certificates with the project CA (ca.pem)

export const app = new App({
  id: env('ORDERS_APP_ID', 'orders-fulfilment'),
  broker: env('KAFKA_BOOTSTRAP'), // the service URI, host:port
  credentials: new OAuthCredentials({
    tokenProvider: awsStsWebIdentity({
      audience: env('KAFKA_AUDIENCE'), // must equal kafka.sasl_oauthbearer_expected_audience at Aiven
      region: env('AWS_REGION'), // GetWebIdentityToken is regional only
      signingAlgorithm: 'RS256',
      durationSeconds: 900,
      // No credentials given: the SDK's default chain finds the instance, task or pod role (or AWS_* variables).
      // Plain HTTP is accepted for a loopback endpoint only, and only when STS_ENDPOINT is set.
      ...(stsEndpoint ? { endpoint: stsEndpoint, allowInsecureLoopback: true } : {}),
    }),
    // Aiven's Kafka listeners are TLS; KAFKA_TLS=false only for a local SASL_PLAINTEXT listener.
    ssl: process.env.KAFKA_TLS === 'false' ? false : caFile ? createSslContext({ cafile: caFile }) : true,
  }),
  topicPartitions: 3,
});

export const orders = app.topic(env('ORDERS_TOPIC', 'orders'), { valueType: Order });

@service(app)
export class Fulfilment {
  @agent(orders)
  async fulfil(stream: Stream<Order>) {
    for await (const order of stream) {
      console.log(`order ${order.orderId} fulfilled (${order.amount.toFixed(2)})`);
    }
  }
}
