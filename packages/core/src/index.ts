/**
 * The streaming core: App, topics, records, agents, streams, tables, windows, timers, the Kafka transport.
 *
 * @module @stream-app/core
 */
export { CoreError, StreamAppError } from './errors/index.js';
export type { CoreErrorCode, CoreErrorDetails, StreamAppErrorCode } from './errors/index.js';
export { KafkaDiagnostics, authenticationError, connectClient, explainKafkaError } from './kafka/kafka-diagnostics.js';
export type { AuthorizationContext, KafkaLogSink } from './kafka/kafka-diagnostics.js';
export { ConnectionLog } from './kafka/connection-log.js';
export type { KafkaConnectionCounts, KafkaConnectionEvent } from './kafka/connection-log.js';
export { arrayOf, field, Record } from './records/record.js';
export type { RecordClass } from './records/record.js';
export { codecNamed, recordCodec, registerCodec } from './codecs/codecs.js';
export type { Codec } from './codecs/codecs.js';
export { App } from './app/app.js';
export type { AppState, AppStats, CrontabOptions, ServiceMembers } from './app/app.js';
export type { AppOptions, BadMessagePolicy } from './app/app-options.js';
export type { TracingOptions } from './tracing/tracing-options.js';
export { DEAD_LETTER_HEADERS } from './dead-letters/dead-letters.js';
export { CORRELATION_ID, REPLY_TO } from './replies/replies.js';
export type { AppPlan, TopicPlan, TopicRole } from './topology/plan.js';
export { Topic } from './topics/topic.js';
export type { TopicMessage, TopicOptions, TypeSpec } from './topics/topic.js';
export { Agent } from './agents/agent.js';
export type { AgentFunction, AgentOptions, AskOptions, Sink } from './agents/agent.js';
export { Table } from './tables/table.js';
export type { TableOptions } from './tables/table.js';
export { SetTable } from './tables/set-table.js';
export { WindowedTable, WindowSet } from './windows/windowed-table.js';
export type { WindowKindSpec, WindowOptions, WindowValue } from './windows/windowed-table.js';
export type { Window, WindowKind } from './windows/window.js';
export type { Duration } from './clock/duration.js';
export { toMs } from './clock/duration.js';
export { MemoryStore } from './stores/memory-store.js';
export { LmdbStore } from './stores/lmdb-store.js';
export type { StoreContext, StoreWrite, TableStore } from './stores/store.js';
export { currentEvent } from './agents/current-event.js';
export { Stream } from './streams/stream.js';
export type { StreamTarget } from './streams/stream.js';
export { EVENT_TIME_HEADER, StreamEvent } from './streams/event.js';
export { agent, agentOf, crontab, page, service, timer } from './decorators/decorators.js';
export { PageResponse } from './web/pages.js';
export type { HttpMethod, Page, PageHandler, PageOptions, PageRequest } from './web/pages.js';
export { membersTopicName, resolveWebOptions } from './web/web-options.js';
export type { ResolvedWebOptions, WebAuthOptions, WebOptions } from './web/web-options.js';
export { Timer } from './timers/timer.js';
export type { TimerOptions } from './timers/timer.js';
export { createLogger, describeError, isLogLevel } from './logging/logger.js';
export type { LogFields, Logger, LoggerOptions, LogLevel } from './logging/logger.js';
export { ManualClock, systemClock } from './clock/clock.js';
export type { Clock, ClockTimer } from './clock/clock.js';
export { Sensors } from './sensors/sensor.js';
export type { DeadLetterInfo, LateEventInfo, PauseReason, Sensor, TableRecoveryProgress } from './sensors/sensor.js';
export { Backoff, Supervisor } from './supervisor/supervisor.js';
export type { SupervisedTask } from './supervisor/supervisor.js';
export { AtLeastOnce, ExactlyOnce } from './committer/commit-strategy.js';
export type { CommitStrategy } from './committer/commit-strategy.js';
export { OffsetTracker, PartitionOffsets } from './committer/offset-tracker.js';
export { KafkaTransport } from './transport/kafka-transport.js';
export type { KafkaTransportOptions, LibrdkafkaConfig } from './transport/kafka-config.js';
export { PauseReasons } from './transport/pause-reasons.js';
export { murmur2, partitionForKey } from './transport/partitioner.js';
export { firstHeader, partitionKey } from './transport/transport.js';
export type {
  AdminPort,
  ConnectOptions,
  Consumer,
  ConsumerHandlers,
  ConsumerOptions,
  IncomingMessage,
  MessageHeaders,
  OutgoingMessage,
  PartitionReader,
  PartitionWatermarks,
  TopicPartition,
  TopicPartitionOffset,
  TopicSpec,
  TransactionPort,
  Transport,
} from './transport/transport.js';
