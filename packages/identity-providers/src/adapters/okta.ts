// Okta: client credentials against a custom authorization server
// (`https://<domain>/oauth2/<authServerId>/v1/token`). Okta only issues
// client-credentials tokens for custom scopes, so scopes are required and
// OpenID Connect scopes are refused here rather than by Okta.
import type { KeyObject } from 'node:crypto';
import type { AbstractTokenProvider, StreamAppError } from '@stream-app/credentials';
import { ClientCredentialsProvider, CredentialsError, type Secret, type SslContext } from '@stream-app/credentials';
import { HintedProvider } from './hinted-provider.js';

export interface OktaOptions {
  /** Your Okta domain (`dev-123456.okta.com`) or custom domain (`login.example.com`); not the `-admin` one. */
  domain?: string;
  /** The custom authorization server: `default` or an id like `aus1a2b3c4d5e6f7g8h9`. */
  authorizationServerId?: string;
  clientId: string;
  /** For `client_secret_basic` (default) or `client_secret_post`. */
  clientSecret?: string | Secret;
  /** PEM (PKCS#8) or KeyObject registered as the app's public key: `private_key_jwt`. */
  privateKey?: string | KeyObject;
  /** The `kid` of that key in Okta (needed when the app has several keys). */
  privateKeyId?: string;
  /** Only with `clientSecret`; Okta's default is `client_secret_basic`. */
  authMethod?: 'client_secret_basic' | 'client_secret_post';
  /** At least one custom scope defined on the authorization server, e.g. `['kafka']`. */
  scopes: string | string[];
  /** Overrides the endpoint built from `domain` (tests, proxies). */
  tokenEndpoint?: string;
  /** Plain HTTP to a loopback token endpoint (tests only). */
  allowInsecureLoopback?: boolean;
  ssl?: SslContext;
  timeoutMs?: number;
}

// Okta: "Cannot request 'openid' scopes using client credentials".
const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'address', 'phone', 'offline_access', 'device_sso']);

/**
 * Tokens from an Okta custom authorization server by the client credentials
 * grant. Checks the options before any request: `scopes` must hold at least
 * one custom scope, and exactly one of `clientSecret` or `privateKey`.
 */
export function okta(options: OktaOptions): AbstractTokenProvider {
  const fail = (message: string) => new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `okta(): ${message}`);
  if (!options || typeof options !== 'object') throw fail('pass an options object');
  if (!options.clientId) throw fail('clientId is required (the Client ID of an API Services app in Okta)');
  if (options.clientSecret && options.privateKey) {
    throw fail('give clientSecret or privateKey, not both (they are different client authentication methods in Okta)');
  }
  if (!options.clientSecret && !options.privateKey) {
    throw fail('give clientSecret (client_secret_basic) or privateKey (private_key_jwt) for the app');
  }
  if (options.authMethod && options.privateKey) {
    throw fail('authMethod applies to clientSecret only; privateKey always uses private_key_jwt');
  }
  const scopes = scopeList(options.scopes);
  if (scopes.length === 0) {
    throw fail(
      "scopes is required: Okta's client credentials grant needs at least one custom scope defined on the " +
        "authorization server (Security > API > Authorization Servers > Scopes), e.g. scopes: ['kafka']",
    );
  }
  const oidc = scopes.filter((scope) => OIDC_SCOPES.has(scope));
  if (oidc.length > 0) {
    throw fail(
      `scopes ${oidc.map((s) => `'${s}'`).join(', ')} are OpenID Connect scopes, which Okta refuses for the client ` +
        'credentials grant (there is no user); ask for custom scopes of the authorization server only',
    );
  }
  const serverId = options.authorizationServerId ?? 'default';
  if (!/^[A-Za-z0-9]+$/.test(serverId)) {
    throw fail(
      `authorizationServerId '${serverId}' is not an authorization server id: use 'default' or the id shown ` +
        'under Security > API > Authorization Servers (the org authorization server cannot mint tokens with custom scopes)',
    );
  }
  const tokenEndpoint =
    options.tokenEndpoint ?? `https://${oktaDomain(options.domain, fail)}/oauth2/${serverId}/v1/token`;

  const inner = new ClientCredentialsProvider({
    tokenEndpoint,
    // The client assertion's `aud` is the configuration's issuer; Okta wants the token endpoint there.
    ...(options.privateKey ? { issuer: tokenEndpoint } : {}),
    clientId: options.clientId,
    ...(options.clientSecret ? { clientSecret: options.clientSecret } : {}),
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    ...(options.privateKeyId ? { privateKeyId: options.privateKeyId } : {}),
    authMethod: options.privateKey ? 'private_key_jwt' : (options.authMethod ?? 'client_secret_basic'),
    scope: scopes,
    ...(options.allowInsecureLoopback ? { allowInsecureLoopback: true } : {}),
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  return new HintedProvider(inner, {
    name: 'Okta',
    describe: `Okta client credentials for ${options.clientId} at ${tokenEndpoint}`,
    json: { provider: 'okta', clientId: options.clientId, tokenEndpoint },
    hint: (error) => OKTA_HINTS[String(error.details.error)],
  });
}

const OKTA_HINTS: Record<string, string> = {
  invalid_scope:
    'every scope must be a custom scope of this authorization server, and an access policy rule must grant it to the client.',
  invalid_client:
    "check the client id and secret (or key and kid) and that the app's Client authentication setting matches.",
  unauthorized_client: 'allow the Client Credentials grant type for the app.',
  access_denied:
    'no access policy rule of the authorization server lets this client use the client credentials grant (Security > API > Authorization Servers > Access Policies).',
  non_oauth_error:
    "Okta answers an unknown client_id with {errorCode: 'invalid_client', errorSummary} instead of an OAuth error: " +
    "check the client id and the domain (not the '-admin' one).",
};

function scopeList(scopes: string | string[] | undefined): string[] {
  if (scopes === undefined || scopes === null) return [];
  const list = Array.isArray(scopes) ? scopes : String(scopes).split(/\s+/);
  return list.flatMap((scope) => String(scope).split(/\s+/)).filter((scope) => scope.length > 0);
}

function oktaDomain(domain: string | undefined, fail: (message: string) => StreamAppError): string {
  if (!domain) throw fail("domain is required (e.g. 'dev-123456.okta.com'), or give tokenEndpoint");
  const host = domain.replace(/^https:\/\//i, '').replace(/\/+$/, '');
  if (/^[a-z]+:\/\//i.test(host))
    throw fail(`domain must be reached over HTTPS: give just the host name, not ${domain}`);
  if (host.includes('/')) {
    throw fail(`domain is the host name only (e.g. 'dev-123456.okta.com'), not a URL with a path: ${domain}`);
  }
  if (/-admin\.(okta|oktapreview|okta-emea)\.com$/i.test(host)) {
    throw fail(`${host} is the Admin Console domain; use ${host.replace(/-admin\./i, '.')}`);
  }
  return host;
}
