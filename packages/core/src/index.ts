export { KafkaDiagnostics, authenticationError, connectClient, explainKafkaError } from './kafka/kafka-diagnostics.js';
export type { AuthorizationContext, KafkaLogSink } from './kafka/kafka-diagnostics.js';
