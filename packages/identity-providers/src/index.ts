/**
 * One adapter per identity provider (Keycloak, Okta, Entra ID, Auth0, Google, AWS, Confluent Cloud, OIDC).
 *
 * @module @stream-app/identity-providers
 */
export { keycloak } from './adapters/keycloak.js';
export type { KeycloakOptions } from './adapters/keycloak.js';
export { oidc } from './adapters/oidc.js';
export type { OidcOptions } from './adapters/oidc.js';
export { okta } from './adapters/okta.js';
export type { OktaOptions } from './adapters/okta.js';
export { entraId, eventHubs } from './adapters/entra-id.js';
export type { EntraIdCertificate, EntraIdOptions } from './adapters/entra-id.js';
export { auth0 } from './adapters/auth0.js';
export type { Auth0Options } from './adapters/auth0.js';
export { googleManagedKafka } from './adapters/google-managed-kafka.js';
export type {
  GoogleAccessToken,
  GoogleManagedKafkaOptions,
  GoogleServiceAccountKey,
} from './adapters/google-managed-kafka.js';
export { awsMskIam } from './adapters/aws-msk-iam.js';
export type { AwsCredentials, AwsCredentialsProvider, AwsMskIamOptions } from './adapters/aws-msk-iam.js';
export { awsStsWebIdentity } from './adapters/aws-sts-web-identity.js';
export type { AwsStsWebIdentityOptions } from './adapters/aws-sts-web-identity.js';
export { confluentCloud } from './adapters/confluent-cloud.js';
export type { ConfluentCloudOptions } from './adapters/confluent-cloud.js';
