export { KafkaDiagnostics, authenticationError, connectClient, explainKafkaError } from './kafka/kafka-diagnostics.js';
export type { AuthorizationContext, KafkaLogSink } from './kafka/kafka-diagnostics.js';
export { arrayOf, field, Record } from './records/record.js';
export type { RecordClass } from './records/record.js';
export { codecNamed, recordCodec, registerCodec } from './codecs/codecs.js';
export type { Codec } from './codecs/codecs.js';
export { App, DEAD_LETTER_HEADERS } from './app/app.js';
export type { AppState, AppStats } from './app/app.js';
export type { AppOptions, BadMessagePolicy } from './app/app-options.js';
export { CORRELATION_ID, REPLY_TO } from './app/replies.js';
export { Topic } from './topics/topic.js';
export type { TopicMessage, TopicOptions, TypeSpec } from './topics/topic.js';
export { Agent } from './agents/agent.js';
export type { AgentFunction, AgentOptions, AskOptions, Sink } from './agents/agent.js';
export { Stream } from './streams/stream.js';
export type { StreamTarget } from './streams/stream.js';
export { StreamEvent } from './streams/event.js';
export { agent, agentOf, service } from './decorators/decorators.js';
export { createLogger, describeError, isLogLevel } from './logging/logger.js';
export type { LogFields, Logger, LoggerOptions, LogLevel } from './logging/logger.js';
export { KafkaTransport } from './transport/kafka-transport.js';
export type {
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  IncomingMessage,
  OutgoingMessage,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
  Transport,
} from './transport/transport.js';
export { OffsetTracker, PartitionOffsets } from './offsets/offset-tracker.js';
