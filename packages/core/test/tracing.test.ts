// Tracing over the in-memory driver: W3C trace context in the messages' headers, and the spans an
// OpenTelemetry SDK (the test's, in memory) receives for producer -> agent -> sink.
import { context, propagation, SpanKind, SpanStatusCode, trace, type TextMapPropagator } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { App, type AppOptions } from '@stream-app/core';
import { testApp, type TestDriver } from '@stream-app/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const producer = provider.getTracer('test-producer');

beforeAll(() => {
  // What a user's SDK setup does: without a context manager there is no active span to continue.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => context.disable());

const drivers: TestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
  exporter.reset();
  propagation.disable();
});

function makeApp(options: Partial<AppOptions> = {}): App {
  return new App({
    id: 'traced',
    broker: 'kafka:9093',
    logger: { level: 'error', write: () => {} },
    tracing: { tracerProvider: provider },
    ...options,
  });
}

async function drive(app: App): Promise<TestDriver> {
  const driver = await testApp(app);
  drivers.push(driver);
  return driver;
}

/** orders -> charge (doubles n; throws on n < 0) -> charged. */
function chargeApp(options: Partial<AppOptions> = {}) {
  const app = makeApp(options);
  const orders = app.topic<{ n: number }>('orders');
  const charged = app.topic<{ n: number }>('charged');
  const agent = app.agent(
    orders,
    async function* charge(stream) {
      for await (const order of stream) {
        if (order.n < 0) throw new Error('negative order');
        yield { n: order.n * 2 };
      }
    },
    { sink: [charged] },
  );
  return { app, orders, charged, agent };
}

function span(name: string): ReadableSpan {
  const spans = exporter.getFinishedSpans().filter((candidate) => candidate.name === name);
  expect(
    spans.map((s) => s.name),
    `one span named '${name}' among ${names()}`,
  ).toEqual([name]);
  return spans[0]!;
}

function names(): string {
  return exporter
    .getFinishedSpans()
    .map((s) => s.name)
    .join(', ');
}

const parentOf = (child: ReadableSpan) => child.parentSpanContext?.spanId;

describe('tracing', () => {
  it('continues a producer trace through the agent to the sink', async () => {
    const { app, orders, charged } = chargeApp();
    const driver = await drive(app);
    await producer.startActiveSpan('checkout', async (checkout) => {
      await driver.put(orders, { n: 21 }, { key: 'order-1' });
      checkout.end();
    });

    const [out] = driver.sent(charged);
    expect(out?.value).toEqual({ n: 42 });
    const checkout = span('checkout');
    const traceId = checkout.spanContext().traceId;
    const [, sinkTraceId, sinkSpanId] = out!.headers['traceparent']!.split('-');
    expect(sinkTraceId).toBe(traceId);

    const publishOrders = span('orders publish');
    const process = span('orders process');
    const publishCharged = span('charged publish');
    expect(parentOf(publishOrders)).toBe(checkout.spanContext().spanId);
    expect(parentOf(process)).toBe(publishOrders.spanContext().spanId);
    expect(parentOf(publishCharged)).toBe(process.spanContext().spanId);
    expect(sinkSpanId).toBe(publishCharged.spanContext().spanId);
    for (const s of [publishOrders, process, publishCharged]) expect(s.spanContext().traceId).toBe(traceId);

    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(publishCharged.kind).toBe(SpanKind.PRODUCER);
    expect(process.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.kafka.destination.partition': driver.sent(orders)[0]!.partition,
      'messaging.kafka.offset': 0,
      'messaging.consumer.group.name': 'traced',
      'messaging.kafka.message.key': 'order-1',
      'stream_app.agent': 'charge',
    });
    expect(publishCharged.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'charged',
      'stream_app.agent': 'charge',
    });
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks the span of an event that failed the agent ERROR, and its dead letter continues the trace', async () => {
    const { app, orders } = chargeApp();
    const driver = await drive(app);
    const result = await driver.put(orders, { n: -1 });

    expect(result.deadLettered).toHaveLength(1);
    const process = span('orders process');
    expect(process.status.code).toBe(SpanStatusCode.ERROR);
    expect(process.events.map((event) => event.name)).toContain('exception');
    expect(String(process.events[0]?.attributes?.['exception.message'])).toContain('negative order');
    const dead = span('traced-dead-letters publish');
    expect(parentOf(dead)).toBe(process.spanContext().spanId);
    const [, traceId, spanId] = result.deadLettered[0]!.headers['traceparent']!.split('-');
    expect(traceId).toBe(process.spanContext().traceId);
    expect(spanId).toBe(dead.spanContext().spanId);
  });

  it('keeps a traceparent the user set on a message', async () => {
    const { app, orders } = chargeApp();
    const driver = await drive(app);
    const theirs = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await driver.put(orders, { n: 1 }, { headers: { traceparent: theirs } });

    expect(driver.sent(orders)[0]!.headers['traceparent']).toBe(theirs);
    expect(exporter.getFinishedSpans().map((s) => s.name)).not.toContain('orders publish');
    const process = span('orders process');
    expect(process.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(parentOf(process)).toBe('b7ad6b7169203331');
  });

  it('uses the propagator an SDK registered, when there is one', async () => {
    // A W3C propagator of the test's own that also writes a header of its own: proof that it is the one used.
    const marked: TextMapPropagator = {
      inject(ctx, carrier: Record<string, string>, setter) {
        const sc = trace.getSpanContext(ctx);
        if (sc) setter.set(carrier, 'traceparent', `00-${sc.traceId}-${sc.spanId}-01`);
        setter.set(carrier, 'x-marked', 'yes');
      },
      extract: (ctx) => ctx,
      fields: () => ['traceparent', 'x-marked'],
    };
    propagation.setGlobalPropagator(marked);
    const { app, orders, charged } = chargeApp();
    const driver = await drive(app);
    await driver.put(orders, { n: 2 });

    expect(driver.sent(charged)[0]!.headers['x-marked']).toBe('yes');
    // Its extract drops the context: the agent's span starts a trace of its own.
    expect(parentOf(span('orders process'))).toBeUndefined();
  });

  it('adds no header and makes no span when tracing is off', async () => {
    const { app, orders, charged } = chargeApp({ tracing: false });
    const driver = await drive(app);
    await producer.startActiveSpan('checkout', async (checkout) => {
      await driver.put(orders, { n: 1 });
      checkout.end();
    });

    expect(driver.sent(orders)[0]!.headers['traceparent']).toBeUndefined();
    expect(driver.sent(charged)[0]!.headers['traceparent']).toBeUndefined();
    expect(names()).toBe('checkout');
  });

  it('refuses a tracerProvider that is not one, naming the option', () => {
    expect(() => makeApp({ tracing: { tracerProvider: {} as never } })).toThrow(/tracing\.tracerProvider/);
  });
});
