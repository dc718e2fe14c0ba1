export { keycloak } from './adapters/keycloak.js';
export type { KeycloakOptions } from './adapters/keycloak.js';
export { oidc } from './adapters/oidc.js';
export type { OidcOptions } from './adapters/oidc.js';
