// Microsoft Entra ID: app-only tokens by client credentials (a client secret
// or a certificate) at `<authorityHost>/<tenant>/oauth2/v2.0/token`, or from
// the Azure Instance Metadata Service for a managed identity. Entra's client
// credentials grant takes exactly one `<resource>/.default` scope; anything
// else is refused with AADSTS70011, so we refuse it first.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { decodeJwt } from 'jose';
import type { StreamAppError } from '@stream-app/credentials';
import {
  CredentialsError,
  AbstractTokenProvider,
  checkIdentityProviderUrl,
  ClientCredentialsProvider,
  redact,
  type AccessToken,
  type Secret,
  type SslContext,
} from '@stream-app/credentials';
import { HintedProvider } from './hinted-provider.js';

export interface EntraIdCertificate {
  /** PEM (PKCS#8) or KeyObject of the certificate's private key. */
  privateKey: string | KeyObject;
  /** The certificate uploaded to the app registration (Certificates & secrets), PEM. */
  certificate: string;
}

export interface EntraIdOptions {
  /** Directory (tenant) ID or a verified domain; not needed for a managed identity. */
  tenantId?: string;
  /** Application (client) ID of the app registration; not used for a managed identity. */
  clientId?: string;
  clientSecret?: string | Secret;
  certificate?: EntraIdCertificate;
  /** `true` for the system-assigned identity; `{ clientId }` for a user-assigned one. */
  managedIdentity?: true | { clientId?: string };
  /** `<resource>/.default`, e.g. `eventHubs({ namespace })` or `api://kafka-prod/.default`. */
  scope: string;
  /** Default `https://login.microsoftonline.com` (sovereign clouds: `https://login.microsoftonline.us`, ...). */
  authorityHost?: string;
  /** Default `http://169.254.169.254/metadata/identity/oauth2/token` (IMDS). */
  metadataEndpoint?: string;
  /** Plain HTTP to a loopback authority host (tests only). */
  allowInsecureLoopback?: boolean;
  ssl?: SslContext;
  timeoutMs?: number;
}

const DEFAULT_AUTHORITY = 'https://login.microsoftonline.com';
const DEFAULT_IMDS = 'http://169.254.169.254/metadata/identity/oauth2/token';
const DEFAULT_SUFFIX = '/.default';

/**
 * The scope for Azure Event Hubs' Kafka endpoint: `https://<namespace>.servicebus.windows.net/.default`.
 * `namespace` is the namespace name, or its full host name in a sovereign cloud.
 */
export function eventHubs(options: { namespace: string }): string {
  const namespace = options?.namespace?.trim() ?? '';
  const fail = (message: string) => new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `eventHubs(): ${message}`);
  if (!namespace) throw fail("namespace is required: the Event Hubs namespace name, e.g. 'orders-prod'");
  if (/[:/]/.test(namespace)) {
    throw fail(
      `namespace is a name like 'orders-prod' (or 'orders-prod.servicebus.windows.net'), not a URL: ${namespace}`,
    );
  }
  if (namespace.includes('.')) return `https://${namespace}${DEFAULT_SUFFIX}`;
  // Event Hubs: 6-50 letters, digits and hyphens, starting with a letter, ending with a letter or digit.
  if (!/^[A-Za-z][A-Za-z0-9-]{4,48}[A-Za-z0-9]$/.test(namespace)) {
    throw fail(
      `'${namespace}' is not an Event Hubs namespace name (6-50 letters, digits, hyphens; starts with a letter)`,
    );
  }
  return `https://${namespace}.servicebus.windows.net${DEFAULT_SUFFIX}`;
}

/**
 * App-only tokens from Microsoft Entra ID: client credentials with a client
 * secret or a certificate, or a managed identity through IMDS. Options are
 * checked before any request (one credential kind, a `<resource>/.default`
 * scope, a tenant for client credentials, endpoints allowed).
 */
