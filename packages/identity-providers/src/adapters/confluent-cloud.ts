// Confluent Cloud: tokens come from your own identity provider; Confluent
// Cloud routes and authorizes them by two SASL/OAUTHBEARER extensions,
// `logicalCluster` (lkc-...) and optionally `identityPoolId` (pool-...).
// Any other spelling is silently ignored by the client and refused by the
// broker with a generic OAUTHBEARER error, so option names are checked here.
import { inspect } from 'node:util';
import type { StreamAppError } from '@stream-app/credentials';
import { AbstractTokenProvider, CredentialsError, type AccessToken } from '@stream-app/credentials';

export interface ConfluentCloudOptions {
  /** The Kafka cluster id, `lkc-...` (Cluster settings), not the `pkc-...` of the bootstrap host. */
  logicalCluster: string;
  /** The identity pool, `pool-...` (Accounts & access > Workload identities). */
  identityPoolId?: string;
  /** Where the tokens come from: okta(), entraId(), auth0(), a ClientCredentialsProvider... */
  provider: AbstractTokenProvider;
}

const KNOWN = ['logicalCluster', 'identityPoolId', 'provider'] as const;

/**
 * Wraps `provider` so that every token carries Confluent Cloud's SASL
 * extensions `logicalCluster` and (if given) `identityPoolId`, spelt exactly
 * so. Misspelt option names and ids without their prefix are refused here.
 */
export function confluentCloud(options: ConfluentCloudOptions): AbstractTokenProvider {
  const fail = (message: string) =>
    new CredentialsError('STREAM_APP_ERR_INVALID_OPTIONS', `confluentCloud(): ${message}`);
  if (!options || typeof options !== 'object') throw fail('pass an options object');
  for (const key of Object.keys(options)) {
    if ((KNOWN as readonly string[]).includes(key)) continue;
    const meant = intended(key);
    throw fail(
      meant
        ? `unknown option '${key}': did you mean '${meant}'? Confluent Cloud reads only the SASL extensions ` +
            "'logicalCluster' and 'identityPoolId', spelt exactly so; other spellings fail at the broker with a generic OAUTHBEARER error."
        : `unknown option '${key}': the options are ${KNOWN.join(', ')}`,
    );
  }
  const logicalCluster = checkId(options.logicalCluster, 'logicalCluster', 'lkc-', fail);
  const identityPoolId =
    options.identityPoolId === undefined ? undefined : checkId(options.identityPoolId, 'identityPoolId', 'pool-', fail);
  const provider = options.provider;
  if (!provider || typeof (provider as { token?: unknown }).token !== 'function') {
    throw fail(
      'provider is required: the token provider of your identity provider, e.g. okta({...}) or entraId({...})',
    );
  }
  return new ConfluentCloudProvider(provider, { logicalCluster, ...(identityPoolId ? { identityPoolId } : {}) });
}

/** The right key for a misspelt one (`logical_cluster`, `logicalClusterId`, `identity_pool_id`, `identityPool`...). */
function intended(key: string): string | undefined {
  const plain = key.toLowerCase().replace(/[^a-z]/g, '');
  if (plain.includes('cluster') || plain.startsWith('lkc')) return 'logicalCluster';
  if (plain.includes('pool')) return 'identityPoolId';
  if (plain.includes('provider') || plain.includes('token')) return 'provider';
  return undefined;
}

const OTHER_PREFIXES: Record<string, string> = {
  'pkc-': 'the physical cluster in the bootstrap host name',
  'lsrc-': 'a Schema Registry cluster',
  'env-': 'an environment',
  'sa-': 'a service account',
  'op-': 'an identity provider',
  'pool-': 'an identity pool',
  'lkc-': 'a Kafka cluster',
};

function checkId(value: unknown, name: string, prefix: string, fail: (message: string) => StreamAppError): string {
  const where =
    name === 'logicalCluster'
      ? 'the Kafka cluster id (Cluster settings)'
      : 'the identity pool id (Workload identities)';
  if (typeof value !== 'string' || value.trim() === '') {
    throw fail(`${name} is required: ${where}, '${prefix}...'`);
  }
  const id = value.trim();
  if (!id.startsWith(prefix)) {
    const other = Object.entries(OTHER_PREFIXES).find(([start]) => id.startsWith(start))?.[1];
    throw fail(`${name} must be ${where}, starting with '${prefix}'; '${id}'${other ? ` is ${other}` : ' is not'}`);
  }
  if (!/^[A-Za-z0-9-]+$/.test(id) || id.length === prefix.length) {
    throw fail(`${name} '${id}' is not a ${prefix}... id`);
  }
  return id;
}

class ConfluentCloudProvider extends AbstractTokenProvider {
  readonly #inner: AbstractTokenProvider;
  readonly #extensions: Record<string, string>;

  constructor(inner: AbstractTokenProvider, extensions: Record<string, string>) {
    super();
    this.#inner = inner;
    this.#extensions = extensions;
  }

  async token(): Promise<AccessToken | string> {
    const token = await this.#inner.token();
    // A token's own extensions win over extensions() in the lifecycle; ours must win over both.
    if (typeof token === 'string') return token;
    return { ...token, extensions: { ...token.extensions, ...this.#extensions } };
  }

  override async extensions(): Promise<Record<string, string>> {
    const inner = (await this.#inner.extensions?.()) ?? {};
    return { ...inner, ...this.#extensions };
  }

  override describe(): string {
    const pool = this.#extensions.identityPoolId ? `, ${this.#extensions.identityPoolId}` : '';
    return `Confluent Cloud ${this.#extensions.logicalCluster}${pool} with ${this.#inner.describe()}`;
  }

  [inspect.custom]() {
    return `ConfluentCloudProvider(${this.describe()})`;
  }

  toJSON() {
    return { provider: 'confluent-cloud', ...this.#extensions, tokens: this.#inner.describe() };
  }
}
