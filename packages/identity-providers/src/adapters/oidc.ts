import {
  CredentialsError,
  ClientCredentialsProvider,
  type AbstractTokenProvider,
  type ClientCredentialsOptions,
} from '@stream-app/credentials';

export type OidcOptions = Omit<ClientCredentialsOptions, 'tokenEndpoint'> & { issuer: string };

/** Any OpenID Connect server: the token endpoint comes from the issuer's discovery document. */
export function oidc(options: OidcOptions): AbstractTokenProvider {
  if (!options?.issuer)
    throw new CredentialsError(
      'STREAM_APP_ERR_INVALID_OPTIONS',
      'oidc(): issuer is required (its /.well-known/openid-configuration names the token endpoint)',
    );
  return new ClientCredentialsProvider(options);
}
