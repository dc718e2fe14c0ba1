// Timers and crontabs over memory, on a clock the test moves: no waiting.
// The leader among real workers, and a crontab in real time, are in cli/test/timers.e2e.test.ts.
import { App, crontab, ManualClock, service, timer } from '@stream-app/core';
import { testApp, type TestDriver } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';

const drivers: TestDriver[] = [];
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((driver) => driver.stop()));
});

const quiet = { level: 'error' as const, write: () => {} };

async function drive(app: App, clock: ManualClock): Promise<TestDriver> {
  const driver = await testApp(app, { clock });
  drivers.push(driver);
  return driver;
}

describe('timers', () => {
  it('runs every interval on the clock, without drift, on the leader when asked', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 0, 0));
    const app = new App({ id: 'reports', broker: 'kafka:9093', logger: quiet });
    const runs: number[] = [];
    const leaderRuns: number[] = [];
    app.timer('10s', () => void runs.push(clock.now()));
    app.timer(30_000, () => void leaderRuns.push(clock.now()), { onLeader: true, name: 'leader-report' });
    const driver = await drive(app, clock);
    const start = clock.now();
    await driver.elapse('65s');
    expect(runs.map((at) => at - start)).toEqual([10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    expect(app.isLeader).toBe(true); // the only worker of the group holds the leader topic
    expect(leaderRuns.map((at) => at - start)).toEqual([30_000, 60_000]);
    expect(app.timers.map((t) => t.name)).toEqual(['timer', 'leader-report']);
  });

  it('restarts a timer that throws, with backoff, and reports each run to sensors', async () => {
    const clock = new ManualClock(0);
    const app = new App({ id: 'flaky', broker: 'kafka:9093', logger: quiet });
    const reported: Array<{ timer: string; error?: Error }> = [];
    app.addSensor({ onTimerRun: ({ timer, error }) => reported.push({ timer, ...(error ? { error } : {}) }) });
    let calls = 0;
    app.timer(
      '1s',
      () => {
        calls += 1;
        if (calls === 2) throw new Error('report store unavailable');
      },
      { name: 'flaky' },
    );
    const driver = await drive(app, clock);
    await driver.elapse('1s'); // run 1 at 1 s
    await driver.elapse('1s'); // run 2 at 2 s throws; the restart waits 200 ms, then a new interval
    await driver.elapse('1200ms');
    expect(calls).toBe(3);
    expect(reported.map((r) => r.error?.message)).toEqual([undefined, 'report store unavailable', undefined]);
  });

  it('fires a crontab at the wall-clock minutes of its expression, in its time zone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1, 12, 3, 30));
    const app = new App({ id: 'cron', broker: 'kafka:9093', logger: quiet });
    const fiveMinutes: string[] = [];
    const tokyoNine: string[] = [];
    app.crontab('*/5 * * * *', () => void fiveMinutes.push(new Date(clock.now()).toISOString()));
    app.crontab('0 9 * * *', () => void tokyoNine.push(new Date(clock.now()).toISOString()), {
      timezone: 'Asia/Tokyo',
    });
    const driver = await drive(app, clock);
    await driver.elapse('12m');
    expect(fiveMinutes).toEqual(['2026-12-01T12:05:00.000Z', '2026-12-01T12:10:00.000Z', '2026-12-01T12:15:00.000Z']);
    await driver.elapse('12h');
    expect(tokyoNine).toEqual(['2026-12-02T00:00:00.000Z']); // 09:00 in Tokyo
  });

  it('runs decorated timers and crontabs as methods of the service instance its agents share', async () => {
    const clock = new ManualClock(Date.UTC(2026, 11, 1, 0, 0, 0));
    const app = new App({ id: 'svc', broker: 'kafka:9093', logger: quiet });
    const seen: string[] = [];

    @service(app)
    class Reports {
      prefix = 'report';

      @timer('1m')
      minutely() {
        seen.push(`${this.prefix}:minute`);
      }

      @crontab('0 * * * *', { onLeader: true })
      hourly() {
        seen.push(`${this.prefix}:hour`);
      }
    }
    void Reports;
    const driver = await drive(app, clock);
    await driver.elapse('1h');
    expect(seen.filter((s) => s === 'report:minute')).toHaveLength(60);
    expect(seen.filter((s) => s === 'report:hour')).toHaveLength(1);
    expect(app.timers.map((t) => t.name)).toEqual(['Reports.minutely', 'Reports.hourly']);
  });

  it('refuses a crontab or an interval it cannot read, saying what to write', () => {
    const app = new App({ id: 'bad', broker: 'kafka:9093' });
    expect(() => app.crontab('every 5 minutes', () => {})).toThrow(
      /crontab "every 5 minutes" is not valid.*five fields/,
    );
    expect(() => app.crontab('* * * * *', () => {}, { timezone: 'Mars/Olympus' })).toThrow(/IANA time zone/);
    expect(() => app.timer('soon', () => {})).toThrow(/interval must be .*'10s'/);
  });
});
