// Request and response shapes from Okta's documentation:
// - "Implement authorization by grant type › Client Credentials flow › Request an access token"
//   (POST /oauth2/default/v1/token, Accept: application/json, Authorization: Basic,
//   Content-Type: application/x-www-form-urlencoded, grant_type=client_credentials&scope=<custom scope>;
//   answer { token_type, expires_in, access_token, scope }).
// - "OpenID Connect & OAuth 2.0 API › /token" (/oauth2/{authorizationServerId}/v1/token) and
//   "Client authentication methods › JWT with private key" (client_assertion claims: iss = sub = client id,
//   aud = the full token endpoint URL).
// - Okta support: "Cannot request 'openid' scopes using client credentials" and "Invalid_Client error
//   returned when requesting OAuth token(s)" (the {error, error_description} and {errorCode, errorSummary} bodies).
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessToken } from '@stream-app/credentials';
import { okta } from '../src/adapters/okta.js';
import {
  decodeSegment,
  fakeJwt,
  nowSeconds,
  rejectionOf,
  startFakeServer,
  thrownBy,
  type FakeResponse,
  type FakeServer,
} from './helpers/fake-server.js';

const SECRET = 'okta-client-secret-5f2b9c';
const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

let server: FakeServer;
let respond: () => FakeResponse;

beforeAll(async () => {
  server = await startFakeServer(() => respond());
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  respond = () => success('0oa1client');
});

function success(clientId: string): FakeResponse {
  const iat = nowSeconds();
  return {
    body: {
      token_type: 'Bearer',
      expires_in: 3600,
      access_token: fakeJwt({
        ver: 1,
        iss: `${server.url}/oauth2/default`,
        aud: 'api://kafka',
        iat,
        exp: iat + 3600,
        cid: clientId,
        scp: ['kafka:read', 'kafka:write'],
        sub: clientId,
      }),
      scope: 'kafka:read kafka:write',
    },
  };
}

const endpoint = (serverId = 'default') => `${server.url}/oauth2/${serverId}/v1/token`;

