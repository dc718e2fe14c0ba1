import {
  CredentialsError,
  ClientCredentialsProvider,
  type AbstractTokenProvider,
  type Secret,
  type SslContext,
} from '@stream-app/credentials';
import type { KeyObject } from 'node:crypto';

export interface KeycloakOptions {
  /** Base URL of the server, e.g. https://sso.example.com (add /auth for Keycloak before 17). */
  url: string;
  realm: string;
  clientId: string;
  clientSecret?: string | Secret;
  /** For "Signed JWT" client authentication (private_key_jwt). */
  privateKey?: string | KeyObject;
  privateKeyId?: string;
  scope?: string | string[];
  allowInsecureLoopback?: boolean;
  ssl?: SslContext;
}

/**
 * A Keycloak client with service accounts enabled, by client credentials.
 * The broker needs the token's `aud`: add an audience mapper to the client (see docs/identity-providers/keycloak.md).
 */
export function keycloak(options: KeycloakOptions): AbstractTokenProvider {
  if (!options?.url) throw invalid('url is required, e.g. https://sso.example.com');
  if (!options.realm) throw invalid('realm is required (the realm the client lives in)');
  if (!options.clientId) throw invalid('clientId is required');
  if (!options.clientSecret === !options.privateKey) {
    throw invalid(
      'give either clientSecret (client authenticator "Client Id and Secret") or privateKey ("Signed Jwt"), not both',
    );
  }
  const base = options.url.replace(/\/+$/, '');
  return new ClientCredentialsProvider({
    tokenEndpoint: `${base}/realms/${encodeURIComponent(options.realm)}/protocol/openid-connect/token`,
    issuer: `${base}/realms/${encodeURIComponent(options.realm)}`,
    clientId: options.clientId,
    ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    ...(options.privateKeyId ? { privateKeyId: options.privateKeyId } : {}),
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.allowInsecureLoopback ? { allowInsecureLoopback: true } : {}),
    ...(options.ssl ? { ssl: options.ssl } : {}),
  });
}

function invalid(message: string) {
  return new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `keycloak(): ${message}`);
}
