// Timers across worker processes against the real broker: a leader timer runs on one worker of the
// group, and on the other within the session timeout when that one is killed; a per-second crontab
// fires on the second, in real time.
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { useTestbed } from '@stream-app/testing/vitest';
import { describe, expect, it } from 'vitest';
import { waitUntil } from './helpers/broker-checks.js';
import { logEntries, workerPool, type Worker } from './helpers/worker-process.js';

const testbed = useTestbed();
const TIMERS_APP = fileURLToPath(new URL('./fixtures/timers-app.ts', import.meta.url));
const pool = workerPool(testbed);
const SESSION_TIMEOUT_MS = 6_000;

const ticks = (worker: Worker, msg: string, from = 0) =>
  logEntries(worker, from).filter((entry) => entry.msg === msg) as Array<{ pid: number; at: number }>;

describe('timers across workers', () => {
  it('a leader timer runs on one of two workers only; killed, the other takes over within the session timeout', async () => {
    const env = { TIMERS_APP_ID: `timers-${randomUUID().slice(0, 8)}` };
    const a = pool.start(TIMERS_APP, env);
    await a.waitFor(/^ready in/, 'worker a');
    const b = pool.start(TIMERS_APP, env);
    await b.waitFor(/^ready in/, 'worker b');
    expect(a.output.join('\n')).toMatch(/leaderReport \(every 500 ms, on the leader\)/);
    // Both in the group (b got its assignment, empty or not), then three seconds of ticks.
    await b.waitFor(/"msg":"partitions assigned"/, 'worker b to join the group', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const from = { a: a.output.length, b: b.output.length };
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const during = { a: ticks(a, 'leader tick', from.a).length, b: ticks(b, 'leader tick', from.b).length };
    expect(Math.min(during.a, during.b), `ticks ${JSON.stringify(during)}`).toBe(0);
    expect(Math.max(during.a, during.b)).toBeGreaterThanOrEqual(5);
    const [leader, survivor] = during.a > 0 ? [a, b] : [b, a];
    expect(leader.output.join('\n')).toMatch(/this worker is the leader/);

    const seen = survivor.output.length;
    const killedAt = Date.now();
    leader.process.kill('SIGKILL');
    await leader.exited;
    await waitUntil(
      () => ticks(survivor, 'leader tick', seen).length > 0,
      'the survivor to run the leader timer',
      SESSION_TIMEOUT_MS + 20_000,
    );
    const tookOver = ticks(survivor, 'leader tick', seen)[0]!.at - killedAt;
    expect(tookOver).toBeLessThan(SESSION_TIMEOUT_MS + 5_000);
    expect(survivor.output.slice(seen).join('\n')).toMatch(/this worker is the leader/);

    // The crontab (not on the leader) ran on both, just after whole seconds, once per second.
    for (const worker of [a, b]) {
      const runs = ticks(worker, 'cron tick');
      expect(runs.length).toBeGreaterThanOrEqual(4);
      for (const { at } of runs) expect(at % 1_000, `cron tick at ${new Date(at).toISOString()}`).toBeLessThan(500);
      const seconds = runs.map(({ at }) => Math.floor(at / 1_000));
      expect(new Set(seconds).size).toBe(seconds.length);
    }
    survivor.process.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  }, 120_000);
});
