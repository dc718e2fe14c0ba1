// `@stream-app/credentials/kafka`: what a Kafka client needs from credentials, without the OAuth
// grant providers and the JWT verifier, so that importing it loads neither openid-client nor jose.
export { StreamAppError } from '../errors.js';
export { AbstractTokenProvider } from '../token/abstract-token-provider.js';
export type { AccessToken } from '../token/access-token.js';
export type { TokenLifecycle } from '../token/token-lifecycle.js';
export { OAuthCredentials, SaslCredentials, SslCredentials } from '../credentials/credentials.js';
export type { Credentials } from '../credentials/credentials.js';
export { kafkaClientConfig } from './kafka-client-config.js';
export type { KafkaClientSecurityConfig, KafkaOAuthBearerToken } from './kafka-client-config.js';
