// The counter app (fixtures/counter-app.ts) run as worker processes, and what the tests ask of it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KafkaConnectionCounts } from '@stream-app/core';
import { adminKafka, type TestbedInfo } from '@stream-app/testing';
import type { BrokerChecks } from './broker-checks.js';
import type { Worker, workerPool } from './worker-process.js';

const COUNTER_APP = fileURLToPath(new URL('../fixtures/counter-app.ts', import.meta.url));

/**
 * Produces `total` orders `{ account, n }` for n = first … first + total - 1 over `keys` accounts (keyed
 * by account) as the admin, in batches of 10 000.
 */
export async function produceOrders(
  testbed: TestbedInfo,
  topic: string,
  total: number,
  keys: number,
  first = 0,
): Promise<void> {
  const producer = adminKafka(testbed.kafka).producer();
  await producer.connect();
  try {
    for (let start = 0; start < total; start += 10_000) {
      await producer.send({
        topic,
        messages: Array.from({ length: Math.min(10_000, total - start) }, (_, i) => {
          const n = first + start + i;
          const account = `acct-${n % keys}`;
          return { key: account, value: JSON.stringify({ account, n }) };
        }),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** A counter-app worker with its own state directory, stopped after the test. */
export function launchCounter(
  pool: ReturnType<typeof workerPool>,
  env: { [name: string]: string },
  statePrefix: string,
): Worker {
  return pool.start(COUNTER_APP, { ...env, COUNTER_STATE_DIR: pool.tempDir(statePrefix) });
}

/** The counter app's last status line: table partitions held and recoveries pending. */
export function lastStatus(worker: Worker): CounterStatus | undefined {
  for (let i = worker.output.length - 1; i >= 0; i--) {
    const line = worker.output[i]!;
    if (line.includes('"msg":"counter status"')) return JSON.parse(line) as CounterStatus;
  }
  return undefined;
}

export interface CounterStatus {
  recovering: number;
  held: number[];
  kafkaConnections: KafkaConnectionCounts;
}

/** The last value of every key in a changelog; `committed` leaves aborted transactions out. */
export async function changelogCounts(
  checks: BrokerChecks,
  topic: string,
  committed = false,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { key, value } of committed ? await checks.readCommitted(topic) : await checks.readTopic(topic)) {
    if (value === null) counts.delete(key!);
    else counts.set(key!, Number(value));
  }
  return counts;
}

/**
 * What the workers' tables held when they got SIGTERM (one dump file per worker, named by its pid); a key
 * held twice is an error. `pids`: only those workers' (a worker that left mid-run dumped what it held then).
 */
export function dumpedCounts(dir: string, pids?: number[]): Map<string, number> {
  const held = new Map<string, number>();
  const files = pids ? pids.map((pid) => `${pid}.json`) : readdirSync(dir);
  for (const file of files) {
    for (const [key, value] of JSON.parse(readFileSync(join(dir, file), 'utf8')) as Array<[string, number]>) {
      if (held.has(key)) throw new Error(`${key} held by two workers`);
      held.set(key, value);
    }
  }
  return held;
}
