import type * as OtelApi from '@opentelemetry/api';
import type { Attributes, Context, TextMapGetter, TextMapPropagator, TextMapSetter, Tracer } from '@opentelemetry/api';
import { currentScope } from '../agents/current-event.js';
import type { Sensor } from '../sensors/sensor.js';
import type { StreamEvent } from '../streams/event.js';
import type { MessageHeaders, OutgoingMessage } from '../transport/transport.js';
import type { ResolvedTracingOptions } from './tracing-options.js';
import { w3cPropagator } from './w3c-propagator.js';

const TRACEPARENT = 'traceparent';
const TRACESTATE = 'tracestate';

type OutgoingHeaders = NonNullable<OutgoingMessage['headers']>;

/** A fetched message's headers as a propagator reads them: text, every value of a repeated name. */
const incoming: TextMapGetter<MessageHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => {
    const value = headers[key];
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.map((one) => one.toString()) : value.toString();
  },
};

const outgoing: TextMapSetter<OutgoingHeaders> = {
  set: (headers, key, value) => {
    headers[key] = value;
  },
};

/** A Kafka key as a span attribute, when it is text a person can read. */
function printable(key: Buffer | null): string | undefined {
  if (!key || key.length === 0 || key.length > 256) return undefined;
  const text = key.toString('utf8');
  return /[\p{Cc}\uFFFD]/u.test(text) ? undefined : text;
}

function firstText(value: Buffer | string | Array<Buffer | string> | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first?.toString();
}

/**
 * W3C trace context through Kafka, over `@opentelemetry/api` only: an agent's work on an event is a
 * CONSUMER span, child of the context its message carries; what is produced meanwhile is a PRODUCER
 * span, child of that one, whose context goes into the message's headers. Made only when the app's
 * `tracing` option is on: the api is loaded then, and an app without it does none of this.
 */
export class Tracing implements Sensor {
  readonly #api: typeof OtelApi;
  readonly #tracer: Tracer;
  readonly #group: string;
  readonly #w3c: TextMapPropagator;
  /** The context of each event's span (span and what else the message carried, such as baggage). */
  readonly #events = new WeakMap<StreamEvent, Context>();

  /** Loads the api only now: an app without tracing never pays its import. */
  static async load(options: ResolvedTracingOptions, group: string): Promise<Tracing> {
    return new Tracing(await import('@opentelemetry/api'), options, group);
  }

  constructor(api: typeof OtelApi, options: ResolvedTracingOptions, group: string) {
    this.#api = api;
    this.#tracer = (options.tracerProvider ?? api.trace.getTracerProvider()).getTracer('@stream-app/core');
    this.#group = group;
    this.#w3c = w3cPropagator(api);
  }

  /** The SDK's propagator once one is registered (it may add baggage or other formats), else plain W3C. */
  get #propagator(): Pick<TextMapPropagator, 'inject' | 'extract'> {
    const propagation = this.#api.propagation;
    return propagation.fields().length > 0 ? propagation : this.#w3c;
  }

  /** An agent's stream handed the event out: its span starts, child of the message's trace context. */
  received(event: StreamEvent, agent: string): void {
    if (this.#events.has(event)) return;
    const api = this.#api;
    const parent = this.#propagator.extract(api.ROOT_CONTEXT, event.headers, incoming);
    const attributes: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': event.topic,
      'messaging.kafka.destination.partition': event.partition,
      'messaging.kafka.offset': event.offset,
      'messaging.consumer.group.name': this.#group,
      'stream_app.agent': agent,
    };
    const key = printable(event.message.key);
    if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
    const span = this.#tracer.startSpan(`${event.topic} process`, { kind: api.SpanKind.CONSUMER, attributes }, parent);
    this.#events.set(event, api.trace.setSpan(parent, span));
  }

  /** The event failed its agent, or went to the dead-letter topic. */
  failed(event: StreamEvent, error: Error): void {
    const context = this.#events.get(event);
    const span = context && this.#api.trace.getSpan(context);
    if (!span) return;
    span.recordException(error);
    span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: error.message });
  }

  /** Ends the event's span: it is acknowledged, or will never be (its agent failed under `stop`). */
  end(event: StreamEvent): void {
    const context = this.#events.get(event);
    if (!context) return;
    this.#events.delete(event);
    this.#api.trace.getSpan(context)?.end();
  }

  onEventAcked(event: StreamEvent): void {
    this.end(event);
  }

  /**
   * Sends `message` with `send` inside a PRODUCER span, its context injected into the headers. The
   * parent is the span of the event the calling agent works on; outside agents, the active context
   * (the caller's own span). A traceparent the caller set is theirs: the message goes as it is.
   */
  publish(message: OutgoingMessage, send: (message: OutgoingMessage) => Promise<void>): Promise<void> {
    const api = this.#api;
    const scope = currentScope();
    const event = scope?.currentEvent;
    const given = firstText(message.headers?.[TRACEPARENT]);
    // Copied from the event (echo, dead letters) it is replaced; set any other way it is kept.
    if (given !== undefined && given !== firstText(event?.headers[TRACEPARENT])) return send(message);
    const parent = (event && this.#events.get(event)) ?? api.context.active();
    const attributes: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.name': 'publish',
      'messaging.operation.type': 'send',
      'messaging.destination.name': message.topic,
    };
    if (message.partition !== undefined) attributes['messaging.kafka.destination.partition'] = message.partition;
    const key = printable(message.key);
    if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
    if (scope) attributes['stream_app.agent'] = scope.agent.name;
    const span = this.#tracer.startSpan(
      `${message.topic} publish`,
      { kind: api.SpanKind.PRODUCER, attributes },
      parent,
    );
    const headers: OutgoingHeaders = { ...message.headers };
    delete headers[TRACEPARENT];
    delete headers[TRACESTATE];
    this.#propagator.inject(api.trace.setSpan(parent, span), headers, outgoing);
    const sent = send({ ...message, headers });
    sent.then(
      () => span.end(),
      (error: unknown) => {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: (error as Error)?.message ?? String(error) });
        span.end();
      },
    );
    return sent;
  }
}
