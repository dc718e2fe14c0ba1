/**
 * The in-memory test driver for agents, and launchers of a real local Kafka broker and OIDC provider.
 *
 * @module @stream-app/testing
 */
export { startIdentityProvider } from './identity-provider/start-identity-provider.js';
export type {
  GrantType,
  IdentityProvider,
  IdentityProviderClient,
  IdentityProviderInfo,
  IdentityProviderOptions,
  SigningAlgorithm,
  TokenRequestStats,
} from './identity-provider/start-identity-provider.js';
export { generateSigningKey, publicJwk } from './identity-provider/keys.js';
export { startKafka } from './kafka/start-kafka.js';
export type { KafkaBroker, KafkaOptions } from './kafka/start-kafka.js';
export type { KafkaInfo } from './kafka/kafka-info.js';
export { createAcls, removeAcls } from './kafka/acls.js';
export type { AclBinding, AclOperation } from './kafka/acls.js';
export { createAdminClient } from './kafka/admin-client.js';
export { KAFKA_VERSION, resolveKafka } from './kafka/resolve-kafka.js';
export { freePort, freePorts } from './free-port.js';
export { printProgress, silentProgress, type ProgressListener } from './progress.js';
export { startTestbed, TESTBED_CLIENTS } from './testbed/start-testbed.js';
export type { Testbed, TestbedInfo, TestbedOptions } from './testbed/start-testbed.js';
export { KEYCLOAK_VERSION, startKeycloak } from './keycloak/start-keycloak.js';
export type { KeycloakClient, KeycloakOptions, RunningKeycloak } from './keycloak/start-keycloak.js';
export { makeBrokerCertificates } from './kafka/certificates.js';
export type { BrokerCertificates } from './kafka/certificates.js';
export { MemoryTransport } from './driver/memory-transport.js';
export type { MemoryTransportOptions, UnfinishedPartition } from './driver/memory-transport.js';
export { partitionForKey } from '@stream-app/core';
export { PUT_ID_HEADER, TestDriver, testApp } from './driver/test-driver.js';
export type { DeadLetter, PutOptions, PutResult, PutValue, SentMessage, TestAppOptions } from './driver/test-driver.js';
export { adminKafka, testbedCredentials } from './testbed/testbed-clients.js';
