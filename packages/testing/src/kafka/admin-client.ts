import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { adminKafka } from '../testbed/testbed-clients.js';
import type { KafkaInfo } from './kafka-info.js';

/** An admin client on the PLAIN listener as the super user (not connected yet). */
export function createAdminClient(kafka: KafkaInfo): KafkaJS.Admin {
  return adminKafka(kafka).admin();
}