export function entraId(options: EntraIdOptions): AbstractTokenProvider {
  const fail = (message: string) => new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `entraId(): ${message}`);
  if (!options || typeof options !== 'object') throw fail('pass an options object');
  const kinds = [
    options.clientSecret ? 'clientSecret' : undefined,
    options.certificate ? 'certificate' : undefined,
    options.managedIdentity ? 'managedIdentity' : undefined,
  ].filter((kind) => kind !== undefined);
  if (kinds.length !== 1) {
    throw fail(
      kinds.length === 0
        ? 'give one credential: clientSecret, certificate: { privateKey, certificate }, or managedIdentity: true'
        : `give one credential, not ${kinds.join(' and ')}`,
    );
  }
  const scope = checkScope(options.scope, fail);

  if (options.managedIdentity) {
    if (options.clientId) {
      throw fail(
        'clientId belongs to an app registration; for a user-assigned managed identity pass managedIdentity: { clientId }',
      );
    }
    const identity = options.managedIdentity === true ? {} : options.managedIdentity;
    if (identity.clientId !== undefined && !identity.clientId) throw fail('managedIdentity.clientId is empty');
    const endpoint = checkMetadataEndpoint(options.metadataEndpoint ?? DEFAULT_IMDS, fail);
    return new EntraManagedIdentityProvider(
      endpoint,
      scope.slice(0, -DEFAULT_SUFFIX.length),
      identity.clientId,
      options.timeoutMs ?? 10_000,
    );
  }

  if (!options.clientId) throw fail('clientId is required: the Application (client) ID of the app registration');
  const tenantId = checkTenant(options.tenantId, fail);
  const authority = (options.authorityHost ?? DEFAULT_AUTHORITY).replace(/\/+$/, '');
  checkIdentityProviderUrl(
    authority,
    { allowInsecureLoopback: options.allowInsecureLoopback ?? false },
    'authorityHost',
  );
  const tokenEndpoint = `${authority}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
  const common = {
    tokenEndpoint,
    clientId: options.clientId,
    scope,
    ...(options.allowInsecureLoopback ? { allowInsecureLoopback: true } : {}),
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  };
  const inner = options.certificate
    ? new ClientCredentialsProvider({
        ...common,
        // The client assertion's `aud` is the configuration's issuer; Entra wants the token endpoint there.
        issuer: tokenEndpoint,
        authMethod: 'private_key_jwt',
        ...certificateAuth(options.certificate, fail),
      })
    : new ClientCredentialsProvider({
        ...common,
        authMethod: 'client_secret_post',
        clientSecret: options.clientSecret as string | Secret,
      });
  const credential = options.certificate ? 'certificate' : 'client secret';
  return new HintedProvider(inner, {
    name: 'Entra ID',
    describe: `Entra ID client credentials (${credential}) for ${options.clientId} at ${tokenEndpoint}`,
    json: { provider: 'entra-id', clientId: options.clientId, tokenEndpoint, credential },
    // The AADSTS code is in the error description.
    hint: (error) => AADSTS_HINTS.find(([pattern]) => pattern.test(error.message))?.[1],
  });
}

function checkScope(scope: unknown, fail: (message: string) => StreamAppError): string {
  if (typeof scope !== 'string' || scope.trim() === '') {
    throw fail(
      "scope is required: '<resource>/.default', e.g. scope: eventHubs({ namespace: 'orders-prod' }) or 'api://kafka-prod/.default'",
    );
  }
  const trimmed = scope.trim();
  if (/\s/.test(trimmed)) {
    throw fail(`Entra ID's client credentials grant takes exactly one '<resource>/.default' scope, not '${trimmed}'`);
  }
  if (!trimmed.endsWith(DEFAULT_SUFFIX) || trimmed === DEFAULT_SUFFIX) {
    throw fail(
      `scope '${trimmed}' must end with '/.default': app-only tokens carry the application permissions granted ` +
        `to the app for a resource, named '<resource>/.default' (did you mean '${trimmed.replace(/\/+$/, '')}${DEFAULT_SUFFIX}'?)`,
    );
  }
  return trimmed;
}

