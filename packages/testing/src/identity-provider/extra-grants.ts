// Grants oidc-provider does not issue by itself, answered per their RFCs with
// real tokens signed by the provider's key: RFC 7523 JWT bearer, RFC 8693
// token exchange, and the legacy password grant with rotating refresh tokens.
import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JWK, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export interface ExtraGrantsContext {
  issuer: string;
  audience: string;
  lifetimeSec: number;
  /** Public keys whose signatures make an RFC 7523 assertion acceptable. */
  trustedAssertionKeys: JWK[];
  users: Array<{ username: string; password: string }>;
  /** Public JWKS of the provider itself (subject tokens of a token exchange are its own). */
  publicKeys: () => JWK[];
  sign: (claims: JWTPayload) => Promise<string>;
  /** Refresh tokens issued, shared by every provider instance of this identity provider. */
  refreshTokens: Map<string, { sub: string; clientId: string; scope: string }>;
}

type GrantContext = {
  oidc: { params: Record<string, string | undefined>; client: { clientId: string } };
  body: unknown;
};

export function registerExtraGrants(provider: Provider, context: ExtraGrantsContext): void {
  const issue = async (
    ctx: GrantContext,
    sub: string,
    extra: { scope?: string; audience?: string; act?: object; refresh?: boolean },
  ) => {
    const now = Math.floor(Date.now() / 1000);
    const scope = extra.scope ?? 'kafka';
    const accessToken = await context.sign({
      iss: context.issuer,
      sub,
      aud: extra.audience ?? context.audience,
      iat: now,
      exp: now + context.lifetimeSec,
      scope,
      client_id: ctx.oidc.client.clientId,
      jti: randomBytes(12).toString('base64url'),
      ...(extra.act ? { act: extra.act } : {}),
    });
    let refreshToken: string | undefined;
    if (extra.refresh) {
      refreshToken = randomBytes(24).toString('base64url');
      context.refreshTokens.set(refreshToken, { sub, clientId: ctx.oidc.client.clientId, scope });
    }
    ctx.body = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: context.lifetimeSec,
      scope,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    };
  };

  const register = provider.registerGrantType.bind(provider) as (
    name: string,
    handler: (ctx: GrantContext) => Promise<void>,
    params: string[],
  ) => void;

  register(
    JWT_BEARER,
    async (ctx) => {
      const { assertion, scope } = ctx.oidc.params;
      if (!assertion) throw new errors.InvalidRequest('missing assertion');
      let claims: JWTPayload;
      try {
        ({ payload: claims } = await jwtVerify(assertion, createLocalJWKSet({ keys: context.trustedAssertionKeys }), {
          audience: [context.issuer, `${context.issuer}/token`],
          requiredClaims: ['iss', 'sub', 'exp'],
        }));
      } catch (error) {
        throw new errors.InvalidGrant(`assertion rejected: ${(error as Error).message}`);
      }
      await issue(ctx, claims.sub as string, { ...(scope ? { scope } : {}) });
    },
    ['assertion', 'scope', 'resource', 'audience'],
  );

  register(
    TOKEN_EXCHANGE,
    async (ctx) => {
      const {
        subject_token: subjectToken,
        subject_token_type: subjectType,
        audience,
        resource,
        scope,
      } = ctx.oidc.params;
      if (!subjectToken || !subjectType) throw new errors.InvalidRequest('missing subject_token or subject_token_type');
      if (subjectType !== ACCESS_TOKEN_TYPE && subjectType !== 'urn:ietf:params:oauth:token-type:jwt') {
        throw new errors.InvalidRequest(`unsupported subject_token_type ${subjectType}`);
      }
      let subject: JWTPayload;
      try {
        ({ payload: subject } = await jwtVerify(subjectToken, createLocalJWKSet({ keys: context.publicKeys() }), {
          issuer: context.issuer,
        }));
      } catch (error) {
        throw new errors.InvalidGrant(`subject_token rejected: ${(error as Error).message}`);
      }
      await issue(ctx, subject.sub as string, {
        ...(scope ? { scope } : {}),
        audience: audience ?? resource ?? context.audience,
        act: { sub: ctx.oidc.client.clientId },
      });
      (ctx.body as Record<string, unknown>).issued_token_type = ACCESS_TOKEN_TYPE;
    },
    [
      'subject_token',
      'subject_token_type',
      'actor_token',
      'actor_token_type',
      'requested_token_type',
      'audience',
      'resource',
      'scope',
    ],
  );

  register(
    'password',
    async (ctx) => {
      const { username, password, scope } = ctx.oidc.params;
      const user = context.users.find((u) => u.username === username && u.password === password);
      if (!user) throw new errors.InvalidGrant('wrong username or password');
      await issue(ctx, user.username, { ...(scope ? { scope } : {}), refresh: true });
    },
    ['username', 'password', 'scope'],
  );

  // Replaces oidc-provider's own refresh grant: it only knows refresh tokens of the code flow.
  register(
    'refresh_token',
    async (ctx) => {
      const presented = ctx.oidc.params.refresh_token ?? '';
      const grant = context.refreshTokens.get(presented);
      if (!grant || grant.clientId !== ctx.oidc.client.clientId)
        throw new errors.InvalidGrant('refresh token unknown, used or revoked');
      context.refreshTokens.delete(presented); // rotation: each refresh token works once
      await issue(ctx, grant.sub, { scope: grant.scope, refresh: true });
    },
    ['refresh_token', 'scope'],
  );
}
