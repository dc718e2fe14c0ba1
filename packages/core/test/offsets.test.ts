import { App, OffsetTracker } from '@stream-app/core';
import { StreamAppError } from '@stream-app/credentials';
import { describe, expect, it } from 'vitest';

describe('OffsetTracker', () => {
  it('commits only the contiguous done prefix of a partition', () => {
    const tracker = new OffsetTracker();
    const offsets = tracker.partition('orders', 0);
    const entries = [0, 1, 2, 3, 4, 5].map((offset) => offsets.track(offset, 1));
    for (const n of [0, 1, 2, 4, 5]) offsets.release(entries[n]!);
    expect(tracker.uncommitted()).toEqual([{ topic: 'orders', partition: 0, offset: 3 }]);
    tracker.markCommitted(tracker.uncommitted());
    expect(tracker.uncommitted()).toEqual([]); // nothing moved
    offsets.release(entries[3]!);
    expect(tracker.uncommitted()).toEqual([{ topic: 'orders', partition: 0, offset: 6 }]);
    expect(offsets.outstanding).toBe(0);
  });

  it('waits for every holder of a message (two agents on one topic)', () => {
    const offsets = new OffsetTracker().partition('orders', 1);
    const entry = offsets.track(10, 2);
    offsets.release(entry);
    expect(offsets.next).toBe(10);
    offsets.release(entry);
    expect(offsets.next).toBe(11);
    offsets.release(entry); // extra releases change nothing
    expect(offsets.next).toBe(11);
  });

  it('passes over messages that needed no work (dead-lettered, skipped)', () => {
    const offsets = new OffsetTracker().partition('orders', 0);
    const first = offsets.track(0, 1);
    offsets.track(1, 0);
    expect(offsets.next).toBe(0);
    offsets.release(first);
    expect(offsets.next).toBe(2);
  });

  it('calls back once when the backlog falls to the low mark (to resume a paused partition)', () => {
    const offsets = new OffsetTracker().partition('orders', 0);
    const entries = Array.from({ length: 10 }, (_, n) => offsets.track(n, 1));
    let resumed = 0;
    offsets.onLow(5, () => (resumed += 1));
    for (const entry of entries.slice(0, 4)) offsets.release(entry);
    expect(resumed).toBe(0);
    offsets.release(entries[4]!);
    expect(resumed).toBe(1);
    offsets.release(entries[5]!);
    expect(resumed).toBe(1);
  });
});

describe('OffsetTracker after a rebalance', () => {
  it('offers every offset again, so that a commit the client reported done but the broker never stored is made again', () => {
    const tracker = new OffsetTracker();
    const partition = tracker.partition('orders', 3);
    partition.release(partition.track(9, 1));
    expect(tracker.uncommitted()).toEqual([{ topic: 'orders', partition: 3, offset: 10 }]);
    tracker.markCommitted(tracker.uncommitted());
    expect(tracker.uncommitted()).toEqual([]);
    tracker.recommitAll();
    expect(tracker.uncommitted()).toEqual([{ topic: 'orders', partition: 3, offset: 10 }]);
  });
});

describe('App options', () => {
  const refuse = (options: object) => {
    try {
      new App(options as never);
    } catch (error) {
      expect(error).toBeInstanceOf(StreamAppError);
      return (error as StreamAppError).message;
    }
    throw new Error('accepted');
  };

  it('checks every option before connecting, naming the option', () => {
    expect(refuse({ broker: 'localhost:9092' })).toMatch(/App option id/);
    expect(refuse({ id: 'orders' })).toMatch(/App option broker is missing/);
    expect(refuse({ id: 'orders', broker: 'localhost' })).toMatch(/"localhost" is not host:port/);
    expect(refuse({ id: 'orders', broker: 'a:1', topicPartitions: 0 })).toMatch(
      /topicPartitions must be a positive integer/,
    );
    expect(refuse({ id: 'orders', broker: 'a:1', onBadMessage: 'ignore' })).toMatch(
      /onBadMessage must be one of dead-letter, skip, stop/,
    );
    expect(refuse({ id: 'orders', broker: 'a:1', processingGuarantee: 'exactly-once' })).toMatch(
      /processingGuarantee must be one of at_least_once, exactly_once/,
    );
    expect(
      refuse({ id: 'orders', broker: 'a:1', processingGuarantee: 'exactly_once', transactionTimeoutMs: 800 }),
    ).toMatch(/transactionTimeoutMs \(800\) must be at least 1000 and longer than commitIntervalMs \(1000\)/);
    expect(refuse({ id: 'orders', broker: 'a:1', credentials: { password: 'x' } })).toMatch(/credentials must be/);
  });

  it('defaults like Faust, with its own dead-letter topic', () => {
    const app = new App({ id: 'orders', broker: 'kafka://a:1, b:2' });
    expect(app.options).toMatchObject({
      bootstrap: 'a:1,b:2',
      topicPartitions: 8,
      topicReplicationFactor: 1,
      topicAllowDeclare: true,
      deadLetterTopic: 'orders-dead-letters',
      onBadMessage: 'dead-letter',
      onAgentError: 'restart',
    });
  });

  it('refuses duplicate agent names and declarations after start, and sends before connecting', async () => {
    const app = new App({ id: 'orders', broker: 'a:1' });
    const topic = app.topic('orders');
    expect(app.topic('orders')).toBe(topic);
    app.agent(topic, async () => {}, { name: 'charge' });
    expect(() => app.agent(topic, async () => {}, { name: 'charge' })).toThrow(/already exists/);
    expect(() => app.agent(topic, async () => {}, { concurrency: 0 })).toThrow(/concurrency must be an integer/);
    const error = (await topic.send({ value: { a: 1 } }).catch((e: unknown) => e)) as StreamAppError;
    expect(error.code).toBe('STREAM_APP_ERR_APP_STATE');
    expect(error.message).toMatch(/await app.start\(\) .* or app.connect\(\)/);
  });
});
