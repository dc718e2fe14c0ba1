import { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, KafkaDiagnostics } from '@stream-app/core';
import { clientCredentials, type OAuthClient } from './client-credentials.js';
import { parseOrder, type Order } from './order.js';

export interface OrdersWorkerOptions {
  bootstrap: string;
  oauth: OAuthClient;
  topic: string;
  groupId: string;
  onOrder: (order: Order, where: { partition: number; offset: string }) => void;
  onBadMessage: (error: Error, where: { partition: number; offset: string }) => void;
}

/** Consumes orders over OAUTHBEARER: librdkafka calls back for a fresh token before the current one expires. */
export async function startOrdersWorker(options: OrdersWorkerOptions) {
  const diagnostics = new KafkaDiagnostics();
  const kafka = new KafkaJS.Kafka({
    kafkaJS: {
      brokers: [options.bootstrap],
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: () => clientCredentials(options.oauth) },
      logger: diagnostics.logger,
    },
  });
  const consumer = kafka.consumer({ kafkaJS: { groupId: options.groupId, fromBeginning: true } });
  await connectClient(consumer, diagnostics, options.bootstrap);
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
