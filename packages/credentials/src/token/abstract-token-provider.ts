import type { AccessToken } from './access-token.js';

/**
 * Where bearer tokens come from. Implement `token()`; the lifecycle calls it
 * when a token is needed and caches, shares and refreshes the result, so an
 * implementation should simply fetch a new token each time it is called.
 */
export abstract class AbstractTokenProvider {
  /** A new token: an `AccessToken`, or a bare string (a JWT's `exp` and `sub` are read from it). */
  abstract token(): Promise<AccessToken | string>;

  /** SASL/OAUTHBEARER extensions to send with every token. */
  extensions?(): Record<string, string> | Promise<Record<string, string>>;

  /** Names where tokens come from, for logs and errors (never a secret). */
  describe(): string {
    return this.constructor.name || 'the token provider';
  }
}