function checkTenant(tenantId: string | undefined, fail: (message: string) => StreamAppError): string {
  if (!tenantId) throw fail('tenantId is required: the Directory (tenant) ID of the app registration');
  if (['common', 'organizations', 'consumers'].includes(tenantId.toLowerCase())) {
    throw fail(
      `tenantId '${tenantId}' does not work for app-only tokens: give the Directory (tenant) ID or a verified domain`,
    );
  }
  if (!/^[A-Za-z0-9.-]+$/.test(tenantId)) {
    throw fail(`tenantId '${tenantId}' is neither a tenant ID (GUID) nor a domain name`);
  }
  return tenantId;
}

// IMDS is plain HTTP by design; allow that, but only to the metadata address or a loopback test server.
const METADATA_HOSTS = /^(169\.254\.169\.254|localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

function checkMetadataEndpoint(endpoint: string, fail: (message: string) => StreamAppError): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw fail(`metadataEndpoint is not a URL: ${endpoint}`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !METADATA_HOSTS.test(url.hostname)) {
    throw new CredentialsError(
      'STREAM_APP_ERR_INSECURE_URL',
      `entraId(): metadataEndpoint ${url.origin} is not the Azure Instance Metadata Service: managed identity tokens come only from ` +
        'http://169.254.169.254 (or a loopback test server), never from another host',
    );
  }
  return url;
}

/** x5t#S256 (and the older x5t) of the certificate, after checking the key belongs to it. */
function certificateAuth(certificate: EntraIdCertificate, fail: (message: string) => StreamAppError) {
  if (!certificate.privateKey || !certificate.certificate) {
    throw fail('certificate needs both privateKey and certificate (PEM)');
  }
  let x509: X509Certificate;
  let key: KeyObject;
  try {
    x509 = new X509Certificate(certificate.certificate);
  } catch {
    throw fail('certificate.certificate is not a PEM X.509 certificate');
  }
  try {
    key =
      typeof certificate.privateKey === 'string' ? createPrivateKey(certificate.privateKey) : certificate.privateKey;
  } catch {
    throw fail('certificate.privateKey is not a PEM private key');
  }
  if (!x509.checkPrivateKey(key)) {
    throw fail(`certificate.privateKey does not belong to the certificate ${x509.subject.replace(/\n/g, ', ')}`);
  }
  return {
    privateKey: key,
    // Entra finds the certificate by thumbprint: x5t#S256 (SHA-256 of the DER); x5t (SHA-1) for older validation paths.
    assertionHeader: {
      'x5t#S256': createHash('sha256').update(x509.raw).digest('base64url'),
      x5t: createHash('sha1').update(x509.raw).digest('base64url'),
    },
  };
}

// The AADSTS codes people hit with app-only tokens for Kafka, and what to change.
const AADSTS_HINTS: Array<[RegExp, string]> = [
  [/AADSTS7000215\b/, 'the client secret is wrong: use the secret Value, not its Secret ID.'],
  [/AADSTS7000222\b/, 'the client secret has expired: create a new one under Certificates & secrets.'],
  [
    /AADSTS700027\b/,
    'the certificate is not registered on the app (upload it under Certificates & secrets) or the assertion was refused.',
  ],
  [/AADSTS700016\b/, 'no application with this client id exists in this tenant: check clientId and tenantId.'],
  [/AADSTS90002\b/, 'the tenant was not found: check tenantId (and authorityHost for sovereign clouds).'],
  [
    /AADSTS500011\b/,
    "the resource of the scope is not in this tenant: for Event Hubs use eventHubs({ namespace }); for your own API, its Application ID URI + '/.default'.",
  ],
  [/AADSTS70011\b/, "the scope must be a single '<resource>/.default'."],
  [/AADSTS1002012\b/, "the scope must be a single '<resource>/.default'."],
];

interface ImdsTokenResponse {
  access_token?: string;
  expires_on?: string | number;
  expires_in?: string | number;
  resource?: string;
  token_type?: string;
  error?: string;
  error_description?: string;
}

/** A managed identity's token from IMDS (`GET ...?api-version=2018-02-01&resource=...`, header `Metadata: true`). */
class EntraManagedIdentityProvider extends AbstractTokenProvider {
  readonly #endpoint: URL;
  readonly #resource: string;
  readonly #clientId: string | undefined;
  readonly #timeoutMs: number;

