// Tracing against the real broker: a trace a producer starts goes through Kafka's headers into the
// worker's agent and out to the sink, and the spans an OpenTelemetry SDK (in memory) receives chain.
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopic, eventually, makeApp, readTopic, stoppedAfterEachTest, uniqueName } from './helpers/broker.js';

const track = stoppedAfterEachTest();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracing = { tracerProvider: provider };

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => context.disable());

function spansOf(traceId: string): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
}

function named(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((span) => span.name === name);
  expect(found, `one '${name}' among ${spans.map((span) => span.name).join(', ')}`).toHaveLength(1);
  return found[0]!;
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const traceparent = (traceId: string, spanId: string) => new RegExp(`^00-${traceId}-${spanId}-01$`);

describe('tracing against a real broker', () => {
  it('continues a trace started by a producer through the agent to the sink', async () => {
    const source = uniqueName('orders');
    const sink = uniqueName('charged');
    await createTopic(source);
    await createTopic(sink);
    const worker = track(makeApp({ id: uniqueName('traced-worker'), tracing }));
    worker.agent(
      worker.topic<{ n: number }>(source),
      async function* charge(stream) {
        for await (const order of stream) yield { n: order.n * 2 };
      },
      { sink: [worker.topic(sink)] },
    );
    await worker.start();
    const client = track(makeApp({ id: uniqueName('traced-client'), tracing }));
    await client.connect();

    const checkout = provider.getTracer('shop');
    const traceId = await checkout.startActiveSpan('checkout', async (span) => {
      await client.send(source, { key: 'order-7', value: { n: 21 } });
      span.end();
      return span.spanContext().traceId;
    });

    const [out] = await readTopic(sink, 1);
    expect(JSON.parse(out!.value!)).toEqual({ n: 42 });
    await eventually(() => spansOf(traceId).length === 4, 'the four spans of the trace');
    const spans = spansOf(traceId);
    const root = named(spans, 'checkout');
    const sent = named(spans, `${source} publish`);
    const processed = named(spans, `${source} process`);
    const charged = named(spans, `${sink} publish`);
    expect(parentOf(root)).toBeUndefined();
    expect(parentOf(sent)).toBe(root.spanContext().spanId);
    expect(parentOf(processed)).toBe(sent.spanContext().spanId);
    expect(parentOf(charged)).toBe(processed.spanContext().spanId);
    expect(out!.headers['traceparent']).toMatch(traceparent(traceId, charged.spanContext().spanId));

    expect([sent.kind, processed.kind, charged.kind]).toEqual([
      SpanKind.PRODUCER,
      SpanKind.CONSUMER,
      SpanKind.PRODUCER,
    ]);
    expect(processed.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': source,
      'messaging.kafka.destination.partition': 0,
      'messaging.kafka.offset': 0,
      'messaging.consumer.group.name': worker.id,
      'messaging.kafka.message.key': 'order-7',
      'stream_app.agent': 'charge',
    });
    // Nothing spans the broker itself: the consumer's span starts after the producer's ended.
    expect(processed.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks a failed event ERROR and its dead letter carries the same trace', async () => {
    const source = uniqueName('orders');
    const deadLetters = uniqueName('dead');
    await createTopic(source);
    const worker = track(makeApp({ id: uniqueName('traced-dlq'), deadLetterTopic: deadLetters, tracing }));
    worker.agent(worker.topic(source), async function refuse(stream) {
      for await (const order of stream) throw new Error(`refused ${JSON.stringify(order)}`);
    });
    await worker.start();

    const traceId = await provider.getTracer('shop').startActiveSpan('checkout', async (span) => {
      await worker.send(source, { value: { n: 1 } });
      span.end();
      return span.spanContext().traceId;
    });

    const [dead] = await readTopic(deadLetters, 1);
    await eventually(() => spansOf(traceId).some((span) => span.name === `${deadLetters} publish`), 'the dead letter');
    const spans = spansOf(traceId);
    const processed = named(spans, `${source} process`);
    const deadLettered = named(spans, `${deadLetters} publish`);
    expect(processed.status.code).toBe(SpanStatusCode.ERROR);
    expect(processed.status.message).toMatch(/refused/);
    expect(parentOf(deadLettered)).toBe(processed.spanContext().spanId);
    expect(dead!.headers['traceparent']).toMatch(traceparent(traceId, deadLettered.spanContext().spanId));
  });
});
