import { readFileSync } from 'node:fs';
import type { Admin, SASLOptions } from 'kafkajs';
import type { App } from '@stream-app/core';
import type { AclOperation, AclPattern, AclResource, AclRule } from './derive-acls.js';
import { CliError } from '../errors.js';

/** An ACL as the broker holds it, for one principal. */
export interface AclBinding {
  resourceType: AclResource | 'other';
  name: string;
  patternType: AclPattern | 'other';
  operation: AclOperation | string;
  permission: 'allow' | 'deny';
  host: string;
  /** Granted to `User:*`, every principal. */
  wildcard?: boolean;
}

/** Where the admin connection goes and as whom: the app's own, or STREAM_APP_ADMIN_* when set. */
export interface AdminConnection {
  bootstrap: string;
  describe: string;
}

// The Kafka protocol's codes (CreateAcls, DescribeAcls), as KafkaJS names them.
const RESOURCE = { topic: 2, group: 3, cluster: 4, 'transactional-id': 5 } as const;
const PATTERN = { literal: 3, prefixed: 4 } as const;
const OPERATION: { [name in AclOperation]: number } = {
  All: 2,
  Read: 3,
  Write: 4,
  Create: 5,
  Describe: 8,
  DescribeConfigs: 10,
  IdempotentWrite: 12,
};
const OPERATION_NAMES: { [code: number]: string } = {
  2: 'All',
  3: 'Read',
  4: 'Write',
  5: 'Create',
  6: 'Delete',
  7: 'Alter',
  8: 'Describe',
  9: 'ClusterAction',
  10: 'DescribeConfigs',
  11: 'AlterConfigs',
  12: 'IdempotentWrite',
};

type KafkaJsAdmin = Admin;

/**
 * An admin client for ACLs. The native client (`@confluentinc/kafka-javascript` 1.10) has no
 * CreateAcls or DescribeAcls API, so this one is KafkaJS's, loaded only here. It connects with
 * STREAM_APP_ADMIN_SASL_* (a PLAIN or SCRAM admin user) to STREAM_APP_ADMIN_BOOTSTRAP when set, else
 * as the app itself (its OAuth token, SASL user or none).
 */
