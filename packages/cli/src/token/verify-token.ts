import { readFileSync } from 'node:fs';
import {
  compactVerify,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
} from 'jose';
import type { Check } from '../checks/check.js';

/** What a Kafka broker's OAuthBearerValidatorCallbackHandler is configured to expect. */
export interface BrokerExpectations {
  /** `sasl.oauthbearer.jwks.endpoint.url`: a URL, or a file holding the JWKS. */
  jwks?: string | undefined;
  /** `sasl.oauthbearer.expected.issuer`. */
  issuer?: string | undefined;
  /** `sasl.oauthbearer.expected.audience`. */
  audience?: string | undefined;
  /** `sasl.oauthbearer.sub.claim.name` (default `sub`). */
  subClaim?: string | undefined;
  /** `sasl.oauthbearer.scope.claim.name` (default `scope`). */
  scopeClaim?: string | undefined;
  /** `sasl.oauthbearer.clock.skew.seconds` (default 30). */
  clockSkewSeconds?: number | undefined;
}

export interface DecodedToken {
  header: { [name: string]: unknown };
  claims: JWTPayload;
}

/** The header and claims of a JWT, or undefined for an opaque token (never the token itself). */
export function decodeToken(token: string): DecodedToken | undefined {
  try {
    return { header: decodeProtectedHeader(token) as { [name: string]: unknown }, claims: decodeJwt(token) };
  } catch {
    return undefined;
  }
}

/** The scopes a token carries, by the claim the broker reads (`scope`, space-separated, or `scp`, a list). */
export function scopesOf(claims: JWTPayload, claim = 'scope'): string[] {
  const value = claims[claim] ?? (claim === 'scope' ? claims.scp : undefined);
  if (typeof value === 'string') return value.split(' ').filter(Boolean);
  return Array.isArray(value) ? value.map(String) : [];
}

const SETTING = {
  jwks: 'sasl.oauthbearer.jwks.endpoint.url',
  issuer: 'sasl.oauthbearer.expected.issuer',
  audience: 'sasl.oauthbearer.expected.audience',
  sub: 'sasl.oauthbearer.sub.claim.name',
  scope: 'sasl.oauthbearer.scope.claim.name',
  skew: 'sasl.oauthbearer.clock.skew.seconds',
};

/**
 * Checks a token the way the broker will (signature against the JWKS, `iss`, `aud`, `exp`, `iat`,
 * `nbf`, the subject claim), one check per rule, each saying in plain words why the broker would refuse
 * it and which broker setting to compare.
 */
