import { readFileSync } from 'node:fs';
import {
  AbstractTokenProvider,
  SaslCredentials,
  type AccessToken,
  type Credentials,
} from '@stream-app/credentials/kafka';
import { CoreError } from '../errors/index.js';
import type { AppOptions } from './app-options.js';

type Env = { [name: string]: string | undefined };

/** One `STREAM_APP_*` variable and the App option it fills. */
interface EnvSetting {
  variable: string;
  option: keyof AppOptions;
  parse: (value: string, variable: string) => unknown;
  description: string;
}

const text = (value: string) => value;

function integer(value: string, variable: string): number {
  if (!/^\d+$/.test(value)) throw invalid(variable, 'a whole number', value);
  return Number(value);
}

function boolean(value: string, variable: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw invalid(variable, 'true or false', value);
}

function invalid(variable: string, expected: string, value: string): CoreError {
  return new CoreError(
    'STREAM_APP_ERR_INVALID_OPTIONS',
    `$${variable} must be ${expected}, got ${JSON.stringify(value)}`,
    {
      details: { variable },
    },
  );
}

/** The plain settings; credentials and web have their own variables below. */
export const ENV_SETTINGS: readonly EnvSetting[] = [
  { variable: 'STREAM_APP_BROKER', option: 'broker', parse: text, description: 'bootstrap servers, host:port[,…]' },
  {
    variable: 'STREAM_APP_PROCESSING_GUARANTEE',
    option: 'processingGuarantee',
    parse: text,
    description: 'at_least_once or exactly_once',
  },
  {
    variable: 'STREAM_APP_TOPIC_PARTITIONS',
    option: 'topicPartitions',
    parse: integer,
    description: 'partitions of topics the app creates',
  },
  {
    variable: 'STREAM_APP_TOPIC_REPLICATION_FACTOR',
    option: 'topicReplicationFactor',
    parse: integer,
    description: 'replicas of topics the app creates',
  },
  {
    variable: 'STREAM_APP_TOPIC_ALLOW_DECLARE',
    option: 'topicAllowDeclare',
    parse: boolean,
    description: 'create missing topics (true/false)',
  },
  { variable: 'STREAM_APP_STATE_DIR', option: 'stateDir', parse: text, description: 'where persistent tables live' },
  {
    variable: 'STREAM_APP_COMMIT_INTERVAL_MS',
    option: 'commitIntervalMs',
    parse: integer,
    description: 'how often offsets are committed',
  },
  {
    variable: 'STREAM_APP_DEAD_LETTER_TOPIC',
    option: 'deadLetterTopic',
    parse: text,
    description: 'where bad messages go',
  },
];

/**
 * Fills what the app's code leaves out from `STREAM_APP_*` variables (the code wins: a value it gives is
 * never overridden). Credentials come from the environment only when the code gives none; a secret is
 * read from `…_SECRET` / `…_PASSWORD` or from the file named by `…_FILE`, never from an argument.
 */
export function withEnvOptions(options: AppOptions, env: Env = process.env): AppOptions {
  if (!options || typeof options !== 'object') return options;
  const filled: { [name: string]: unknown } = { ...options };
  for (const setting of ENV_SETTINGS) {
    const value = env[setting.variable];
    if (filled[setting.option] === undefined && value !== undefined && value !== '') {
      filled[setting.option] = setting.parse(value, setting.variable);
    }
  }
  if (filled.credentials === undefined) {
    const credentials = envCredentials(env);
    if (credentials) filled.credentials = credentials;
  }
  const port = env.STREAM_APP_WEB_PORT;
  if (port !== undefined && port !== '') {
    const given = (options.web ?? {}) as { [name: string]: unknown };
    filled.web = {
      ...given,
      port: given.port ?? integer(port, 'STREAM_APP_WEB_PORT'),
      ...(given.host === undefined && env.STREAM_APP_WEB_HOST ? { host: env.STREAM_APP_WEB_HOST } : {}),
    };
  }
  return filled as unknown as AppOptions;
}

/** Variables of the credentials, for docs and `doctor`. */
export const ENV_CREDENTIALS = {
  oauth: [
    'STREAM_APP_OAUTH_TOKEN_ENDPOINT',
    'STREAM_APP_OAUTH_ISSUER',
    'STREAM_APP_OAUTH_CLIENT_ID',
    'STREAM_APP_OAUTH_CLIENT_SECRET',
    'STREAM_APP_OAUTH_CLIENT_SECRET_FILE',
    'STREAM_APP_OAUTH_SCOPE',
    'STREAM_APP_OAUTH_AUDIENCE',
    'STREAM_APP_OAUTH_ALLOW_INSECURE_LOOPBACK',
  ],
  sasl: [
    'STREAM_APP_SASL_MECHANISM',
    'STREAM_APP_SASL_USERNAME',
    'STREAM_APP_SASL_PASSWORD',
    'STREAM_APP_SASL_PASSWORD_FILE',
  ],
} as const;

