// What the end-to-end tests ask the real broker: committed offsets, a topic read to its end.
import { randomUUID } from 'node:crypto';
import { createLogger, KafkaTransport } from '@stream-app/core';
import { SaslCredentials } from '@stream-app/credentials';
import { adminKafka, createAdminClient, type TestbedInfo } from '@stream-app/testing';

export interface TopicRecord {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: { [name: string]: string };
}

export interface BrokerChecks {
  withAdmin<T>(fn: (admin: ReturnType<typeof createAdminClient>) => Promise<T>): Promise<T>;
  /** The sum of a group's committed offsets over a topic's partitions. */
  committed(groupId: string, topic: string): Promise<number>;
  /** The group's committed offsets, by partition. */
  groupOffsets(groupId: string, topic: string): Promise<Array<{ partition: number; offset: number }>>;
  /** Every record of a topic, read from the beginning to the high watermarks it has now. */
  readTopic(topic: string, timeoutMs?: number): Promise<TopicRecord[]>;
  /**
   * What a read-committed consumer sees of a topic, read to its end: aborted records left out, so
   * that a transactional producer's output can be counted (its commit markers take offsets too).
   */
  readCommitted(topic: string): Promise<TopicRecord[]>;
  close(): Promise<void>;
}

export function brokerChecks(testbed: TestbedInfo): BrokerChecks {
  // The client's admin fetchOffsets took the test process down while the group was rebalancing; the
  // app's own admin port asks with an OffsetFetch of a consumer that never joins. Over the admin listener
  // (PLAIN): what checks a run must not depend on the tokens and the identity provider a test breaks.
  let transport: KafkaTransport | undefined;
  const appTransport = async () => {
    if (!transport) {
      const { kafka } = testbed;
      transport = new KafkaTransport({
        bootstrap: kafka.bootstrap.admin,
        credentials: new SaslCredentials({
          mechanism: 'PLAIN',
          username: kafka.adminUser.username,
          password: kafka.adminUser.password,
        }),
        principal: async () => 'User:test',
        logger: createLogger({ level: 'error' }),
      });
      await transport.connect();
    }
    return transport;
  };
  const withAdmin: BrokerChecks['withAdmin'] = async (fn) => {
    const admin = createAdminClient(testbed.kafka);
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect();
    }
  };
  const groupOffsets: BrokerChecks['groupOffsets'] = async (groupId, topic) =>
    (await appTransport()).admin.groupOffsets(groupId, [topic]);
  return {
    withAdmin,
    groupOffsets,
    committed: async (groupId, topic) =>
      (await groupOffsets(groupId, topic)).reduce((sum, { offset }) => sum + offset, 0),
    async readTopic(topic, timeoutMs = 60_000) {
      const ends = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
      const remaining = new Map(ends.map(({ partition, high }) => [partition, Number(high)]));
      const records: TopicRecord[] = [];
      const consumer = adminKafka(testbed.kafka).consumer({
        kafkaJS: { groupId: `check-${randomUUID()}`, fromBeginning: true, autoCommit: false },
      });
      await consumer.connect();
      try {
        await consumer.subscribe({ topics: [topic] });
        let done!: () => void;
        const finished = new Promise<void>((resolve) => (done = resolve));
        const check = () => [...remaining.values()].every((high) => high <= 0) && done();
        check();
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            const headers: { [name: string]: string } = {};
            for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
            records.push({
              partition,
              offset: Number(message.offset),
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              headers,
            });
            const high = ends.find((end) => end.partition === partition)!.high;
            if (Number(message.offset) + 1 >= Number(high)) remaining.set(partition, 0);
            check();
          },
        });
        await Promise.race([
          finished,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error(`reading ${topic} took over ${timeoutMs} ms`)), timeoutMs),
          ),
        ]);
      } finally {
        await consumer.disconnect();
      }
      return records;
    },
    async readCommitted(topic) {
      const app = await appTransport();
      const partitions = (await app.admin.partitionCounts([topic])).get(topic) ?? 0;
      const reader = await app.reader();
      const records: TopicRecord[] = [];
      try {
        for (let partition = 0; partition < partitions; partition++) {
          await reader.readToEnd(
            { topic, partition },
            0,
            () => false,
            (messages) => {
              for (const message of messages) {
                const headers: { [name: string]: string } = {};
                for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
                records.push({
                  partition,
                  offset: message.offset,
                  key: message.key?.toString() ?? null,
                  value: message.value?.toString() ?? null,
                  headers,
                });
              }
            },
          );
        }
      } finally {
        await reader.close();
      }
      return records;
    },
    close: async () => {
      await transport?.close();
      transport = undefined;
    },
  };
}

export async function waitUntil(
  check: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
