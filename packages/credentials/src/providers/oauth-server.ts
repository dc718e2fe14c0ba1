// What every OAuth grant provider shares: finding the token endpoint (by
// discovery or given), authenticating the client, and turning the
// authorization server's answers into clear, secret-free errors.
import type { KeyObject } from 'node:crypto';
import * as oidc from 'openid-client';
import { importPKCS8 } from 'jose';
import { fetch as undiciFetch } from 'undici';
import type { StreamAppError } from '../errors.js';
import { CredentialsError } from '../errors.js';
import { checkIdentityProviderUrl } from '../http/url-policy.js';
import { redact, Secret } from '../secrets.js';
import type { SslContext } from '../ssl/create-ssl-context.js';
import type { AccessToken } from '../token/access-token.js';
import { signingKey } from './key-algorithm.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface OAuthServerOptions {
  /** Issuer URL; its discovery document names the token endpoint. */
  issuer?: string;
  /** The token endpoint, when there is no discovery (or to skip it). */
  tokenEndpoint?: string;
  clientId: string;
  clientSecret?: string | Secret;
  /** PEM (PKCS#8) or a KeyObject, for `private_key_jwt`. */
  privateKey?: string | KeyObject;
  /** Key id put in the client assertion header. */
  privateKeyId?: string;
  /** More client assertion header parameters (Entra ID wants the certificate thumbprint as `x5t#S256`). */
  assertionHeader?: Record<string, string>;
  /** Defaults: `client_secret_basic` with a secret, `private_key_jwt` with a private key. */
  authMethod?: ClientAuthMethod;
  /** Plain HTTP to a loopback identity provider (tests, local development). */
  allowInsecureLoopback?: boolean;
  /** Trust for the identity provider's HTTPS certificate (a private CA). */
  ssl?: SslContext;
  /** Milliseconds before a token request is abandoned (default 10 s). */
  timeoutMs?: number;
}

export class OAuthServer {
  readonly clientId: string;
  readonly #options: OAuthServerOptions;
  readonly #secret: Secret | undefined;
  #configuration: Promise<oidc.Configuration> | undefined;
  readonly #where: string;
  #signingKey: { key: KeyObject; algorithm: string } | undefined;

