// The token lifecycle against a real identity provider and a real broker
// whose OAuth listeners demand re-authentication every 10 s (KIP-368).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, KafkaDiagnostics } from '@stream-app/core';
import { makeBrokerCertificates, silentProgress, startTestbed, type Testbed } from '@stream-app/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientCredentialsProvider,
  kafkaClientConfig,
  OAuthCredentials,
  StreamAppError,
  type Credentials,
  type TokenLifecycle,
} from '../src/index.js';

const TOKEN_LIFETIME_SEC = 15;
const REAUTH_MS = 10_000;
let testbed: Testbed;

beforeAll(async () => {
  testbed = await startTestbed({
    accessTokenLifetimeSec: TOKEN_LIFETIME_SEC,
    kafka: { reauthMs: REAUTH_MS },
    onProgress: silentProgress,
  });
});
afterAll(() => testbed?.stop());

function credentials(overrides: { clientSecret?: string; ssl?: Credentials['ssl'] } = {}) {
  const { app } = testbed.info().clients;
  return new OAuthCredentials({
    tokenProvider: new ClientCredentialsProvider({
      tokenEndpoint: testbed.identityProvider.tokenEndpoint,
      clientId: app.clientId,
      clientSecret: overrides.clientSecret ?? app.clientSecret,
      scope: 'kafka',
      allowInsecureLoopback: true,
    }),
    ...(overrides.ssl ? { ssl: overrides.ssl } : {}),
  });
}

/** Kafka clients built the way every stream-app client is: from kafkaClientConfig(credentials). */
function kafkaFor(creds: Credentials, bootstrap = testbed.kafka.bootstrap.oauth) {
  const diagnostics = new KafkaDiagnostics();
  const errors: string[] = [];
  const config = kafkaClientConfig(creds);
  const kafka = new KafkaJS.Kafka({
    ...config,
    kafkaJS: {
      ...config.kafkaJS,
      brokers: [bootstrap],
      logger: {
        ...diagnostics.logger,
        error: (message: string, extra?: object) => {
          errors.push(message);
          diagnostics.logger.error(message, extra);
        },
      },
    } as never,
  });
  return { kafka, diagnostics, errors, bootstrap };
}

async function createTopic(topic: string) {
  const admin = testbed.kafka.createAdminClient();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
}