  constructor(endpoint: URL, resource: string, clientId: string | undefined, timeoutMs: number) {
    super();
    this.#endpoint = endpoint;
    this.#resource = resource;
    this.#clientId = clientId;
    this.#timeoutMs = timeoutMs;
  }

  async token(): Promise<AccessToken> {
    const url = new URL(this.#endpoint);
    url.searchParams.set('api-version', '2018-02-01');
    url.searchParams.set('resource', this.#resource);
    if (this.#clientId) url.searchParams.set('client_id', this.#clientId);
    const where = `${this.#endpoint.origin}${this.#endpoint.pathname}`;
    let response: Response;
    let text: string;
    try {
      // IMDS refuses proxied requests and redirects; go straight to it.
      response = await fetch(url, {
        headers: { Metadata: 'true' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw new CredentialsError(
        'STREAM_APP_ERR_IDP_UNREACHABLE',
        `the managed identity endpoint ${where} could not be reached: ${redact(messageOf(error))}. ` +
          'Managed identity works only on Azure (a VM, scale set, AKS node or container with an identity assigned).',
        { retriable: true, details: { endpoint: where } },
      );
    }
    let body: ImdsTokenResponse | undefined;
    try {
      body = JSON.parse(text) as ImdsTokenResponse;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const status = response.status;
      const error = body?.error ?? 'http_error';
      const description = body?.error_description ? ` (${redact(body.error_description)})` : '';
      // IMDS documents 404 and 410 (updating), 429 (throttled) and 5xx as transient.
      const retriable = status === 404 || status === 410 || status === 429 || status >= 500;
      throw new CredentialsError(
        'STREAM_APP_ERR_TOKEN_ENDPOINT',
        `managed identity token request for resource ${this.#resource} at ${where} was refused: HTTP ${status} ${error}${description}` +
          imdsHint(body?.error_description ?? '', this.#clientId),
        { retriable, details: { endpoint: where, status, error, resource: this.#resource } },
      );
    }
    if (!body || typeof body.access_token !== 'string' || body.access_token === '') {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        `the managed identity endpoint ${where} answered HTTP ${response.status} without an access_token`,
        { details: { endpoint: where } },
      );
    }
    if (body.token_type !== undefined && body.token_type.toLowerCase() !== 'bearer') {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        `the managed identity endpoint ${where} returned a ${body.token_type} token; Kafka needs a Bearer token`,
      );
    }
    const claims = decodeClaims(body.access_token);
    const expiresOn = Number(body.expires_on);
    const expiresIn = Number(body.expires_in);
    const expiresAt =
      Number.isFinite(expiresOn) && expiresOn > 0
        ? expiresOn * 1000
        : Number.isFinite(expiresIn) && expiresIn > 0
          ? Date.now() + expiresIn * 1000
          : typeof claims?.exp === 'number'
            ? claims.exp * 1000
            : Number.NaN;
    const principal = typeof claims?.sub === 'string' ? claims.sub : (this.#clientId ?? 'managed-identity');
    return { value: body.access_token, expiresAt, principal };
  }

  override describe(): string {
    const who = this.#clientId
      ? `user-assigned managed identity ${this.#clientId}`
      : 'system-assigned managed identity';
    return `Entra ID ${who} for ${this.#resource} via ${this.#endpoint.origin}${this.#endpoint.pathname}`;
  }

  [inspect.custom]() {
    return `EntraIdManagedIdentityProvider(${this.describe()})`;
  }

  toJSON() {
    return {
      provider: 'entra-id-managed-identity',
      resource: this.#resource,
      ...(this.#clientId ? { clientId: this.#clientId } : {}),
    };
  }
}

function imdsHint(description: string, clientId: string | undefined): string {
  if (/identity not found/i.test(description)) {
    return clientId
      ? `. No user-assigned identity with client id ${clientId} is assigned to this resource (Identity > User assigned).`
      : '. No system-assigned identity is enabled on this resource (Identity > System assigned), or several user-assigned ones need managedIdentity: { clientId }.';
  }
  if (/AADSTS500011\b/.test(description)) {
    return ". The resource is not in the identity's tenant: check the scope (for Event Hubs use eventHubs({ namespace })).";
  }
  return '';
}

function decodeClaims(token: string) {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${message}${cause}`;
}
