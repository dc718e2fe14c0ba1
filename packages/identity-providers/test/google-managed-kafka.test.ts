// Request and response shapes from Google's documentation:
// - "Using OAuth 2.0 for Server to Server Applications › Preparing to make an authorized API call (HTTP/REST)":
//   a JWT with header {"alg":"RS256","typ":"JWT"} (kid = private_key_id), claims iss = client_email,
//   scope, aud = token_uri (https://oauth2.googleapis.com/token), exp (at most one hour), iat; POSTed as
//   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=...; answer
//   { access_token, expires_in, token_type: "Bearer" }; errors { error: "invalid_grant", error_description }.
// - "Compute Engine › Authenticate workloads using service accounts › Get an access token from the metadata
//   server" and "About VM metadata": GET http://metadata.google.internal/computeMetadata/v1/instance/
//   service-accounts/default/token (and .../email) with header Metadata-Flavor: Google.
// - Managed Service for Apache Kafka "Authentication › OAuth" and googleapis/managedkafka (the local auth server):
//   the SASL token b64url({"typ":"JWT","alg":"GOOG_OAUTH2_TOKEN"}).b64url({exp,iat,iss:"Google",sub}).b64url(token).
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessToken } from '@stream-app/credentials';
import { googleManagedKafka, type GoogleServiceAccountKey } from '../src/adapters/google-managed-kafka.js';
import {
  decodeSegment,
  nowSeconds,
  rejectionOf,
  startFakeServer,
  thrownBy,
  type FakeResponse,
  type FakeServer,
  type RecordedRequest,
} from './helpers/fake-server.js';

const EMAIL = 'kafka-orders@my-project.iam.gserviceaccount.com';
const ACCESS_TOKEN = 'ya29.c.b0AXv0zTexample-google-access-token';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

const key = (overrides: Partial<GoogleServiceAccountKey> = {}): GoogleServiceAccountKey => ({
  type: 'service_account',
  project_id: 'my-project',
  private_key_id: '1f2e3d4c5b6a79880716253443526170f9e8d7c6',
  private_key: privateKeyPem,
  client_email: EMAIL,
  client_id: '104729384756102938475',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth',
  token_uri: 'https://oauth2.googleapis.com/token',
  ...overrides,
});

let server: FakeServer;
let respond: (request: RecordedRequest) => FakeResponse;

beforeAll(async () => {
  server = await startFakeServer((request) => respond(request));
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  respond = (request) => {
    if (request.path.endsWith('/email'))
      return { headers: { 'content-type': 'application/text', 'metadata-flavor': 'Google' }, body: EMAIL };
    return { body: { access_token: ACCESS_TOKEN, expires_in: 3599, token_type: 'Bearer' } };
  };
});

/** Asserts the Managed Kafka envelope and returns its claims. */
function expectEnvelope(token: AccessToken, email: string) {
  const parts = token.value.split('.');
  expect(parts).toHaveLength(3);
  expect(Buffer.from(parts[0]!, 'base64url').toString('utf8')).toBe('{"typ":"JWT","alg":"GOOG_OAUTH2_TOKEN"}');
  const claims = decodeSegment(parts[1]);
  expect(Object.keys(claims)).toEqual(['exp', 'iat', 'iss', 'sub']);
  expect(claims).toMatchObject({ iss: 'Google', sub: email });
  expect(Math.abs((claims.iat as number) - nowSeconds())).toBeLessThanOrEqual(2);
  expect(claims.exp).toBe(Math.floor(token.expiresAt / 1000));
  expect(Buffer.from(parts[2]!, 'base64url').toString('utf8')).toBe(ACCESS_TOKEN);
  expect(parts.every((part) => /^[A-Za-z0-9_-]+$/.test(part))).toBe(true); // base64url, no padding
  expect(token.principal).toBe(email);
  return claims;
}

describe('googleManagedKafka() with a service-account key', () => {
  it('posts a signed RFC 7523 assertion (iss, scope cloud-platform, aud = token_uri) and wraps the access token', async () => {
    const provider = googleManagedKafka({
      serviceAccountKey: key(),
      tokenEndpoint: `${server.url}/token`,
      allowInsecureLoopback: true,
    });
    const token = (await provider.token()) as AccessToken;

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/token');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers.authorization).toBeUndefined();
    expect([...request.form.keys()]).toEqual(['grant_type', 'assertion']);
    expect(request.form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    const { payload, protectedHeader } = await jwtVerify(request.form.get('assertion') ?? '', rsa.publicKey, {
      issuer: EMAIL,
      audience: 'https://oauth2.googleapis.com/token',
    });
    expect(protectedHeader).toEqual({ alg: 'RS256', typ: 'JWT', kid: '1f2e3d4c5b6a79880716253443526170f9e8d7c6' });
    expect(payload.scope).toBe(CLOUD_PLATFORM);
    expect(payload.sub).toBeUndefined();
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);

    expectEnvelope(token, EMAIL);
    expect(Math.abs(token.expiresAt - (Date.now() + 3599_000))).toBeLessThan(5_000);
    expect(provider.describe()).toBe(
      `Google Managed Kafka token for ${EMAIL} (service account key: ${server.url}/token)`,
    );
    expect(inspect(provider)).not.toContain('PRIVATE KEY');
    expect(JSON.stringify(provider)).not.toContain('PRIVATE KEY');
  });

  it("posts to the key's token_uri when no tokenEndpoint is given (and uses it as aud)", async () => {
    await googleManagedKafka({
      serviceAccountKey: key({ token_uri: `${server.url}/token` }),
      allowInsecureLoopback: true,
    }).token();
    const { payload } = await jwtVerify(server.requests[0]!.form.get('assertion') ?? '', rsa.publicKey);
    expect(payload.aud).toBe(`${server.url}/token`);
  });

  it('400 invalid_grant: TOKEN_ENDPOINT, not retriable, no key or assertion in the message', async () => {
    respond = () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } });
    const error = await rejectionOf(
      googleManagedKafka({
        serviceAccountKey: key(),
        tokenEndpoint: `${server.url}/token`,
        allowInsecureLoopback: true,
      }).token(),
    );
    expect(error).toMatchObject({ name: 'StreamAppError', code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain(
      `at ${server.url}/token was refused: HTTP 400 invalid_grant (Invalid JWT Signature.)`,
    );
    expect(error.message).toContain('The key may be deleted or disabled');
    const assertion = server.requests[0]!.form.get('assertion') ?? '';
    expect(error.message).not.toContain(assertion);
    expect(error.message).not.toContain('PRIVATE KEY');
  });
});

