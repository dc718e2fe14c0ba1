import { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, KafkaDiagnostics } from '@stream-app/core';
import { kafkaClientConfig, type Credentials } from '@stream-app/credentials';
import { parseOrder, type Order } from './order.js';

export interface OrdersWorkerOptions {
  bootstrap: string;
  credentials: Credentials;
  topic: string;
  groupId: string;
  onOrder: (order: Order, where: { partition: number; offset: string }) => void;
  onBadMessage: (error: Error, where: { partition: number; offset: string }) => void;
}

/** A Kafka client built from credentials, the way every stream-app client is. */
export function kafkaClient(bootstrap: string, credentials: Credentials) {
  const diagnostics = new KafkaDiagnostics();
  const config = kafkaClientConfig(credentials);
  const kafka = new KafkaJS.Kafka({
    ...config,
    kafkaJS: { ...config.kafkaJS, brokers: [bootstrap], logger: diagnostics.logger } as never,
  });
  return {
    kafka,
    connect: (client: { connect(): Promise<void>; disconnect(): Promise<void> }) =>
      connectClient(client, diagnostics, bootstrap),
  };
}

/** Consumes orders over OAUTHBEARER; the credentials' token lifecycle keeps the token fresh. */
export async function startOrdersWorker(options: OrdersWorkerOptions) {
  const { kafka, connect } = kafkaClient(options.bootstrap, options.credentials);
  const consumer = kafka.consumer({ kafkaJS: { groupId: options.groupId, fromBeginning: true } });
  await connect(consumer);
  await consumer.subscribe({ topics: [options.topic] });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const where = { partition, offset: message.offset };
      try {
        options.onOrder(parseOrder(message.value), where);
      } catch (error) {
        options.onBadMessage(error as Error, where);
      }
    },
  });
  return { stop: () => consumer.disconnect() };
}
