// createSslContext serves both sides: the Kafka client (librdkafka ssl.* settings,
// proven against the broker in oauth-kafka.test.ts) and HTTPS calls to an
// identity provider behind a private CA (proven here).
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBrokerCertificates } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClientCredentialsProvider,
  createSslContext,
  kafkaClientConfig,
  SslCredentials,
  type StreamAppError,
} from '../src/index.js';

const testbed = useTestbed();
let server: Server;
let tokenEndpoint = '';
let caFile = '';
let certs: ReturnType<typeof makeBrokerCertificates>;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'https-idp-'));
  certs = makeBrokerCertificates(dir, 'unused-password');
  caFile = certs.caFile;
  // An HTTPS front for the test bed's identity provider, with a certificate from a private CA.
  const upstream = new URL(testbed.identityProvider.tokenEndpoint);
  server = createServer(
    { key: readFileSync(join(dir, 'broker.key')), cert: readFileSync(join(dir, 'broker.pem')) },
    (req, res) => {
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: upstream.pathname,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(forward);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  tokenEndpoint = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/token`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('createSslContext for the identity provider', () => {
  const { app } = testbed.clients;

  it('trusts a private CA for the token endpoint', async () => {
    const provider = new ClientCredentialsProvider({
      tokenEndpoint,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      ssl: createSslContext({ cafile: caFile }),
    });
    const token = await provider.token();
    expect(token.principal).toBe(app.clientId);
  });

  it('without the CA the call fails, saying the endpoint could not be reached over TLS', async () => {
    const provider = new ClientCredentialsProvider({
      tokenEndpoint,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
    });
    const error = (await provider.token().catch((e: unknown) => e)) as StreamAppError;
    expect(error.code).toBe('STREAM_APP_ERR_IDP_UNREACHABLE');
    expect(error.message).toContain(tokenEndpoint);
    expect(error.message).toMatch(/certificate/i);
  });
});

describe('SslCredentials and the Kafka configuration', () => {
  it('maps mutual TLS and CA settings onto librdkafka properties, keeping the key out of inspect', async () => {
    const credentials = new SslCredentials({
      cafile: caFile,
      cert: certs.caFile,
      key: join(certs.caFile, '..', 'broker.key'),
    });
    const config = kafkaClientConfig(credentials);
    expect(config.kafkaJS).toEqual({ ssl: true });
    expect(config['ssl.ca.pem']).toContain('BEGIN CERTIFICATE');
    expect(config['ssl.certificate.pem']).toContain('BEGIN CERTIFICATE');
    expect(config['ssl.key.pem']).toContain('PRIVATE KEY');
    expect(config['ssl.endpoint.identification.algorithm']).toBe('https');
    expect(JSON.stringify(credentials)).not.toContain('PRIVATE KEY');
    const { inspect } = await import('node:util');
    expect(inspect(credentials, { depth: 5 })).not.toContain('PRIVATE KEY');
    expect(
      kafkaClientConfig(
        new SslCredentials({
          cafile: caFile,
          cert: certs.caFile,
          key: join(certs.caFile, '..', 'broker.key'),
          checkHostname: false,
        }),
      )['ssl.endpoint.identification.algorithm'],
    ).toBe('none');
  });
});
