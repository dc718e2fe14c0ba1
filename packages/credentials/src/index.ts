/**
 * Credentials for Kafka: OAuth token providers and their lifecycle, SASL, mTLS, the JWT verifier.
 *
 * @module @stream-app/credentials
 */
export { CredentialsError, StreamAppError } from './errors.js';
export type { CredentialsErrorCode, StreamAppErrorCode, StreamAppErrorOptions } from './errors.js';
export { REDACTED, Secret, redact } from './secrets.js';
export { checkIdentityProviderUrl } from './http/url-policy.js';
export type { UrlPolicy } from './http/url-policy.js';
export { AbstractTokenProvider } from './token/abstract-token-provider.js';
export { toAccessToken } from './token/access-token.js';
export type { AccessToken } from './token/access-token.js';
export { TokenLifecycle, lifecycleFor } from './token/token-lifecycle.js';
export type { TokenLifecycleEvents, TokenLifecycleOptions, TokenState, TokenStats } from './token/token-lifecycle.js';
export { OAuthCredentials, SaslCredentials, SslCredentials } from './credentials/credentials.js';
export type { Credentials, OAuthCredentialsOptions, SaslCredentialsOptions } from './credentials/credentials.js';
export { createSslContext } from './ssl/create-ssl-context.js';
export type { SslContext, SslContextOptions } from './ssl/create-ssl-context.js';
export { kafkaClientConfig } from './kafka/kafka-client-config.js';
export type { KafkaClientSecurityConfig, KafkaOAuthBearerToken } from './kafka/kafka-client-config.js';
export { OAuthServer } from './providers/oauth-server.js';
export type { ClientAuthMethod, OAuthServerOptions } from './providers/oauth-server.js';
export { ClientCredentialsProvider } from './providers/client-credentials-provider.js';
export type { ClientCredentialsOptions } from './providers/client-credentials-provider.js';
export { StaticTokenProvider } from './providers/static-token-provider.js';
export { FileTokenProvider } from './providers/file-token-provider.js';
export type { FileTokenOptions } from './providers/file-token-provider.js';

export { createJwtVerifier } from './verifier/create-jwt-verifier.js';
export type { JwtVerifier, JwtVerifierOptions, VerifiedToken } from './verifier/create-jwt-verifier.js';
export {
  JwtBearerProvider,
  PasswordGrantProvider,
  RefreshTokenProvider,
  TokenExchangeProvider,
} from './providers/grant-providers.js';
export type { AssertionSigner } from './providers/grant-providers.js';
