// The transport's ports against the real broker and identity provider: the admin port, the partition
// reader, pause reasons, resubscription, and the runtime behaviour that depends on the client.
import { createLogger, KafkaTransport, type Consumer, type IncomingMessage, type StreamEvent } from '@stream-app/core';
import { adminKafka } from '@stream-app/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTopic,
  eventually,
  makeApp,
  oauth,
  readTopic,
  stoppedAfterEachTest,
  testbed,
  uniqueName,
} from './helpers/broker.js';

const track = stoppedAfterEachTest();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const transports: KafkaTransport[] = [];
afterEach(async () => {
  await Promise.all(transports.splice(0).map((transport) => transport.close()));
});

async function connected(): Promise<KafkaTransport> {
  const transport = new KafkaTransport({
    bootstrap: testbed.kafka.bootstrap.oauth,
    credentials: oauth(),
    principal: async () => 'User:app',
    logger: createLogger({ level: 'warn' }),
  });
  transports.push(transport);
  await transport.connect();
  return transport;
}

async function produce(
  transport: KafkaTransport,
  topic: string,
  count: number,
  partition: number,
  first = 0,
): Promise<void> {
  for (let n = first; n < first + count; n++) {
    void transport.send({ topic, key: null, value: Buffer.from(String(n)), partition });
  }
  await transport.flush();
}

