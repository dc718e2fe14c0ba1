import { hostname } from 'node:os';
import type { App, Page, PageRequest, ResolvedWebOptions, WebOptions } from '@stream-app/core';
import { PageResponse, resolveWebOptions } from '@stream-app/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { BearerGuard } from './auth/bearer-guard.js';
import { ReportLog } from './auth/report-log.js';
import { WebError } from './errors.js';
import { Readiness } from './health/readiness.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { TableViews } from './tables/table-views.js';

export interface WebServerOptions {
  /** Instead of the app's `web` option. */
  web?: WebOptions;
}

/** A running web server of a worker. */
export interface WebServer {
  /** Where it listens, e.g. `http://127.0.0.1:6066`. */
  readonly url: string;
  readonly metrics: WorkerMetrics;
  /** Stops listening and removes its sensors from the app (after the app stopped, or before). */
  close(): Promise<void>;
}

/** What the guard of a route needs to know of it (fastify's per-route `config`). */
interface RouteAuth {
  route: string;
  public: boolean;
  scopes: readonly string[];
}

/** Who called, once the guard let the request through with a good token. */
interface Caller {
  principal?: string;
  scopes?: string[];
}

const WILDCARD_HOSTS = ['0.0.0.0', '::', ''];

/**
 * Starts the worker's web server (fastify): `/health`, `/ready`, `/metrics`, `/tables/:name/:key` and
 * the app's pages, bearer tokens checked on all but `/health`, `/ready` and public pages when `web.auth`
 * is set. `stream-app worker` calls it when the app has the `web` option; call it yourself otherwise.
 */
export async function startWebServer(app: App, options: WebServerOptions = {}): Promise<WebServer> {
  const web: ResolvedWebOptions =
    (options.web ? resolveWebOptions(options.web) : app.options.web) ?? resolveWebOptions({})!;
  const logger = app.logger.child({ source: 'web' });
  const metrics = new WorkerMetrics(app);
  const readiness = new Readiness(app);
  const removeSensors = [app.addSensor(metrics), app.addSensor(readiness)];
  const guard = web.auth && new BearerGuard(web.auth);
  const reports = new ReportLog(logger);
  // Table keys are path segments: room for long ones (fastify's default is 100 characters).
  const server = Fastify({ logger: false, forceCloseConnections: true, routerOptions: { maxParamLength: 1000 } });

  // Before the body is read: a request without a good token learns that first, whatever it sends.
  server.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.config as Partial<RouteAuth>;
    if (!guard || route.route === undefined || route.public) return;
    const result = await guard.check(request.headers.authorization, route.scopes ?? []);
    metrics.webAuthentication(route.route, result.outcome, guard.mode);
    if (result.token) Object.assign(request, { principal: result.token.principal, scopes: result.token.scopes });
    if (result.outcome === 'allowed') return;
    if (guard.mode === 'report') {
      reports.wouldRefuse(route.route, result.outcome, request.method);
      return;
    }
    const { refusal } = result;
    if (refusal.challenge) void reply.header('www-authenticate', refusal.challenge);
    return reply.code(refusal.status).header('cache-control', 'no-store').send(refusal.body);
  });

  server.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(
        failure('STREAM_APP_ERR_WEB_NOT_FOUND', `nothing is served at ${request.method} ${request.url.split('?')[0]}`),
      ),
  );
  // Never a stack trace nor a framework's code: the error goes to the log, the answer says what and which code.
  server.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send(failure('STREAM_APP_ERR_WEB_BAD_REQUEST', error.message));
    }
    logger.error('a page failed', {
      code: 'STREAM_APP_ERR_PAGE_FAILED',
      route: request.routeOptions.url ?? request.url.split('?')[0],
      error,
    });
    return reply.code(500).send(failure('STREAM_APP_ERR_PAGE_FAILED', 'the page failed; the worker log has the error'));
  });

  const open = (route: string): RouteAuth => ({ route, public: true, scopes: [] });
  const guarded = (route: string, scopes: readonly string[]): RouteAuth => ({ route, public: false, scopes });

  server.get('/health', { config: open('/health') }, (_request, reply) => {
    const failed = app.failure !== undefined;
    return reply.code(failed ? 503 : 200).send({ status: failed ? 'failed' : 'ok', app: app.id, state: app.state });
  });
  server.get('/ready', { config: open('/ready') }, async (_request, reply) => {
    const checks = readiness.checks();
    const ready = checks.every((check) => check.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  server.get('/metrics', { config: guarded('/metrics', web.auth?.metricsScopes ?? []) }, async (_request, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.text()),
  );

  const views = new TableViews(app, logger);
  server.get(
    '/tables/:name/:key',
    { config: guarded('/tables/:name/:key', web.auth?.tablesScopes ?? []) },
    async (request, reply) => {
      const { name, key } = request.params as { name: string; key: string };
      const answer = await views.lookup(name, key, request.headers);
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    },
  );

  for (const page of app.pages) addPage(server, page, { route: page.path, public: page.public, scopes: page.scopes });

  try {
    await server.listen({ port: web.port, host: web.host });
  } catch (error) {
    for (const remove of removeSensors) remove();
    throw new WebError(
      'STREAM_APP_ERR_WEB_LISTEN',
      `the web server cannot listen on ${web.host}:${web.port}: ${(error as Error).message}; choose another web.port (0 picks a free one)`,
      { cause: error },
    );
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : web.port;
  const at = (host: string) => `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const url = at(web.host);
  // Listening on every address: other workers reach this one by its host name, unless told otherwise.
  const advertised = web.advertisedUrl ?? (WILDCARD_HOSTS.includes(web.host) ? at(hostname()) : url);
  await views.start(advertised);
  logger.info('web server listening', { url, advertised, auth: web.auth ? web.auth.mode : 'none' });
  return {
    url,
    metrics,
    close: async () => {
      await views.stop();
      for (const remove of removeSensors) remove();
      await server.close();
    },
  };
}

function failure(code: string, message: string): { code: string; message: string } {
  return { code, message };
}

function addPage(server: FastifyInstance, page: Page, route: RouteAuth): void {
  server.route({
    method: page.methods,
    url: page.path,
    config: route,
    handler: async (request, reply) => {
      const caller = request as FastifyRequest & Caller;
      // The token stays with the server: a page learns who called from `principal` and `scopes`.
      const { authorization: _token, ...headers } = request.headers;
      const pageRequest: PageRequest = {
        method: request.method as PageRequest['method'],
        path: request.url.split('?')[0]!,
        params: (request.params ?? {}) as PageRequest['params'],
        query: (request.query ?? {}) as PageRequest['query'],
        headers,
        body: request.body,
        ...(caller.principal !== undefined ? { principal: caller.principal } : {}),
        scopes: caller.scopes ?? [],
      };
      const result = await page.handler(pageRequest);
      if (result instanceof PageResponse) {
        void reply.code(result.status).headers(result.headers);
        return reply.send(result.body);
      }
      if (result === undefined) return reply.code(204).send();
      return reply.send(result);
    },
  });
}
