// Request and response shapes from Microsoft's documentation:
// - "Microsoft identity platform and the OAuth 2.0 client credentials flow" (POST
//   https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token, form client_id, scope=<resource>/.default,
//   client_secret, grant_type=client_credentials; the certificate variant with client_assertion_type and
//   client_assertion; answer { token_type, expires_in, ext_expires_in, access_token }; error
//   { error, error_description "AADSTS...", error_codes, timestamp, trace_id, correlation_id, error_uri }).
// - "Microsoft identity platform application authentication certificate credentials" (assertion header
//   x5t#S256 = base64url SHA-256 thumbprint of the certificate's DER; claims aud = the v2.0 token endpoint,
//   iss = sub = client id, jti, exp, nbf).
// - "How to use managed identities for Azure resources on an Azure VM to acquire an access token" (GET
//   http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=...[&client_id=...],
//   header Metadata: true; answer { access_token, refresh_token, expires_in, expires_on, not_before, resource,
//   token_type } with numbers as strings; errors { error, error_description }, e.g. 400 invalid_request
//   "Identity not found"; 404/410/429/5xx are transient).
// - "Use Azure Event Hubs from Apache Kafka applications › OAuth" (scope https://<namespace>.servicebus.windows.net/.default).
import { inspect } from 'node:util';
import { createPublicKey } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessToken } from '@stream-app/credentials';
import { entraId, eventHubs } from '../src/adapters/entra-id.js';
import { makeSelfSignedCertificate } from './helpers/certificate.js';
import {
  fakeJwt,
  nowSeconds,
  rejectionOf,
  startFakeServer,
  thrownBy,
  type FakeResponse,
  type FakeServer,
  type RecordedRequest,
} from './helpers/fake-server.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '6731de76-14a6-49ae-97bc-6eba6914391e';
const SECRET = 'Qh38Q~entra-client-secret-value.Xy';
const SP_OBJECT_ID = '4a2b6e8f-1c3d-4e5f-8a9b-0c1d2e3f4a5b';
const NAMESPACE = 'orders-prod';
const cert = makeSelfSignedCertificate();
const otherCert = makeSelfSignedCertificate('/CN=someone else');

let server: FakeServer;
let respond: (request: RecordedRequest) => FakeResponse;

function entraAccessToken(aud: string) {
  const iat = nowSeconds();
  return fakeJwt({
    aud,
    iss: `https://sts.windows.net/${TENANT}/`,
    iat,
    nbf: iat,
    exp: iat + 3599,
    appid: CLIENT,
    oid: SP_OBJECT_ID,
    sub: SP_OBJECT_ID,
    tid: TENANT,
    ver: '1.0',
  });
}

beforeAll(async () => {
  server = await startFakeServer((request) => respond(request));
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  respond = () => ({
    body: {
      token_type: 'Bearer',
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: entraAccessToken(`https://${NAMESPACE}.servicebus.windows.net`),
    },
  });
});

const secretOptions = () => ({
  tenantId: TENANT,
  clientId: CLIENT,
  clientSecret: SECRET,
  scope: eventHubs({ namespace: NAMESPACE }),
  authorityHost: server.url,
  allowInsecureLoopback: true,
});
const tokenPath = `/${TENANT}/oauth2/v2.0/token`;
const imds = () => `${server.url}/metadata/identity/oauth2/token`;

describe('eventHubs()', () => {
  it('names the Event Hubs resource with /.default', () => {
    expect(eventHubs({ namespace: 'orders-prod' })).toBe('https://orders-prod.servicebus.windows.net/.default');
    expect(eventHubs({ namespace: 'orders-prod.servicebus.usgovcloudapi.net' })).toBe(
      'https://orders-prod.servicebus.usgovcloudapi.net/.default',
    );
    expect(thrownBy(() => eventHubs({ namespace: 'https://orders-prod.servicebus.windows.net' })).message).toMatch(
      /not a URL/,
    );
    expect(thrownBy(() => eventHubs({ namespace: '1x' })).code).toBe('STREAM_APP_ERR_INVALID_OPTIONS');
  });
});

