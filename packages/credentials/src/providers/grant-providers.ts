// The other standard grants. Each fetches a fresh token per call; the
// lifecycle decides when to call.
import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { CredentialsError } from '../errors.js';
import { Secret } from '../secrets.js';
import { AbstractTokenProvider } from '../token/abstract-token-provider.js';
import type { AccessToken } from '../token/access-token.js';
import { grantParameters, withJwtFallback, type GrantParameterOptions } from './client-credentials-provider.js';
import { signingKey } from './key-algorithm.js';
import { OAuthServer, type OAuthServerOptions } from './oauth-server.js';

interface CommonGrantOptions extends OAuthServerOptions, GrantParameterOptions {}

/** Refresh token grant (RFC 6749 §6): trades a long-lived refresh token for access tokens, following rotation. */
export class RefreshTokenProvider extends AbstractTokenProvider {
  readonly #server: OAuthServer;
  readonly #parameters: Record<string, string>;
  #refreshToken: Secret;
  readonly #onRotated: ((refreshToken: string) => void | Promise<void>) | undefined;

  constructor(
    options: CommonGrantOptions & {
      refreshToken: string;
      onRefreshTokenRotated?: (refreshToken: string) => void | Promise<void>;
    },
  ) {
    super();
    if (!options.refreshToken)
      throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'RefreshTokenProvider needs a refreshToken');
    this.#server = new OAuthServer(options);
    this.#parameters = grantParameters(options);
    this.#refreshToken = new Secret(options.refreshToken);
    this.#onRotated = options.onRefreshTokenRotated;
  }

  async token(): Promise<AccessToken> {
    const current = this.#refreshToken.reveal();
    const { refreshToken, ...token } = await this.#server.grant(
      'refresh_token',
      { ...this.#parameters, refresh_token: current },
      [current],
    );
    if (refreshToken && refreshToken !== current) {
      // The old one may already be void (rotation): keep the new one, and let the owner persist it.
      this.#refreshToken = new Secret(refreshToken);
      // A failing persistence callback must not cost the access token just issued.
      await Promise.resolve(this.#onRotated?.(refreshToken)).catch((error: unknown) =>
        process.emitWarning(`onRefreshTokenRotated threw: ${(error as Error)?.message ?? String(error)}`),
      );
    }
    return withJwtFallback(token, this.#server.clientId);
  }

  override describe(): string {
    return `refresh token grant for ${this.#server.clientId} at ${this.#server.where}`;
  }
}

export interface AssertionSigner {
  /** PEM (PKCS#8) or KeyObject that signs the assertion. */
  privateKey: string | KeyObject;
  keyId?: string;
  /** `iss` of the assertion (who vouches). */
  issuer: string;
  /** `sub`: the identity the token will be for. */
  subject: string;
  /** `aud`; default the authorization server's issuer. */
  audience?: string;
  lifetimeSec?: number;
}

/** JWT bearer grant (RFC 7523 §2.1): trades a signed assertion for an access token. */
export class JwtBearerProvider extends AbstractTokenProvider {
  readonly #server: OAuthServer;
  readonly #parameters: Record<string, string>;
  readonly #assertion: () => Promise<string>;

  constructor(options: CommonGrantOptions & { assertion: (() => Promise<string> | string) | AssertionSigner }) {
    super();
    // The assertion authenticates the grant; client authentication is optional (RFC 7523 §3.1).
    this.#server = new OAuthServer({
      authMethod: options.clientSecret || options.privateKey ? undefined : 'none',
      ...options,
    } as OAuthServerOptions);
    this.#parameters = grantParameters(options);
    const assertion = options.assertion;
    if (typeof assertion === 'function') {
      this.#assertion = async () => assertion();
    } else if (assertion && typeof assertion === 'object') {
      const signer = signingKey(assertion.privateKey, 'assertion.privateKey');
      this.#assertion = () => signAssertion(assertion, signer, options.issuer ?? options.tokenEndpoint ?? '');
    } else {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        'JwtBearerProvider needs assertion: a function returning a JWT, or { privateKey, issuer, subject }',
      );
    }
  }

  async token(): Promise<AccessToken> {
    const assertion = await this.#assertion();
    const { refreshToken: _ignored, ...token } = await this.#server.grant(
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      { ...this.#parameters, assertion },
      [assertion],
    );
    return withJwtFallback(token, this.#server.clientId);
  }

  override describe(): string {
    return `JWT bearer grant at ${this.#server.where}`;
  }
}

