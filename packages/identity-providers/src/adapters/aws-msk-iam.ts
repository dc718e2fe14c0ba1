// Amazon MSK with IAM access control over SASL/OAUTHBEARER: there is no
// token endpoint. The token is the base64url of a SigV4-presigned
// `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect`
// (at most 900 s), made locally by aws-msk-iam-sasl-signer-js from AWS
// credentials. No network call unless the credentials need one (a role,
// SSO, instance metadata).
import { inspect } from 'node:util';
import { generateAuthTokenFromCredentialsProvider } from 'aws-msk-iam-sasl-signer-js';
// The signer's own credential sources (fromIni / fromTemporaryCredentials / the default chain), so that we can
// wrap them: see withoutExpiration below.
import {
  getCredentialsFromProfile,
  getCredentialsFromRole,
  getDefaultCredentials,
} from 'aws-msk-iam-sasl-signer-js/dist/mskCredentialProvider.js';
import {
  AbstractTokenProvider,
  redact,
  CredentialsError,
  StreamAppError,
  type AccessToken,
} from '@stream-app/credentials';

/** AWS credentials (structurally the SDK's `AwsCredentialIdentity`). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
  accountId?: string;
}

/** A function returning credentials (the SDK's `AwsCredentialIdentityProvider`, e.g. `fromSSO()`). */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface AwsMskIamOptions {
  /** The cluster's region, e.g. `eu-west-1`. */
  region: string;
  /** Static credentials or a provider; default the SDK's default chain (env, profile, SSO, ECS, EC2...). */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** A named profile of ~/.aws/credentials and ~/.aws/config. */
  awsProfile?: string;
  /** A role to assume (with the default chain's credentials) before signing. */
  roleArn?: string;
  /** Session name when assuming `roleArn` (default `MSKSASLDefaultSession`). */
  roleSessionName?: string;
}

type CredentialSource = { kind: string; provider: AwsCredentialsProvider; secrets: string[] };

/**
 * SASL/OAUTHBEARER tokens for Amazon MSK IAM access control. Exactly one of
 * `credentials`, `awsProfile`, `roleArn` (or none: the default chain).
 * The principal is the signing access key id; the expiry is the signed
 * URL's, or the credentials' when they expire first.
 */
export function awsMskIam(options: AwsMskIamOptions): AbstractTokenProvider {
  const fail = (message: string) => new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `awsMskIam(): ${message}`);
  if (!options || typeof options !== 'object') throw fail('pass an options object');
  if (!options.region) throw fail("region is required: the cluster's region, e.g. region: 'eu-west-1'");
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(options.region)) {
    throw fail(`'${options.region}' is not an AWS region code (like 'eu-west-1')`);
  }
  const given = (['credentials', 'awsProfile', 'roleArn'] as const).filter((key) => options[key] !== undefined);
  if (given.length > 1) {
    throw fail(
      `give one of credentials, awsProfile or roleArn, not ${given.join(' and ')}` +
        ' (to assume a role with other credentials, pass credentials: fromTemporaryCredentials(...) from @aws-sdk/credential-providers)',
    );
  }
  if (options.roleSessionName !== undefined && options.roleArn === undefined) {
    throw fail('roleSessionName is only used with roleArn');
  }
  return new AwsMskIamProvider(options.region, credentialSource(options, fail));
}