describe('transport ports against a real broker', () => {
  it('admin: partition counts, watermarks after a produce, and a group’s committed offsets', async () => {
    const topic = uniqueName('ports');
    const transport = await connected();
    await transport.admin.createTopics([{ name: topic, partitions: 2, replicas: 1, config: {} }]);
    await transport.admin.createTopics([{ name: topic, partitions: 2, replicas: 1, config: {} }]); // exists: no error
    expect(await transport.admin.partitionCounts([topic, uniqueName('missing')])).toEqual(new Map([[topic, 2]]));
    await produce(transport, topic, 7, 0);
    await produce(transport, topic, 3, 1);
    expect(await transport.admin.watermarks(topic)).toEqual([
      { partition: 0, low: 0, high: 7 },
      { partition: 1, low: 0, high: 3 },
    ]);
    const group = uniqueName('ports-group');
    const consumer = await transport.consume(
      { groupId: group, topics: [topic], fromBeginning: true },
      { onMessages: () => {}, onAssigned: () => {}, onRevoked: () => {} },
    );
    await eventually(async () => {
      await consumer.commit([{ topic, partition: 0, offset: 5 }]).catch(() => {});
      return (await transport.admin.groupOffsets(group, [topic])).length > 0;
    }, 'a commit');
    expect(await transport.admin.groupOffsets(group, [topic])).toEqual([{ topic, partition: 0, offset: 5 }]);
    await consumer.close();
  });

  it('reader: reads a partition to its end from a given offset, outside any group', async () => {
    const topic = uniqueName('reader');
    await createTopic(topic, 2);
    const transport = await connected();
    await produce(transport, topic, 1200, 1);
    const reader = await transport.reader();
    try {
      const read: IncomingMessage[] = [];
      const next = await reader.readToEnd(
        { topic, partition: 1 },
        250,
        () => false,
        (batch) => read.push(...batch),
      );
      expect(next).toBe(1200);
      expect(read.map((message) => message.offset)).toEqual(Array.from({ length: 950 }, (_, i) => 250 + i));
      expect(read[0]!.value!.toString()).toBe('250');
      // Reading again from the end is immediate and reads nothing; an empty partition ends at 0.
      expect(
        await reader.readToEnd(
          { topic, partition: 1 },
          1200,
          () => false,
          () => read.push(),
        ),
      ).toBe(1200);
      expect(
        await reader.readToEnd(
          { topic, partition: 0 },
          0,
          () => false,
          () => {},
        ),
      ).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('pause reasons: resuming one reason does not resume a partition paused for another', async () => {
    const topic = uniqueName('pauses');
    await createTopic(topic, 1);
    const transport = await connected();
    const received: number[] = [];
    let assigned!: () => void;
    const isAssigned = new Promise<void>((resolve) => (assigned = resolve));
    const consumer: Consumer = await transport.consume(
      { groupId: uniqueName('pauses-group'), topics: [topic], fromBeginning: true },
      {
        onMessages: (messages) => received.push(...messages.map((m) => Number(m.value!.toString()))),
        onAssigned: () => assigned(),
        onRevoked: () => {},
      },
    );
    await isAssigned;
    await produce(transport, topic, 5, 0);
    await eventually(() => received.length === 5, 'the first five');
    const partition = [{ topic, partition: 0 }];
    consumer.pause(partition, 'backpressure');
    consumer.pause(partition, 'recovery');
    expect(consumer.paused()).toEqual([{ topic, partition: 0, reasons: ['backpressure', 'recovery'] }]);
    consumer.resume(partition, 'backpressure');
    await produce(transport, topic, 5, 0, 5);
    await sleep(2500);
    expect(received).toHaveLength(5);
    consumer.resume(partition, 'recovery');
    expect(consumer.paused()).toEqual([]);
    await eventually(() => received.length === 10, 'the next five after the last reason resumed');
    expect(received).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await consumer.close();
  });

  // The bug behind exactly once's kill -9 duplicates: the client keeps a seek of a partition it no longer
  // holds (a late rewind, a pause's own seek) and applies it when the partition comes back, over the offset
  // another member committed meanwhile. The pause at assignment (a table's recovery hold) must not either.
  // The hold starts late (after the first batch of the new ownership) or at once (before anything is delivered).
  it.each([
    ['late', 300],
    ['at once', 0],
  ])(
    'seek and pause: a partition revoked meanwhile comes back at the offset committed meanwhile (hold %s)',
    async (_when, holdDelayMs) => revokedMeanwhile(holdDelayMs),
  );

  // The same with nothing committed: the partition comes back from the beginning, not after what was read before.
  it('a partition read before but never committed comes back from the beginning under a hold at assignment', async () => {
    const topic = uniqueName('uncommitted-revoked');
    await createTopic(topic, 2);
    const transport = await connected();
    const group = uniqueName('uncommitted-revoked-group');
    const member = (holdOnAssign: boolean) => groupMember(transport, group, topic, holdOnAssign ? 0 : undefined);
    const first = member(true);
    const firstConsumer = await first.consumer;
    await eventually(() => first.held.size === 2, 'both partitions assigned to the first consumer');
    await produce(transport, topic, 10, 0);
    await produce(transport, topic, 10, 1);
    await eventually(() => first.received.length === 20, 'all twenty read, none committed');
    const second = member(false);
    const secondConsumer = await second.consumer;
    await eventually(() => first.held.size === 1 && second.held.size === 1, 'one partition moved to the second');
    const moved = [...second.held][0]!;
    await secondConsumer.close();
    await eventually(() => first.held.size === 2, 'the moved partition back with the first consumer');
    const ten = Array.from({ length: 10 }, (_, offset) => offset);
    await eventually(() => first.read(moved).length >= 20, 'the moved partition read again from the beginning');
    expect(first.read(moved)).toEqual([...ten, ...ten]);
    await firstConsumer.close();
  });

  // librdkafka keeps an application pause through a revocation; the app forgets the revoked partition's pauses.
  it('a partition revoked while paused is read again when it comes back', async () => {
    const topic = uniqueName('paused-revoked');
    await createTopic(topic, 2);
    const transport = await connected();
    const group = uniqueName('paused-revoked-group');
    const member = () => {
      const received: Array<[number, number]> = [];
      const held = new Set<number>();
      const consumer = transport.consume(
        { groupId: group, topics: [topic], fromBeginning: true },
        {
          onMessages: (messages) => received.push(...messages.map((m) => [m.partition, m.offset] as [number, number])),
          onAssigned: (partitions) => partitions.forEach(({ partition }) => held.add(partition)),
          onRevoked: (partitions) => partitions.forEach(({ partition }) => held.delete(partition)),
        },
      );
      return { consumer, received, held };
    };
    const first = member();
    const firstConsumer = await first.consumer;
    await eventually(() => first.held.size === 2, 'both partitions assigned to the first consumer');
    firstConsumer.pause([0, 1].map((partition) => ({ topic, partition })));
    const second = member();
    const secondConsumer = await second.consumer;
    await eventually(() => first.held.size === 1 && second.held.size === 1, 'one partition moved to the second');
    const moved = [...second.held][0]!;
    expect(firstConsumer.paused().map(({ partition }) => partition)).toEqual([1 - moved]);
    await secondConsumer.close();
    await eventually(() => first.held.size === 2, 'the moved partition back with the first consumer');
    await produce(transport, topic, 1, moved, 0);
    await eventually(() => first.received.some(([p]) => p === moved), 'the record of the partition that came back');
    await firstConsumer.close();
  });
});

/**
 * A member of `group` on `topic` that records what it reads and holds. With `holdDelayMs` it does what a
 * table's recovery does with new partitions: pauses them (at once, or that much later) and resumes them 500 ms on.
 */
function groupMember(transport: KafkaTransport, group: string, topic: string, holdDelayMs?: number) {
  const received: Array<[number, number]> = [];
  const held = new Set<number>();
  const consumer = transport.consume(
    { groupId: group, topics: [topic], fromBeginning: true },
    {
      onMessages: (messages) => received.push(...messages.map((m) => [m.partition, m.offset] as [number, number])),
      onAssigned: async (partitions) => {
        for (const { partition } of partitions) held.add(partition);
        if (holdDelayMs === undefined) return;
        const client = await consumer;
        const hold = () => {
          client.pause(partitions, 'recovery');
          setTimeout(() => client.resume(partitions, 'recovery'), 500);
        };
        if (holdDelayMs === 0) hold();
        else setTimeout(hold, holdDelayMs);
      },
      onRevoked: (partitions) => partitions.forEach(({ partition }) => held.delete(partition)),
    },
  );
  const read = (partition: number) => received.filter(([p]) => p === partition).map(([, offset]) => offset);
  return { consumer, received, held, read };
}

async function revokedMeanwhile(holdDelayMs: number): Promise<void> {
  const topic = uniqueName('seek-revoked');
  await createTopic(topic, 2);
  const transport = await connected();
  const group = uniqueName('seek-revoked-group');
  const member = (options: { holdOnAssign?: boolean } = {}) =>
    groupMember(transport, group, topic, options.holdOnAssign ? holdDelayMs : undefined);
  const commitAll = async (consumer: Consumer, offsets: Array<[number, number]>) =>
    eventually(async () => {
      await consumer.commit(offsets.map(([partition, offset]) => ({ topic, partition, offset }))).catch(() => {});
      const committed = await transport.admin.groupOffsets(group, [topic]);
      return offsets.every(([partition, offset]) =>
        committed.some((c) => c.partition === partition && c.offset === offset),
      );
    }, 'offsets committed');

  const first = member({ holdOnAssign: true });
  const firstConsumer = await first.consumer;
  await eventually(() => first.held.size === 2, 'both partitions assigned to the first consumer');
  await produce(transport, topic, 10, 0);
  await produce(transport, topic, 10, 1);
  await eventually(() => first.received.length === 20, 'all twenty read');
  await commitAll(firstConsumer, [
    [0, 10],
    [1, 10],
  ]);
  const second = member();
  const secondConsumer = await second.consumer;
  await eventually(() => first.held.size === 1 && second.held.size === 1, 'one partition moved to the second');
  const moved = [...second.held][0]!;
  await produce(transport, topic, 10, moved, 10);
  await eventually(() => second.read(moved).length === 10, 'the second reads ten more');
  await commitAll(secondConsumer, [[moved, 20]]);
  // What a late rewind or a barrier's pause of the moved partition does in the first consumer.
  firstConsumer.seek([{ topic, partition: moved, offset: 0 }]);
  firstConsumer.pause([{ topic, partition: moved }], 'barrier');
  await sleep(1000);
  await secondConsumer.close();
  await eventually(() => first.held.size === 2, 'the moved partition back with the first consumer');
  await produce(transport, topic, 1, moved, 20);
  await eventually(() => first.read(moved).includes(20), 'the new record');
  await sleep(1000);
  expect(first.read(moved)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 20]);
  await firstConsumer.close();
}

describe('runtime against a real broker', () => {
  it('keeps every value of a repeated header, in the event and in the dead letter', async () => {
    const topic = uniqueName('headers');
    const deadLetters = uniqueName('headers-dead');
    await createTopic(topic);
    const app = track(makeApp({ id: uniqueName('headers-app'), deadLetterTopic: deadLetters }));
    const seen: StreamEvent[] = [];
    app.agent(app.topic(topic, { valueType: 'json' }), async (stream) => {
      for await (const event of stream.events()) seen.push(event);
    });
    await app.start();
    const producer = adminKafka(testbed.kafka).producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'a', value: '{"ok":true}', headers: { trace: ['one', 'two'], single: 'x' } },
        { key: 'b', value: 'not json', headers: { trace: ['three', 'four'] } },
      ],
    });
    await producer.disconnect();
    await eventually(() => seen.length === 1, 'the good message');
    const headers = seen[0]!.headers;
    expect((headers.trace as Buffer[]).map(String)).toEqual(['one', 'two']);
    expect(String(headers.single)).toBe('x');
    const [dead] = await readTopic(deadLetters, 1);
    expect(dead!.headers.trace).toBe('three,four'); // the reader joins repeated values
    expect(dead!.headers['stream-app.error.code']).toBe('STREAM_APP_ERR_DECODE');
  });

  it('resubscribes when an agent meets its groupBy topic after the worker subscribed', async () => {
    const topic = uniqueName('late');
    await createTopic(topic, 2);
    const app = track(makeApp({ id: uniqueName('late-app') }));
    const byAccount: string[] = [];
    app.agent(app.topic<{ account: string }>(topic, { valueType: 'json' }), async function* late(stream) {
      await sleep(300); // loads its configuration before its first read
      for await (const order of stream.groupBy((o) => o.account, { name: 'by-account' })) {
        byAccount.push(order.account);
        yield order;
      }
    });
    await app.start();
    await app.send(topic, { value: { account: 'a' }, key: 'a' });
    await app.send(topic, { value: { account: 'b' }, key: 'b' });
    await eventually(() => byAccount.length === 2, 'both orders through the repartition topic', 45_000);
    expect(byAccount.sort()).toEqual(['a', 'b']);
    expect(app.failure).toBeUndefined();
  });

  it('fails the app with a code when onPartitionsAssigned throws (the client would only log it)', async () => {
    const topic = uniqueName('hooks');
    await createTopic(topic);
    const app = track(
      makeApp({
        id: uniqueName('hooks-app'),
        onPartitionsAssigned: () => {
          throw new Error('hook broke');
        },
      }),
    );
    app.agent(app.topic(topic), async (stream) => {
      for await (const value of stream) void value;
    });
    const failed = new Promise<Error>((resolve) => app.once('failed', resolve));
    await app.start().catch(() => {});
    expect(await failed).toMatchObject({ code: 'STREAM_APP_ERR_HOOK_FAILED' });
    await eventually(() => app.state === 'stopped', 'the app to stop');
  });
});