describe('googleManagedKafka() on the metadata server', () => {
  it('GETs the default service account token and email with Metadata-Flavor: Google', async () => {
    const provider = googleManagedKafka({ metadataEndpoint: `${server.url}/computeMetadata/v1` });
    const token = (await provider.token()) as AccessToken;

    const paths = server.requests.map((request) => request.path).sort();
    expect(paths).toEqual([
      '/computeMetadata/v1/instance/service-accounts/default/email',
      '/computeMetadata/v1/instance/service-accounts/default/token',
    ]);
    for (const request of server.requests) {
      expect(request.method).toBe('GET');
      expect(request.headers['metadata-flavor']).toBe('Google');
      expect(request.url).not.toContain('?');
    }
    expectEnvelope(token, EMAIL);

    // The account does not change: later tokens ask only for the token.
    server.requests.length = 0;
    await provider.token();
    expect(server.requests.map((request) => request.path)).toEqual([
      '/computeMetadata/v1/instance/service-accounts/default/token',
    ]);
  });

  it('404 (no service account attached): TOKEN_ENDPOINT saying so', async () => {
    respond = () => ({ status: 404, headers: { 'content-type': 'text/html' }, body: 'Not Found\n' });
    const error = await rejectionOf(
      googleManagedKafka({ metadataEndpoint: `${server.url}/computeMetadata/v1` }).token(),
    );
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain('HTTP 404 http_error (Not Found). No service account is attached');
  });

  it('an unreachable metadata server is retriable and says where it exists', async () => {
    const error = await rejectionOf(
      googleManagedKafka({ metadataEndpoint: 'http://127.0.0.1:9/computeMetadata/v1' }).token(),
    );
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_IDP_UNREACHABLE', retriable: true });
    expect(error.message).toContain('only on Google Cloud');
  });
});

describe('googleManagedKafka() with accessToken()', () => {
  it('wraps the given token; a missing email is an INVALID_TOKEN error', async () => {
    const expiresAt = Date.now() + 1800_000;
    const token = (await googleManagedKafka({
      accessToken: async () => ({ token: ACCESS_TOKEN, expiresAt, email: 'alice@example.com' }),
    }).token()) as AccessToken;
    expectEnvelope(token, 'alice@example.com');
    expect(token.expiresAt).toBe(expiresAt);

    const error = await rejectionOf(
      googleManagedKafka({
        accessToken: async () => ({ token: ACCESS_TOKEN, expiresAt, email: '' }),
      }).token(),
    );
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_TOKEN' });
    expect(error.message).not.toContain(ACCESS_TOKEN);
  });
});

describe('googleManagedKafka() misconfiguration', () => {
  it('is refused before any request', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ serviceAccountKey: key(), accessToken: async () => ({}) }, 'INVALID_OPTIONS', /not both/],
      [
        { serviceAccountKey: key({ type: 'authorized_user' }) },
        'INVALID_OPTIONS',
        /type 'authorized_user'; only a service account key file/,
      ],
      [{ serviceAccountKey: key({ client_email: '' }) }, 'INVALID_OPTIONS', /client_email is missing/],
      [{ serviceAccountKey: key({ private_key: 'nope' }) }, 'INVALID_OPTIONS', /private_key is not a PEM private key/],
      [{ serviceAccountKey: key({ token_uri: `${server.url}/token` }) }, 'INSECURE_URL', /plain HTTP/],
      [
        { metadataEndpoint: 'http://evil.example.com/computeMetadata/v1' },
        'INSECURE_URL',
        /is not the metadata server/,
      ],
      [{ accessToken: 'ya29.x' }, 'INVALID_OPTIONS', /accessToken must be a function/],
    ];
    for (const [options, code, message] of cases) {
      const error = thrownBy(() => googleManagedKafka(options as Parameters<typeof googleManagedKafka>[0]));
      expect(error, String(message)).toMatchObject({ code: `STREAM_APP_ERR_${code}` });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain('PRIVATE KEY');
    }
    expect(server.requests).toHaveLength(0);
  });
});