function credentialSource(options: AwsMskIamOptions, fail: (message: string) => StreamAppError): CredentialSource {
  const { credentials, awsProfile, roleArn, region } = options;
  if (typeof credentials === 'function') return { kind: 'credentials provider', provider: credentials, secrets: [] };
  if (credentials !== undefined) {
    if (typeof credentials !== 'object' || !credentials.accessKeyId || !credentials.secretAccessKey) {
      throw fail('credentials needs accessKeyId and secretAccessKey (and sessionToken for temporary credentials)');
    }
    const fixed = { ...credentials };
    return {
      kind: 'static credentials',
      provider: async () => fixed,
      secrets: [fixed.secretAccessKey, ...(fixed.sessionToken ? [fixed.sessionToken] : [])],
    };
  }
  if (awsProfile !== undefined) {
    if (!awsProfile) throw fail('awsProfile is empty');
    return { kind: `profile ${awsProfile}`, provider: getCredentialsFromProfile(awsProfile), secrets: [] };
  }
  if (roleArn !== undefined) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(roleArn)) {
      throw fail(`roleArn '${roleArn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
    }
    return {
      kind: `role ${roleArn}`,
      provider: getCredentialsFromRole(region, roleArn, options.roleSessionName),
      secrets: [],
    };
  }
  return { kind: 'default credential chain', provider: getDefaultCredentials({ region }), secrets: [] };
}

class AwsMskIamProvider extends AbstractTokenProvider {
  readonly #region: string;
  readonly #source: CredentialSource;

  constructor(region: string, source: CredentialSource) {
    super();
    this.#region = region;
    this.#source = source;
  }

  async token(): Promise<AccessToken> {
    let used: AwsCredentials | undefined;
    // The signer presigns for min(900 s, time left on the credentials), and writes a fractional
    // X-Amz-Expires when the credentials expire within 15 minutes. Give it credentials without an
    // expiration (always 900 s) and let the credentials' own expiry cap the token's below.
    const withoutExpiration = async () => {
      const credentials = await this.#source.provider();
      if (!credentials?.accessKeyId || !credentials.secretAccessKey) {
        throw new CredentialsError(
          'STREAM_APP_ERR_INVALID_OPTIONS',
          `the ${this.#source.kind} returned no accessKeyId/secretAccessKey`,
        );
      }
      used = credentials;
      const { expiration: _expiration, ...rest } = credentials;
      return rest;
    };
    let result: { token: string; expiryTime: number };
    try {
      result = await generateAuthTokenFromCredentialsProvider({
        region: this.#region,
        awsCredentialsProvider: withoutExpiration,
      });
    } catch (error) {
      throw this.#explain(error, used);
    }
    const credentialsExpireAt = used?.expiration instanceof Date ? used.expiration.getTime() : Number.POSITIVE_INFINITY;
    return {
      value: result.token,
      expiresAt: Math.min(result.expiryTime, credentialsExpireAt),
      principal: used?.accessKeyId ?? 'aws-msk-iam',
    };
  }

  override describe(): string {
    return `MSK IAM signer for kafka.${this.#region}.amazonaws.com (${this.#source.kind})`;
  }

  [inspect.custom]() {
    return `AwsMskIamProvider(${this.describe()})`;
  }

  toJSON() {
    return { provider: 'aws-msk-iam', region: this.#region, credentials: this.#source.kind };
  }

  #explain(error: unknown, used: AwsCredentials | undefined): StreamAppError {
    if (error instanceof StreamAppError) return error;
    const secrets = [...this.#source.secrets, used?.secretAccessKey, used?.sessionToken];
    const name = (error as { name?: string })?.name ?? '';
    const code = (error as { code?: string })?.code ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
    const message = redact(error instanceof Error ? error.message : String(error), secrets);
    const what = `could not get AWS credentials (${this.#source.kind}) to sign the MSK IAM token`;
    if (name === 'CredentialsProviderError') {
      return new CredentialsError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `${what}: ${message}. Give credentials, awsProfile or roleArn, or set up the default chain (AWS_* variables, ~/.aws, an instance role).`,
        { cause: error },
      );
    }
    if (typeof status === 'number') {
      return new CredentialsError('STREAM_APP_ERR_TOKEN_ENDPOINT', `${what}: HTTP ${status} ${name}: ${message}`, {
        retriable: status === 429 || status >= 500,
        details: { status, error: name },
      });
    }
    if (/^(ECONN|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)/.test(code) || name === 'TimeoutError') {
      return new CredentialsError('STREAM_APP_ERR_IDP_UNREACHABLE', `${what}: ${message}`, { retriable: true });
    }
    return new CredentialsError('STREAM_APP_ERR_TOKEN_ENDPOINT', `${what}: ${message}`, { retriable: true });
  }
}