  constructor(options: OAuthServerOptions) {
    if (!options.clientId) throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'clientId is required');
    if (!options.issuer && !options.tokenEndpoint) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        'give either issuer (for discovery) or tokenEndpoint',
      );
    }
    const policy = { allowInsecureLoopback: options.allowInsecureLoopback ?? false };
    if (options.issuer) checkIdentityProviderUrl(options.issuer, policy, 'issuer');
    if (options.tokenEndpoint) checkIdentityProviderUrl(options.tokenEndpoint, policy, 'tokenEndpoint');
    const method =
      options.authMethod ??
      (options.privateKey ? 'private_key_jwt' : options.clientSecret ? 'client_secret_basic' : 'none');
    if ((method === 'client_secret_basic' || method === 'client_secret_post') && !options.clientSecret) {
      throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `authMethod ${method} needs clientSecret`);
    }
    if (method === 'private_key_jwt' && !options.privateKey) {
      throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'authMethod private_key_jwt needs privateKey');
    }
    this.clientId = options.clientId;
    this.#options = { ...options, authMethod: method };
    if (method === 'private_key_jwt')
      this.#signingKey = signingKey(options.privateKey as string | KeyObject, 'privateKey');
    this.#secret =
      options.clientSecret === undefined
        ? undefined
        : options.clientSecret instanceof Secret
          ? options.clientSecret
          : new Secret(options.clientSecret);
    this.#where = options.tokenEndpoint ?? options.issuer ?? '';
  }

  /** The token endpoint (or issuer before discovery ran), for messages. */
  get where(): string {
    return this.#where;
  }

  /** Sends a token request for `grantType` and returns the access token. */
  async grant(
    grantType: string,
    parameters: Record<string, string>,
    secrets: Array<string | Secret> = [],
  ): Promise<AccessToken & { refreshToken?: string }> {
    const configuration = await this.#configure();
    const endpoint = configuration.serverMetadata().token_endpoint ?? this.#where;
    let response: oidc.TokenEndpointResponse;
    try {
      response =
        grantType === 'client_credentials'
          ? await oidc.clientCredentialsGrant(configuration, parameters)
          : grantType === 'refresh_token'
            ? await oidc.refreshTokenGrant(
                configuration,
                parameters.refresh_token ?? '',
                withoutKey(parameters, 'refresh_token'),
              )
            : await oidc.genericGrantRequest(configuration, grantType, parameters);
    } catch (error) {
      throw this.#explain(await oauthErrorOf(error), endpoint, grantType, secrets);
    }
    if (response.token_type?.toLowerCase() !== 'bearer' && response.token_type !== undefined) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        `${endpoint} returned a ${response.token_type} token; Kafka needs a Bearer token`,
      );
    }
    const expiresIn = response.expires_in;
    return {
      value: response.access_token,
      // NaN = the server did not say: toAccessToken then reads the JWT's exp or applies the default lifetime.
      expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.NaN,
      ...(response.refresh_token ? { refreshToken: response.refresh_token } : {}),
    };
  }

  #configure(): Promise<oidc.Configuration> {
    this.#configuration ??= this.#discoverOrBuild().catch((error: unknown) => {
      this.#configuration = undefined; // try discovery again next time
      throw error;
    });
    return this.#configuration;
  }

  async #discoverOrBuild(): Promise<oidc.Configuration> {
    const options = this.#options;
    const auth = await this.#clientAuth();
    const execute = [...(options.allowInsecureLoopback ? [oidc.allowInsecureRequests] : [])];
    const customFetch = this.#fetch();
    if (options.tokenEndpoint) {
      const configuration = new oidc.Configuration(
        // Without an issuer, a client assertion's `aud` is the token endpoint itself (RFC 7523 §3 allows it; Okta and Entra ID require it).
        { issuer: options.issuer ?? options.tokenEndpoint, token_endpoint: options.tokenEndpoint },
        options.clientId,
        {},
        auth,
      );
      for (const step of execute) step(configuration);
      configuration[oidc.customFetch] = customFetch;
      return configuration;
    }
    const issuer = options.issuer as string;
    try {
      return await oidc.discovery(new URL(issuer), options.clientId, {}, auth, {
        execute,
        [oidc.customFetch]: customFetch,
        timeout: (options.timeoutMs ?? 10_000) / 1000,
      });
    } catch (error) {
      throw new CredentialsError(
        'STREAM_APP_ERR_IDP_UNREACHABLE',
        `OpenID discovery at ${issuer}/.well-known/openid-configuration failed: ${redact(messageOf(error), this.#secrets())}`,
        { retriable: true, details: { issuer } },
      );
    }
  }

  async #clientAuth(): Promise<oidc.ClientAuth> {
    const options = this.#options;
    switch (options.authMethod) {
      case 'client_secret_basic':
        return oidc.ClientSecretBasic(this.#secret?.reveal());
      case 'client_secret_post':
        return oidc.ClientSecretPost(this.#secret?.reveal());
      case 'private_key_jwt': {
        const { key: keyObject, algorithm } = this.#signingKey as { key: KeyObject; algorithm: string };
        // openid-client signs with a WebCrypto key; jose makes one from the PKCS#8 form.
        const key = await importPKCS8(keyObject.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm);
        const extraHeader = options.assertionHeader;
        return oidc.PrivateKeyJwt(
          { key, ...(options.privateKeyId ? { kid: options.privateKeyId } : {}) },
          extraHeader
            ? { [oidc.modifyAssertion]: (header: Record<string, unknown>) => void Object.assign(header, extraHeader) }
            : undefined,
        );
      }
      default:
        return oidc.None();
    }
  }

  /** fetch with a timeout and, if given, the identity provider's private CA. */
  #fetch(): oidc.CustomFetch {
    const timeoutMs = this.#options.timeoutMs ?? 10_000;
    const dispatcher = this.#options.ssl?.httpsDispatcher();
    // A dispatcher must go with the fetch of its own undici version.
    if (dispatcher) {
      return (url, init) =>
        undiciFetch(url, {
          ...(init as object),
          signal: AbortSignal.timeout(timeoutMs),
          dispatcher,
        }) as unknown as Promise<Response>;
    }
    return (url, init) => fetch(url, { ...(init as RequestInit), signal: AbortSignal.timeout(timeoutMs) });
  }

  #secrets(): Array<string | Secret | undefined> {
    return [this.#secret];
  }

  #explain(error: unknown, endpoint: string, grantType: string, extra: Array<string | Secret>): StreamAppError {
    const secrets = [...this.#secrets(), ...extra];
    if (isOAuthError(error)) {
      const description = error.error_description ? ` (${redact(error.error_description, secrets)})` : '';
      // 5xx and temporarily_unavailable can pass; a refused client or grant will not.
      const retriable = error.status >= 500 || error.error === 'temporarily_unavailable' || error.error === 'slow_down';
      return new CredentialsError(
        'STREAM_APP_ERR_TOKEN_ENDPOINT',
        `token request (${grantType}) for client ${this.clientId} at ${endpoint} was refused: HTTP ${error.status} ${error.error}${description}` +
          hint(error.error),
        { retriable, details: { endpoint, status: error.status, error: error.error, clientId: this.clientId } },
      );
    }
    if (isHttpError(error)) {
      return new CredentialsError(
        'STREAM_APP_ERR_TOKEN_ENDPOINT',
        `token request (${grantType}) at ${endpoint} failed: ${redact(messageOf(error), secrets)}`,
        { retriable: true, details: { endpoint, clientId: this.clientId } },
      );
    }
    return new CredentialsError(
      'STREAM_APP_ERR_IDP_UNREACHABLE',
      `token endpoint ${endpoint} could not be reached: ${redact(messageOf(error), secrets)}`,
      { retriable: true, details: { endpoint, clientId: this.clientId } },
    );
  }
}

