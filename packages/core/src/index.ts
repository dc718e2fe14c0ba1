export { KafkaDiagnostics, authenticationError, connectClient, explainKafkaError } from './kafka/kafka-diagnostics.js';
export type { AuthorizationContext, KafkaLogSink } from './kafka/kafka-diagnostics.js';
export { arrayOf, field, Record } from './records/record.js';
export type { RecordClass } from './records/record.js';
export { codecNamed, recordCodec, registerCodec } from './codecs/codecs.js';
export type { Codec } from './codecs/codecs.js';
