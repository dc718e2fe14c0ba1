// Google Cloud Managed Service for Apache Kafka: there is no OAuth endpoint
// for Kafka. The broker takes a Google access token (scope cloud-platform)
// wrapped in a JWT-shaped envelope:
//   b64url({"typ":"JWT","alg":"GOOG_OAUTH2_TOKEN"}).b64url({exp,iat,iss:"Google",sub:<email>}).b64url(<access token>)
// The access token comes from a service-account key (RFC 7523 JWT bearer
// grant), the metadata server (GCE, GKE, Cloud Run), or the caller.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { SignJWT } from 'jose';
import type { StreamAppError } from '@stream-app/credentials';
import {
  CredentialsError,
  AbstractTokenProvider,
  checkIdentityProviderUrl,
  redact,
  type AccessToken,
} from '@stream-app/credentials';

/** The parsed JSON of a service-account key file. */
export interface GoogleServiceAccountKey {
  type?: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  /** Default `https://oauth2.googleapis.com/token`. */
  token_uri?: string;
  [key: string]: unknown;
}

/** A Google access token from elsewhere (e.g. google-auth-library) and the account it belongs to. */
export interface GoogleAccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** The principal Managed Kafka will see: a service account (or user) email. */
  email: string;
}

export interface GoogleManagedKafkaOptions {
  serviceAccountKey?: GoogleServiceAccountKey;
  accessToken?: () => Promise<GoogleAccessToken>;
  /** Default `http://metadata.google.internal/computeMetadata/v1`; used when neither of the above is given. */
  metadataEndpoint?: string;
  /** Where to POST the service-account assertion; default the key's `token_uri`. */
  tokenEndpoint?: string;
  /** Plain HTTP to a loopback token endpoint (tests only). */
  allowInsecureLoopback?: boolean;
  timeoutMs?: number;
}

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const DEFAULT_TOKEN_URI = 'https://oauth2.googleapis.com/token';
const DEFAULT_METADATA = 'http://metadata.google.internal/computeMetadata/v1';

type Source = { kind: string; fetch: () => Promise<GoogleAccessToken>; where: string };

/**
 * Tokens for Google Cloud Managed Service for Apache Kafka, from a
 * service-account key, the metadata server (the default), or `accessToken`.
 * The principal is the account's email; the expiry is the access token's.
 */
export function googleManagedKafka(options: GoogleManagedKafkaOptions = {}): AbstractTokenProvider {
  const fail = (message: string) =>
    new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `googleManagedKafka(): ${message}`);
  if (typeof options !== 'object' || options === null) throw fail('pass an options object');
  if (options.serviceAccountKey && options.accessToken) {
    throw fail('give serviceAccountKey or accessToken, not both (without either, the metadata server is used)');
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  let source: Source;
  if (options.serviceAccountKey) {
    source = serviceAccountSource(options, timeoutMs, fail);
  } else if (options.accessToken) {
    if (typeof options.accessToken !== 'function') {
      throw fail('accessToken must be a function returning { token, expiresAt, email }');
    }
    source = { kind: 'access token', fetch: callerSource(options.accessToken), where: 'accessToken()' };
  } else {
    source = metadataSource(options.metadataEndpoint ?? DEFAULT_METADATA, timeoutMs, fail);
  }
  return new GoogleManagedKafkaProvider(source);
}

class GoogleManagedKafkaProvider extends AbstractTokenProvider {
  readonly #source: Source;
  #email: string | undefined;

  constructor(source: Source) {
    super();
    this.#source = source;
  }

  async token(): Promise<AccessToken> {
    const google = await this.#source.fetch();
    this.#email = google.email;
    return {
      value: wrapForManagedKafka(google),
      expiresAt: google.expiresAt,
      principal: google.email,
    };
  }

