import { inspect } from 'node:util';
import { CredentialsError } from '../errors.js';
import { Secret } from '../secrets.js';
import { createSslContext, type SslContext, type SslContextOptions } from '../ssl/create-ssl-context.js';
import type { AbstractTokenProvider } from '../token/abstract-token-provider.js';
import { lifecycleFor, type TokenLifecycle, type TokenLifecycleOptions } from '../token/token-lifecycle.js';

export interface OAuthCredentialsOptions {
  tokenProvider: AbstractTokenProvider;
  /** TLS to the broker (SASL_SSL): an SslContext, or `true` for the system's trust store. */
  ssl?: SslContext | boolean;
  /** SASL extensions sent with every token (merged over the provider's own). */
  extensions?: Record<string, string>;
  lifecycle?: TokenLifecycleOptions;
}

/** SASL/OAUTHBEARER with tokens from a provider, shared and refreshed for every client of the process. */
export class OAuthCredentials {
  readonly kind = 'oauth' as const;
  readonly ssl: SslContext | undefined;
  readonly extensions: Record<string, string>;
  readonly lifecycle: TokenLifecycle;

  constructor(options: OAuthCredentialsOptions) {
    if (!options?.tokenProvider || typeof options.tokenProvider.token !== 'function') {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        'OAuthCredentials needs a tokenProvider (an AbstractTokenProvider)',
      );
    }
    this.ssl = options.ssl === true ? createSslContext() : options.ssl || undefined;
    this.extensions = { ...options.extensions };
    this.lifecycle = lifecycleFor(options.tokenProvider, options.lifecycle);
  }

  get mechanism(): 'OAUTHBEARER' {
    return 'OAUTHBEARER';
  }

  describe(): string {
    return `SASL/OAUTHBEARER${this.ssl ? ' over TLS' : ''} with ${this.lifecycle.provider.describe()}`;
  }

  [inspect.custom]() {
    return `OAuthCredentials(${this.describe()})`;
  }

  toJSON() {
    return {
      mechanism: this.mechanism,
      ssl: Boolean(this.ssl),
      provider: this.lifecycle.provider.describe(),
      extensions: Object.keys(this.extensions),
    };
  }
}

export interface SaslCredentialsOptions {
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  username: string;
  password: string | Secret;
  ssl?: SslContext | boolean;
}

/** SASL/PLAIN or SASL/SCRAM with a username and password. */
export class SaslCredentials {
  readonly kind = 'sasl' as const;
  readonly mechanism: SaslCredentialsOptions['mechanism'];
  readonly username: string;
  readonly password: Secret;
  readonly ssl: SslContext | undefined;

  constructor(options: SaslCredentialsOptions) {
    const mechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];
    if (!mechanisms.includes(options?.mechanism)) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `mechanism must be one of ${mechanisms.join(', ')}, got ${String(options?.mechanism)}`,
      );
    }
    if (!options.username)
      throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'SaslCredentials needs a username');
    if (!options.password)
      throw new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', 'SaslCredentials needs a password');
    this.mechanism = options.mechanism;
    this.username = options.username;
    this.password = options.password instanceof Secret ? options.password : new Secret(options.password);
    this.ssl = options.ssl === true ? createSslContext() : options.ssl || undefined;
  }

  describe(): string {
    return `SASL/${this.mechanism}${this.ssl ? ' over TLS' : ''} as ${this.username}`;
  }

  [inspect.custom]() {
    return `SaslCredentials(${this.describe()})`;
  }

  toJSON() {
    return { mechanism: this.mechanism, username: this.username, ssl: Boolean(this.ssl) };
  }
}

/** Mutual TLS: the client certificate is the identity (SSL security protocol). */
export class SslCredentials {
  readonly kind = 'ssl' as const;
  readonly ssl: SslContext;

  constructor(options: {
    ca?: string;
    cafile?: string;
    cert: string;
    key: string;
    passphrase?: string;
    checkHostname?: boolean;
  }) {
    const contextOptions: SslContextOptions = {
      certfile: options.cert,
      keyfile: options.key,
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cafile ? { cafile: options.cafile } : {}),
      ...(options.passphrase ? { password: options.passphrase } : {}),
      ...(options.checkHostname === undefined ? {} : { checkHostname: options.checkHostname }),
    };
    this.ssl = createSslContext(contextOptions);
  }

  describe(): string {
    return 'mutual TLS';
  }

  [inspect.custom]() {
    return 'SslCredentials(mutual TLS)';
  }

  toJSON() {
    return { mechanism: 'mTLS' };
  }
}

export type Credentials = OAuthCredentials | SaslCredentials | SslCredentials;
