// A REAL Keycloak (the Quarkus distribution from Maven Central, dev mode, a
// realm imported at start) issuing tokens that a real Kafka broker accepts.
import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, KafkaDiagnostics } from '@stream-app/core';
import { kafkaClientConfig, OAuthCredentials, type StreamAppError } from '@stream-app/credentials';
import { startKafka, startKeycloak, type KafkaBroker, type RunningKeycloak } from '@stream-app/testing';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keycloak, oidc } from '../src/index.js';

const AUDIENCE = 'urn:kafka:keycloak-cluster';
const client = { clientId: 'orders-service', clientSecret: `secret-${randomUUID()}`, audience: AUDIENCE };
let kc: RunningKeycloak;
let kafka: KafkaBroker;

beforeAll(async () => {
  kc = await startKeycloak({ clients: [client] });
  kafka = await startKafka({
    identityProvider: { issuer: kc.issuer, jwksUri: kc.jwksUri, audience: AUDIENCE },
    // Keycloak's `sub` is the service-account user's id; `azp` is the client id, a principal people can read.
    brokerConfig: { 'sasl.oauthbearer.sub.claim.name': 'azp' },
  });
  await kafka.createAcls([
    {
      principal: `User:${client.clientId}`,
      resourceType: 'topic',
      name: 'kc-',
      patternType: 'prefixed',
      operations: ['All'],
    },
    {
      principal: `User:${client.clientId}`,
      resourceType: 'group',
      name: 'kc-',
      patternType: 'prefixed',
      operations: ['All'],
    },
  ]);
}, 300_000);
afterAll(async () => {
  await kafka?.stop();
  await kc?.stop();
});

async function roundTrip(credentials: OAuthCredentials) {
  const topic = `kc-${randomUUID()}`;
  const admin = kafka.createAdminClient();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic }] });
  await admin.disconnect();
  const diagnostics = new KafkaDiagnostics();
  const config = kafkaClientConfig(credentials);
  const instance = new KafkaJS.Kafka({
    ...config,
    kafkaJS: { ...config.kafkaJS, brokers: [kafka.bootstrap.oauth], logger: diagnostics.logger } as never,
  });
  const producer = instance.producer();
  await connectClient(producer, diagnostics, kafka.bootstrap.oauth);
  await producer.send({ topic, messages: [{ value: 'from keycloak' }] });
  await producer.disconnect();
  const consumer = instance.consumer({ kafkaJS: { groupId: `kc-${randomUUID()}`, fromBeginning: true } });
  await connectClient(consumer, diagnostics, kafka.bootstrap.oauth);
  await consumer.subscribe({ topics: [topic] });
  const value = await new Promise<string>(
    (resolve) => void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') }),
  );
  await consumer.disconnect();
  return value;
}

describe('Keycloak, for real', () => {
  it('keycloak() gets a token with the audience the broker expects, and the broker accepts it', async () => {
    const provider = keycloak({
      url: kc.url,
      realm: kc.realm,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      allowInsecureLoopback: true,
    });
    const token = await provider.token();
    const claims = decodeJwt(typeof token === 'string' ? token : token.value);
    expect(claims).toMatchObject({ iss: kc.issuer, azp: client.clientId });
    expect([claims.aud].flat()).toContain(AUDIENCE);
    const credentials = new OAuthCredentials({ tokenProvider: provider });
    expect(await roundTrip(credentials)).toBe('from keycloak');
    credentials.lifecycle.close();
  });

  it('oidc() finds the token endpoint by discovery', async () => {
    const credentials = new OAuthCredentials({
      tokenProvider: oidc({
        issuer: kc.issuer,
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        allowInsecureLoopback: true,
      }),
    });
    expect(await roundTrip(credentials)).toBe('from keycloak');
    credentials.lifecycle.close();
  });

  it('a wrong secret: Keycloak says unauthorized_client, the error names the endpoint and keeps the secret out', async () => {
    const provider = keycloak({
      url: kc.url,
      realm: kc.realm,
      clientId: client.clientId,
      clientSecret: 'not-the-secret',
      allowInsecureLoopback: true,
    });
    const error = (await provider.token().catch((e: unknown) => e)) as StreamAppError;
    expect(error.code).toBe('STREAM_APP_ERR_TOKEN_ENDPOINT');
    expect(error.message).toContain(kc.tokenEndpoint);
    expect(error.message).toMatch(/HTTP 401 (unauthorized_client|invalid_client)/);
    expect(error.message).not.toContain('not-the-secret');
  });

  it('misconfiguration fails before any request', () => {
    expect(() => keycloak({ url: kc.url, realm: '', clientId: 'x', clientSecret: 'y' })).toThrow(/realm is required/);
    expect(() => keycloak({ url: kc.url, realm: 'r', clientId: 'x' })).toThrow(/give either clientSecret/);
    expect(() => keycloak({ url: kc.url, realm: 'r', clientId: 'x', clientSecret: 'y' })).toThrow(/plain HTTP/);
  });
});
