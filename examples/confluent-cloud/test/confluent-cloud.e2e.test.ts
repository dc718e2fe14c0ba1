// The confluent-cloud example against the test run's broker, which stands in for Confluent Cloud: tokens from the
// test bed's identity provider through confluentCloud(), the SASL extensions seen on the wire, the broker accepting
// the authentication that carries them, and `stream-app worker` processing a payment sent by `stream-app send`.
import { randomUUID } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../../packages/cli/test/helpers/cli-process.js';
import { workerPool } from '../../../packages/cli/test/helpers/worker-process.js';

const testbed = useTestbed();
const pool = workerPool(testbed);
const EXAMPLE = fileURLToPath(new URL('..', import.meta.url));
const LOGICAL_CLUSTER = 'lkc-local42';
const IDENTITY_POOL = 'pool-Local7';
const id = `payments-${randomUUID().slice(0, 8)}`;
const topic = `payments-${id}`;

// A TCP relay in front of the broker's SASL_PLAINTEXT OAUTHBEARER listener: the SASL client message passes through
// it on the bootstrap connection, so the test can see which extensions it carries. Nothing captured is printed.
let relay: Server;
const seen = new Set<string>();
beforeAll(async () => {
  const [host, port] = testbed.kafka.bootstrap.oauth.split(':') as [string, string];
  relay = createServer((client) => {
    const broker = connect(Number(port), host);
    client.on('data', (chunk: Buffer) => {
      for (const extension of [`logicalCluster=${LOGICAL_CLUSTER}`, `identityPoolId=${IDENTITY_POOL}`]) {
        if (chunk.includes(`\x01${extension}\x01`)) seen.add(extension);
      }
    });
    client.pipe(broker).pipe(client);
    const close = () => (client.destroy(), broker.destroy());
    client.on('error', close).on('close', close);
    broker.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
});
afterAll(() => new Promise<void>((resolve) => relay.close(() => resolve())));

/** The README's variables, with the test bed standing in for Confluent Cloud and its identity provider. */
const appEnv = () => ({
  CONFLUENT_BOOTSTRAP: `127.0.0.1:${(relay.address() as AddressInfo).port}`,
  CONFLUENT_LOGICAL_CLUSTER: LOGICAL_CLUSTER,
  CONFLUENT_IDENTITY_POOL_ID: IDENTITY_POOL,
  OIDC_TOKEN_ENDPOINT: testbed.identityProvider.tokenEndpoint,
  OIDC_CLIENT_ID: testbed.clients.app.clientId,
  OIDC_CLIENT_SECRET: testbed.clients.app.clientSecret,
  OIDC_SCOPE: 'kafka',
  KAFKA_TLS: 'false', // the relay needs to read the SASL bytes; Confluent Cloud is TLS only
  PAYMENTS_REPLICATION_FACTOR: '1', // one broker here
  PAYMENTS_APP_ID: id,
  PAYMENTS_TOPIC: topic,
});

it('the broker accepts tokens carrying logicalCluster and identityPoolId, and the worker processes a payment', async () => {
  const worker = pool.start(fileURLToPath(new URL('../src/app.ts', import.meta.url)), appEnv());
  await worker.waitFor(/^ready in/, 'the worker to be ready');
  await worker.waitFor(/partitions assigned/, 'its partitions');
  expect(worker.output.join('\n')).toContain(
    `Confluent Cloud ${LOGICAL_CLUSTER}, ${IDENTITY_POOL} with client credentials`,
  );
  // The worker authenticated through the relay (it has partitions), and its SASL message carried both extensions.
  expect([...seen].sort()).toEqual([`identityPoolId=${IDENTITY_POOL}`, `logicalCluster=${LOGICAL_CLUSTER}`]);

  const sent = await runCli(
    [
      'send',
      '-A',
      'src/app.ts',
      topic,
      '--key',
      'p-1',
      '--value',
      '{"paymentId":"p-1","currency":"EUR","amountCents":1234}',
    ],
    { cwd: EXAMPLE, env: appEnv() },
  );
  expect(sent.code, sent.output).toBe(0);
  await worker.waitFor(/^payment p-1: 12\.34 EUR$/, 'the payment to be processed');

  worker.process.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
}, 180_000);
