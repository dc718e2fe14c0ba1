import { CredentialsError } from '../errors.js';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export interface UrlPolicy {
  /** Allows plain HTTP, but only to a loopback host (tests, local development). */
  allowInsecureLoopback?: boolean;
}

/** Identity-provider URLs must be HTTPS; plain HTTP only to loopback, and only when asked for. */
export function checkIdentityProviderUrl(url: string | URL, policy: UrlPolicy, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `${what} is not a valid URL: ${String(url)}`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && LOOPBACK.test(parsed.hostname)) {
    if (policy.allowInsecureLoopback) return parsed;
    throw new CredentialsError(
      'STREAM_APP_ERR_INSECURE_URL',
      `${what} ${parsed.origin} uses plain HTTP. Use HTTPS, or set allowInsecureLoopback: true for a local test server.`,
    );
  }
  throw new CredentialsError(
    'STREAM_APP_ERR_INSECURE_URL',
    `${what} ${parsed.origin} must use HTTPS (plain HTTP is only allowed to a loopback host with allowInsecureLoopback: true).`,
  );
}
