// The keycloak example as a user runs it: a real Keycloak, a real Kafka broker that trusts it and takes the
// principal from `azp`, the ACLs that `stream-app acls` derives and nothing more, `stream-app doctor`, then
// `stream-app worker` processing a reading and stopping on SIGTERM.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { adminKafka, startKafka, startKeycloak, type KafkaBroker, type RunningKeycloak } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../../packages/cli/test/helpers/cli-process.js';
import { workerPool } from '../../../packages/cli/test/helpers/worker-process.js';

const EXAMPLE = fileURLToPath(new URL('..', import.meta.url));
const AUDIENCE = 'urn:kafka:sensors';
const client = { clientId: 'sensors-service', clientSecret: `secret-${randomUUID()}`, audience: AUDIENCE };
const principal = `User:${client.clientId}`;
const id = `sensors-${randomUUID().slice(0, 8)}`;
const topic = `readings-${id}`;
// The worker helper is the CLI suite's (it also feeds the run's secret scan); the test bed's variables it adds are unused here.
const pool = workerPool(useTestbed());
let kc: RunningKeycloak;
let kafka: KafkaBroker;

beforeAll(async () => {
  kc = await startKeycloak({ clients: [client] });
  kafka = await startKafka({
    identityProvider: { issuer: kc.issuer, jwksUri: kc.jwksUri, audience: AUDIENCE },
    // Keycloak's `sub` is the service-account user's UUID; `azp` is the client id.
    brokerConfig: { 'sasl.oauthbearer.sub.claim.name': 'azp' },
  });
}, 300_000);
afterAll(async () => {
  await kafka?.stop();
  await kc?.stop();
});

/** What the README tells a user to set, pointed at this Keycloak and broker. */
const appEnv = () => ({
  KAFKA_BOOTSTRAP: kafka.bootstrap.oauth,
  KEYCLOAK_URL: kc.url,
  KEYCLOAK_REALM: kc.realm,
  KEYCLOAK_CLIENT_ID: client.clientId,
  KEYCLOAK_CLIENT_SECRET: client.clientSecret,
  SENSORS_APP_ID: id,
  SENSORS_TOPIC: topic,
});
const adminEnv = () => ({
  STREAM_APP_ADMIN_BOOTSTRAP: kafka.bootstrap.admin,
  STREAM_APP_ADMIN_SASL_MECHANISM: 'PLAIN',
  STREAM_APP_ADMIN_SASL_USERNAME: kafka.adminUser.username,
  STREAM_APP_ADMIN_SASL_PASSWORD: kafka.adminUser.password,
});
const cli = (...args: string[]) =>
  runCli(args, {
    cwd: EXAMPLE,
    env: {
      ...appEnv(),
      ...adminEnv(),
      STREAM_APP_BROKER_EXPECTED_ISSUER: kc.issuer,
      STREAM_APP_BROKER_EXPECTED_AUDIENCE: AUDIENCE,
    },
  });

it('with only the derived ACLs, doctor is healthy and the worker processes a reading, then stops on SIGTERM', async () => {
  const acls = ['acls', '-A', 'src/app.ts', '--principal', principal];
  const applied = await cli(...acls, '--apply');
  expect(applied.code, applied.output).toBe(0);
  expect(applied.stdout).toContain(`ACLs to ${principal}`);
  expect(applied.stdout).toContain(`Read, Describe, Create on topic ${topic}\n`);
  expect(applied.stdout).toContain(`Read, Describe on group ${id}\n`);
  const checked = await cli(...acls, '--check', '--json');
  expect(checked.code, checked.output).toBe(0);
  expect(JSON.parse(checked.stdout)).toMatchObject({ principal, missing: [], broader: [] });

  const doctor = await cli('doctor', '-A', 'src/app.ts');
  expect(doctor.code, doctor.output).toBe(0);
  for (const check of ['identity provider', 'discovery', 'token signature', 'token issuer', 'token audience']) {
    expect(doctor.stdout).toMatch(new RegExp(`^ok\\s+${check}\\s`, 'm'));
  }
  expect(doctor.stdout).toMatch(new RegExp(`^ok\\s+authentication\\s+the broker accepts ${principal}$`, 'm'));
  expect(doctor.stdout).toMatch(new RegExp(`^ok\\s+acls\\s+${principal} holds every ACL ${id} needs$`, 'm'));

  const worker = pool.start(fileURLToPath(new URL('../src/app.ts', import.meta.url)), appEnv());
  await worker.waitFor(/^ready in/, 'the worker to be ready');
  await worker.waitFor(/partitions assigned/, 'its partitions');
  expect(worker.output).toContainEqual(expect.stringMatching(new RegExp(`^\\s*principal\\s+${principal}$`)));
  // The readings come from another principal (the admin): the app may read its source, not write it.
  const producer = adminKafka(kafka).producer();
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 's-1', value: JSON.stringify({ sensorId: 's-1', celsius: 31.5 }) }] });
  await producer.disconnect();
  await worker.waitFor(/^sensor s-1 reads 31\.5 °C ALERT$/, 'the reading to be processed');

  worker.process.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
}, 240_000);
