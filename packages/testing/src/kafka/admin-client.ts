import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { KafkaInfo } from './kafka-info.js';

/** An admin client on the PLAIN listener as the super user (not connected yet). */
export function createAdminClient(kafka: KafkaInfo): KafkaJS.Admin {
  return new KafkaJS.Kafka({
    kafkaJS: {
      brokers: [kafka.bootstrap.admin],
      sasl: { mechanism: 'plain', username: kafka.adminUser.username, password: kafka.adminUser.password },
      logLevel: KafkaJS.logLevel.ERROR,
    },
  }).admin();
}