describe('okta()', () => {
  it('sends the documented client credentials request with client_secret_basic and reads the answer', async () => {
    const provider = okta({
      domain: 'dev-123456.okta.com',
      clientId: '0oa1client',
      clientSecret: SECRET,
      scopes: ['kafka:read', 'kafka:write'],
      tokenEndpoint: endpoint(),
      allowInsecureLoopback: true,
    });
    const token = (await provider.token()) as AccessToken;

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/oauth2/default/v1/token');
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.headers.accept).toBe('application/json');
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding (openid-client escapes '-' too).
    const [scheme, credentials] = (request.headers.authorization ?? '').split(' ');
    expect(scheme).toBe('Basic');
    const [user, password] = Buffer.from(credentials ?? '', 'base64')
      .toString('utf8')
      .split(':');
    expect([decodeURIComponent(user ?? ''), decodeURIComponent(password ?? '')]).toEqual(['0oa1client', SECRET]);
    expect(Object.fromEntries(request.form)).toEqual({
      grant_type: 'client_credentials',
      scope: 'kafka:read kafka:write',
    });

    expect(token.principal).toBe('0oa1client');
    expect(Math.abs(token.expiresAt - (Date.now() + 3600_000))).toBeLessThan(5_000);
    expect(provider.describe()).toBe(`Okta client credentials for 0oa1client at ${endpoint()}`);
    expect(inspect(provider)).not.toContain(SECRET);
    expect(JSON.stringify(provider)).not.toContain(SECRET);
  });

  it('builds https://<domain>/oauth2/<authorizationServerId>/v1/token from the domain', () => {
    expect(okta({ domain: 'dev-1.okta.com', clientId: 'c', clientSecret: 's', scopes: 'kafka' }).describe()).toContain(
      'https://dev-1.okta.com/oauth2/default/v1/token',
    );
    expect(
      okta({
        domain: 'https://login.example.com/',
        authorizationServerId: 'aus1a2b3c4d5e6f7g8h9',
        clientId: 'c',
        clientSecret: 's',
        scopes: 'kafka',
      }).describe(),
    ).toContain('https://login.example.com/oauth2/aus1a2b3c4d5e6f7g8h9/v1/token');
  });

  it('authenticates with private_key_jwt: a signed assertion whose aud is the token endpoint, no secret', async () => {
    const provider = okta({
      clientId: '0oa2keyed',
      privateKey: privateKeyPem,
      privateKeyId: 'okta-key-1',
      authorizationServerId: 'aus1a2b3c4d5e6f7g8h9',
      scopes: 'kafka:read',
      tokenEndpoint: endpoint('aus1a2b3c4d5e6f7g8h9'),
      allowInsecureLoopback: true,
    });
    respond = () => success('0oa2keyed');
    await provider.token();

    const request = server.requests[0]!;
    expect(request.path).toBe('/oauth2/aus1a2b3c4d5e6f7g8h9/v1/token');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.form.get('grant_type')).toBe('client_credentials');
    expect(request.form.get('scope')).toBe('kafka:read');
    expect(request.form.get('client_id')).toBe('0oa2keyed');
    expect(request.form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = request.form.get('client_assertion') ?? '';
    const { payload, protectedHeader } = await jwtVerify(assertion, key.publicKey, {
      audience: endpoint('aus1a2b3c4d5e6f7g8h9'),
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: 'okta-key-1' });
    expect(payload).toMatchObject({ iss: '0oa2keyed', sub: '0oa2keyed' });
    expect(typeof payload.jti).toBe('string');
    expect((payload.exp ?? 0) - nowSeconds()).toBeLessThanOrEqual(300);
  });

  it('a refused client (401 invalid_client): STREAM_APP_ERR_TOKEN_ENDPOINT naming endpoint, status and error, no secret', async () => {
    respond = () => ({
      status: 401,
      body: {
        error: 'invalid_client',
        error_description: 'The client secret supplied for a confidential client is invalid.',
      },
    });
    const error = await rejectionOf(
      okta({
        clientId: '0oa1client',
        clientSecret: SECRET,
        scopes: ['kafka:read'],
        tokenEndpoint: endpoint(),
        allowInsecureLoopback: true,
      }).token(),
    );
    expect(error).toMatchObject({ name: 'StreamAppError', code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain(`at ${endpoint()} was refused: HTTP 401 invalid_client`);
    expect(error.message).toContain('The client secret supplied for a confidential client is invalid.');
    expect(error.message).toContain(
      "Okta: check the client id and secret (or key and kid) and that the app's Client authentication",
    );
    expect(error.message).not.toContain(SECRET);
    expect(inspect(error)).not.toContain(SECRET);
  });

  it("a scope the client may not have (400 invalid_scope) and Okta's non-OAuth body for an unknown client", async () => {
    respond = () => ({
      status: 400,
      body: {
        error: 'invalid_scope',
        error_description: 'One or more scopes are not configured for the authorization server resource.',
      },
    });
    const provider = okta({
      clientId: '0oa1client',
      clientSecret: SECRET,
      scopes: ['kafka:admin'],
      tokenEndpoint: endpoint(),
      allowInsecureLoopback: true,
    });
    const scopeError = await rejectionOf(provider.token());
    expect(scopeError).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(scopeError.message).toContain('HTTP 400 invalid_scope');
    expect(scopeError.message).toContain('Okta: every scope must be a custom scope of this authorization server');

    respond = () => ({
      status: 401,
      body: {
        errorCode: 'invalid_client',
        errorSummary: "Invalid value for 'client_id' parameter.",
        errorLink: 'invalid_client',
        errorId: 'oaejDJuWCiRTQeH8n6WG2116A',
        errorCauses: [],
      },
    });
    const unknown = await rejectionOf(provider.token());
    expect(unknown).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(unknown.message).toContain(`at ${endpoint()} was refused: HTTP 401 non_oauth_error`);
    expect(unknown.message).toContain("Invalid value for 'client_id' parameter.");
    expect(unknown.message).toContain('Okta: Okta answers an unknown client_id');
    expect(unknown.message).not.toContain(SECRET);
  });

  it('refuses misconfiguration before any request: no scopes, OIDC scopes, both or neither credential, the admin domain', async () => {
    const base = {
      clientId: '0oa1client',
      clientSecret: SECRET,
      tokenEndpoint: endpoint(),
      allowInsecureLoopback: true,
    };
    const cases: Array<[unknown, RegExp]> = [
      [{ ...base }, /scopes is required: Okta's client credentials grant needs at least one custom scope/],
      [{ ...base, scopes: [] }, /scopes is required/],
      [{ ...base, scopes: '  ' }, /scopes is required/],
      [
        { ...base, scopes: ['openid', 'profile'] },
        /'openid', 'profile' are OpenID Connect scopes, which Okta refuses for the client credentials grant/,
      ],
      [{ ...base, scopes: ['kafka', 'openid'] }, /'openid' are OpenID Connect scopes/],
      [{ ...base, scopes: 'kafka', privateKey: privateKeyPem }, /give clientSecret or privateKey, not both/],
      [
        { ...base, scopes: 'kafka', clientSecret: undefined },
        /give clientSecret \(client_secret_basic\) or privateKey/,
      ],
      [{ ...base, scopes: 'kafka', clientId: '' }, /clientId is required/],
      [{ clientId: 'c', clientSecret: 's', scopes: 'kafka' }, /domain is required/],
      [
        { clientId: 'c', clientSecret: 's', scopes: 'kafka', domain: 'dev-1-admin.okta.com' },
        /Admin Console domain; use dev-1.okta.com/,
      ],
      [{ clientId: 'c', clientSecret: 's', scopes: 'kafka', domain: 'http://dev-1.okta.com' }, /over HTTPS/],
      [
        { clientId: 'c', clientSecret: 's', scopes: 'kafka', domain: 'dev-1.okta.com', authorizationServerId: '' },
        /authorizationServerId '' is not/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = thrownBy(() => okta(options as Parameters<typeof okta>[0]));
      expect(error, String(message)).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(SECRET);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('refuses plain HTTP unless allowInsecureLoopback is set for a loopback test server', () => {
    const error = thrownBy(() =>
      okta({ clientId: 'c', clientSecret: 's', scopes: 'kafka', tokenEndpoint: endpoint() }),
    );
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_INSECURE_URL' });
    expect(server.requests).toHaveLength(0);
  });

  it('the answer is the access token itself, scope names the custom scopes', async () => {
    const token = (await okta({
      clientId: '0oa1client',
      clientSecret: SECRET,
      scopes: 'kafka:read kafka:write',
      tokenEndpoint: endpoint(),
      allowInsecureLoopback: true,
    }).token()) as AccessToken;
    const [, payload] = token.value.split('.');
    expect(decodeSegment(payload)).toMatchObject({ cid: '0oa1client', scp: ['kafka:read', 'kafka:write'] });
  });
});
