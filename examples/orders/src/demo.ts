// The README's demo: a real identity provider and a real Kafka broker on
// 127.0.0.1, an orders worker that authenticates with OAuth, five orders.
import { ClientCredentialsProvider, OAuthCredentials } from '@stream-app/credentials';
import { startTestbed, type Testbed } from '@stream-app/testing';
import type { Order } from './order.js';
import { kafkaClient, startOrdersWorker } from './worker.js';

const say = (message: string) => process.stdout.write(`${message}\n`);
const TOPIC = 'orders';
const ORDERS: Order[] = [
  { accountId: 'acc-1', amount: 12.5 },
  { accountId: 'acc-2', amount: 99 },
  { accountId: 'acc-1', amount: 7.25 },
  { accountId: 'acc-3', amount: 1200 },
  { accountId: 'acc-2', amount: 0.99 },
];

async function main() {
  say('stream-app demo: identity provider + Kafka broker + an orders worker, all on 127.0.0.1\n');
  const started = Date.now();
  const testbed: Testbed = await startTestbed({ onProgress: (m) => say(`  › ${m}`) });
  let worker: { stop(): Promise<void> } | undefined = undefined;
  let credentials: OAuthCredentials | undefined = undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping…');
    await worker?.stop().catch(() => {});
    credentials?.lifecycle.close();
    await testbed.stop();
    say('stopped cleanly.');
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(130));
  process.once('SIGTERM', () => void stop(143));

  const { kafka, identityProvider } = testbed;
  const app = testbed.info().clients.app;
  say(`  › identity provider ${identityProvider.issuer}, Kafka OAUTHBEARER listener ${kafka.bootstrap.oauth}`);

  const admin = kafka.createAdminClient();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] });
  await admin.disconnect();

  credentials = new OAuthCredentials({
    tokenProvider: new ClientCredentialsProvider({
      tokenEndpoint: identityProvider.tokenEndpoint,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      scope: 'kafka',
      allowInsecureLoopback: true, // the demo's identity provider is plain HTTP on 127.0.0.1
    }),
  });
  credentials.lifecycle.on('token', ({ expiresAt, refresh }) =>
    say(
      `  › ${refresh ? 'refreshed' : 'got'} an access token for User:${app.clientId}, valid until ${new Date(expiresAt).toISOString()}`,
    ),
  );
  let processed = 0;
  let allDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (allDone = resolve));
  worker = await startOrdersWorker({
    bootstrap: kafka.bootstrap.oauth,
    credentials,
    topic: TOPIC,
    groupId: 'orders-demo',
    onOrder: (order, where) => {
      processed += 1;
      say(
        `  order ${processed}: account ${order.accountId} pays ${order.amount.toFixed(2)}  (partition ${where.partition}, offset ${where.offset})`,
      );
      if (processed === ORDERS.length) allDone();
    },
    onBadMessage: (error, where) =>
      say(`  skipped a bad message at ${where.partition}/${where.offset}: ${error.message}`),
  });
  say(`\nworker started as User:${app.clientId} (OAuth client credentials); sending ${ORDERS.length} orders…\n`);

  // The producer shares the worker's credentials, hence its token: one fetch for both.
  const client = kafkaClient(kafka.bootstrap.oauth, credentials);
  const producer = client.kafka.producer();
  await client.connect(producer);
  await producer.send({
    topic: TOPIC,
    messages: ORDERS.map((order) => ({ key: order.accountId, value: JSON.stringify(order) })),
  });
  await producer.disconnect();

  const timeout = setTimeout(() => {
    say(`\nonly ${processed} of ${ORDERS.length} orders arrived within 60 s`);
    void stop(1);
  }, 60_000);
  await done;
  clearTimeout(timeout);
  say(`\nall ${ORDERS.length} orders processed (${((Date.now() - started) / 1000).toFixed(1)} s in all).`);
  await stop(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
