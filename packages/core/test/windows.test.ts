// Windowed tables over memory, with the test driver: the semantics (which window an event counts in,
// when a window closes, what is late, what expires) against a reference computed in the test.
// The same against the real broker, with a worker killed mid-window, is in cli/test/windows.e2e.test.ts.
import {
  App,
  CoreError,
  ManualClock,
  type LateEventInfo,
  type Window,
  type WindowedTable,
  type WindowKindSpec,
  type WindowOptions,
} from '@stream-app/core';
import { MemoryTransport, testApp, type TestDriver } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { generateEvents, referenceCount, type ReferenceKind } from './helpers/window-reference.js';

const drivers: TestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
});

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);

interface Closed {
  key: string;
  window: Window;
  value: number;
}

/** Page views per user, windowed: closes are recorded, late events counted. */
function viewsApp(kind: WindowKindSpec, options: WindowOptions<number, string> = {}, partitions = 2, read = true) {
  const app = new App({
    id: 'views',
    broker: 'kafka:9093',
    topicPartitions: partitions,
    logger: { level: 'error', write: () => {} },
  });
  const closed: Closed[] = [];
  const late: LateEventInfo[] = [];
  app.addSensor({ onLateEvent: (info) => late.push(info) });
  const pageViews = app.topic<{ user: string; at?: unknown }>('page-views');
  const base = app.table<number>('views', { default: () => 0 });
  const onWindowClose = (key: string, window: Window, value: number) => closed.push({ key, window, value });
  const spec = { onWindowClose, ...options };
  const views: WindowedTable<number> =
    kind.type === 'tumbling'
      ? base.tumbling(kind.size, spec)
      : kind.type === 'hopping'
        ? base.hopping(kind.size, kind.step, spec)
        : kind.type === 'sliding'
          ? base.sliding(kind.size, spec)
          : base.session(kind.gap, spec);
  const seen: Array<{ current: number; windows: number }> = [];
  app.agent(pageViews, async (stream) => {
    for await (const view of stream) {
      views.update(view.user, (count) => count + 1);
      if (read) seen.push({ current: views.get(view.user).current(), windows: views.get(view.user).value().length });
    }
  });
  return { app, pageViews, views, closed, late, seen };
}

async function drive(app: App, options: { transport?: MemoryTransport; clock?: ManualClock } = {}) {
  const driver = await testApp(app, options);
  drivers.push(driver);
  return driver;
}

const asMap = (closed: Closed[]) =>
  new Map(closed.map(({ key, window, value }) => [`${key} ${window.start} ${window.end}`, value]));

