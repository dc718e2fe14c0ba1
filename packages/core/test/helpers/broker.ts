// Helpers for the core's tests against the run's real broker and identity provider.
import { randomUUID } from 'node:crypto';
import { App, createLogger, Record, type AppOptions, type LogLevel } from '@stream-app/core';
import type { OAuthCredentials } from '@stream-app/credentials';
import {
  adminKafka,
  createAdminClient,
  TESTBED_CLIENTS,
  testbedCredentials,
  type TestbedInfo,
} from '@stream-app/testing';
import { IsPositive, IsString } from 'class-validator';
import { afterEach } from 'vitest';
import { useTestbed } from '@stream-app/testing/vitest';

export const testbed: TestbedInfo = useTestbed();

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function oauth(client: { clientId: string; clientSecret: string } = TESTBED_CLIENTS.app): OAuthCredentials {
  return testbedCredentials(testbed.identityProvider, client);
}

/** Faust's Order, the record most tests use. */
export class Order extends Record {
  @IsString() accountId!: string;
  @IsPositive() amount!: number;
}

/** Apps a test file started; each is stopped after its test. */
export function stoppedAfterEachTest(): (app: App) => App {
  const running: App[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });
  return (app) => {
    running.push(app);
    return app;
  };
}

/** An app on the OAUTHBEARER listener as the test app client; logs only warnings unless STREAM_APP_TEST_LOGLEVEL says otherwise. */
export function makeApp(options: Partial<AppOptions> & { id: string }): App {
  return new App({
    broker: testbed.kafka.bootstrap.oauth,
    credentials: oauth(),
    topicPartitions: 1,
    commitIntervalMs: 200,
    logger: createLogger({
      level: (process.env.STREAM_APP_TEST_LOGLEVEL as LogLevel | undefined) ?? 'warn',
      format: 'pretty',
    }),
    ...options,
  });
}

/** Runs `fn` with an admin client of the super user on the PLAIN listener, disconnected after. */
export async function withAdmin<T>(fn: (admin: ReturnType<typeof createAdminClient>) => Promise<T>): Promise<T> {
  const admin = createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopic(topic: string, partitions = 1): Promise<void> {
  await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: partitions }] }));
}

/** Offsets the group has committed on the topic, by partition. */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
  return withAdmin(async (admin) => {
    const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((result?.partitions ?? []).map(({ partition, offset }) => [partition, Number(offset)]));
  });
}

/** Produces raw messages as the admin (so tests can write what no App would). */
export async function produceRaw(
  topic: string,
  messages: Array<{ key?: string | null; value: string | Buffer | null; partition?: number }>,
): Promise<void> {
  const producer = adminKafka(testbed.kafka).producer();
  await producer.connect();
  try {
    await producer.send({
      topic,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: m.value,
        ...(m.partition === undefined ? {} : { partition: m.partition }),
      })),
    });
  } finally {
    await producer.disconnect();
  }
}

export interface ReadMessage {
  key: string | null;
  value: string | null;
  headers: { [name: string]: string };
  partition: number;
  offset: number;
}

/** Reads a topic from the beginning until `count` messages arrived (or fails after `timeoutMs`). */
export async function readTopic(topic: string, count: number, timeoutMs = 30_000): Promise<ReadMessage[]> {
  const consumer = adminKafka(testbed.kafka).consumer({
    kafkaJS: { groupId: uniqueName('reader'), fromBeginning: true },
  });
  const received: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    let done!: () => void;
    const enough = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        received.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          partition,
          offset: Number(message.offset),
        });
        if (received.length >= count) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      enough,
      new Promise(
        (_, reject) =>
          (timer = setTimeout(
            () =>
              reject(
                new Error(`only ${received.length} of ${count} messages arrived on ${topic} within ${timeoutMs} ms`),
              ),
            timeoutMs,
          )),
      ),
    ]).finally(() => clearTimeout(timer));
    return received;
  } finally {
    await consumer.disconnect();
  }
}

export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
