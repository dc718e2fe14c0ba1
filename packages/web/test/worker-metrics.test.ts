// The metrics sensor over the in-memory test driver: what the broker test cannot plant cheaply.
import { App } from '@stream-app/core';
import { testApp } from '@stream-app/testing';
import { describe, expect, it } from 'vitest';
import { WorkerMetrics } from '../src/index.js';

describe('WorkerMetrics', () => {
  it('counts skipped bad messages by code, and each event once per agent that read it', async () => {
    const app = new App({ id: 'metrics', broker: '127.0.0.1:9', onBadMessage: 'skip' });
    const orders = app.topic<{ n: number }>('orders', { valueType: 'json' });
    app.agent(
      orders,
      async (stream) => {
        for await (const _ of stream) void _;
      },
      { name: 'first' },
    );
    app.agent(
      orders,
      async (stream) => {
        for await (const _ of stream) void _;
      },
      { name: 'second' },
    );
    const metrics = new WorkerMetrics(app);
    app.addSensor(metrics);
    const driver = await testApp(app);
    try {
      await driver.put(orders, { n: 1 });
      await driver.putRaw(orders, '{not json');
      await driver.settle();
      const text = await metrics.text();
      expect(text).toContain('stream_app_messages_skipped_total{code="STREAM_APP_ERR_DECODE",app="metrics"} 1');
      expect(text).toContain('stream_app_messages_received_total{topic="orders",app="metrics"} 2');
      expect(text).toContain('stream_app_event_processing_seconds_count{app="metrics",agent="first"} 1');
      expect(text).toContain('stream_app_event_processing_seconds_count{app="metrics",agent="second"} 1');
      expect(text).not.toContain('stream_app_dead_letters_total{');
    } finally {
      await driver.stop();
    }
  });
});