describe('entraId() with a client secret', () => {
  it('posts client_id, scope, client_secret and grant_type to /<tenant>/oauth2/v2.0/token', async () => {
    const provider = entraId(secretOptions());
    const token = (await provider.token()) as AccessToken;

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(tokenPath);
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(request.form)).toEqual({
      client_id: CLIENT,
      scope: 'https://orders-prod.servicebus.windows.net/.default',
      client_secret: SECRET,
      grant_type: 'client_credentials',
    });
    expect(token.principal).toBe(SP_OBJECT_ID);
    expect(Math.abs(token.expiresAt - (Date.now() + 3599_000))).toBeLessThan(5_000);
    expect(provider.describe()).toBe(
      `Entra ID client credentials (client secret) for ${CLIENT} at ${server.url}${tokenPath}`,
    );
    expect(inspect(provider)).not.toContain(SECRET);
    expect(JSON.stringify(provider)).not.toContain(SECRET);
  });

  it('an invalid secret (401 invalid_client, AADSTS7000215): TOKEN_ENDPOINT error with the fix, no secret', async () => {
    respond = () => ({
      status: 401,
      body: {
        error: 'invalid_client',
        error_description:
          "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '6731de76-14a6-49ae-97bc-6eba6914391e'. Trace ID: 0b1c2d3e-0000-0000-0000-000000000000 Correlation ID: 1c2d3e4f-0000-0000-0000-000000000000 Timestamp: 2025-01-01 00:00:00Z",
        error_codes: [7000215],
        timestamp: '2025-01-01 00:00:00Z',
        trace_id: '0b1c2d3e-0000-0000-0000-000000000000',
        correlation_id: '1c2d3e4f-0000-0000-0000-000000000000',
        error_uri: 'https://login.microsoftonline.com/error?code=7000215',
      },
    });
    const error = await rejectionOf(entraId(secretOptions()).token());
    expect(error).toMatchObject({ name: 'StreamAppError', code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain(`at ${server.url}${tokenPath} was refused: HTTP 401 invalid_client (AADSTS7000215`);
    expect(error.message).toContain('Entra ID: the client secret is wrong: use the secret Value, not its Secret ID.');
    expect(error.message).not.toContain(SECRET);
    expect(inspect(error)).not.toContain(SECRET);
  });

  it('refuses a scope without /.default, several scopes, and other misconfiguration before any request', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [
        { ...secretOptions(), scope: 'https://orders-prod.servicebus.windows.net' },
        'INVALID_OPTIONS',
        /must end with '\/\.default'.*did you mean 'https:\/\/orders-prod\.servicebus\.windows\.net\/\.default'/,
      ],
      [{ ...secretOptions(), scope: 'api://kafka/Kafka.Write' }, 'INVALID_OPTIONS', /must end with '\/\.default'/],
      [
        { ...secretOptions(), scope: 'api://a/.default api://b/.default' },
        'INVALID_OPTIONS',
        /exactly one '<resource>\/\.default' scope/,
      ],
      [{ ...secretOptions(), scope: undefined }, 'INVALID_OPTIONS', /scope is required/],
      [{ ...secretOptions(), tenantId: 'common' }, 'INVALID_OPTIONS', /'common' does not work for app-only tokens/],
      [{ ...secretOptions(), tenantId: undefined }, 'INVALID_OPTIONS', /tenantId is required/],
      [{ ...secretOptions(), clientId: undefined }, 'INVALID_OPTIONS', /clientId is required/],
      [
        { ...secretOptions(), clientSecret: undefined },
        'INVALID_OPTIONS',
        /give one credential: clientSecret, certificate/,
      ],
      [
        { ...secretOptions(), managedIdentity: true },
        'INVALID_OPTIONS',
        /give one credential, not clientSecret and managedIdentity/,
      ],
      [{ ...secretOptions(), allowInsecureLoopback: false }, 'INSECURE_URL', /authorityHost .* plain HTTP/],
      [
        {
          ...secretOptions(),
          clientSecret: undefined,
          certificate: { privateKey: otherCert.privateKeyPem, certificate: cert.certificatePem },
        },
        'INVALID_OPTIONS',
        /privateKey does not belong to the certificate/,
      ],
      [
        {
          scope: 'api://kafka/.default',
          managedIdentity: true,
          metadataEndpoint: 'http://metadata.example.com/metadata/identity/oauth2/token',
        },
        'INSECURE_URL',
        /not the Azure Instance Metadata Service/,
      ],
      [
        { scope: 'api://kafka/.default', managedIdentity: true, clientId: CLIENT },
        'INVALID_OPTIONS',
        /managedIdentity: \{ clientId \}/,
      ],
    ];
    for (const [options, code, message] of cases) {
      const error = thrownBy(() => entraId(options as Parameters<typeof entraId>[0]));
      expect(error, String(message)).toMatchObject({ code: `STREAM_APP_ERR_${code}` });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(SECRET);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe('entraId() with a certificate', () => {
  it('authenticates with a client assertion carrying x5t#S256 of the certificate, aud = the token endpoint', async () => {
    const provider = entraId({
      tenantId: TENANT,
      clientId: CLIENT,
      certificate: { privateKey: cert.privateKeyPem, certificate: cert.certificatePem },
      scope: 'api://kafka-prod/.default',
      authorityHost: server.url,
      allowInsecureLoopback: true,
    });
    const token = (await provider.token()) as AccessToken;
    expect(token.principal).toBe(SP_OBJECT_ID);

    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(tokenPath);
    expect(request.headers.authorization).toBeUndefined();
    expect(request.form.get('grant_type')).toBe('client_credentials');
    expect(request.form.get('scope')).toBe('api://kafka-prod/.default');
    expect(request.form.get('client_id')).toBe(CLIENT);
    expect(request.form.get('client_secret')).toBeNull();
    expect(request.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = request.form.get('client_assertion') ?? '';
    // Thumbprints as computed by openssl, not by the code under test.
    expect(decodeProtectedHeader(assertion)).toMatchObject({
      alg: 'RS256',
      'x5t#S256': cert.sha256Thumbprint,
      x5t: cert.sha1Thumbprint,
    });
    const { payload } = await jwtVerify(assertion, createPublicKey(cert.certificatePem), {
      audience: `${server.url}${tokenPath}`,
      issuer: CLIENT,
      subject: CLIENT,
    });
    expect(typeof payload.jti).toBe('string');
    expect(provider.describe()).toContain('(certificate)');
    expect(inspect(provider)).not.toContain('PRIVATE KEY');
  });
});

describe('entraId() with a managed identity', () => {
  const imdsAnswer = (clientId?: string): FakeResponse => {
    const expiresOn = nowSeconds() + 86399;
    return {
      body: {
        access_token: entraAccessToken(`https://${NAMESPACE}.servicebus.windows.net`),
        refresh_token: '',
        expires_in: '86399',
        expires_on: String(expiresOn),
        not_before: String(expiresOn - 86399),
        resource: `https://${NAMESPACE}.servicebus.windows.net`,
        token_type: 'Bearer',
        ...(clientId ? { client_id: clientId } : {}),
      },
    };
  };

  it('system-assigned: GET with api-version, resource (scope without /.default) and Metadata: true', async () => {
    respond = () => imdsAnswer();
    const provider = entraId({
      managedIdentity: true,
      scope: eventHubs({ namespace: NAMESPACE }),
      metadataEndpoint: imds(),
    });
    const token = (await provider.token()) as AccessToken;

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('GET');
    expect(request.path).toBe('/metadata/identity/oauth2/token');
    expect([...request.query]).toEqual([
      ['api-version', '2018-02-01'],
      ['resource', 'https://orders-prod.servicebus.windows.net'],
    ]);
    expect(request.headers.metadata).toBe('true');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toBe('');

    expect(token.principal).toBe(SP_OBJECT_ID);
    expect(Math.abs(token.expiresAt - (Date.now() + 86_399_000))).toBeLessThan(5_000);
    expect(token.expiresAt % 1000).toBe(0); // from expires_on (epoch seconds), not from expires_in
    expect(provider.describe()).toContain('system-assigned managed identity');
  });

  it('user-assigned: adds client_id', async () => {
    respond = () => imdsAnswer('5f1e2d3c-0000-0000-0000-000000000001');
    await entraId({
      managedIdentity: { clientId: '5f1e2d3c-0000-0000-0000-000000000001' },
      scope: 'api://kafka-prod/.default',
      metadataEndpoint: imds(),
    }).token();
    expect([...server.requests[0]!.query]).toEqual([
      ['api-version', '2018-02-01'],
      ['resource', 'api://kafka-prod'],
      ['client_id', '5f1e2d3c-0000-0000-0000-000000000001'],
    ]);
  });

  it('400 invalid_request "Identity not found": TOKEN_ENDPOINT, not retriable, says what to assign; 429/500 are retriable', async () => {
    respond = () => ({ status: 400, body: { error: 'invalid_request', error_description: 'Identity not found' } });
    const provider = entraId({
      managedIdentity: true,
      scope: eventHubs({ namespace: NAMESPACE }),
      metadataEndpoint: imds(),
    });
    const error = await rejectionOf(provider.token());
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toBe(
      `managed identity token request for resource https://orders-prod.servicebus.windows.net at ${imds()} was refused: ` +
        'HTTP 400 invalid_request (Identity not found). No system-assigned identity is enabled on this resource ' +
        '(Identity > System assigned), or several user-assigned ones need managedIdentity: { clientId }.',
    );

    respond = () => ({ status: 429, body: 'Too many requests' });
    expect(await rejectionOf(provider.token())).toMatchObject({
      code: 'STREAM_APP_ERR_TOKEN_ENDPOINT',
      retriable: true,
    });
    respond = () => ({ status: 500, body: { error: 'unknown_error', error_description: 'transient' } });
    expect(await rejectionOf(provider.token())).toMatchObject({
      code: 'STREAM_APP_ERR_TOKEN_ENDPOINT',
      retriable: true,
    });
  });

  it('an unreachable endpoint is retriable and says managed identity needs Azure', async () => {
    const error = await rejectionOf(
      entraId({
        managedIdentity: true,
        scope: 'api://kafka/.default',
        metadataEndpoint: 'http://127.0.0.1:9/metadata/identity/oauth2/token',
      }).token(),
    );
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_IDP_UNREACHABLE', retriable: true });
    expect(error.message).toContain('Managed identity works only on Azure');
  });
});
