/**
 * The worker's web server: pages, health, readiness, Prometheus metrics, table views, bearer tokens on routes.
 *
 * @module @stream-app/web
 */
export { startWebServer } from './server.js';
export type { WebServer, WebServerOptions } from './server.js';
export { BearerGuard } from './auth/bearer-guard.js';
export type { AuthOutcome, AuthResult, Refusal } from './auth/bearer-guard.js';
export { WorkerMetrics } from './metrics/worker-metrics.js';
export { Readiness } from './health/readiness.js';
export type { ReadinessCheck } from './health/readiness.js';
export { WebError } from './errors.js';
export type { WebErrorCode } from './errors.js';
