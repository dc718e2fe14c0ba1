import { inspect } from 'node:util';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { StreamAppError } from '../errors.js';
import { CredentialsError, type CredentialsErrorCode } from '../errors.js';
import { checkIdentityProviderUrl } from '../http/url-policy.js';
import { Secret } from '../secrets.js';

export interface JwtVerifierOptions {
  /** Keys from a JWKS URL (cached; re-fetched when a token names an unknown `kid`). */
  jwksUri?: string;
  /** Keys given inline. */
  jwks?: JSONWebKeySet;
  /** A shared HMAC secret (then only HS* algorithms are allowed). */
  secret?: string | Secret;
  issuer: string | string[];
  audience: string | string[];
  /** Allowed algorithms; default RS256, ES256, PS256 (asymmetric) or HS256 (with a secret). Never `none`. */
  algorithms?: string[];
  clockToleranceSec?: number;
  /** Scopes the token must carry (in `scope` or `scp`). */
  requiredScopes?: string[];
  /** Claim that names the principal (default `sub`). */
  principalClaim?: string;
  allowInsecureLoopback?: boolean;
  /** How long fetched keys are trusted before a re-fetch, default 10 min. */
  jwksCacheMaxAgeMs?: number;
  /** After a fetch, an unknown `kid` waits this long before the next one (default 30 s), so bad tokens cannot flood the identity provider. */
  jwksCooldownMs?: number;
}

export interface VerifiedToken {
  principal: string;
  scopes: string[];
  claims: JWTPayload;
}

export type JwtVerifier = (token: string) => Promise<VerifiedToken>;

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const SYMMETRIC = ['HS256', 'HS384', 'HS512'];

/** Verifies incoming bearer tokens (for the app's HTTP endpoints and the CLI) with clear error codes per failed check. */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const sources = [options.jwksUri, options.jwks, options.secret].filter((source) => source !== undefined);
  if (sources.length !== 1) {
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      'createJwtVerifier needs exactly one of jwksUri, jwks or secret',
    );
  }
  if (!options.issuer || !options.audience) {
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      'createJwtVerifier needs issuer and audience: a verifier that skips them accepts tokens meant for others',
    );
  }
  const symmetric = options.secret !== undefined;
  const allowed = symmetric ? SYMMETRIC : ASYMMETRIC;
  const algorithms = options.algorithms ?? (symmetric ? ['HS256'] : ['RS256', 'ES256', 'PS256']);
  for (const algorithm of algorithms) {
    if (!allowed.includes(algorithm)) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `algorithm ${algorithm} is not allowed with ${symmetric ? 'a shared secret' : 'asymmetric keys'} (allowed: ${allowed.join(', ')})`,
      );
    }
  }
  let key: JWTVerifyGetKey | Uint8Array;
  if (options.jwksUri) {
    const url = checkIdentityProviderUrl(
      options.jwksUri,
      { allowInsecureLoopback: options.allowInsecureLoopback ?? false },
      'jwksUri',
    );
    key = createRemoteJWKSet(url, {
      cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
      cooldownDuration: options.jwksCooldownMs ?? 30_000,
    });
  } else if (options.jwks) {
    key = createLocalJWKSet(options.jwks);
  } else {
    const secret = options.secret instanceof Secret ? options.secret.reveal() : (options.secret as string);
    key = new TextEncoder().encode(secret);
  }
  const principalClaim = options.principalClaim ?? 'sub';

  const verify: JwtVerifier = async (token) => {
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, key as never, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance: options.clockToleranceSec ?? 30,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw explain(error);
    }
    const scopes = scopesOf(claims);
    const missing = (options.requiredScopes ?? []).filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) {
      throw new CredentialsError('STREAM_APP_ERR_JWT_SCOPE', `the token lacks the scope(s) ${missing.join(', ')}`, {
        details: { missing },
      });
    }
    const principal = claims[principalClaim];
    if (typeof principal !== 'string' || principal.length === 0) {
      throw new CredentialsError(
        'STREAM_APP_ERR_JWT_CLAIM',
        `the token has no "${principalClaim}" claim to name its principal`,
        { details: { claim: principalClaim } },
      );
    }
    return { principal, scopes, claims };
  };
  Object.defineProperty(verify, inspect.custom, {
    value: () => `JwtVerifier(issuer: ${String(options.issuer)}, audience: ${String(options.audience)})`,
  });
  return verify;
}

function scopesOf(claims: JWTPayload): string[] {
  const scope = claims.scope ?? claims.scp;
  if (typeof scope === 'string') return scope.split(' ').filter(Boolean);
  if (Array.isArray(scope)) return scope.filter((s): s is string => typeof s === 'string');
  return [];
}

function explain(error: unknown): StreamAppError {
  const fail = (code: CredentialsErrorCode, message: string, details: Record<string, unknown> = {}) =>
    new CredentialsError(code, message, { details, retriable: code === 'STREAM_APP_ERR_JWT_KEY_NOT_FOUND' });
  if (error instanceof errors.JWTExpired)
    return fail('STREAM_APP_ERR_JWT_EXPIRED', 'the token has expired', { claim: 'exp' });
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss')
      return fail('STREAM_APP_ERR_JWT_ISSUER', `the token's issuer is not the expected one (${error.reason})`, {
        claim: 'iss',
      });
    if (error.claim === 'aud')
      return fail('STREAM_APP_ERR_JWT_AUDIENCE', `the token is not meant for this audience (${error.reason})`, {
        claim: 'aud',
      });
    if (error.claim === 'nbf' || error.claim === 'iat')
      return fail('STREAM_APP_ERR_JWT_NOT_YET_VALID', `the token is not valid yet (${error.claim})`, {
        claim: error.claim,
      });
    return fail('STREAM_APP_ERR_JWT_CLAIM', `the token's "${error.claim}" claim is invalid (${error.reason})`, {
      claim: error.claim,
    });
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return fail('STREAM_APP_ERR_JWT_ALGORITHM', `the token's algorithm is not allowed: ${error.message}`);
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return fail('STREAM_APP_ERR_JWT_SIGNATURE', 'the token signature does not verify');
  if (error instanceof errors.JWKSNoMatchingKey)
    return fail('STREAM_APP_ERR_JWT_KEY_NOT_FOUND', 'no key in the JWKS matches the token (unknown kid)');
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JOSEError === false) {
    return new CredentialsError(
      'STREAM_APP_ERR_IDP_UNREACHABLE',
      `the JWKS could not be fetched: ${(error as Error).message}`,
      { retriable: true },
    );
  }
  return fail('STREAM_APP_ERR_JWT_INVALID', `the token is not a valid JWT: ${(error as Error).message}`);
}
