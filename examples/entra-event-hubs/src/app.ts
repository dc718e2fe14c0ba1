// An app on Azure Event Hubs' Kafka endpoint, authenticated by Microsoft Entra ID: its app registration
// gets an app-only token for `https://<namespace>.servicebus.windows.net/.default` and presents it over
// OAUTHBEARER. `stream-app worker -A src/app.ts` runs it; settings come from the environment (README.md).
import { agent, App, Record, service, type Stream } from '@stream-app/core';
import { createSslContext, OAuthCredentials } from '@stream-app/credentials';
import { entraId, eventHubs } from '@stream-app/identity-providers';
import { IsNotEmpty, IsPositive, IsString } from 'class-validator';

function env(name: string, fallback?: string): string {
  const value = process.env[name] || fallback;
  if (value === undefined) throw new Error(`set ${name} (see examples/entra-event-hubs/README.md)`);
  return value;
}

export class Order extends Record {
  @IsString() @IsNotEmpty() orderId!: string;
  @IsPositive() amount!: number;
}

// The namespace name (orders-prod), or its full host name in another cloud (….servicebus.usgovcloudapi.net).
const namespace = env('EVENTHUBS_NAMESPACE');
const host = namespace.includes('.') ? namespace : `${namespace}.servicebus.windows.net`;
// Set only by the local test: its Entra stand-in on 127.0.0.1 (plain HTTP is accepted for loopback only).
const authorityHost = process.env.AZURE_AUTHORITY_HOST;
const caFile = process.env.KAFKA_CA_FILE;

export const app = new App({
  id: env('ORDERS_APP_ID', 'orders-fulfilment'), // also the Event Hubs consumer group
  broker: env('KAFKA_BOOTSTRAP', `${host}:9093`),
  credentials: new OAuthCredentials({
    tokenProvider: entraId({
      tenantId: env('AZURE_TENANT_ID'),
      clientId: env('AZURE_CLIENT_ID'),
      clientSecret: env('AZURE_CLIENT_SECRET'), // the secret's Value, not its Secret ID
      scope: eventHubs({ namespace }),
      ...(authorityHost ? { authorityHost, allowInsecureLoopback: true } : {}),
    }),
    // Event Hubs is SASL_SSL with a public CA: the system trust store. KAFKA_TLS=false only for a local listener.
    ssl: process.env.KAFKA_TLS === 'false' ? false : caFile ? createSslContext({ cafile: caFile }) : true,
  }),
  topicPartitions: 3,
  // Event hubs are created in Azure (portal, az, Bicep); Data Sender/Receiver may not create them.
  topicAllowDeclare: false,
});

// The event hub's name is the Kafka topic.
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
