// Auth0: client credentials at `https://<domain>/oauth/token` with the secret
// in the body (client_secret_post, as Auth0 documents it). Without
// `audience`, Auth0 answers with an opaque token no broker can verify, so
// the audience (the API Identifier) is required.
import type { AbstractTokenProvider, StreamAppError } from '@stream-app/credentials';
import { ClientCredentialsProvider, CredentialsError, type Secret, type SslContext } from '@stream-app/credentials';
import { HintedProvider } from './hinted-provider.js';

export interface Auth0Options {
  /** The tenant domain (`my-tenant.eu.auth0.com`) or a custom domain (`login.example.com`). */
  domain?: string;
  /** Client ID of a Machine to Machine application. */
  clientId: string;
  clientSecret: string | Secret;
  /** The Identifier of the API registered for Kafka (Applications > APIs), e.g. `https://kafka.example.com`. */
  audience: string;
  /** Optional scopes (permissions of that API) to ask for. */
  scope?: string | string[];
  /** Overrides the endpoint built from `domain` (tests, proxies). */
  tokenEndpoint?: string;
  /** Plain HTTP to a loopback token endpoint (tests only). */
  allowInsecureLoopback?: boolean;
  ssl?: SslContext;
  timeoutMs?: number;
}

/**
 * Tokens from Auth0 for an API (`audience`) by the client credentials grant.
 * `audience` and the client's credentials are checked before any request.
 */
export function auth0(options: Auth0Options): AbstractTokenProvider {
  const fail = (message: string) => new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `auth0(): ${message}`);
  if (!options || typeof options !== 'object') throw fail('pass an options object');
  if (!options.clientId) throw fail('clientId is required (the Client ID of a Machine to Machine application)');
  if (!options.clientSecret) throw fail('clientSecret is required (the Client Secret of that application)');
  if (typeof options.audience !== 'string' || options.audience.trim() === '') {
    throw fail(
      'audience is required: the Identifier of the API that stands for Kafka (Applications > APIs), e.g. ' +
        "audience: 'https://kafka.example.com'. Without it Auth0 returns an opaque token that no broker can verify.",
    );
  }
  const tokenEndpoint = options.tokenEndpoint ?? `https://${auth0Domain(options.domain, fail)}/oauth/token`;
  const inner = new ClientCredentialsProvider({
    tokenEndpoint,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authMethod: 'client_secret_post',
    audience: options.audience,
    ...(options.scope ? { scope: options.scope } : {}),
    ...(options.allowInsecureLoopback ? { allowInsecureLoopback: true } : {}),
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  const audience = options.audience;
  return new HintedProvider(inner, {
    name: 'Auth0',
    describe: `Auth0 client credentials for ${options.clientId} (audience ${audience}) at ${tokenEndpoint}`,
    json: { provider: 'auth0', clientId: options.clientId, audience, tokenEndpoint },
    hint: (error) => auth0Hint(error, audience),
  });
}

function auth0Domain(domain: string | undefined, fail: (message: string) => StreamAppError): string {
  if (!domain) throw fail("domain is required (e.g. 'my-tenant.eu.auth0.com'), or give tokenEndpoint");
  const host = domain.replace(/^https:\/\//i, '').replace(/\/+$/, '');
  if (/^[a-z]+:\/\//i.test(host))
    throw fail(`domain must be reached over HTTPS: give just the host name, not ${domain}`);
  if (host.includes('/')) throw fail(`domain is the host name only (e.g. 'my-tenant.eu.auth0.com'), not ${domain}`);
  return host;
}

/** Auth0 answers most refusals with `access_denied`; the status tells which one it is. */
function auth0Hint(error: StreamAppError, audience: string): string | undefined {
  const { status, error: oauthError } = error.details;
  if (oauthError === 'access_denied' && status === 403) {
    return `authorize the application for the API '${audience}' (Applications > APIs > Machine To Machine Applications), or check the audience is that API's Identifier.`;
  }
  if (oauthError === 'access_denied' && status === 401)
    return 'the client id or secret is wrong (or the secret was rotated).';
  if (oauthError === 'unauthorized_client') {
    return 'enable the Client Credentials grant for the application (Settings > Advanced > Grant Types).';
  }
  return undefined;
}