async function signAssertion(
  signer: AssertionSigner,
  { key, algorithm }: { key: KeyObject; algorithm: string },
  defaultAudience: string,
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: algorithm, ...(signer.keyId ? { kid: signer.keyId } : {}) })
    .setIssuer(signer.issuer)
    .setSubject(signer.subject)
    .setAudience(signer.audience ?? defaultAudience)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${signer.lifetimeSec ?? 300}s`)
    .sign(key);
}

/** Token exchange (RFC 8693): trades a subject token (from another provider) for a token for this audience. */
export class TokenExchangeProvider extends AbstractTokenProvider {
  readonly #server: OAuthServer;
  readonly #parameters: Record<string, string>;
  readonly #subject: () => Promise<string>;
  readonly #subjectTokenType: string;

  constructor(
    options: CommonGrantOptions & {
      /** The token to exchange: a provider (e.g. a FileTokenProvider for a Kubernetes token) or a function. */
      subjectToken: AbstractTokenProvider | (() => Promise<string> | string);
      subjectTokenType?: string;
      requestedTokenType?: string;
    },
  ) {
    super();
    this.#server = new OAuthServer(options);
    this.#parameters = {
      ...grantParameters(options),
      ...(options.requestedTokenType ? { requested_token_type: options.requestedTokenType } : {}),
    };
    this.#subjectTokenType = options.subjectTokenType ?? 'urn:ietf:params:oauth:token-type:access_token';
    const subject = options.subjectToken;
    if (subject instanceof AbstractTokenProvider) {
      this.#subject = async () => {
        const token = await subject.token();
        return typeof token === 'string' ? token : token.value;
      };
    } else if (typeof subject === 'function') {
      this.#subject = async () => subject();
    } else {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        'TokenExchangeProvider needs subjectToken: a token provider or a function',
      );
    }
  }

  async token(): Promise<AccessToken> {
    const subjectToken = await this.#subject();
    const { refreshToken: _ignored, ...token } = await this.#server.grant(
      'urn:ietf:params:oauth:grant-type:token-exchange',
      { ...this.#parameters, subject_token: subjectToken, subject_token_type: this.#subjectTokenType },
      [subjectToken],
    );
    return withJwtFallback(token, this.#server.clientId);
  }

  override describe(): string {
    return `token exchange for ${this.#server.clientId} at ${this.#server.where}`;
  }
}

/**
 * Resource owner password grant (RFC 6749 §4.3).
 * @deprecated Legacy: OAuth 2.1 removes it. Use client credentials or token exchange for services.
 */
export class PasswordGrantProvider extends AbstractTokenProvider {
  readonly #server: OAuthServer;
  readonly #parameters: Record<string, string>;
  readonly #username: string;
  readonly #password: Secret;

  constructor(options: CommonGrantOptions & { username: string; password: string }) {
    super();
    if (!options.username || !options.password) {
      throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'PasswordGrantProvider needs username and password');
    }
    this.#server = new OAuthServer(options);
    this.#parameters = grantParameters(options);
    this.#username = options.username;
    this.#password = new Secret(options.password);
  }

  async token(): Promise<AccessToken> {
    const password = this.#password.reveal();
    const { refreshToken: _ignored, ...token } = await this.#server.grant(
      'password',
      { ...this.#parameters, username: this.#username, password },
      [password],
    );
    return withJwtFallback(token, this.#username);
  }

  override describe(): string {
    return `password grant (legacy) for ${this.#username} at ${this.#server.where}`;
  }
}
