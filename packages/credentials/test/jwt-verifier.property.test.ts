// The JWT verifier against malformed and hostile tokens (fast-check): it never crashes, never blames
// the identity provider for a bad token, and every refusal carries a JWT error code.
// Against the real identity provider's JWKS and tokens: jwt-verifier.test.ts.
import fc from 'fast-check';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createJwtVerifier, StreamAppError, type JwtVerifier } from '../src/index.js';

const ISSUER = 'https://idp.example.test';
const AUDIENCE = 'urn:kafka';
const JWT_CODES = [
  'STREAM_APP_ERR_JWT_INVALID',
  'STREAM_APP_ERR_JWT_SIGNATURE',
  'STREAM_APP_ERR_JWT_ALGORITHM',
  'STREAM_APP_ERR_JWT_KEY_NOT_FOUND',
  'STREAM_APP_ERR_JWT_EXPIRED',
  'STREAM_APP_ERR_JWT_NOT_YET_VALID',
  'STREAM_APP_ERR_JWT_ISSUER',
  'STREAM_APP_ERR_JWT_AUDIENCE',
  'STREAM_APP_ERR_JWT_CLAIM',
  'STREAM_APP_ERR_JWT_SCOPE',
];

let verify: JwtVerifier;
let sign: (claims: JWTPayload, header?: { [name: string]: unknown }) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  verify = createJwtVerifier({ jwks: { keys: [jwk] }, issuer: ISSUER, audience: AUDIENCE, requiredScopes: ['kafka'] });
  sign = (claims, header = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1', ...header }).sign(privateKey);
});

/** Resolves to the verifier's refusal code, or 'accepted'; anything else (a crash, an uncoded error) fails. */
async function outcome(token: string): Promise<string> {
  try {
    await verify(token);
    return 'accepted';
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(StreamAppError);
    expect(JWT_CODES, (error as Error).message).toContain((error as StreamAppError).code);
    return (error as StreamAppError).code;
  }
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe('the JWT verifier under malformed input', () => {
  it('refuses any string that is not a token it issued, with a JWT code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('')), async (token) => {
        expect(await outcome(token)).not.toBe('accepted');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses three-part tokens of arbitrary headers, payloads and signatures', async () => {
    const segment = fc.oneof(fc.jsonValue().map(b64), fc.string().map(b64), fc.string());
    const header = fc.oneof(
      segment,
      fc
        .record({ alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'x'), kid: fc.string(), typ: fc.string() })
        .map(b64),
    );
    await fc.assert(
      fc.asyncProperty(header, segment, segment, async (h, p, s) => {
        expect(await outcome(`${h}.${p}.${s}`)).not.toBe('accepted');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a valid token with any one character changed (or accepts it unchanged)', async () => {
    const good = await sign({ iss: ISSUER, aud: AUDIENCE, sub: 'svc', scope: 'kafka', exp: now() + 600 });
    expect(await outcome(good)).toBe('accepted');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: good.length - 1 }), fc.constantFrom(...alphabet), async (at, char) => {
        const changed = good.slice(0, at) + char + good.slice(at + 1);
        // A change in the last base64url character's unused bits decodes to the same bytes: still the same token.
        const result = await outcome(changed);
        if (result === 'accepted')
          expect(Buffer.from(changed.split('.')[2] ?? '', 'base64url')).toEqual(
            Buffer.from(good.split('.')[2]!, 'base64url'),
          );
      }),
      { numRuns: 300 },
    );
  });

  it('checks signed tokens with claims of any shape: accepted only when every claim is right', async () => {
    const claim = <T>(right: T) => fc.oneof(fc.constant(right), fc.jsonValue(), fc.constant(undefined));
    const at = now();
    const claims = fc.record({
      iss: claim(ISSUER),
      aud: fc.oneof(claim(AUDIENCE), fc.constant([AUDIENCE, 'other'])),
      sub: fc.oneof(claim('svc'), fc.constant('')),
      scope: fc.oneof(claim('kafka'), fc.constant('read kafka')),
      exp: fc.oneof(fc.constant(at + 600), fc.constant(at - 600), fc.jsonValue()),
      nbf: fc.oneof(fc.constant(undefined), fc.constant(at + 3600), fc.jsonValue()),
    });
    // What the verifier must accept, written from the rules (30 s of clock tolerance either way).
    const tolerance = 30;
    const holds = (payload: { [claim: string]: unknown }) => {
      const { iss, aud, sub, scope, exp, nbf } = payload;
      const scopes = typeof scope === 'string' ? scope.split(' ') : Array.isArray(scope) ? scope : [];
      return (
        iss === ISSUER &&
        (aud === AUDIENCE || (Array.isArray(aud) && aud.includes(AUDIENCE))) &&
        typeof sub === 'string' &&
        sub.length > 0 &&
        scopes.includes('kafka') &&
        typeof exp === 'number' &&
        exp > now() - tolerance &&
        (nbf === undefined || (typeof nbf === 'number' && nbf <= now() + tolerance))
      );
    };
    await fc.assert(
      fc.asyncProperty(claims, async (drawn) => {
        const payload = Object.fromEntries(Object.entries(drawn).filter(([, value]) => value !== undefined));
        const token = await sign(payload as JWTPayload);
        const result = await outcome(token);
        const right = holds(payload);
        if (right) expect(result).toBe('accepted');
        else expect(result).not.toBe('accepted');
      }),
      { numRuns: 300 },
    );
  });
});