function envCredentials(env: Env): Credentials | AbstractTokenProvider | undefined {
  const clientId = env.STREAM_APP_OAUTH_CLIENT_ID;
  if (clientId) {
    const tokenEndpoint = env.STREAM_APP_OAUTH_TOKEN_ENDPOINT;
    const issuer = env.STREAM_APP_OAUTH_ISSUER;
    if (!tokenEndpoint && !issuer) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        '$STREAM_APP_OAUTH_CLIENT_ID is set but neither $STREAM_APP_OAUTH_TOKEN_ENDPOINT nor $STREAM_APP_OAUTH_ISSUER: set one of them',
        { details: { variable: 'STREAM_APP_OAUTH_TOKEN_ENDPOINT' } },
      );
    }
    return new EnvClientCredentials({
      clientId,
      clientSecret: secret(env, 'STREAM_APP_OAUTH_CLIENT_SECRET'),
      ...(tokenEndpoint ? { tokenEndpoint } : { issuer: issuer! }),
      ...(env.STREAM_APP_OAUTH_SCOPE ? { scope: env.STREAM_APP_OAUTH_SCOPE } : {}),
      ...(env.STREAM_APP_OAUTH_AUDIENCE ? { audience: env.STREAM_APP_OAUTH_AUDIENCE } : {}),
      ...(env.STREAM_APP_OAUTH_ALLOW_INSECURE_LOOPBACK
        ? {
            allowInsecureLoopback: boolean(
              env.STREAM_APP_OAUTH_ALLOW_INSECURE_LOOPBACK,
              'STREAM_APP_OAUTH_ALLOW_INSECURE_LOOPBACK',
            ),
          }
        : {}),
    });
  }
  const mechanism = env.STREAM_APP_SASL_MECHANISM;
  if (mechanism) {
    return new SaslCredentials({
      mechanism: mechanism.toUpperCase() as 'PLAIN',
      username: env.STREAM_APP_SASL_USERNAME ?? '',
      password: secret(env, 'STREAM_APP_SASL_PASSWORD'),
    });
  }
  return undefined;
}

/** `$NAME`, or the contents of the file `$NAME_FILE` (a mounted secret), trimmed of its final newline. */
function secret(env: Env, name: string): string {
  const value = env[name];
  if (value) return value;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new CoreError(
        'STREAM_APP_ERR_INVALID_OPTIONS',
        `$${name}_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
        { details: { variable: `${name}_FILE` } },
      );
    }
  }
  throw new CoreError('STREAM_APP_ERR_INVALID_OPTIONS', `set $${name} or $${name}_FILE (a file holding the secret)`, {
    details: { variable: name },
  });
}

interface ClientCredentialsSettings {
  clientId: string;
  clientSecret: string;
  tokenEndpoint?: string;
  issuer?: string;
  scope?: string;
  audience?: string;
  allowInsecureLoopback?: boolean;
}

/**
 * Client credentials from the environment. The grant lives in `@stream-app/credentials`, which loads
 * openid-client and jose: it is imported on the first token, so an app without OAuth never loads them.
 */
class EnvClientCredentials extends AbstractTokenProvider {
  readonly #settings: ClientCredentialsSettings;
  #provider: Promise<AbstractTokenProvider> | undefined;

  constructor(settings: ClientCredentialsSettings) {
    super();
    this.#settings = settings;
  }

  async token(): Promise<AccessToken | string> {
    this.#provider ??= import('@stream-app/credentials').then(
      ({ ClientCredentialsProvider }) => new ClientCredentialsProvider(this.#settings),
    );
    return (await this.#provider).token();
  }

  override describe(): string {
    const at = this.#settings.tokenEndpoint ?? this.#settings.issuer;
    return `client credentials for ${this.#settings.clientId} at ${at} (from STREAM_APP_OAUTH_*)`;
  }

  toJSON() {
    return { provider: 'client_credentials', clientId: this.#settings.clientId, from: 'environment' };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `EnvClientCredentials(${this.describe()})`;
  }
}
