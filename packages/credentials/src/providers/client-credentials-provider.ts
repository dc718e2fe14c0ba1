import { inspect } from 'node:util';
import { AbstractTokenProvider } from '../token/abstract-token-provider.js';
import type { AccessToken } from '../token/access-token.js';
import { toAccessToken } from '../token/access-token.js';
import { OAuthServer, type OAuthServerOptions } from './oauth-server.js';

/** The token request parameters every grant provider takes. */
export interface GrantParameterOptions {
  /** Space-separated or a list. */
  scope?: string | string[];
  /** The `audience` parameter (Auth0, some others). */
  audience?: string;
  /** The `resource` parameter (RFC 8707 resource indicators). */
  resource?: string | string[];
  /** Any other token request parameters. */
  extraParameters?: Record<string, string>;
}

export interface ClientCredentialsOptions extends OAuthServerOptions, GrantParameterOptions {}

/** OAuth 2.0 client credentials grant (RFC 6749 §4.4): a service authenticates as itself. */
export class ClientCredentialsProvider extends AbstractTokenProvider {
  readonly #server: OAuthServer;
  readonly #parameters: Record<string, string>;

  constructor(options: ClientCredentialsOptions) {
    super();
    this.#server = new OAuthServer(options);
    this.#parameters = grantParameters(options);
  }

  async token(): Promise<AccessToken> {
    const { refreshToken: _ignored, ...token } = await this.#server.grant('client_credentials', this.#parameters);
    return withJwtFallback(token, this.#server.clientId);
  }

  override describe(): string {
    return `client credentials for ${this.#server.clientId} at ${this.#server.where}`;
  }

  [inspect.custom]() {
    return `ClientCredentialsProvider(${this.describe()})`;
  }

  toJSON() {
    return { provider: 'client_credentials', clientId: this.#server.clientId, at: this.#server.where };
  }
}

export function grantParameters(options: GrantParameterOptions): Record<string, string> {
  const parameters: Record<string, string> = { ...options.extraParameters };
  if (options.scope) parameters.scope = Array.isArray(options.scope) ? options.scope.join(' ') : options.scope;
  if (options.audience) parameters.audience = options.audience;
  // openid-client takes one value per key; several resources are rare enough to join as RFC 8707 allows repeated keys only.
  if (options.resource)
    parameters.resource = Array.isArray(options.resource) ? options.resource.join(' ') : options.resource;
  return parameters;
}

/**
 * The principal from the JWT's `sub`, else the client id. The expiry stays as the server said (`expires_in`);
 * when it said nothing, the lifecycle reads the JWT's `exp` or applies its default lifetime.
 */
export function withJwtFallback(token: AccessToken, fallbackPrincipal: string): AccessToken {
  return { ...token, principal: toAccessToken(token.value, 0).principal ?? fallbackPrincipal };
}