interface OAuthErrorResponse {
  status: number;
  error: string;
  error_description?: string;
}

function isOAuthError(error: unknown): error is OAuthErrorResponse {
  return (
    typeof (error as OAuthErrorResponse)?.status === 'number' && typeof (error as OAuthErrorResponse).error === 'string'
  );
}

/** A 401 with WWW-Authenticate comes as a challenge error; its body still holds the OAuth error. */
async function oauthErrorOf(error: unknown): Promise<unknown> {
  if (error instanceof oidc.ResponseBodyError) return error;
  // A refusal whose body is not an OAuth error (Okta's {errorCode, errorSummary}, an HTML page): keep status and gist.
  const response = (error as { cause?: unknown })?.cause;
  if (response instanceof Response && !response.ok) {
    const text = await response
      .clone()
      .text()
      .catch(() => '');
    const gist = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    return {
      status: response.status,
      error: response.status === 429 ? 'slow_down' : 'non_oauth_error',
      ...(gist ? { error_description: gist } : {}),
    } satisfies OAuthErrorResponse;
  }
  if (error instanceof oidc.WWWAuthenticateChallengeError) {
    const body = (await error.response
      .clone()
      .json()
      .catch(() => undefined)) as Partial<OAuthErrorResponse> | undefined;
    const challenge = error.cause[0]?.parameters as Record<string, string> | undefined;
    return {
      status: error.status,
      error: body?.error ?? challenge?.error ?? 'unauthorized',
      ...((body?.error_description ?? challenge?.error_description)
        ? { error_description: body?.error_description ?? challenge?.error_description }
        : {}),
    } satisfies OAuthErrorResponse;
  }
  return error;
}

function hint(oauthError: string): string {
  switch (oauthError) {
    case 'invalid_client':
      return '. Check the client id and secret (or key) and the client authentication method.';
    case 'invalid_scope':
      return '. The client may not ask for this scope: check the scopes granted to the client.';
    case 'unauthorized_client':
      return '. The client may not use this grant type: enable it for the client at the identity provider.';
    case 'invalid_target':
      return '. The resource/audience is unknown to the identity provider.';
    case 'invalid_grant':
      return '. The grant (refresh token, assertion or subject token) was refused: it may be expired or revoked.';
    default:
      return '';
  }
}

function isHttpError(error: unknown): boolean {
  return error instanceof oidc.ClientError || (error as { name?: string })?.name === 'OperationProcessingError';
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`;
}

function withoutKey(parameters: Record<string, string>, key: string): Record<string, string> {
  const { [key]: _removed, ...rest } = parameters;
  return rest;
}
