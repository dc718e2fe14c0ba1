// The chain end to end with real servers: client credentials at a real OIDC
// provider, OAUTHBEARER at a real Kafka broker, ACLs by StandardAuthorizer.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, explainKafkaError, KafkaDiagnostics } from '@stream-app/core';
import { StreamAppError } from '@stream-app/credentials';
import { createAdminClient } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { generateKeyPair, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';

const testbed = useTestbed();
const { identityProvider: idp, kafka } = testbed;

/** A client credentials grant, by hand: the standard providers come with @stream-app/credentials. */
async function clientCredentialsToken(client: { clientId: string; clientSecret: string }, resource?: string) {
  const response = await fetch(idp.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'kafka', ...(resource ? { resource } : {}) }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; expires_in: number; token_type: string };
  expect(body.token_type).toBe('Bearer');
  return body;
}

function client(token: string, options: { ssl?: boolean } = {}) {
  const diagnostics = new KafkaDiagnostics();
  const bootstrap = options.ssl ? kafka.bootstrap.oauthSsl : kafka.bootstrap.oauth;
  const sub = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub ?? 'unknown';
  const instance = new KafkaJS.Kafka({
    kafkaJS: {
      brokers: [bootstrap],
      ssl: options.ssl === true,
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => ({ value: token, principal: sub, lifetime: Date.now() + 60_000 }),
      },
      logger: diagnostics.logger,
      connectionTimeout: 5_000,
    },
    ...(options.ssl ? { 'ssl.ca.location': kafka.caFile } : {}),
  });
  return { instance, diagnostics, bootstrap, principal: `User:${sub}` };
}

const topic = `smoke-${randomUUID()}`;

beforeAll(async () => {
  const admin = createAdminClient(kafka);
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
});

async function produceAndConsume(options: { ssl?: boolean }) {
  const { access_token } = await clientCredentialsToken(testbed.clients.app);
  const { instance, diagnostics, bootstrap } = client(access_token, options);
  const producer = instance.producer();
  await connectClient(producer, diagnostics, bootstrap);
  const value = `hello over ${options.ssl ? 'SASL_SSL' : 'SASL_PLAINTEXT'} ${randomUUID()}`;
  await producer.send({ topic, messages: [{ key: 'k', value }] });
  await producer.disconnect();

  const consumer = instance.consumer({ kafkaJS: { groupId: `smoke-${randomUUID()}`, fromBeginning: true } });
  await connectClient(consumer, diagnostics, bootstrap);
  await consumer.subscribe({ topics: [topic] });
  const seen = new Promise<string>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value?.toString() === value) resolve(value);
      },
    });
  });
  await expect(seen).resolves.toBe(value);
  await consumer.disconnect();
}

describe('OAuth to Kafka, end to end', () => {
  it('gets a token by client credentials, authenticates over OAUTHBEARER, produces and consumes', async () => {
    await produceAndConsume({});
  });

  it('does the same over SASL_SSL, trusting the broker through the test CA', async () => {
    await produceAndConsume({ ssl: true });
  });
});

describe('the broker refuses bad tokens and the client says why', () => {
  const now = () => Math.floor(Date.now() / 1000);

  /** Waits for the broker's log to name the check that failed: proves the refusal had the reason tested. */
  async function brokerLogged(since: number, reason: RegExp) {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const log = readFileSync(kafka.logFile).subarray(since).toString();
      if (reason.test(log)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the broker log did not mention ${reason}`);
  }

  async function expectRefused(token: string, brokerReason: RegExp) {
    const since = readFileSync(kafka.logFile).length;
    const { instance, diagnostics, bootstrap } = client(token);
    const started = Date.now();
    const error = await connectClient(instance.producer(), diagnostics, bootstrap).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StreamAppError);
    const { code, message } = error as StreamAppError;
    expect(code).toBe('STREAM_APP_ERR_KAFKA_AUTHENTICATION');
    expect(message).toContain(
      `Kafka at sasl_plaintext://${bootstrap} refused the credentials: {"status":"invalid_token"}`,
    );
    expect(message).not.toContain(token);
    // At once, not after the client's 30 s connection timeout.
    expect(Date.now() - started).toBeLessThan(15_000);
    await brokerLogged(since, brokerReason);
  }

  it('refuses a real token issued for another audience', async () => {
    const { access_token } = await clientCredentialsToken(testbed.clients.app, 'urn:kafka:some-other-cluster');
    await expectRefused(
      access_token,
      /Audience \(aud\) claim \[urn:kafka:some-other-cluster\] doesn't contain an acceptable identifier/,
    );
  });

  it('refuses a token from another issuer, even when signed with a trusted key', async () => {
    await expectRefused(
      await mint({ iss: 'http://127.0.0.1:1/not-the-issuer' }),
      /Issuer \(iss\) claim value \(http:\/\/127\.0\.0\.1:1\/not-the-issuer\) doesn't match/,
    );
  });

  it('refuses an expired token', async () => {
    await expectRefused(await mint({ iat: now() - 3600, exp: now() - 1800 }), /The JWT is no longer valid/);
  });

  it('refuses a forged signature (same kid, another key)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ sub: testbed.clients.app.clientId, scope: 'kafka' })
      .setProtectedHeader({ alg: 'RS256', kid: idp.signingKey.kid ?? '' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectRefused(token, /JWT rejected due to invalid signature/);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const token = new UnsecuredJWT({ sub: testbed.clients.app.clientId, scope: 'kafka' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    expect(JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()).alg).toBe('none');
    await expectRefused(token, /Malformed JWT provided; expected three sections \(header, payload, and signature\)/);
  });
});

describe('authorization', () => {
  it('a principal without ACLs gets an error naming the principal, the topic and the ACL to add', async () => {
    const { access_token } = await clientCredentialsToken(testbed.clients.noAcls);
    const { instance, diagnostics, bootstrap, principal } = client(access_token);
    const producer = instance.producer();
    await connectClient(producer, diagnostics, bootstrap);
    const error = await producer.send({ topic, messages: [{ value: 'x' }] }).then(
      () => undefined,
      (e: unknown) => explainKafkaError(e, { principal, operation: 'Write', resource: topic }),
    );
    await producer.disconnect();
    expect(error).toBeInstanceOf(StreamAppError);
    expect((error as StreamAppError).code).toBe('STREAM_APP_ERR_KAFKA_AUTHORIZATION');
    expect((error as StreamAppError).message).toContain(
      `User:${testbed.clients.noAcls.clientId} may not Write topic '${topic}'`,
    );
    expect((error as StreamAppError).message).toContain(
      `--allow-principal User:no-acls --operation Write --topic ${topic}`,
    );
  });
});

/** A token signed by the identity provider's own key with the claims given. */
async function mint(claims: Record<string, unknown>) {
  const key = idp.signingKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: idp.issuer,
    aud: idp.audience,
    sub: testbed.clients.app.clientId,
    scope: 'kafka',
    iat: now,
    exp: now + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: idp.algorithm, kid: key.kid ?? '', typ: 'at+jwt' })
    .sign(await importJWK(key, idp.algorithm));
}