export async function verifyForBroker(token: string, expect: BrokerExpectations, now = Date.now()): Promise<Check[]> {
  const decoded = decodeToken(token);
  if (!decoded) {
    return [
      {
        name: 'format',
        mark: 'fail',
        message: "the token is not a JWT: the broker's OAuthBearerValidatorCallbackHandler validates JWTs only",
        fix: 'use a provider that issues JWT access tokens (Keycloak, Okta, Entra ID and Auth0 can)',
      },
    ];
  }
  const { header, claims } = decoded;
  const skew = expect.clockSkewSeconds ?? 30;
  const nowSec = Math.floor(now / 1000);
  const checks: Check[] = [await signatureCheck(token, header, expect.jwks)];

  if (expect.issuer === undefined) {
    checks.push({
      name: 'issuer',
      mark: 'info',
      message: `iss is ${show(claims.iss)} (give --expected-issuer to compare)`,
    });
  } else if (claims.iss === expect.issuer) {
    checks.push({ name: 'issuer', mark: 'ok', message: `iss is ${show(claims.iss)}, as the broker expects` });
  } else {
    checks.push({
      name: 'issuer',
      mark: 'fail',
      message: `iss is ${show(claims.iss)} but the broker expects ${show(expect.issuer)} exactly: it would refuse the token`,
      setting: SETTING.issuer,
      fix: 'make the two equal, character for character (a trailing slash counts)',
    });
  }

  const audiences = claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (expect.audience === undefined) {
    checks.push({
      name: 'audience',
      mark: 'info',
      message: `aud is ${show(claims.aud)} (give --expected-audience to compare)`,
    });
  } else if (audiences.includes(expect.audience)) {
    checks.push({ name: 'audience', mark: 'ok', message: `aud ${show(claims.aud)} holds ${show(expect.audience)}` });
  } else {
    checks.push({
      name: 'audience',
      mark: 'fail',
      message: `aud is ${show(claims.aud)} but the broker expects ${show(expect.audience)}: it would refuse the token`,
      setting: SETTING.audience,
      fix:
        audiences.length === 0
          ? 'the identity provider sets no audience: ask for one (the audience or resource parameter; in Keycloak an audience mapper)'
          : `ask the identity provider for audience ${show(expect.audience)}, or set the broker's expected audience to one of ${show(claims.aud)}`,
    });
  }

  if (typeof claims.exp !== 'number') {
    checks.push({ name: 'expiry', mark: 'fail', message: 'exp is missing: the broker requires it' });
  } else if (claims.exp + skew <= nowSec) {
    checks.push({
      name: 'expiry',
      mark: 'fail',
      message: `the token expired at ${iso(claims.exp)}, ${nowSec - claims.exp} s ago: the broker would refuse it`,
      setting: SETTING.skew,
      fix: 'use a fresh token (stream-app refreshes before expiry); if clocks differ, check NTP on both sides',
    });
  } else {
    checks.push({
      name: 'expiry',
      mark: 'ok',
      message: `expires at ${iso(claims.exp)} (in ${claims.exp - nowSec} s)`,
    });
  }

  if (typeof claims.iat !== 'number') {
    checks.push({ name: 'issued at', mark: 'fail', message: 'iat is missing: the broker requires it' });
  } else if (claims.iat - skew > nowSec) {
    checks.push({
      name: 'issued at',
      mark: 'fail',
      message: `iat ${iso(claims.iat)} is in the future: this clock and the identity provider's disagree`,
      setting: SETTING.skew,
      fix: 'check NTP on this machine, the broker and the identity provider',
    });
  } else {
    checks.push({ name: 'issued at', mark: 'ok', message: `issued at ${iso(claims.iat)}` });
  }

  if (typeof claims.nbf === 'number' && claims.nbf - skew > nowSec) {
    checks.push({
      name: 'not before',
      mark: 'fail',
      message: `nbf ${iso(claims.nbf)} is in the future: the broker would refuse the token until then`,
      setting: SETTING.skew,
    });
  }

  const subClaim = expect.subClaim ?? 'sub';
  const subject = claims[subClaim];
  if (typeof subject === 'string' && subject !== '') {
    checks.push({ name: 'principal', mark: 'ok', message: `the broker sees User:${subject} (from ${subClaim})` });
  } else {
    checks.push({
      name: 'principal',
      mark: 'fail',
      message: `the token has no ${subClaim} claim, which names the principal: the broker would refuse it`,
      setting: SETTING.sub,
      fix: `set ${SETTING.sub} to a claim the token has (${Object.keys(claims).join(', ')})`,
    });
  }
  const scopes = scopesOf(claims, expect.scopeClaim);
  checks.push({
    name: 'scopes',
    mark: 'info',
    message: scopes.length > 0 ? scopes.join(' ') : `none in ${expect.scopeClaim ?? 'scope'}`,
  });
  return checks;
}

async function signatureCheck(
  token: string,
  header: { [name: string]: unknown },
  jwks: string | undefined,
): Promise<Check> {
  const kid = typeof header.kid === 'string' ? ` (kid ${header.kid})` : '';
  if (!jwks) {
    return {
      name: 'signature',
      mark: 'warn',
      message: `not checked: give --jwks or --expected-issuer (signed with ${String(header.alg)}${kid})`,
    };
  }
  let keys: Parameters<typeof compactVerify>[1];
  try {
    keys = /^https?:\/\//.test(jwks)
      ? createRemoteJWKSet(new URL(jwks), { timeoutDuration: 5000 })
      : createLocalJWKSet(JSON.parse(readFileSync(jwks, 'utf8')) as Parameters<typeof createLocalJWKSet>[0]);
  } catch (error) {
    return {
      name: 'signature',
      mark: 'fail',
      message: `cannot read the JWKS ${jwks}: ${(error as Error).message}`,
      fix: 'give the URL of the JWKS (jwks_uri of the discovery document) or a file holding it',
    };
  }
  try {
    await compactVerify(token, keys);
    return { name: 'signature', mark: 'ok', message: `${String(header.alg)}${kid}, verified with ${jwks}` };
  } catch (error) {
    const fail = (message: string, fix: string): Check => ({
      name: 'signature',
      mark: 'fail',
      message,
      fix,
      setting: SETTING.jwks,
    });
    if (error instanceof errors.JWKSNoMatchingKey) {
      return fail(
        `no key in ${jwks} matches the token's${kid || ' key'}: the broker would refuse it`,
        "point the broker's JWKS URL at the identity provider that issued the token (its keys may also have rotated: the broker refreshes them on its own schedule)",
      );
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return fail(
        `the signature does not match the key${kid} in ${jwks}: the token was not signed by that identity provider, or was changed`,
        'get the token from the identity provider whose JWKS the broker uses',
      );
    }
    return fail(
      `cannot check the signature against ${jwks}: ${(error as Error).message}`,
      'check that the JWKS URL answers',
    );
  }
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
