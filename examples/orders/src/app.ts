// The classic Faust orders example, in TypeScript: `stream-app worker -A src/app.ts` runs it.
// Where the broker and the identity provider are comes from the environment (the demo sets it).
import { agent, App, service, type Stream } from '@stream-app/core';
import { ClientCredentialsProvider } from '@stream-app/credentials';
import { Order } from './order.js';

function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name} (see examples/orders/README.md)`);
  return value;
}

export const app = new App({
  id: env('ORDERS_APP_ID', 'orders'),
  broker: env('KAFKA_BOOTSTRAP'),
  // OAuth client credentials: the worker authenticates to Kafka with short-lived bearer tokens.
  credentials: new ClientCredentialsProvider({
    tokenEndpoint: env('OIDC_TOKEN_ENDPOINT'),
    clientId: env('OIDC_CLIENT_ID'),
    clientSecret: env('OIDC_CLIENT_SECRET'),
    scope: 'kafka',
    allowInsecureLoopback: true, // the demo's identity provider is plain HTTP on 127.0.0.1
  }),
  topicPartitions: 3,
});

export const orders = app.topic(env('ORDERS_TOPIC', 'orders'), { valueType: Order });

@service(app)
export class Billing {
  @agent(orders)
  async charge(stream: Stream<Order>) {
    for await (const order of stream) {
      console.log(`account ${order.accountId} pays ${order.amount.toFixed(2)}`);
    }
  }
}
