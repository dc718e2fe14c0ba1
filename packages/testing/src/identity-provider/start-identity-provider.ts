import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider, { errors } from 'oidc-provider';
import { registerExtraGrants } from './extra-grants.js';
import { generateSigningKey, publicJwk, type SigningAlgorithm } from './keys.js';
import { memoryAdapterFactory } from './memory-adapter.js';

export type { SigningAlgorithm } from './keys.js';

export type GrantType =
  | 'client_credentials'
  | 'refresh_token'
  | 'password'
  | 'urn:ietf:params:oauth:grant-type:jwt-bearer'
  | 'urn:ietf:params:oauth:grant-type:token-exchange';

export interface IdentityProviderClient {
  /** Also the `sub` of its access tokens, so the Kafka principal is `User:<clientId>`. */
  clientId: string;
  /** For `client_secret_basic` / `client_secret_post`. */
  clientSecret?: string;
  /** A public JWK: the client authenticates with `private_key_jwt` instead of a secret. */
  publicKey?: JWK;
  /** Defaults to `client_secret_basic` with a secret, `private_key_jwt` with a public key. */
  authMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  grants?: GrantType[];
  scopes?: string[];
  /** Its client-credentials access tokens live this long (default: the provider's `accessTokenLifetimeSec`). */
  accessTokenLifetimeSec?: number;
}

export interface IdentityProviderOptions {
  clients: IdentityProviderClient[];
  /** The resource indicator used when a client asks for none; becomes the token's `aud`. Must be an absolute URI. */
  audience?: string;
  algorithm?: SigningAlgorithm;
  accessTokenLifetimeSec?: number;
  /** Users for the (legacy) password grant. */
  users?: Array<{ username: string; password: string }>;
  /** Public keys trusted to sign RFC 7523 JWT bearer assertions. */
  trustedAssertionKeys?: JWK[];
}

export interface TokenRequestStats {
  /** Requests to the token endpoint since start (any outcome). */
  tokenRequests: number;
  /** The same, by the client id of the request's HTTP Basic authentication (client_secret_basic). */
  tokenRequestsByClient: { [clientId: string]: number };
}

/** What tests in other processes need to reach the provider (see `startTestbed`). */
export interface IdentityProviderInfo {
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  audience: string;
  algorithm: SigningAlgorithm;
  /** The current private signing key, so tests can mint tokens with chosen claims. */
  signingKey: JWK;
}

export interface IdentityProvider extends IdentityProviderInfo {
  readonly stats: TokenRequestStats;
  /** Signs a token with the provider's current key and the claims given (defaults: iss, aud, iat, exp in 60 s). */
  mintToken(claims: JWTPayload, options?: { key?: JWK; header?: Record<string, unknown> }): Promise<string>;
  /** Stops answering; connections are closed. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same keys (after `stop()` this ends a simulated outage). */
  restart(): Promise<void>;
  /** Signs with a new key from now on; the old public key stays in the JWKS so issued tokens stay valid. */
  rotateKeys(): Promise<void>;
}

const DEFAULT_AUDIENCE = 'urn:kafka:broker';