describe('windowed tables', () => {
  it('counts per tumbling window, closes each window once with its final value, and drops what is later than the grace period', async () => {
    const { app, pageViews, views, closed, late, seen } = viewsApp(
      { type: 'tumbling', size: '1m' },
      { grace: '10s' },
      1,
    );
    const driver = await drive(app);
    const put = (user: string, at: number) => driver.put(pageViews, { user }, { key: user, timestamp: at });
    await put('ann', T0 + 1_000);
    await put('ann', T0 + 30_000);
    await put('bob', T0 + 59_999);
    expect(seen.map((s) => s.current)).toEqual([1, 2, 1]);
    await put('ann', T0 + MINUTE + 5_000); // stream time 1:05: the first window is in its grace period
    await put('ann', T0 + 50_000); // late, but within grace: counts in the first window
    expect(closed).toEqual([]);
    await put('bob', T0 + MINUTE + 10_000); // 1:10 closes [0:00, 1:00)
    expect(closed).toEqual([
      { key: 'ann', window: { start: T0, end: T0 + MINUTE }, value: 3 },
      { key: 'bob', window: { start: T0, end: T0 + MINUTE }, value: 1 },
    ]);
    await put('ann', T0 + 40_000); // after the grace period: dropped
    expect(late).toEqual([
      expect.objectContaining({ table: 'views', eventTime: T0 + 40_000, streamTime: T0 + 70_000 }),
    ]);
    expect(views.get('ann').at(T0)).toBe(3);
    expect(views.get('ann').now()).toBe(0); // the clock's now is years after these windows
    expect(views.get('ann').value()).toEqual([
      { window: { start: T0, end: T0 + MINUTE }, value: 3, closed: true },
      { window: { start: T0 + MINUTE, end: T0 + 2 * MINUTE }, value: 1, closed: false },
    ]);
    expect(views.streamTime(0)).toBe(T0 + 70_000);
    expect(driver.deadLetters()).toEqual([]);
    expect(() => views.get('ann').current()).toThrow(expect.objectContaining({ code: 'STREAM_APP_ERR_WINDOW_READ' }));
    expect(() => views.update('ann', (n) => n + 1)).toThrow(
      expect.objectContaining({ code: 'STREAM_APP_ERR_TABLE_WRITE' }),
    );
  });

  it('sends late events to the dead-letter topic with their own code when asked to', async () => {
    const { app, pageViews } = viewsApp({ type: 'tumbling', size: MINUTE }, { late: 'dead-letter' }, 1);
    const driver = await drive(app);
    await driver.put(pageViews, { user: 'ann' }, { key: 'ann', timestamp: T0 + 2 * MINUTE });
    const result = await driver.put(pageViews, { user: 'ann' }, { key: 'ann', timestamp: T0 });
    expect(result.deadLettered).toEqual([
      expect.objectContaining({ code: 'STREAM_APP_ERR_LATE_EVENT', agent: expect.any(String) }),
    ]);
    expect(result.deadLettered[0]!.reason).toMatch(/too late for table 'views'.*grace/);
  });

  it('reads event time from a field, and dead-letters an event whose field is not a time', async () => {
    const { app, pageViews, closed } = viewsApp({ type: 'tumbling', size: MINUTE }, { eventTime: 'at' }, 1, false);
    const driver = await drive(app);
    await driver.put(pageViews, { user: 'ann', at: new Date(T0 + 5).toISOString() }, { key: 'ann' });
    await driver.put(pageViews, { user: 'ann', at: T0 + MINUTE }, { key: 'ann' });
    expect(closed).toEqual([{ key: 'ann', window: { start: T0, end: T0 + MINUTE }, value: 1 }]);
    const bad = await driver.put(pageViews, { user: 'ann', at: 'yesterday' }, { key: 'ann' });
    expect(bad.deadLettered).toEqual([expect.objectContaining({ code: 'STREAM_APP_ERR_EVENT_TIME' })]);
    expect(bad.deadLettered[0]!.reason).toMatch(/field 'at' is "yesterday"/);
  });

  const kinds: Array<{ name: string; kind: WindowKindSpec; reference: ReferenceKind }> = [
    { name: 'tumbling', kind: { type: 'tumbling', size: '1m' }, reference: { type: 'tumbling', size: MINUTE } },
    {
      name: 'hopping',
      kind: { type: 'hopping', size: '1m', step: '20s' },
      reference: { type: 'hopping', size: MINUTE, step: 20_000 },
    },
    { name: 'sliding', kind: { type: 'sliding', size: '30s' }, reference: { type: 'sliding', size: 30_000 } },
    { name: 'session', kind: { type: 'session', gap: '15s' }, reference: { type: 'session', gap: 15_000 } },
  ];

  for (const { name, kind, reference } of kinds) {
    it(`${name}: a generated stream with out-of-order and late events, restarted mid-stream, closes every window as the reference does`, async () => {
      const grace = 5_000;
      const events = generateEvents({
        seed: 7,
        count: 400,
        keys: 6,
        partitions: 2,
        start: T0,
        stepMs: 1_000,
        jitterMs: 4_000,
        lateEvery: 23,
        lateByMs: 90_000,
      });
      // A last event per partition far ahead closes every window of the others.
      const ends = [0, 1].map((partition) => ({ key: 'end', time: T0 + 10 * 3_600_000, partition }));
      const expected = referenceCount(reference, grace, [...events, ...ends]);
      expect(expected.late).toBeGreaterThan(5);

      const transport = new MemoryTransport();
      const closed: Closed[] = [];
      let late = 0;
      const run = async (slice: typeof events) => {
        const made = viewsApp(kind, { grace }, 2);
        const driver = await drive(made.app, { transport });
        for (const event of slice) {
          await driver.put(
            made.pageViews,
            { user: event.key },
            { key: event.key, partition: event.partition, timestamp: event.time },
          );
        }
        await driver.stop();
        closed.push(...made.closed.filter((c) => c.key !== 'end'));
        late += made.late.length;
      };
      await run(events.slice(0, 150));
      await run([...events.slice(150), ...ends]); // the second worker recovers from the changelog
      expect(late).toBe(expected.late);
      expect(closed.length).toBe(asMap(closed).size); // each window closed once
      expect(asMap(closed)).toEqual(expected.closed);
    });
  }

  it('sliding: an event too late for its own window still counts in the later windows that hold it', async () => {
    const { app, pageViews, closed, late } = viewsApp({ type: 'sliding', size: '30s' }, {}, 1, false);
    const driver = await drive(app);
    for (const at of [100_000, 80_000, 105_000, 200_000]) {
      await driver.put(pageViews, { user: 'ann' }, { key: 'ann', timestamp: T0 + at });
    }
    expect(late).toEqual([]);
    // The window ending at 80 s closed before that event came (stream time 100 s): it is not announced.
    expect(closed).toEqual([
      { key: 'ann', window: { start: T0 + 70_001, end: T0 + 100_001 }, value: 2 },
      { key: 'ann', window: { start: T0 + 75_001, end: T0 + 105_001 }, value: 3 },
    ]);
  });

  it('deletes expired windows from the store and tombstones them in the changelog, also after a restart', async () => {
    const transport = new MemoryTransport();
    const first = viewsApp({ type: 'tumbling', size: MINUTE }, { expires: '2m' }, 1);
    const driver = await drive(first.app, { transport });
    await driver.put(first.pageViews, { user: 'ann' }, { key: 'ann', timestamp: T0 });
    await driver.put(first.pageViews, { user: 'bob' }, { key: 'bob', timestamp: T0 + MINUTE });
    await driver.stop();

    const second = viewsApp({ type: 'tumbling', size: MINUTE }, { expires: '2m' }, 1);
    const again = await drive(second.app, { transport });
    await again.settle(); // recovered
    expect(second.views.get('ann').value()).toHaveLength(1); // recovered, not yet expired
    // [0:00, 1:00) expires at 3:00 of stream time; bob's window at 4:00.
    await again.put(second.pageViews, { user: 'cid' }, { key: 'cid', timestamp: T0 + 3 * MINUTE });
    expect(second.views.get('ann').value()).toEqual([]);
    expect(second.views.get('bob').value()).toHaveLength(1);
    expect([...second.views.keys()].sort()).toEqual(['bob', 'cid']);
    await again.settle();
    const changelog = new Map<string, string | null>();
    for (const message of transport.messages('views-views-changelog')) {
      changelog.set(message.key!.toString(), message.value?.toString() ?? null);
    }
    expect(changelog.get(`${T0}|${T0 + MINUTE}|sann`)).toBeNull();
    expect(changelog.get(`${T0 + MINUTE}|${T0 + 2 * MINUTE}|sbob`)).toBe('1');
    expect(changelog.get('~stream-time')).toBe(String(T0 + 3 * MINUTE));
    expect(first.closed.map((c) => c.key)).toEqual(['ann']);
    // ann's window was announced by the first worker, and not again; bob's closed at 3:00, on the second.
    expect(second.closed.map((c) => c.key)).toEqual(['bob']);
  });

  it('closes windows on the clock when told to: the driver moves time to the close', async () => {
    const clock = new ManualClock(T0);
    const { app, pageViews, closed } = viewsApp(
      { type: 'tumbling', size: MINUTE },
      { closeOn: 'clock', grace: '5s' },
      1,
    );
    const driver = await drive(app, { clock });
    await driver.put(pageViews, { user: 'ann' }, { key: 'ann' });
    await driver.put(pageViews, { user: 'ann' }, { key: 'ann' });
    driver.advance(MINUTE + 3_000);
    expect(closed).toEqual([]);
    driver.advance(2_000);
    expect(closed).toEqual([{ key: 'ann', window: { start: T0, end: T0 + MINUTE }, value: 2 }]);
  });

  it('a window closed on the clock of a quiet partition stays announced after a restart', async () => {
    const clock = new ManualClock(T0);
    const transport = new MemoryTransport();
    const first = viewsApp({ type: 'tumbling', size: MINUTE }, { closeOn: 'clock', expires: '10m' }, 1);
    const driver = await drive(first.app, { transport, clock });
    await driver.put(first.pageViews, { user: 'ann' }, { key: 'ann' });
    await driver.elapse('2m'); // closes [0:00, 1:00) with no event after it, then commits
    await driver.stop();
    const second = viewsApp({ type: 'tumbling', size: MINUTE }, { closeOn: 'clock', expires: '10m' }, 1);
    const again = await drive(second.app, { transport, clock });
    await again.elapse('1m');
    expect(first.closed.map((c) => c.value)).toEqual([1]);
    expect(second.closed).toEqual([]);
    expect(second.views.get('ann').value()).toEqual([
      { window: { start: T0, end: T0 + MINUTE }, value: 1, closed: true },
    ]);
  });

  it('sliding windows and sessions of values that are not numbers need combine', async () => {
    const app = new App({ id: 'combine', broker: 'kafka:9093', logger: { level: 'error', write: () => {} } });
    const topic = app.topic<{ word: string }>('words');
    const words = app.table<string[]>('words', { default: () => [] }).session('15s', {
      grace: '30s',
      combine: (a, b) => [...a, ...b],
    });
    app.agent(topic, async (stream) => {
      for await (const { word } of stream) words.update('all', (list) => [...list, word]);
    });
    const driver = await drive(app);
    for (const [word, at] of [
      ['a', 0],
      ['c', 30_000],
      ['b', 15_000], // bridges the two sessions
    ] as const) {
      await driver.put(topic, { word }, { key: 'all', timestamp: T0 + at, partition: 0 });
    }
    expect(words.get('all').value()).toEqual([
      { window: { start: T0, end: T0 + 30_001 }, value: ['a', 'c', 'b'], closed: false },
    ]);
  });

  it('refuses options that make no sense, saying which', () => {
    const app = new App({ id: 'bad', broker: 'kafka:9093' });
    const table = () => app.table<number>(`t${Math.random().toString(36).slice(2, 8)}`);
    expect(() => table().tumbling('5 minutes')).toThrow(/size must be .*'5m'/);
    expect(() => table().hopping('1m', '2m')).toThrow(/step \(120000 ms\) is longer than its size/);
    expect(() => table().tumbling('1m', { grace: '2m', expires: '1m' })).toThrow(/expires .* is shorter than grace/);
    expect(() => table().tumbling('1m', { late: 'keep' as never })).toThrow(/late must be 'drop' or 'dead-letter'/);
    expect(() => app.globalTable('g').tumbling('1m')).toThrow(/global table/);
    const once = table();
    once.tumbling('1m');
    expect(() => once.hopping('1m', '10s')).toThrow(CoreError);
    expect(() => app.table(once.name)).toThrow(/is windowed: use the WindowedTable/);
  });
});
