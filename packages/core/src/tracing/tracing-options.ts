import type { TracerProvider } from '@opentelemetry/api';
import { CoreError } from '../errors/index.js';

/**
 * `true`: spans go to the global tracer provider (`trace.getTracerProvider()`, the one your SDK
 * registers); `{ tracerProvider }`: to that provider. Off by default.
 */
export type TracingOptions = boolean | { tracerProvider?: TracerProvider };

/** Tracing is on; `tracerProvider` undefined means the global one. */
export interface ResolvedTracingOptions {
  tracerProvider: TracerProvider | undefined;
}

export function resolveTracingOptions(given: TracingOptions | undefined): ResolvedTracingOptions | undefined {
  if (given === undefined || given === false) return undefined;
  if (given === true) return { tracerProvider: undefined };
  const provider: unknown = typeof given === 'object' && given !== null ? given.tracerProvider : null;
  if (provider === undefined) return { tracerProvider: undefined };
  if (typeof (provider as { getTracer?: unknown } | null)?.getTracer !== 'function') {
    throw new CoreError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      'App option tracing must be true, false or { tracerProvider }, and tracing.tracerProvider an OpenTelemetry TracerProvider (with getTracer)',
    );
  }
  return { tracerProvider: provider as TracerProvider };
}
