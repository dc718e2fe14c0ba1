// Every standard provider against a real OpenID provider on 127.0.0.1.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIdentityProvider, type IdentityProvider } from '@stream-app/testing';
import {
  ClientCredentialsProvider,
  FileTokenProvider,
  JwtBearerProvider,
  PasswordGrantProvider,
  RefreshTokenProvider,
  StaticTokenProvider,
  TokenExchangeProvider,
  TokenLifecycle,
  type AccessToken,
  type StreamAppError,
} from '../src/index.js';

const clientKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const assertionKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
let idp: IdentityProvider;

beforeAll(async () => {
  idp = await startIdentityProvider({
    clients: [
      { clientId: 'basic', clientSecret: 'basic-secret', scopes: ['orders:read'] },
      { clientId: 'post', clientSecret: 'post-secret', authMethod: 'client_secret_post' },
      { clientId: 'keyed', publicKey: { ...(await exportJWK(clientKey.publicKey)), alg: 'ES256', kid: 'keyed-1' } },
      {
        clientId: 'exchanger',
        clientSecret: 'exchanger-secret',
        grants: [
          'urn:ietf:params:oauth:grant-type:token-exchange',
          'urn:ietf:params:oauth:grant-type:jwt-bearer',
          'password',
          'refresh_token',
        ],
      },
    ],
    users: [{ username: 'alice', password: 'alice-password' }],
    trustedAssertionKeys: [{ ...(await exportJWK(assertionKey.publicKey)), alg: 'RS256', kid: 'workload-1' }],
  });
});
afterAll(() => idp.stop());

const common = () => ({ tokenEndpoint: idp.tokenEndpoint, allowInsecureLoopback: true });
const claims = (token: AccessToken) => decodeJwt(token.value);

describe('ClientCredentialsProvider', () => {
  it('by discovery from the issuer, with client_secret_basic, scope and resource', async () => {
    const provider = new ClientCredentialsProvider({
      issuer: idp.issuer,
      clientId: 'basic',
      clientSecret: 'basic-secret',
      scope: ['orders:read'],
      resource: 'urn:kafka:cluster-a',
      allowInsecureLoopback: true,
    });
    const token = await provider.token();
    expect(claims(token)).toMatchObject({
      sub: 'basic',
      aud: 'urn:kafka:cluster-a',
      scope: 'orders:read',
      iss: idp.issuer,
    });
    expect(token.principal).toBe('basic');
    expect(Math.abs(token.expiresAt - (claims(token).exp ?? 0) * 1000)).toBeLessThan(2_000);
  });

  it('with client_secret_post and with private_key_jwt', async () => {
    const post = new ClientCredentialsProvider({
      ...common(),
      clientId: 'post',
      clientSecret: 'post-secret',
      authMethod: 'client_secret_post',
    });
    expect(claims(await post.token()).sub).toBe('post');
    const keyed = new ClientCredentialsProvider({
      ...common(),
      issuer: idp.issuer,
      clientId: 'keyed',
      privateKey: clientKey.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      privateKeyId: 'keyed-1',
    });
    expect(claims(await keyed.token()).sub).toBe('keyed');
  });

  it('a refused client: STREAM_APP_ERR_TOKEN_ENDPOINT naming the endpoint and error, not retriable; an unreachable one: retriable', async () => {
    const refused = (await new ClientCredentialsProvider({ ...common(), clientId: 'basic', clientSecret: 'nope-nope' })
      .token()
      .catch((e: unknown) => e)) as StreamAppError;
    expect(refused).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(refused.message).toContain(`at ${idp.tokenEndpoint} was refused: HTTP 401 invalid_client`);
    expect(refused.message).not.toContain('nope-nope');

    const down = (await new ClientCredentialsProvider({
      tokenEndpoint: 'http://127.0.0.1:9/token',
      allowInsecureLoopback: true,
      clientId: 'basic',
      clientSecret: 'basic-secret',
    })
      .token()
      .catch((e: unknown) => e)) as StreamAppError;
    expect(down).toMatchObject({ code: 'STREAM_APP_ERR_IDP_UNREACHABLE', retriable: true });
    expect(down.message).toContain('http://127.0.0.1:9/token could not be reached');
  });
});