  override describe(): string {
    return `Google Managed Kafka token${this.#email ? ` for ${this.#email}` : ''} (${this.#source.kind}: ${this.#source.where})`;
  }

  [inspect.custom]() {
    return `GoogleManagedKafkaProvider(${this.describe()})`;
  }

  toJSON() {
    return { provider: 'google-managed-kafka', source: this.#source.kind, at: this.#source.where };
  }
}

/** The envelope Managed Kafka's OAUTHBEARER expects around a Google access token. */
function wrapForManagedKafka(google: GoogleAccessToken): string {
  const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
  const header = JSON.stringify({ typ: 'JWT', alg: 'GOOG_OAUTH2_TOKEN' });
  const claims = JSON.stringify({
    exp: Math.floor(google.expiresAt / 1000),
    iat: Math.floor(Date.now() / 1000),
    iss: 'Google',
    sub: google.email,
  });
  return `${b64url(header)}.${b64url(claims)}.${b64url(google.token)}`;
}

function serviceAccountSource(
  options: GoogleManagedKafkaOptions,
  timeoutMs: number,
  fail: (message: string) => StreamAppError,
): Source {
  const key = options.serviceAccountKey as GoogleServiceAccountKey;
  if (typeof key !== 'object') throw fail('serviceAccountKey is the parsed JSON of a key file (JSON.parse it first)');
  if (key.type !== undefined && key.type !== 'service_account') {
    throw fail(
      `serviceAccountKey has type '${String(key.type)}'; only a service account key file (type 'service_account') works here. ` +
        'For other credentials pass accessToken: () => ({ token, expiresAt, email }).',
    );
  }
  if (typeof key.client_email !== 'string' || !key.client_email.includes('@')) {
    throw fail('serviceAccountKey.client_email is missing: is this a service account key file?');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(String(key.private_key));
  } catch {
    throw fail('serviceAccountKey.private_key is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw fail('serviceAccountKey.private_key must be an RSA key');
  const policy = { allowInsecureLoopback: options.allowInsecureLoopback ?? false };
  const audience = key.token_uri ?? DEFAULT_TOKEN_URI;
  checkIdentityProviderUrl(audience, policy, 'serviceAccountKey.token_uri');
  const endpoint = options.tokenEndpoint ?? audience;
  checkIdentityProviderUrl(endpoint, policy, 'tokenEndpoint');
  const email = key.client_email;
  const keyId = typeof key.private_key_id === 'string' ? key.private_key_id : undefined;

  return {
    kind: 'service account key',
    where: endpoint,
    fetch: async () => {
      // Google's "OAuth 2.0 for Server to Server Applications": iss, scope, aud = token_uri, at most one hour.
      const assertion = await new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(keyId ? { kid: keyId } : {}) })
        .setIssuer(email)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
      const answer = await call(endpoint, 'token request (service account JWT bearer grant)', timeoutMs, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: body.toString(),
      });
      return { ...accessTokenFrom(answer, endpoint), email };
    },
  };
}

// The metadata server is plain HTTP by design; allow that, but only to it or a loopback test server.
const METADATA_HOSTS = /^(metadata\.google\.internal|169\.254\.169\.254|localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function metadataSource(endpoint: string, timeoutMs: number, fail: (message: string) => StreamAppError): Source {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw fail(`metadataEndpoint is not a URL: ${endpoint}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !METADATA_HOSTS.test(url.hostname)) {
    throw new CredentialsError(
      'STREAM_APP_ERR_INSECURE_URL',
      `googleManagedKafka(): metadataEndpoint ${url.origin} is not the metadata server: tokens come only from ` +
        'http://metadata.google.internal (or a loopback test server), never from another host',
    );
  }
  const base = url.href.replace(/\/+$/, '');
  const headers = { 'Metadata-Flavor': 'Google' };
  let email: string | undefined;
  return {
    kind: 'metadata server',
    where: base,
    fetch: async () => {
      const tokenUrl = `${base}/instance/service-accounts/default/token`;
      const [answer, account] = await Promise.all([
        call(tokenUrl, 'metadata server token request', timeoutMs, { headers }),
        email
          ? Promise.resolve(email)
          : call(`${base}/instance/service-accounts/default/email`, 'metadata server email request', timeoutMs, {
              headers,
            }).then((emailAnswer) => emailAnswer.text.trim()),
      ]);
      if (!account.includes('@')) {
        throw new CredentialsError(
          'STREAM_APP_ERR_INVALID_TOKEN',
          `the metadata server at ${base} did not name the service account (got no email)`,
        );
      }
      email = account;
      return { ...accessTokenFrom(answer, tokenUrl), email: account };
    },
  };
}

function callerSource(accessToken: () => Promise<GoogleAccessToken>): () => Promise<GoogleAccessToken> {
  return async () => {
    const result = await accessToken();
    if (!result || typeof result.token !== 'string' || result.token === '') {
      throw new CredentialsError('STREAM_APP_ERR_INVALID_TOKEN', 'accessToken() returned no token');
    }
    if (!Number.isFinite(result.expiresAt)) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        'accessToken() returned no expiresAt (epoch milliseconds)',
      );
    }
    if (typeof result.email !== 'string' || !result.email.includes('@')) {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        'accessToken() returned no email: Managed Kafka needs the account (service account email) as the principal',
      );
    }
    return { token: result.token, expiresAt: result.expiresAt, email: result.email };
  };
}

interface Answer {
  status: number;
  text: string;
}

/** One HTTP exchange; refusals and unreachable endpoints become StreamAppErrors without secrets. */
async function call(url: string, what: string, timeoutMs: number, init: RequestInit): Promise<Answer> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
    text = await response.text();
  } catch (error) {
    const hint = url.includes('computeMetadata')
      ? ' The metadata server exists only on Google Cloud (GCE, GKE, Cloud Run); elsewhere pass serviceAccountKey or accessToken.'
      : '';
    throw new CredentialsError(
      'STREAM_APP_ERR_IDP_UNREACHABLE',
      `${what} to ${url} could not be reached: ${redact(messageOf(error))}.${hint}`,
      { retriable: true, details: { endpoint: url } },
    );
  }
  if (response.ok) return { status: response.status, text };
  let error = 'http_error';
  let description = '';
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === 'string') error = body.error;
    if (typeof body.error_description === 'string') description = ` (${redact(body.error_description)})`;
  } catch {
    const line = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
    if (line) description = ` (${redact(line)})`;
  }
  const status = response.status;
  throw new CredentialsError(
    'STREAM_APP_ERR_TOKEN_ENDPOINT',
    `${what} at ${url} was refused: HTTP ${status} ${error}${description}${googleHint(url, status, error)}`,
    { retriable: status === 429 || status >= 500, details: { endpoint: url, status, error } },
  );
}

function googleHint(url: string, status: number, error: string): string {
  if (url.includes('/service-accounts/default/') && status === 404) {
    return '. No service account is attached to this VM or workload (or Workload Identity is not set up for its Kubernetes service account).';
  }
  if (error === 'invalid_grant') {
    return '. The key may be deleted or disabled, or the clock is off (the assertion is valid for one hour): create a new key or fix the time.';
  }
  if (error === 'invalid_scope') return `. The account may not be granted the scope ${CLOUD_PLATFORM_SCOPE}.`;
  return '';
}

function accessTokenFrom(answer: Answer, url: string): { token: string; expiresAt: number } {
  let body: { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
  try {
    body = JSON.parse(answer.text) as typeof body;
  } catch {
    throw new CredentialsError('STREAM_APP_ERR_INVALID_TOKEN', `${url} answered HTTP ${answer.status} without JSON`);
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new CredentialsError('STREAM_APP_ERR_INVALID_TOKEN', `${url} answered without an access_token`);
  }
  if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_TOKEN',
      `${url} returned a ${body.token_type} token, not a Bearer token`,
    );
  }
  const expiresIn = Number(body.expires_in);
  if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new CredentialsError('STREAM_APP_ERR_INVALID_TOKEN', `${url} answered without expires_in`);
  }
  return { token: body.access_token, expiresAt: Date.now() + expiresIn * 1000 };
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`;
}
