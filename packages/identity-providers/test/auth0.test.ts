// Request and response shapes from Auth0's documentation:
// - "Authentication API › Client Credentials Flow › Get Token" (POST https://{yourDomain}/oauth/token,
//   Content-Type: application/x-www-form-urlencoded, grant_type=client_credentials, client_id,
//   client_secret, audience; answer { access_token, token_type: "Bearer", expires_in: 86400 }).
// - "Call Your API Using the Client Credentials Flow" (a machine-to-machine token has
//   sub "<client_id>@clients", gty "client-credentials", aud = the API Identifier).
// - Auth0 support: "Client Credentials Grant Requires 'audience' Parameter" (an opaque token without it),
//   and the 403 access_denied "Client is not authorized to access ... You need to create a client-grant"
//   / 401 access_denied "Unauthorized" error bodies.
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessToken } from '@stream-app/credentials';
import { auth0 } from '../src/adapters/auth0.js';
import {
  fakeJwt,
  nowSeconds,
  rejectionOf,
  startFakeServer,
  thrownBy,
  type FakeResponse,
  type FakeServer,
} from './helpers/fake-server.js';

const SECRET = 'auth0-secret-Zq8xW1vY2uT3sR4p';
const AUDIENCE = 'https://kafka.example.com';
let server: FakeServer;
let respond: () => FakeResponse;

beforeAll(async () => {
  server = await startFakeServer(() => respond());
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  respond = () => {
    const iat = nowSeconds();
    return {
      body: {
        access_token: fakeJwt({
          iss: 'https://my-tenant.eu.auth0.com/',
          sub: 'm2mClient123@clients',
          aud: AUDIENCE,
          iat,
          exp: iat + 86400,
          gty: 'client-credentials',
          azp: 'm2mClient123',
        }),
        token_type: 'Bearer',
        expires_in: 86400,
      },
    };
  };
});

const options = () => ({
  domain: 'my-tenant.eu.auth0.com',
  clientId: 'm2mClient123',
  clientSecret: SECRET,
  audience: AUDIENCE,
  tokenEndpoint: `${server.url}/oauth/token`,
  allowInsecureLoopback: true,
});

describe('auth0()', () => {
  it('sends client_credentials with the secret and the audience in the form body (client_secret_post)', async () => {
    const provider = auth0(options());
    const token = (await provider.token()) as AccessToken;

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/oauth/token');
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(request.form)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'm2mClient123',
      client_secret: SECRET,
      audience: AUDIENCE,
    });

    expect(token.principal).toBe('m2mClient123@clients');
    expect(Math.abs(token.expiresAt - (Date.now() + 86_400_000))).toBeLessThan(5_000);
    expect(provider.describe()).toBe(
      `Auth0 client credentials for m2mClient123 (audience ${AUDIENCE}) at ${server.url}/oauth/token`,
    );
    expect(inspect(provider)).not.toContain(SECRET);
    expect(JSON.stringify(provider)).not.toContain(SECRET);
  });

  it('adds scope when asked and builds https://<domain>/oauth/token from the domain', async () => {
    await auth0({ ...options(), scope: ['write:orders', 'read:orders'] }).token();
    expect(server.requests[0]!.form.get('scope')).toBe('write:orders read:orders');
    const { tokenEndpoint: _unused, ...withoutEndpoint } = options();
    expect(auth0(withoutEndpoint).describe()).toContain('at https://my-tenant.eu.auth0.com/oauth/token');
  });

  it('an application not authorized for the API (403 access_denied): TOKEN_ENDPOINT error with the fix, no secret', async () => {
    respond = () => ({
      status: 403,
      body: {
        error: 'access_denied',
        error_description: `Client is not authorized to access "${AUDIENCE}". You need to create a "client-grant" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants`,
      },
    });
    const error = await rejectionOf(auth0(options()).token());
    expect(error).toMatchObject({ name: 'StreamAppError', code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain(`at ${server.url}/oauth/token was refused: HTTP 403 access_denied`);
    expect(error.message).toContain(`Auth0: authorize the application for the API '${AUDIENCE}'`);
    expect(error.message).not.toContain(SECRET);
    expect(inspect(error)).not.toContain(SECRET);
  });

  it('a wrong secret (401 access_denied "Unauthorized"): says the credentials are wrong, never prints them', async () => {
    respond = () => ({ status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } });
    const error = await rejectionOf(auth0(options()).token());
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain('HTTP 401 access_denied (Unauthorized)');
    expect(error.message).toContain('Auth0: the client id or secret is wrong');
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses a missing audience (and other misconfiguration) before any request', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...options(), audience: undefined }, /audience is required: the Identifier of the API .* opaque token/],
      [{ ...options(), audience: ' ' }, /audience is required/],
      [{ ...options(), clientSecret: '' }, /clientSecret is required/],
      [{ ...options(), clientId: '' }, /clientId is required/],
      [{ clientId: 'c', clientSecret: 's', audience: AUDIENCE }, /domain is required/],
      [{ clientId: 'c', clientSecret: 's', audience: AUDIENCE, domain: 'http://t.auth0.com' }, /over HTTPS/],
    ];
    for (const [given, message] of cases) {
      const error = thrownBy(() => auth0(given as Parameters<typeof auth0>[0]));
      expect(error, String(message)).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(SECRET);
    }
    expect(server.requests).toHaveLength(0);
  });
});
