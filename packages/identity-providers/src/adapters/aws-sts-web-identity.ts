// AWS STS outbound identity federation: `GetWebIdentityToken` turns the
// caller's AWS identity into a JWT signed by STS (issuer
// `https://<uuid>.tokens.sts.global.api.aws`, `sub` = the caller's ARN), which
// services such as Aiven for Apache Kafka accept over OAUTHBEARER. The call
// is not served by the STS global endpoint, so a region is required.
import { inspect } from 'node:util';
import { GetWebIdentityTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { decodeJwt } from 'jose';
import type { StreamAppError } from '@stream-app/credentials';
import {
  CredentialsError,
  AbstractTokenProvider,
  checkIdentityProviderUrl,
  redact,
  type AccessToken,
} from '@stream-app/credentials';
import type { AwsCredentials, AwsCredentialsProvider } from './aws-msk-iam.js';

export interface AwsStsWebIdentityOptions {
  /** The `aud` of the token: what the broker expects (e.g. the audience configured at Aiven). Up to 10. */
  audience: string | string[];
  /** A region with STS enabled, e.g. `eu-west-1` (not `aws-global`). */
  region: string;
  signingAlgorithm: 'RS256' | 'ES384';
  /** Token lifetime, 60..3600 s; default 300. */
  durationSeconds?: number;
  /** Static credentials or a provider; default the SDK's default chain. */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** STS endpoint override (a VPC endpoint, or a test server). */
  endpoint?: string;
  /** Plain HTTP to a loopback endpoint (tests only). */
  allowInsecureLoopback?: boolean;
  /** SDK attempts per token request (default the SDK's: 3). */
  maxAttempts?: number;
}

/**
 * JWTs from AWS STS `GetWebIdentityToken` for `audience`. The principal is
 * the token's `sub` (the caller's IAM ARN); the expiry is the response's
 * `Expiration`. Options are checked before any request.
 */
export function awsStsWebIdentity(options: AwsStsWebIdentityOptions): AbstractTokenProvider {
  const fail = (message: string) =>
    new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `awsStsWebIdentity(): ${message}`);
  if (!options || typeof options !== 'object') throw fail('pass an options object');
  const audience = (Array.isArray(options.audience) ? options.audience : [options.audience]).map((value) =>
    typeof value === 'string' ? value.trim() : '',
  );
  if (audience.length === 0 || audience.some((value) => value === '')) {
    throw fail(
      "audience is required: the value the broker expects in the token's aud claim (at Aiven: the audience " +
        "set in the OIDC configuration), e.g. audience: 'kafka.example.com'",
    );
  }
  if (audience.length > 10 || audience.some((value) => value.length > 1000)) {
    throw fail('STS takes at most 10 audiences of at most 1000 characters each');
  }
  if (!options.region)
    throw fail("region is required: STS serves GetWebIdentityToken only on regional endpoints, e.g. 'eu-west-1'");
  if (options.region === 'aws-global' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(options.region)) {
    throw fail(
      `'${options.region}' is not a regional AWS region code (GetWebIdentityToken is not on the global endpoint)`,
    );
  }
  if (options.signingAlgorithm !== 'RS256' && options.signingAlgorithm !== 'ES384') {
    throw fail(
      `signingAlgorithm must be 'RS256' or 'ES384' (what STS can sign with), not ${String(options.signingAlgorithm)}`,
    );
  }
  const durationSeconds = options.durationSeconds ?? 300;
  if (!Number.isInteger(durationSeconds) || durationSeconds < 60 || durationSeconds > 3600) {
    throw fail(
      `durationSeconds must be a whole number of seconds from 60 to 3600, not ${String(options.durationSeconds)}`,
    );
  }
  const credentials = options.credentials;
  if (credentials !== undefined && typeof credentials !== 'function') {
    if (typeof credentials !== 'object' || !credentials.accessKeyId || !credentials.secretAccessKey) {
      throw fail('credentials needs accessKeyId and secretAccessKey (and sessionToken for temporary credentials)');
    }
  }
  if (options.endpoint) {
    checkIdentityProviderUrl(
      options.endpoint,
      { allowInsecureLoopback: options.allowInsecureLoopback ?? false },
      'endpoint',
    );
  }
  if (options.maxAttempts !== undefined && (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1)) {
    throw fail('maxAttempts must be a whole number of at least 1');
  }
  const client = new STSClient({
    region: options.region,
    ...(credentials ? { credentials } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
  const secrets =
    credentials && typeof credentials === 'object'
      ? [credentials.secretAccessKey, ...(credentials.sessionToken ? [credentials.sessionToken] : [])]
      : [];
  return new AwsStsWebIdentityProvider(client, {
    audience,
    signingAlgorithm: options.signingAlgorithm,
    durationSeconds,
    where: options.endpoint ?? `https://sts.${options.region}.amazonaws.com`,
    secrets,
  });
}

interface Request {
  audience: string[];
  signingAlgorithm: string;
  durationSeconds: number;
  where: string;
  secrets: string[];
}

class AwsStsWebIdentityProvider extends AbstractTokenProvider {
  readonly #client: STSClient;
  readonly #request: Request;

  constructor(client: STSClient, request: Request) {
    super();
    this.#client = client;
    this.#request = request;
  }

  async token(): Promise<AccessToken> {
    const { audience, signingAlgorithm, durationSeconds, where } = this.#request;
    let output;
    try {
      output = await this.#client.send(
        new GetWebIdentityTokenCommand({
          Audience: audience,
          SigningAlgorithm: signingAlgorithm,
          DurationSeconds: durationSeconds,
        }),
      );
    } catch (error) {
      throw this.#explain(error);
    }
    const jwt = output.WebIdentityToken;
    if (typeof jwt !== 'string' || jwt === '') {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        `STS GetWebIdentityToken at ${where} answered without a WebIdentityToken`,
      );
    }
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(jwt);
    } catch {
      throw new CredentialsError(
        'STREAM_APP_ERR_INVALID_TOKEN',
        `STS GetWebIdentityToken at ${where} returned a token that is not a JWT`,
      );
    }
    const expiresAt =
      output.Expiration instanceof Date && Number.isFinite(output.Expiration.getTime())
        ? output.Expiration.getTime()
        : typeof claims.exp === 'number'
          ? claims.exp * 1000
          : Number.NaN;
    return { value: jwt, expiresAt, principal: typeof claims.sub === 'string' ? claims.sub : 'aws-sts' };
  }

  override describe(): string {
    return `AWS STS GetWebIdentityToken for ${this.#request.audience.join(', ')} at ${this.#request.where}`;
  }

  [inspect.custom]() {
    return `AwsStsWebIdentityProvider(${this.describe()})`;
  }

  toJSON() {
    const { audience, signingAlgorithm, durationSeconds, where } = this.#request;
    return { provider: 'aws-sts-web-identity', audience, signingAlgorithm, durationSeconds, endpoint: where };
  }

  #explain(error: unknown): StreamAppError {
    const where = this.#request.where;
    const e = error as {
      name?: string;
      code?: string;
      message?: string;
      Type?: string;
      $metadata?: { httpStatusCode?: number; requestId?: string };
      $retryable?: unknown;
    };
    const message = redact(e?.message ?? String(error), this.#request.secrets);
    const status = e?.$metadata?.httpStatusCode;
    if (e?.name === 'CredentialsProviderError') {
      return new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `no AWS credentials to call STS GetWebIdentityToken: ${message}. Give credentials, or set up the default chain ` +
          '(AWS_* variables, ~/.aws, an instance or task role).',
        { cause: error },
      );
    }
    if (typeof status === 'number') {
      // The SDK names query-protocol errors by their code; the model spells some with an Exception suffix.
      const code = (e.name ?? 'UnknownError').replace(/Exception$/, '');
      const retriable = status >= 500 || status === 429 || /Throttl/.test(code) || Boolean(e.$retryable);
      const hint = STS_HINTS[code] ?? '';
      return new CredentialsError(
        'STREAM_APP_ERR_TOKEN_ENDPOINT',
        `STS GetWebIdentityToken at ${where} was refused: HTTP ${status} ${code}${e.Type ? ` (${e.Type})` : ''}: ${message}` +
          (hint ? `${/[.!?]$/.test(message) ? '' : '.'} ${hint}` : ''),
        {
          retriable,
          details: {
            endpoint: where,
            status,
            error: code,
            ...(e.$metadata?.requestId ? { requestId: e.$metadata.requestId } : {}),
          },
        },
      );
    }
    return new CredentialsError('STREAM_APP_ERR_IDP_UNREACHABLE', `STS at ${where} could not be reached: ${message}`, {
      retriable: true,
      details: { endpoint: where },
    });
  }
}

const STS_HINTS: Record<string, string> = {
  OutboundWebIdentityFederationDisabled:
    'Enable outbound identity federation for the AWS account once (IAM EnableOutboundWebIdentityFederation: ' +
    '`aws iam enable-outbound-web-identity-federation`) and trust the issuer URL it returns at the broker.',
  AccessDenied:
    'The calling identity needs sts:GetWebIdentityToken in an IAM policy (and no SCP or permissions boundary denying it).',
  SessionDurationEscalation: 'durationSeconds would outlive the calling session: ask for a shorter duration.',
  JWTPayloadSizeExceeded: 'The token would be too large: send fewer tags.',
  RegionDisabled:
    'Activate STS in this region (IAM console > Account settings > Security Token Service), or use another region.',
  ExpiredToken: 'The AWS credentials have expired: refresh them.',
  InvalidClientTokenId: 'The AWS access key id is unknown: check the credentials.',
  SignatureDoesNotMatch: 'The AWS secret access key is wrong: check the credentials.',
};
