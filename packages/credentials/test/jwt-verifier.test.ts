// The verifier against the real identity provider's JWKS and tokens.
import { generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type IdentityProvider } from '@stream-app/testing';
import { createJwtVerifier, type JwtVerifier, type StreamAppError } from '../src/index.js';

let idp: IdentityProvider;
let verify: JwtVerifier;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  idp = await startIdentityProvider({
    clients: [{ clientId: 'svc', clientSecret: 'svc-secret', scopes: ['orders:read'] }],
  });
  verify = createJwtVerifier({
    jwksUri: idp.jwksUri,
    issuer: idp.issuer,
    audience: idp.audience,
    requiredScopes: ['orders:read'],
    allowInsecureLoopback: true,
  });
});
afterAll(() => idp.stop());

async function issued(scope = 'orders:read') {
  const response = await fetch(idp.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('svc:svc-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as StreamAppError,
  );

describe('createJwtVerifier', () => {
  it('accepts a token the identity provider issued and names its principal and scopes', async () => {
    await expect(verify(await issued())).resolves.toMatchObject({ principal: 'svc', scopes: ['orders:read'] });
  });

  it.each([
    ['an expired token', { exp: now() - 3600, iat: now() - 7200 }, 'STREAM_APP_ERR_JWT_EXPIRED'],
    ['another issuer', { iss: 'https://evil.example' }, 'STREAM_APP_ERR_JWT_ISSUER'],
    ['another audience', { aud: 'urn:other' }, 'STREAM_APP_ERR_JWT_AUDIENCE'],
    ['a token without the scope', { scope: 'other' }, 'STREAM_APP_ERR_JWT_SCOPE'],
    ['a token without sub', { sub: undefined }, 'STREAM_APP_ERR_JWT_CLAIM'],
  ])('refuses %s with its own code', async (_name, claims, code) => {
    const token = await idp.mintToken({ sub: 'svc', scope: 'orders:read', ...claims });
    expect((await failure(verify(token)))?.code).toBe(code);
  });

  it('refuses a forged signature, an unknown kid, alg none and a disallowed algorithm', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'svc', scope: 'orders:read' })
      .setProtectedHeader({ alg: 'RS256', kid: idp.signingKey.kid ?? '' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await failure(verify(forged)))?.code).toBe('STREAM_APP_ERR_JWT_SIGNATURE');

    const unknownKid = await new SignJWT({ sub: 'svc' })
      .setProtectedHeader({ alg: 'RS256', kid: 'nobody' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await failure(verify(unknownKid)))?.code).toBe('STREAM_APP_ERR_JWT_KEY_NOT_FOUND');

    const none = new UnsecuredJWT({ sub: 'svc' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .encode();
    expect((await failure(verify(none)))?.code).toMatch(/STREAM_APP_ERR_JWT_(ALGORITHM|INVALID)/);

    const hs = await new SignJWT({ sub: 'svc' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(idp.issuer)
      .setAudience(idp.audience)
      .setExpirationTime('5m')
      .sign(new Uint8Array(32));
    expect((await failure(verify(hs)))?.code).toBe('STREAM_APP_ERR_JWT_ALGORITHM');
  });

  it('picks up rotated keys: an unknown kid re-fetches the JWKS once the cooldown has passed', async () => {
    const cooldownMs = 4_000;
    const rotating = createJwtVerifier({
      jwksUri: idp.jwksUri,
      issuer: idp.issuer,
      audience: idp.audience,
      jwksCooldownMs: cooldownMs,
      allowInsecureLoopback: true,
    });
    await rotating(await issued()); // JWKS fetched now, with the old key only
    const fetchedAt = Date.now();
    await idp.rotateKeys();
    const fresh = await issued();
    // Within the cooldown the unknown kid does not trigger a fetch (key generation takes far less than 4 s).
    expect((await failure(rotating(fresh)))?.code).toBe('STREAM_APP_ERR_JWT_KEY_NOT_FOUND');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, fetchedAt + cooldownMs + 100 - Date.now())));
    await expect(rotating(fresh)).resolves.toMatchObject({ principal: 'svc' });
  });

  it('refuses unsafe configurations up front', () => {
    expect(() => createJwtVerifier({ jwksUri: idp.jwksUri, issuer: idp.issuer, audience: idp.audience })).toThrow(
      /plain HTTP.*allowInsecureLoopback/,
    );
    expect(() =>
      createJwtVerifier({
        jwksUri: 'http://idp.example/jwks',
        issuer: 'x',
        audience: 'y',
        allowInsecureLoopback: true,
      }),
    ).toThrow(/must use HTTPS/);
    expect(() => createJwtVerifier({ jwks: { keys: [] }, issuer: 'x', audience: 'y', algorithms: ['HS256'] })).toThrow(
      /HS256 is not allowed with asymmetric keys/,
    );
    expect(() => createJwtVerifier({ secret: 's', issuer: 'x', audience: 'y', algorithms: ['none'] })).toThrow(
      /none is not allowed/,
    );
    expect(() => createJwtVerifier({ jwks: { keys: [] }, issuer: '', audience: 'y' })).toThrow(
      /needs issuer and audience/,
    );
  });
});
