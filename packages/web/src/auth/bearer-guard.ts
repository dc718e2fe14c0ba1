import { createJwtVerifier, type JwtVerifier, type VerifiedToken } from '@stream-app/credentials';
import { StreamAppError } from '@stream-app/credentials/errors';
import type { ResolvedWebOptions } from '@stream-app/core';
import type { WebErrorCode } from '../errors.js';

type Auth = NonNullable<ResolvedWebOptions['auth']>;

/** What a check of a request's bearer token came to (the label of the web authentication metric). */
export type AuthOutcome =
  | 'allowed'
  | 'missing_token'
  | 'invalid_request'
  | 'invalid_token'
  | 'expired_token'
  | 'insufficient_scope'
  | 'verifier_unavailable';

/** A refusal as RFC 6750 §3 words it: the status, the `WWW-Authenticate` challenge and a JSON body. */
export interface Refusal {
  status: 400 | 401 | 403 | 503;
  challenge: string | undefined;
  body: { error: string; error_description: string; code: WebErrorCode; scope?: string };
}

export type AuthResult =
  | { outcome: 'allowed'; token: VerifiedToken }
  | { outcome: Exclude<AuthOutcome, 'allowed'>; refusal: Refusal; token?: VerifiedToken };

const REALM = 'stream-app';

/** A challenge's auth-param value: RFC 6750 §3 allows %x20-21 / %x23-5B / %x5D-7E (no `"`, no `\`). */
function quoted(value: string): string {
  return `"${value.replace(/"/g, "'").replace(/[^\x20-\x7e]|\\/g, ' ')}"`;
}

function refuse(
  outcome: Exclude<AuthOutcome, 'allowed'>,
  status: Refusal['status'],
  error: string,
  description: string,
  scope?: string,
): Extract<AuthResult, { refusal: Refusal }> {
  const code: WebErrorCode =
    status === 403
      ? 'STREAM_APP_ERR_WEB_FORBIDDEN'
      : status === 503
        ? 'STREAM_APP_ERR_WEB_AUTH_UNAVAILABLE'
        : 'STREAM_APP_ERR_WEB_UNAUTHORIZED';
  // RFC 6750 §3.1: a request with no credentials gets a challenge without an error code.
  const params = [`realm=${quoted(REALM)}`];
  if (outcome !== 'missing_token' && status !== 503) {
    params.push(`error=${quoted(error)}`, `error_description=${quoted(description)}`);
    if (scope) params.push(`scope=${quoted(scope)}`);
  }
  return {
    outcome,
    refusal: {
      status,
      challenge: status === 503 ? undefined : `Bearer ${params.join(', ')}`,
      body: { error, error_description: description, code, ...(scope ? { scope } : {}) },
    },
  };
}

/**
 * Checks bearer tokens on the worker's pages with the same verifier as the CLI (jose, a JWKS from the
 * identity provider): issuer, audience, expiry, signature, then the page's scopes.
 */
export class BearerGuard {
  readonly mode: 'enforce' | 'report';
  readonly #scopes: string[];
  readonly #verify: JwtVerifier;

  constructor(auth: Auth) {
    this.mode = auth.mode;
    this.#scopes = auth.scopes;
    this.#verify = createJwtVerifier({
      jwksUri: auth.jwksUri,
      issuer: auth.issuer,
      audience: auth.audience,
      ...(auth.allowInsecureLoopback !== undefined ? { allowInsecureLoopback: auth.allowInsecureLoopback } : {}),
      ...(auth.clockToleranceSec !== undefined ? { clockToleranceSec: auth.clockToleranceSec } : {}),
    });
  }

  /** The token of an `Authorization` header, checked for a page that needs `pageScopes` besides the common ones. */
  async check(authorization: string | undefined, pageScopes: readonly string[]): Promise<AuthResult> {
    // No credentials for this scheme (none, or Basic, …): RFC 6750 §3.1 asks for a bare challenge.
    if (authorization === undefined || !/^bearer(?: |$)/i.test(authorization)) {
      return refuse(
        'missing_token',
        401,
        'invalid_request',
        'this page needs a bearer token (Authorization: Bearer …)',
      );
    }
    const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
    if (!match) {
      return refuse(
        'invalid_request',
        400,
        'invalid_request',
        "the Authorization header must be 'Bearer <token>' (RFC 6750)",
      );
    }
    let token: VerifiedToken;
    try {
      token = await this.#verify(match[1]!);
    } catch (error) {
      const code = error instanceof StreamAppError ? error.code : 'STREAM_APP_ERR_JWT_INVALID';
      if (code === 'STREAM_APP_ERR_IDP_UNREACHABLE') {
        return refuse(
          'verifier_unavailable',
          503,
          'temporarily_unavailable',
          "the identity provider's keys could not be fetched to check the token; try again",
        );
      }
      // The verifier's messages name the failed check and never the token.
      const description = (error as Error).message;
      return refuse(
        code === 'STREAM_APP_ERR_JWT_EXPIRED' ? 'expired_token' : 'invalid_token',
        401,
        'invalid_token',
        description,
      );
    }
    const needed = [...new Set([...this.#scopes, ...pageScopes])];
    const missing = needed.filter((scope) => !token.scopes.includes(scope));
    if (missing.length > 0) {
      return {
        ...refuse(
          'insufficient_scope',
          403,
          'insufficient_scope',
          `the token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')}`,
          needed.join(' '),
        ),
        token,
      };
    }
    return { outcome: 'allowed', token };
  }
}