/** Produces one message every `everyMs` until stopped; a consumer collects them. */
async function traffic(creds: OAuthCredentials, topic: string, everyMs = 100) {
  const { kafka, diagnostics, errors, bootstrap } = kafkaFor(creds);
  // Like stream-app's own producer: idempotent, and retrying until message.timeout.ms. The client's KafkaJS
  // layer sets 5 retries unless told otherwise, which an outage past token expiry can use up (the send then
  // fails with a transport error: seen once in a loaded fresh-clone run).
  const producer = kafka.producer({ 'enable.idempotence': true, retries: 2_147_483_647 } as never);
  const consumer = kafka.consumer({ kafkaJS: { groupId: `g-${randomUUID()}`, fromBeginning: true } });
  await connectClient(producer, diagnostics, bootstrap);
  await connectClient(consumer, diagnostics, bootstrap);
  await consumer.subscribe({ topics: [topic] });
  const received = new Set<string>();
  await consumer.run({ eachMessage: async ({ message }) => void received.add(message.value?.toString() ?? '') });
  const sent: Array<Promise<unknown>> = [];
  let count = 0;
  const timer = setInterval(() => {
    count += 1;
    sent.push(producer.send({ topic, messages: [{ value: String(count) }] }));
  }, everyMs);
  return {
    errors,
    received,
    get count() {
      return count;
    },
    async stop() {
      clearInterval(timer);
      await Promise.all(sent);
      const deadline = Date.now() + 60_000;
      while (received.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await producer.disconnect();
      await consumer.disconnect();
      return { sent: count, received: received.size };
    },
  };
}

const nextEvent = <K extends 'token' | 'refresh-failed' | 'expired' | 'recovered'>(
  lifecycle: TokenLifecycle,
  name: K,
) => new Promise((resolve) => lifecycle.once(name, resolve as never));

function authenticationFailures(errors: string[]) {
  return errors.filter((e) => /SASL authentication error|Authentication failed|reauth/i.test(e));
}

describe('OAuthCredentials with a real identity provider and broker', () => {
  it('runs a producer and a consumer for 2 minutes on 15 s tokens with 10 s re-authentication: no auth error, nothing lost', async () => {
    const topic = `reauth-${randomUUID()}`;
    await createTopic(topic);
    const creds = credentials();
    const logStart = readFileSync(testbed.kafka.logFile).length;
    const requestsBefore = testbed.identityProvider.stats.tokenRequests;
    const run = await traffic(creds, topic);
    await new Promise((resolve) => setTimeout(resolve, 120_000));
    const result = await run.stop();

    expect(result.sent).toBeGreaterThan(900);
    expect(result.received).toBe(result.sent);
    expect(authenticationFailures(run.errors)).toEqual([]);
    const stats = creds.lifecycle.stats();
    // 15 s tokens refreshed when librdkafka asks, at 60% of a token's life (refreshHint): one every 9 s or
    // so, about 13 in 2 minutes (the lifecycle's own refresh, at 80%, comes later and never fires).
    expect(stats.refreshes).toBeGreaterThanOrEqual(10);
    expect(stats.refreshes).toBeLessThanOrEqual(16);
    expect(stats.failures).toBe(0);
    // One fetch per token for the whole process: producer and consumer shared every one.
    expect(testbed.identityProvider.stats.tokenRequests - requestsBefore).toBe(stats.fetches);
    // The broker really re-authenticated the open connections (KIP-368) rather than dropping them.
    const log = readFileSync(testbed.kafka.logFile).subarray(logStart).toString();
    expect(log.match(/re-?authenticat/gi)?.length ?? 0).toBeGreaterThan(10);
    expect(log).not.toMatch(/Failed authentication with/);
    creds.lifecycle.close();
  }, 200_000);

  it('rides out an identity-provider outage shorter than the token life without disruption', async () => {
    const topic = `outage-short-${randomUUID()}`;
    await createTopic(topic);
    const creds = credentials();
    const run = await traffic(creds, topic);
    await nextEvent(creds.lifecycle, 'token'); // a fresh token: the outage starts at its beginning
    await testbed.identityProvider.stop();
    const failed = (await nextEvent(creds.lifecycle, 'refresh-failed')) as { keptValidToken: boolean };
    expect(failed.keptValidToken).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(creds.lifecycle.stats().state).toBe('failing');
    await testbed.identityProvider.restart();
    await nextEvent(creds.lifecycle, 'recovered');
    const result = await run.stop();
    expect(result.received).toBe(result.sent);
    expect(authenticationFailures(run.errors)).toEqual([]);
    expect(creds.lifecycle.stats().state).toBe('valid');
    creds.lifecycle.close();
  }, 90_000);

  it('past expiry: a clear error state, then recovery on its own when the provider returns, nothing lost', async () => {
    const topic = `outage-long-${randomUUID()}`;
    await createTopic(topic);
    const creds = credentials();
    const run = await traffic(creds, topic);
    await nextEvent(creds.lifecycle, 'token');
    await testbed.identityProvider.stop();
    const expired = (await nextEvent(creds.lifecycle, 'expired')) as { error: StreamAppError };
    expect(expired.error.code).toBe('STREAM_APP_ERR_NO_VALID_TOKEN');
    expect(expired.error.message).toContain(testbed.identityProvider.tokenEndpoint);
    expect(expired.error.retriable).toBe(true);
    await expect(creds.lifecycle.token()).rejects.toMatchObject({ code: 'STREAM_APP_ERR_NO_VALID_TOKEN' });
    const sentWhileDown = run.count;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await testbed.identityProvider.restart();
    await nextEvent(creds.lifecycle, 'recovered');
    const result = await run.stop();
    expect(result.sent).toBeGreaterThan(sentWhileDown);
    expect(result.received).toBe(result.sent);
    creds.lifecycle.close();
  }, 120_000);

  it('a wrong client secret names the token endpoint and the OAuth error, never the secret', async () => {
    const wrongSecret = `wrong-${randomUUID()}`;
    const creds = credentials({ clientSecret: wrongSecret });
    const error = (await creds.lifecycle.token().catch((e: unknown) => e)) as StreamAppError;
    expect(error.code).toBe('STREAM_APP_ERR_NO_VALID_TOKEN');
    expect(error.retriable).toBe(false);
    const cause = error.cause as StreamAppError;
    expect(cause.code).toBe('STREAM_APP_ERR_TOKEN_ENDPOINT');
    expect(cause.message).toContain(testbed.identityProvider.tokenEndpoint);
    expect(cause.message).toContain('invalid_client');
    for (const text of [error.message, cause.message, JSON.stringify(creds), JSON.stringify(error.details)]) {
      expect(text).not.toContain(wrongSecret);
    }
    creds.lifecycle.close();
  });

  it('consumer, producer and admin client of one app share one token fetch', async () => {
    const creds = credentials();
    const before = testbed.identityProvider.stats.tokenRequests;
    const { kafka, diagnostics, bootstrap } = kafkaFor(creds);
    const producer = kafka.producer();
    const consumer = kafka.consumer({ kafkaJS: { groupId: `g-${randomUUID()}` } });
    const admin = kafka.admin();
    await Promise.all([
      connectClient(producer, diagnostics, bootstrap),
      connectClient(consumer, diagnostics, bootstrap),
      connectClient(admin, diagnostics, bootstrap),
    ]);
    expect(testbed.identityProvider.stats.tokenRequests - before).toBe(1);
    await Promise.all([producer.disconnect(), consumer.disconnect(), admin.disconnect()]);
    creds.lifecycle.close();
  });
});

describe('SASL_SSL', () => {
  it('connects with the CA given to createSslContext, and fails clearly with a wrong CA', async () => {
    const { createSslContext } = await import('../src/index.js');
    const { mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const bootstrap = testbed.kafka.bootstrap.oauthSsl;

    const good = credentials({ ssl: createSslContext({ cafile: testbed.kafka.caFile }) });
    const ok = kafkaFor(good, bootstrap);
    const producer = ok.kafka.producer();
    await connectClient(producer, ok.diagnostics, bootstrap);
    await producer.disconnect();

    // A CA of its own: the broker's certificate was not signed by it.
    const otherCa = makeBrokerCertificates(mkdtempSync(join(tmpdir(), 'other-ca-')), 'unused').caFile;
    const wrong = credentials({ ssl: createSslContext({ cafile: otherCa }) });
    const bad = kafkaFor(wrong, bootstrap);
    const error = (await connectClient(bad.kafka.producer(), bad.diagnostics, bootstrap).catch(
      (e: unknown) => e,
    )) as StreamAppError;
    expect(error).toBeInstanceOf(StreamAppError);
    expect(error.code).toBe('STREAM_APP_ERR_SSL');
    expect(error.message).toContain(`TLS handshake with Kafka at sasl_ssl://${bootstrap} failed`);
    expect(error.message).toMatch(/certificate verify failed/);
    good.lifecycle.close();
  });

  it('createSslContext says which file is wrong', async () => {
    const { createSslContext } = await import('../src/index.js');
    expect(() => createSslContext({ cafile: '/nonexistent/ca.pem' })).toThrow(
      /cafile \/nonexistent\/ca.pem cannot be read: ENOENT/,
    );
    expect(() => createSslContext({ cafile: testbed.kafka.logFile })).toThrow(/is not a PEM file with a certificate/);
  });
});

describe('SaslCredentials', () => {
  it.each(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const)(
    '%s produces and consumes through the same configuration function',
    async (mechanism) => {
      const { SaslCredentials } = await import('../src/index.js');
      const topic = `sasl-${mechanism.toLowerCase()}-${randomUUID()}`;
      await createTopic(topic);
      const creds = new SaslCredentials({ mechanism, ...testbed.kafka.passwordUser });
      const { kafka, diagnostics, bootstrap } = kafkaFor(creds, testbed.kafka.bootstrap.admin);
      const producer = kafka.producer();
      await connectClient(producer, diagnostics, bootstrap);
      await producer.send({ topic, messages: [{ value: mechanism }] });
      await producer.disconnect();
      const consumer = kafka.consumer({ kafkaJS: { groupId: `g-${randomUUID()}`, fromBeginning: true } });
      await connectClient(consumer, diagnostics, bootstrap);
      await consumer.subscribe({ topics: [topic] });
      const value = await new Promise<string>(
        (resolve) =>
          void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') }),
      );
      await consumer.disconnect();
      expect(value).toBe(mechanism);

      const wrong = new SaslCredentials({
        mechanism,
        username: testbed.kafka.passwordUser.username,
        password: 'not-the-password',
      });
      const bad = kafkaFor(wrong, testbed.kafka.bootstrap.admin);
      await expect(connectClient(bad.kafka.producer(), bad.diagnostics, bad.bootstrap)).rejects.toMatchObject({
        code: 'STREAM_APP_ERR_KAFKA_AUTHENTICATION',
      });
    },
  );
});
