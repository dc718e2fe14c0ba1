import type * as OtelApi from '@opentelemetry/api';
import type { SpanContext, TextMapPropagator } from '@opentelemetry/api';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

// version-traceid-parentid-flags (W3C Trace Context); a later version may append fields, which are ignored.
const TRACEPARENT_FORMAT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * W3C trace context (`traceparent`, `tracestate`) for when no SDK registered a global propagator:
 * the api's default one does nothing, and the SDK's own W3C propagator is not a dependency of ours.
 * Only the header format is parsed here; ids and trace state are checked by the api's own functions.
 */
export function w3cPropagator(api: typeof OtelApi): TextMapPropagator {
  const parse = (value: string | undefined): SpanContext | undefined => {
    const match = value === undefined ? null : TRACEPARENT_FORMAT.exec(value.trim());
    if (!match) return undefined;
    const [, version, traceId, spanId, flags, rest] = match;
    if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
    const parsed = { traceId: traceId!, spanId: spanId!, traceFlags: parseInt(flags!, 16), isRemote: true };
    return api.isSpanContextValid(parsed) ? parsed : undefined; // all-zero ids are invalid
  };
  return {
    inject(context, carrier, setter) {
      const span = api.trace.getSpanContext(context);
      if (!span || !api.isSpanContextValid(span)) return;
      const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
      setter.set(carrier, TRACEPARENT, `00-${span.traceId}-${span.spanId}-${flags}`);
      const state = span.traceState?.serialize();
      if (state) setter.set(carrier, TRACESTATE, state);
    },
    extract(context, carrier, getter) {
      const parent = getter.get(carrier, TRACEPARENT);
      const span = parse(Array.isArray(parent) ? parent[0] : parent);
      if (!span) return context;
      const state = getter.get(carrier, TRACESTATE);
      const traceState = Array.isArray(state) ? state.join(',') : state;
      return api.trace.setSpanContext(
        context,
        traceState ? { ...span, traceState: api.createTraceState(traceState) } : span,
      );
    },
    fields: () => [TRACEPARENT, TRACESTATE],
  };
}
