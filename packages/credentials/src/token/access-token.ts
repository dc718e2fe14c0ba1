import { decodeJwt } from 'jose';
import { CredentialsError } from '../errors.js';

/** A bearer token and what is known about it. */
export interface AccessToken {
  value: string;
  /** Absolute expiry, epoch milliseconds. */
  expiresAt: number;
  /** The Kafka principal name the token stands for (usually its `sub`). */
  principal?: string;
  /** SASL/OAUTHBEARER extensions sent with this token (e.g. Confluent Cloud's logicalCluster). */
  extensions?: Record<string, string>;
}

/**
 * Accepts what a provider returns. A bare string's expiry and principal are
 * read from its JWT claims (decoded, not verified: the broker verifies);
 * an opaque string gets `defaultLifetimeMs`.
 */
export function toAccessToken(result: AccessToken | string, defaultLifetimeMs: number, now = Date.now()): AccessToken {
  if (typeof result === 'string') {
    if (result.length === 0)
      throw new CredentialsError('STREAM_APP_ERR_INVALID_TOKEN', 'the token provider returned an empty token');
    const claims = decodeClaims(result);
    const principal = typeof claims?.sub === 'string' ? claims.sub : undefined;
    return {
      value: result,
      expiresAt: typeof claims?.exp === 'number' ? claims.exp * 1000 : now + defaultLifetimeMs,
      ...(principal ? { principal } : {}),
    };
  }
  if (typeof result?.value !== 'string' || result.value.length === 0) {
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_TOKEN',
      'the token provider returned an object without a `value` string',
    );
  }
  // Without a usable expiresAt (an answer without expires_in), the same rules as for a bare string apply.
  const fromValue =
    Number.isFinite(result.expiresAt) && result.principal !== undefined
      ? undefined
      : toAccessToken(result.value, defaultLifetimeMs, now);
  // A JWT's own exp wins when it comes first: it is what the broker ends the session at, and expires_in
  // counted from the answer's arrival runs up to a second or more past it (exp is in whole seconds).
  // By at most 5 s: more is a clock of this host ahead of the provider's, which expires_in is immune to.
  const exp = decodeClaims(result.value)?.exp;
  const given = Number.isFinite(result.expiresAt) ? result.expiresAt : undefined;
  const expiresAt =
    typeof exp === 'number' && given !== undefined
      ? Math.max(given - EXP_CORRECTION_MS, Math.min(given, exp * 1000))
      : given;
  return {
    ...result,
    expiresAt: expiresAt ?? fromValue?.expiresAt ?? now + defaultLifetimeMs,
    ...(result.principal === undefined && fromValue?.principal ? { principal: fromValue.principal } : {}),
  };
}

const EXP_CORRECTION_MS = 5_000;

function decodeClaims(token: string) {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