/** Starts a real OpenID provider (`oidc-provider`) on 127.0.0.1 on a free port. */
export async function startIdentityProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const algorithm = options.algorithm ?? 'RS256';
  const lifetime = options.accessTokenLifetimeSec ?? 300;
  let keys: JWK[] = [await generateSigningKey(algorithm)];
  const stats: TokenRequestStats = { tokenRequests: 0, tokenRequestsByClient: {} };
  const sockets = new Set<Socket>();

  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => {};
  const server: Server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token')) {
      stats.tokenRequests += 1;
      const clientId = basicClientId(req.headers.authorization);
      if (clientId) stats.tokenRequestsByClient[clientId] = (stats.tokenRequestsByClient[clientId] ?? 0) + 1;
    }
    handler(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await listen(server, 0);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('identity provider did not get a port');
  const port = address.port;
  const issuer = `http://127.0.0.1:${port}`;

  const adapter = memoryAdapterFactory();
  const refreshTokens = new Map<string, { sub: string; clientId: string; scope: string }>();
  const build = () => {
    const provider = createProvider(issuer, keys, options.clients, audience, algorithm, lifetime, adapter);
    registerExtraGrants(provider, {
      issuer,
      audience,
      lifetimeSec: lifetime,
      trustedAssertionKeys: options.trustedAssertionKeys ?? [],
      users: options.users ?? [],
      publicKeys: () => keys.map(publicJwk),
      sign: (claims) => idp.mintToken(claims),
      refreshTokens,
    });
    handler = provider.callback();
  };
  const current = () => keys[0] as JWK;
  const idp: IdentityProvider = {
    issuer,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    audience,
    algorithm,
    get signingKey() {
      return current();
    },
    stats,
    async mintToken(claims, mintOptions = {}) {
      const key = mintOptions.key ?? current();
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: audience, iat: now, exp: now + 60, ...claims })
        .setProtectedHeader({ alg: key.alg ?? algorithm, kid: key.kid, typ: 'at+jwt', ...mintOptions.header })
        .sign(await importJWK(key, key.alg ?? algorithm));
    },
    async stop() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async restart() {
      await idp.stop();
      await listen(server, port);
    },
    async rotateKeys() {
      keys = [await generateSigningKey(algorithm), ...keys];
      build();
    },
  };
  build();
  return idp;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The client id of an HTTP Basic `Authorization` header (form-encoded, RFC 6749 §2.3.1). */
function basicClientId(header: string | undefined): string | undefined {
  const match = /^Basic\s+(.+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString();
  const colon = decoded.indexOf(':');
  return colon > 0 ? decodeURIComponent(decoded.slice(0, colon).replaceAll('+', ' ')) : undefined;
}

function createProvider(
  issuer: string,
  keys: JWK[],
  clients: IdentityProviderClient[],
  audience: string,
  algorithm: SigningAlgorithm,
  lifetime: number,
  adapter: ReturnType<typeof memoryAdapterFactory>,
): Provider {
  const scopes = new Set(['kafka', ...clients.flatMap((client) => client.scopes ?? [])]);
  const lifetimes = new Map(clients.map((client) => [client.clientId, client.accessTokenLifetimeSec ?? lifetime]));
  const lifetimeOf = (client: { clientId: string } | undefined) =>
    (client && lifetimes.get(client.clientId)) ?? lifetime;
  const provider = new Provider(issuer, {
    adapter,
    clients: clients.map((client) => toClientMetadata(client, algorithm)),
    jwks: { keys: keys as never },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    scopes: [...scopes],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf ?? audience,
        useGrantedResource: async () => true,
        // Any absolute URI is a resource server here, so tests can ask for a token with the wrong audience.
        getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
          if (!/^[a-z][a-z0-9+.-]*:/i.test(resourceIndicator)) throw new errors.InvalidTarget();
          return {
            scope: [...scopes].join(' '),
            audience: resourceIndicator,
            accessTokenTTL: lifetimeOf(client),
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: algorithm } },
          };
        },
      },
    },
    ttl: {
      AccessToken: lifetime,
      ClientCredentials: (_ctx, _token, client) => lifetimeOf(client),
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Session: 24 * 3600,
      Interaction: 3600,
      IdToken: lifetime,
    },
  });
  return provider;
}

function toClientMetadata(client: IdentityProviderClient, algorithm: SigningAlgorithm) {
  if (!client.clientSecret && !client.publicKey) {
    throw new Error(`identity provider client ${client.clientId}: give a clientSecret or a publicKey`);
  }
  const authMethod = client.authMethod ?? (client.publicKey ? 'private_key_jwt' : 'client_secret_basic');
  return {
    client_id: client.clientId,
    ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
    ...(client.publicKey ? { jwks: { keys: [client.publicKey] } } : {}),
    token_endpoint_auth_method: authMethod,
    // Must match a key the provider has, or ES256-only providers refuse the client.
    id_token_signed_response_alg: algorithm,
    grant_types: client.grants ?? ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  };
}
