import { CoreError } from '../errors/index.js';

/** Bearer-token checks on the worker's web pages (the same identity provider as Kafka's, typically). */
export interface WebAuthOptions {
  /** The `iss` tokens must carry. */
  issuer: string | string[];
  /** The `aud` tokens must carry. */
  audience: string | string[];
  /** The provider's signing keys (the `jwks_uri` of its discovery document). */
  jwksUri: string;
  /**
   * `enforce` (default) refuses a request without a good token; `report` serves it and counts and logs
   * what enforce would have refused: the phased roll-out, while clients move to tokens.
   */
  mode?: 'enforce' | 'report';
  /** Scopes every protected page needs (a page's own `scopes` add to these). */
  scopes?: string[];
  /** Scopes `/metrics` needs besides `scopes`. */
  metricsScopes?: string[];
  /** Scopes the table views (`/tables/…`) need besides `scopes`. */
  tablesScopes?: string[];
  /** Allows an http:// JWKS on loopback (local test beds). */
  allowInsecureLoopback?: boolean;
  clockToleranceSec?: number;
}

/** The worker's web server: pages, `/health`, `/ready`, `/metrics` and table views (see docs/web.md). */
export interface WebOptions {
  /** Default 6066 (Faust's); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1: give `0.0.0.0` to serve other hosts. */
  host?: string;
  /** The URL other workers reach this one at, for table views (default `http://<host>:<port>`). */
  advertisedUrl?: string;
  auth?: WebAuthOptions;
}

export interface ResolvedWebOptions {
  port: number;
  host: string;
  advertisedUrl: string | undefined;
  auth: (WebAuthOptions & { mode: 'enforce' | 'report'; scopes: string[] }) | undefined;
}

function invalid(message: string, option: string): CoreError {
  return new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', message, { details: { option } });
}

export function resolveWebOptions(web: WebOptions | undefined): ResolvedWebOptions | undefined {
  if (web === undefined) return undefined;
  if (typeof web !== 'object' || web === null)
    throw invalid('App option web must be an object ({ port, host })', 'web');
  const port = web.port ?? 6066;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalid(`App option web.port must be a port number (0 for a free one), got ${String(web.port)}`, 'web.port');
  }
  const auth = web.auth;
  if (auth !== undefined) {
    for (const field of ['issuer', 'audience', 'jwksUri'] as const) {
      if (!auth[field] || (Array.isArray(auth[field]) && auth[field].length === 0)) {
        throw invalid(
          `App option web.auth.${field} is missing: tokens are checked against the issuer, the audience and the provider's keys (jwksUri)`,
          `web.auth.${field}`,
        );
      }
    }
    if (auth.mode !== undefined && auth.mode !== 'enforce' && auth.mode !== 'report') {
      throw invalid(
        `App option web.auth.mode must be enforce or report, got ${JSON.stringify(auth.mode)}`,
        'web.auth.mode',
      );
    }
  }
  return {
    port,
    host: web.host ?? '127.0.0.1',
    advertisedUrl: web.advertisedUrl,
    auth: auth && { ...auth, mode: auth.mode ?? 'enforce', scopes: auth.scopes ?? [] },
  };
}

/** The compacted topic where each worker announces its web URL and the table partitions it serves. */
export function membersTopicName(appId: string): string {
  return `${appId}-members`;
}