describe('the other grants', () => {
  it('PasswordGrantProvider (legacy) and RefreshTokenProvider with rotation', async () => {
    const password = await new PasswordGrantProvider({
      ...common(),
      clientId: 'exchanger',
      clientSecret: 'exchanger-secret',
      username: 'alice',
      password: 'alice-password',
    }).token();
    expect(claims(password).sub).toBe('alice');

    // A refresh token, as a user would have it from a login.
    const login = (await (
      await fetch(idp.tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from('exchanger:exchanger-secret').toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'alice-password' }),
      })
    ).json()) as { refresh_token: string };
    const rotated: string[] = [];
    const provider = new RefreshTokenProvider({
      ...common(),
      clientId: 'exchanger',
      clientSecret: 'exchanger-secret',
      refreshToken: login.refresh_token,
      onRefreshTokenRotated: (token) => void rotated.push(token),
    });
    expect(claims(await provider.token()).sub).toBe('alice');
    expect(claims(await provider.token()).sub).toBe('alice'); // works only if the rotated token was kept
    expect(rotated).toHaveLength(2);
    expect(rotated[0]).not.toBe(login.refresh_token);
  });

  it('JwtBearerProvider signs an assertion that the server trusts (RFC 7523)', async () => {
    const provider = new JwtBearerProvider({
      ...common(),
      clientId: 'exchanger',
      clientSecret: 'exchanger-secret',
      assertion: {
        privateKey: assertionKey.privateKey,
        keyId: 'workload-1',
        issuer: 'https://workloads.example',
        subject: 'orders-worker',
        audience: idp.issuer,
      },
    });
    expect(claims(await provider.token())).toMatchObject({ sub: 'orders-worker', iss: idp.issuer });
  });

  it('TokenExchangeProvider trades a subject token for one with another audience (RFC 8693)', async () => {
    const subject = new ClientCredentialsProvider({ ...common(), clientId: 'basic', clientSecret: 'basic-secret' });
    const provider = new TokenExchangeProvider({
      ...common(),
      clientId: 'exchanger',
      clientSecret: 'exchanger-secret',
      subjectToken: subject,
      audience: 'urn:kafka:cluster-b',
    });
    expect(claims(await provider.token())).toMatchObject({
      sub: 'basic',
      aud: 'urn:kafka:cluster-b',
      act: { sub: 'exchanger' },
    });
  });
});

describe('FileTokenProvider and StaticTokenProvider', () => {
  it('re-reads a mounted token when the file changes', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sa-token-')), 'token');
    const first = await idp.mintToken({ sub: 'system:serviceaccount:prod:orders' });
    writeFileSync(file, `${first}\n`);
    const lifecycle = new TokenLifecycle(new FileTokenProvider({ path: file }), { minRefreshIntervalMs: 0 });
    expect((await lifecycle.token()).value).toBe(first);
    expect((await lifecycle.token()).principal).toBe('system:serviceaccount:prod:orders');
    const second = await idp.mintToken({ sub: 'system:serviceaccount:prod:orders', jti: randomUUID() });
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(file, second);
    expect((await new FileTokenProvider({ path: file }).token()).value).toBe(second);
    lifecycle.close();
    await expect(new FileTokenProvider({ path: `${file}.missing` }).token()).rejects.toThrow(
      /cannot read the token file .*ENOENT/,
    );
  });

  it('StaticTokenProvider hands out its token with the JWT expiry', async () => {
    const token = await idp.mintToken({ sub: 'static' });
    const lifecycle = new TokenLifecycle(new StaticTokenProvider(token));
    expect(await lifecycle.token()).toMatchObject({ value: token, principal: 'static' });
    lifecycle.close();
  });
});
