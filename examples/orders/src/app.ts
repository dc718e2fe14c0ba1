// The classic Faust orders example, in TypeScript: `stream-app worker -A src/app.ts` runs it.
// Where the broker and the identity provider are comes from the environment (the demo sets it).
import { agent, App, page, service, type Stream } from '@stream-app/core';
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
  // ORDERS_WEB_PORT: the worker serves /health, /ready, /metrics and the page below (0 picks a free port).
  ...(process.env.ORDERS_WEB_PORT ? { web: { port: Number(process.env.ORDERS_WEB_PORT) } } : {}),
});

export const orders = app.topic(env('ORDERS_TOPIC', 'orders'), { valueType: Order });

@service(app)
export class Billing {
  /** What each account paid to this worker since it started (its agents and pages share the instance). */
  readonly totals = new Map<string, number>();

  @agent(orders)
  async charge(stream: Stream<Order>) {
    for await (const order of stream) {
      this.totals.set(order.accountId, (this.totals.get(order.accountId) ?? 0) + order.amount);
      console.log(`account ${order.accountId} pays ${order.amount.toFixed(2)}`);
    }
  }

  @page('/totals')
  totalsPage() {
    return Object.fromEntries(this.totals);
  }
}