export async function withAclAdmin<T>(
  app: App,
  env: NodeJS.ProcessEnv,
  work: (
    admin: {
      list(principal: string): Promise<AclBinding[]>;
      create(principal: string, rules: AclRule[]): Promise<void>;
    },
    connection: AdminConnection,
  ) => Promise<T>,
): Promise<T> {
  const { Kafka, logLevel } = await import('kafkajs');
  const bootstrap = env.STREAM_APP_ADMIN_BOOTSTRAP || app.options.bootstrap;
  const { sasl, describe } = await adminSasl(app, env);
  const kafka = new Kafka({
    clientId: `${app.id}-acls`,
    brokers: bootstrap.split(','),
    ...(sasl ? { sasl } : {}),
    ...(env.STREAM_APP_ADMIN_SSL === 'true' || sslOf(app) ? { ssl: true } : {}),
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
  const admin: KafkaJsAdmin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new CliError(
      'STREAM_APP_ERR_ACL_ADMIN',
      `cannot connect to ${bootstrap} as ${describe} to read or write ACLs: ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    return await work(
      {
        list: (principal) => list(admin, principal),
        create: (principal, rules) => create(admin, principal, rules),
      },
      { bootstrap, describe },
    );
  } catch (error) {
    if (error instanceof CliError) throw error;
    const type = (error as { type?: string }).type;
    throw new CliError(
      'STREAM_APP_ERR_ACL_ADMIN',
      type === 'CLUSTER_AUTHORIZATION_FAILED' || type === 'SECURITY_DISABLED'
        ? `${describe} may not ${type === 'SECURITY_DISABLED' ? 'manage ACLs: the broker has no authorizer' : 'read or write ACLs (it needs Alter and Describe on the cluster)'}: connect as an admin with STREAM_APP_ADMIN_SASL_MECHANISM/USERNAME/PASSWORD and STREAM_APP_ADMIN_BOOTSTRAP`
        : `the ACL request failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function adminSasl(
  app: App,
  env: NodeJS.ProcessEnv,
): Promise<{ sasl: SASLOptions | undefined; describe: string }> {
  const mechanism = env.STREAM_APP_ADMIN_SASL_MECHANISM?.toLowerCase();
  if (mechanism) {
    if (mechanism !== 'plain' && mechanism !== 'scram-sha-256' && mechanism !== 'scram-sha-512') {
      throw new CliError(
        'STREAM_APP_ERR_ACL_ADMIN',
        `$STREAM_APP_ADMIN_SASL_MECHANISM must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got "${env.STREAM_APP_ADMIN_SASL_MECHANISM}"`,
      );
    }
    const username = env.STREAM_APP_ADMIN_SASL_USERNAME ?? '';
    const file = env.STREAM_APP_ADMIN_SASL_PASSWORD_FILE;
    const password = env.STREAM_APP_ADMIN_SASL_PASSWORD || (file ? readSecret(file) : undefined);
    if (!password) {
      throw new CliError(
        'STREAM_APP_ERR_ACL_ADMIN',
        'set $STREAM_APP_ADMIN_SASL_PASSWORD or $STREAM_APP_ADMIN_SASL_PASSWORD_FILE for the admin user',
      );
    }
    return {
      sasl: { mechanism, username, password } as SASLOptions,
      describe: `SASL/${mechanism.toUpperCase()} admin ${username}`,
    };
  }
  const credentials = app.options.credentials;
  if (!credentials) return { sasl: undefined, describe: 'PLAINTEXT' };
  if (credentials.kind === 'oauth') {
    return {
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => ({ value: (await credentials.lifecycle.token()).value }),
      },
      describe: credentials.describe(),
    };
  }
  if (credentials.kind === 'sasl') {
    return {
      sasl: {
        mechanism: credentials.mechanism.toLowerCase(),
        username: credentials.username,
        password: credentials.password.reveal(),
      } as SASLOptions,
      describe: credentials.describe(),
    };
  }
  throw new CliError(
    'STREAM_APP_ERR_ACL_ADMIN',
    `${credentials.describe()} is not supported for the ACL admin connection: set STREAM_APP_ADMIN_SASL_* for a SASL admin user`,
  );
}

function sslOf(app: App): boolean {
  const credentials = app.options.credentials as { ssl?: unknown } | undefined;
  return Boolean(credentials?.ssl);
}

/** The principal's bindings and those of `User:*`, which the authorizer applies to it as well. */
async function list(admin: KafkaJsAdmin, principal: string): Promise<AclBinding[]> {
  const own = await listOf(admin, principal);
  if (principal === 'User:*') return own;
  return [...own, ...(await listOf(admin, 'User:*')).map((binding) => ({ ...binding, wildcard: true }))];
}

async function listOf(admin: KafkaJsAdmin, principal: string): Promise<AclBinding[]> {
  const { resources } = await admin.describeAcls({
    resourceType: 1,
    resourcePatternType: 1,
    principal,
    host: '*',
    operation: 1,
    permissionType: 1,
  } as never);
  const types = Object.fromEntries(Object.entries(RESOURCE).map(([name, code]) => [code, name])) as {
    [code: number]: AclResource;
  };
  return resources.flatMap((resource) =>
    resource.acls.map((acl): AclBinding => ({
      resourceType: types[resource.resourceType as number] ?? 'other',
      name: resource.resourceName,
      patternType:
        (resource.resourcePatternType as number) === PATTERN.literal
          ? 'literal'
          : (resource.resourcePatternType as number) === PATTERN.prefixed
            ? 'prefixed'
            : 'other',
      operation: OPERATION_NAMES[acl.operation as number] ?? String(acl.operation),
      permission: (acl.permissionType as number) === 2 ? 'deny' : 'allow',
      host: acl.host,
    })),
  );
}

async function create(admin: KafkaJsAdmin, principal: string, rules: AclRule[]): Promise<void> {
  await admin.createAcls({
    acl: rules.flatMap((rule) =>
      rule.operations.map((operation) => ({
        resourceType: RESOURCE[rule.resourceType],
        resourceName: rule.resourceType === 'cluster' ? 'kafka-cluster' : rule.name,
        resourcePatternType: PATTERN[rule.patternType],
        principal,
        host: '*',
        operation: OPERATION[operation],
        permissionType: 3,
      })),
    ) as never,
  });
}

function readSecret(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    throw new CliError(
      'STREAM_APP_ERR_ACL_ADMIN',
      `$STREAM_APP_ADMIN_SASL_PASSWORD_FILE names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}
