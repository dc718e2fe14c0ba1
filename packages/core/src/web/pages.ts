import { CoreError } from '../errors/index.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a page handler is given of the HTTP request (no framework types: pages outlive a server swap). */
export interface PageRequest {
  method: HttpMethod;
  /** The path as asked, e.g. `/orders/42`. */
  path: string;
  /** Path parameters, from `:name` segments of the page's path. */
  params: { [name: string]: string };
  query: { [name: string]: string | string[] };
  headers: { [name: string]: string | string[] | undefined };
  /** The decoded JSON body (POST, PUT, PATCH). */
  body: unknown;
  /** Who called, when the web server checks bearer tokens and the token was good. */
  principal?: string;
  scopes: string[];
}

/** What a handler returns: a value (sent as JSON, 200), `undefined` (204) or a `PageResponse`. */
export type PageHandler = (request: PageRequest) => unknown;

export interface PageOptions {
  /** HTTP methods served (default GET). */
  method?: HttpMethod | HttpMethod[];
  /** Scopes a bearer token must carry for this page, besides `web.auth.scopes`. */
  scopes?: string[];
  /** Served without a token even when `web.auth` is set (like `/health`). */
  public?: boolean;
}

/** A page the web server serves: `app.page(path, handler, options)` or `@page(path)` on a service method. */
export interface Page {
  path: string;
  methods: HttpMethod[];
  scopes: string[];
  public: boolean;
  handler: PageHandler;
}

/** A handler's answer when 200 + JSON is not it: a status, headers, and a body (JSON unless a string or Buffer). */
export class PageResponse {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: { [name: string]: string } = {},
  ) {}
}

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Paths the web server serves itself. */
export const RESERVED_PATHS = ['/health', '/ready', '/metrics', '/tables'];

export function makePage(path: string, handler: PageHandler, options: PageOptions = {}): Page {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new CoreError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `page path must start with '/', got ${JSON.stringify(path)}`,
      {
        details: { option: 'path' },
      },
    );
  }
  const reserved = RESERVED_PATHS.find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  if (reserved) {
    throw new CoreError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      `page ${path}: ${reserved} is served by the web server itself; choose another path`,
      { details: { option: 'path' } },
    );
  }
  if (typeof handler !== 'function') {
    throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `page ${path} needs a handler function`, {
      details: { option: 'handler' },
    });
  }
  const methods = [options.method ?? 'GET'].flat();
  for (const method of methods) {
    if (!METHODS.includes(method)) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `page ${path}: method must be one of ${METHODS.join(', ')}, got ${JSON.stringify(method)}`,
        { details: { option: 'method' } },
      );
    }
  }
  return { path, methods, scopes: options.scopes ?? [], public: options.public ?? false, handler };
}
