import type { App, Page, PageRequest, ResolvedWebOptions, WebOptions } from '@stream-app/core';
import { PageResponse, resolveWebOptions } from '@stream-app/core';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BearerGuard, type AuthResult } from './auth/bearer-guard.js';
import { WebError } from './errors.js';
import { Readiness } from './health/readiness.js';
import { WorkerMetrics } from './metrics/worker-metrics.js';
import { ReportLog } from './auth/report-log.js';
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

/** What the guard of a route needs to know of it. */
interface RouteAuth {
  route: string;
  public: boolean;
  scopes: readonly string[];
}

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
  const server = Fastify({ logger: false, forceCloseConnections: true });

  /** Checks the request's token for a route; false when the request was answered (refused). */
  const authorize = async (request: FastifyRequest, reply: FastifyReply, route: RouteAuth): Promise<boolean> => {
    if (!guard || route.public) return true;
    const result: AuthResult = await guard.check(request.headers.authorization, route.scopes);
    metrics.webAuthentication(route.route, result.outcome, guard.mode);
    if (result.outcome === 'allowed' || result.token) {
      (request as { principal?: string }).principal = result.token!.principal;
      (request as { scopes?: string[] }).scopes = result.token!.scopes;
    }
    if (result.outcome === 'allowed') return true;
    if (guard.mode === 'report') {
      reports.wouldRefuse(route.route, result.outcome, request.method);
      return true;
    }
    const { refusal } = result;
    if (refusal.challenge) void reply.header('www-authenticate', refusal.challenge);
    await reply.code(refusal.status).header('cache-control', 'no-store').send(refusal.body);
    return false;
  };

  server.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(failure('STREAM_APP_ERR_WEB_NOT_FOUND', `nothing is served at ${request.method} ${request.url}`)),
  );
  // Never a stack trace: the error goes to the log, the answer says what and which code.
  server.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status < 500)
      return reply.code(status).send(failure(error.code ?? 'STREAM_APP_ERR_WEB_BAD_REQUEST', error.message));
    logger.error('a page failed', {
      code: 'STREAM_APP_ERR_PAGE_FAILED',
      route: request.routeOptions.url ?? request.url,
      error,
    });
    return reply.code(500).send(failure('STREAM_APP_ERR_PAGE_FAILED', 'the page failed; the worker log has the error'));
  });

  server.get('/health', () => ({ status: 'ok', app: app.id, state: app.state }));
  server.get('/ready', async (_request, reply) => {
    const checks = readiness.checks();
    const ready = checks.every((check) => check.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks });
  });
  server.get('/metrics', async (request, reply) => {
    if (!(await authorize(request, reply, { route: '/metrics', public: false, scopes: [] }))) return reply;
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.text());
  });

  const views = new TableViews(app, logger);
  server.get('/tables/:name/:key', async (request, reply) => {
    if (!(await authorize(request, reply, { route: '/tables/:name/:key', public: false, scopes: [] }))) return reply;
    const { name, key } = request.params as { name: string; key: string };
    const answer = await views.lookup(name, key, request.headers);
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });

  for (const page of app.pages) addPage(server, page, authorize);

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
  const url = `http://${web.host.includes(':') ? `[${web.host}]` : web.host}:${port}`;
  await views.start(web.advertisedUrl ?? url);
  logger.info('web server listening', { url, auth: web.auth ? web.auth.mode : 'none' });
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

function addPage(
  server: FastifyInstance,
  page: Page,
  authorize: (request: FastifyRequest, reply: FastifyReply, route: RouteAuth) => Promise<boolean>,
): void {
  server.route({
    method: page.methods,
    url: page.path,
    handler: async (request, reply) => {
      if (!(await authorize(request, reply, { route: page.path, public: page.public, scopes: page.scopes })))
        return reply;
      const given = request as FastifyRequest & { principal?: string; scopes?: string[] };
      const pageRequest: PageRequest = {
        method: request.method as PageRequest['method'],
        path: request.url.split('?')[0]!,
        params: (request.params ?? {}) as PageRequest['params'],
        query: (request.query ?? {}) as PageRequest['query'],
        headers: request.headers,
        body: request.body,
        ...(given.principal !== undefined ? { principal: given.principal } : {}),
        scopes: given.scopes ?? [],
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
