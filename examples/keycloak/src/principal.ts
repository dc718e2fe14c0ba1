import { AbstractTokenProvider, toAccessToken, type AccessToken } from '@stream-app/credentials';
import { decodeJwt } from 'jose';

/**
 * Names the principal by the claim the broker uses (`sasl.oauthbearer.sub.claim.name`), not by `sub`.
 * The broker decides the principal on its own; this makes stream-app agree with it, so that the worker's
 * banner, its authorization errors and `stream-app doctor`'s ACL check name `User:<client id>`, not a UUID.
 */
export class PrincipalFromClaim extends AbstractTokenProvider {
  constructor(
    private readonly inner: AbstractTokenProvider,
    private readonly claim: string,
  ) {
    super();
  }

  async token(): Promise<AccessToken> {
    // A bare string is read as the token lifecycle reads it (exp from the JWT).
    const token = toAccessToken(await this.inner.token(), 60_000);
    const principal = decodeJwt(token.value)[this.claim];
    if (typeof principal !== 'string' || principal === '') {
      throw new Error(`the token has no "${this.claim}" claim: check KAFKA_PRINCIPAL_CLAIM (see README.md)`);
    }
    return { ...token, principal };
  }

  override async extensions(): Promise<Record<string, string>> {
    return (await this.inner.extensions?.()) ?? {};
  }

  override describe(): string {
    return `${this.inner.describe()} (principal from ${this.claim})`;
  }
}
