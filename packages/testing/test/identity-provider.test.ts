import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type IdentityProvider } from '../src/index.js';

async function tokenRequest(idp: IdentityProvider, body: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(idp.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const basic = (id: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});

async function jwks(idp: IdentityProvider) {
  return (await (await fetch(idp.jwksUri)).json()) as { keys: Array<{ kid: string; d?: string }> };
}

describe('startIdentityProvider', () => {
  let idp: IdentityProvider;
  let clientKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    clientKey = pair.privateKey;
    idp = await startIdentityProvider({
      audience: 'urn:kafka:test',
      algorithm: 'ES256',
      accessTokenLifetimeSec: 7,
      clients: [
        { clientId: 'basic', clientSecret: 'basic-secret', scopes: ['orders:read'] },
        { clientId: 'post', clientSecret: 'post-secret', authMethod: 'client_secret_post' },
        { clientId: 'jwt', publicKey: { ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'client-key' } },
      ],
    });
  });
  afterAll(() => idp.stop());

  it('listens on 127.0.0.1 and publishes discovery with its token endpoint and JWKS', async () => {
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(discovery.issuer).toBe(idp.issuer);
    expect(discovery.token_endpoint).toBe(idp.tokenEndpoint);
    expect(discovery.jwks_uri).toBe(idp.jwksUri);
    const { keys } = await jwks(idp);
    expect(keys.length).toBe(1);
    expect(keys[0]?.d).toBeUndefined();
  });

  it('issues ES256 access tokens by client credentials with aud, sub, scope and the configured lifetime', async () => {
    const before = idp.stats.tokenRequests;
    const { status, body } = await tokenRequest(
      idp,
      { grant_type: 'client_credentials', scope: 'orders:read' },
      basic('basic', 'basic-secret'),
    );
    expect(status).toBe(200);
    expect(body.expires_in).toBe(7);
    const token = body.access_token as string;
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
    const { payload } = await jwtVerify(token, createLocalJWKSet((await jwks(idp)) as never), {
      issuer: idp.issuer,
      audience: 'urn:kafka:test',
    });
    expect(payload.sub).toBe('basic');
    expect(payload.scope).toBe('orders:read');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(7);
    expect(idp.stats.tokenRequests).toBe(before + 1);
  });

  it('authenticates clients by client_secret_post and private_key_jwt, and refuses a wrong secret', async () => {
    const post = await tokenRequest(idp, {
      grant_type: 'client_credentials',
      client_id: 'post',
      client_secret: 'post-secret',
    });
    expect(post.status).toBe(200);

    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'client-key' })
      .setIssuer('jwt')
      .setSubject('jwt')
      .setAudience(idp.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(clientKey);
    const jwt = await tokenRequest(idp, {
      grant_type: 'client_credentials',
      client_id: 'jwt',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect(jwt.status).toBe(200);

    const wrong = await tokenRequest(idp, { grant_type: 'client_credentials' }, basic('basic', 'not-the-secret'));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
  });

  it('stops answering on stop() and comes back with the same keys on restart()', async () => {
    const kidBefore = (await jwks(idp)).keys[0]?.kid;
    await idp.stop();
    await expect(fetch(idp.jwksUri)).rejects.toThrow();
    await idp.restart();
    expect((await jwks(idp)).keys[0]?.kid).toBe(kidBefore);
    const { status } = await tokenRequest(idp, { grant_type: 'client_credentials' }, basic('basic', 'basic-secret'));
    expect(status).toBe(200);
  });

  it('rotateKeys() signs with a new key and keeps the old one in the JWKS', async () => {
    const oldKid = idp.signingKey.kid;
    await idp.rotateKeys();
    expect(idp.signingKey.kid).not.toBe(oldKid);
    const kids = (await jwks(idp)).keys.map((k) => k.kid);
    expect(kids).toEqual([idp.signingKey.kid, oldKid]);
    const { body } = await tokenRequest(idp, { grant_type: 'client_credentials' }, basic('basic', 'basic-secret'));
    expect(decodeProtectedHeader(body.access_token as string).kid).toBe(idp.signingKey.kid);
  });

  it('mintToken signs chosen claims with the current key', async () => {
    const token = await idp.mintToken({ sub: 'someone', iss: 'http://elsewhere' });
    const { payload } = await jwtVerify(token, createLocalJWKSet((await jwks(idp)) as never));
    expect(payload).toMatchObject({ sub: 'someone', iss: 'http://elsewhere', aud: 'urn:kafka:test' });
  });
});
