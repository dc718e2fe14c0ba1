import type { App, StreamAppError } from '@stream-app/core';
import { withAclAdmin } from '../acls/acl-admin.js';
import { compareAcls, describeRule } from '../acls/compare-acls.js';
import { deriveAcls, type AclOperation, type AclRule } from '../acls/derive-acls.js';
import type { Check } from '../checks/check.js';
import type { Io } from '../io.js';
import { withCluster } from '../kafka/cluster.js';
import { decodeToken, verifyForBroker, type BrokerExpectations } from '../token/verify-token.js';
import { probeListener } from './listener-probe.js';

export interface DoctorOptions {
  expectedIssuer?: string | undefined;
  expectedAudience?: string | undefined;
}

/** What the app's credentials make the client speak. */
function mechanismOf(app: App): { mechanism: string | undefined; tls: boolean } {
  const credentials = app.options.credentials as { kind?: string; mechanism?: string; ssl?: unknown } | undefined;
  if (!credentials) return { mechanism: undefined, tls: false };
  if (credentials.kind === 'ssl') return { mechanism: undefined, tls: true };
  return { mechanism: credentials.mechanism, tls: Boolean(credentials.ssl) };
}

/** Identity provider, discovery document and token claims: for OAuth apps only. */
export async function identityChecks(app: App, options: DoctorOptions): Promise<{ checks: Check[]; token?: string }> {
  const credentials = app.options.credentials;
  if (credentials?.kind !== 'oauth') {
    return {
      checks: [
        {
          name: 'identity provider',
          mark: 'info',
          message: `not used: ${app.id} authenticates with ${credentials ? credentials.describe() : 'nothing (PLAINTEXT)'}`,
        },
      ],
    };
  }
  let token: string;
  try {
    token = (await credentials.lifecycle.token()).value;
  } catch (error) {
    const { code, message } = error as StreamAppError;
    return {
      checks: [
        {
          name: 'identity provider',
          mark: 'fail',
          message: `no token from ${credentials.describe()}: ${code ?? ''} ${message}`.trim(),
          fix: 'check that the identity provider is up and reachable from here, and the client id and secret',
        },
      ],
    };
  }
  const checks: Check[] = [
    { name: 'identity provider', mark: 'ok', message: `a token from ${credentials.describe()}` },
  ];
  const claims = decodeToken(token)?.claims;
  const issuer = typeof claims?.iss === 'string' ? claims.iss : undefined;
  const discovery = issuer ? await discoveryCheck(issuer) : undefined;
  if (discovery) checks.push(discovery.check);
  const expectations: BrokerExpectations = {
    jwks: discovery?.jwksUri,
    issuer: options.expectedIssuer,
    audience: options.expectedAudience,
  };
  // The token's own checks, named as the broker's validator would apply them.
  for (const check of await verifyForBroker(token, expectations)) {
    if (check.name === 'scopes') continue;
    checks.push({ ...check, name: `token ${check.name}` });
  }
  return { checks, token };
}

async function discoveryCheck(issuer: string): Promise<{ check: Check; jwksUri?: string }> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const fail = (message: string, fix: string) => ({
    check: { name: 'discovery', mark: 'fail' as const, message, fix },
  });
  // The broker needs only the JWKS: a provider without discovery at its issuer is a warning, not a failure.
  const missing = (message: string, fix: string) => ({
    check: { name: 'discovery', mark: 'warn' as const, message, fix },
  });
  let document: { issuer?: unknown; jwks_uri?: unknown; token_endpoint?: unknown };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) {
      return missing(
        `${url} answered ${response.status}: the token's signature is not checked here`,
        `check the issuer ${issuer}; without discovery, compare the broker's JWKS URL by hand (stream-app token --verify --jwks)`,
      );
    }
    document = (await response.json()) as typeof document;
  } catch (error) {
    return fail(
      `cannot read ${url}: ${(error as Error).message}`,
      'the identity provider must be reachable from the broker too',
    );
  }
  if (document.issuer !== issuer) {
    return fail(
      `the discovery document names issuer ${JSON.stringify(document.issuer)}, the token ${JSON.stringify(issuer)}`,
      'the two must match exactly (a proxy or a trailing slash changes it)',
    );
  }
  if (typeof document.jwks_uri !== 'string' || typeof document.token_endpoint !== 'string') {
    return fail(
      `${url} lacks jwks_uri or token_endpoint`,
      'the broker needs the jwks_uri for sasl.oauthbearer.jwks.endpoint.url',
    );
  }
  return {
    check: { name: 'discovery', mark: 'ok', message: `${url}: issuer matches, keys at ${document.jwks_uri}` },
    jwksUri: document.jwks_uri,
  };
}

/** Each bootstrap address: reachable, and offering the mechanism the app uses. */
export async function listenerChecks(app: App): Promise<Check[]> {
  const { mechanism, tls } = mechanismOf(app);
  const checks: Check[] = [];
  for (const address of app.options.bootstrap.split(',')) {
    const probe = await probeListener(address, { tls });
    const name = `listener ${address}`;
    if (!probe.reachable) {
      checks.push({
        name,
        mark: 'fail',
        message: `unreachable (${probe.error})`,
        fix: `check the address, that the broker runs, and its advertised.listeners${tls ? ' (and that this listener speaks TLS)' : ''}`,
      });
    } else if (!probe.sasl) {
      checks.push(
        mechanism
          ? {
              name,
              mark: 'fail',
              message: `offers no SASL${tls ? ' over TLS' : ''}, but the app authenticates with ${mechanism}`,
              fix: `connect to the broker's SASL_${tls ? 'SSL' : 'PLAINTEXT'} listener for ${mechanism}`,
              setting: 'listener.security.protocol.map',
            }
          : { name, mark: 'ok', message: `reachable, ${tls ? 'TLS' : 'no SASL'}, as the app expects` },
      );
    } else if (!mechanism) {
      checks.push({
        name,
        mark: 'fail',
        message: `asks for SASL (${probe.mechanisms.join(', ')}), but the app has no credentials`,
        fix: 'give the app credentials (credentials: … or STREAM_APP_OAUTH_*), or connect to a PLAINTEXT listener',
      });
    } else if (!probe.mechanisms.includes(mechanism)) {
      checks.push({
        name,
        mark: 'fail',
        message: `offers ${probe.mechanisms.join(', ')}, not ${mechanism}: it is the wrong listener for this app`,
        fix: `connect to the listener whose sasl.enabled.mechanisms has ${mechanism}`,
        setting: 'listener.name.<listener>.sasl.enabled.mechanisms',
      });
    } else {
      checks.push({
        name,
        mark: 'ok',
        message: `reachable${tls ? ' over TLS' : ''}, offers ${probe.mechanisms.join(', ')}`,
      });
    }
  }
  return checks;
}

/** Connects as the app: authentication, then the topics it uses and their partition counts. */
export async function clusterChecks(app: App, io: Io): Promise<Check[]> {
  const plan = app.plan();
  try {
    return await withCluster(app, io, async (transport) => {
      const counts = await transport.admin.partitionCounts(plan.topics.map((topic) => topic.name));
      const checks: Check[] = [
        { name: 'authentication', mark: 'ok', message: `the broker accepts ${await app.principal()}` },
      ];
      for (const topic of plan.topics) {
        const count = counts.get(topic.name);
        const name = `topic ${topic.name}`;
        if (count === undefined) {
          checks.push({
            name,
            mark: plan.declaresTopics ? 'warn' : 'fail',
            message: plan.declaresTopics
              ? 'missing; the worker will create it'
              : 'missing (or not visible: Describe is not granted), and the app may not create topics',
            fix: 'stream-app topics --create, or grant Describe',
          });
        } else if (count !== topic.partitions) {
          const changelog = topic.role === 'changelog';
          checks.push({
            name,
            mark: changelog || count < topic.partitions ? 'fail' : 'warn',
            message: `${count} partitions, declared ${topic.partitions}`,
            fix: changelog
              ? "a changelog must have the table's partition count: give the table { partitions } equal to it"
              : 'declare the count the topic has, or add partitions (kafka-topics.sh --alter), knowing it moves keys',
          });
        } else {
          checks.push({ name, mark: 'ok', message: `${count} partitions (${topic.role})` });
        }
      }
      return checks;
    });
  } catch (error) {
    const { code, message } = error as StreamAppError;
    return [
      {
        name: 'authentication',
        mark: 'fail',
        message: `${code ?? 'error'}: ${message}`,
        fix:
          code === 'STREAM_APP_ERR_KAFKA_AUTHENTICATION'
            ? "compare the token's iss and aud with the broker's sasl.oauthbearer.expected.issuer/audience (stream-app token --verify)"
            : 'check the address and the credentials',
      },
    ];
  }
}

/** The ACLs the app needs, against what the broker holds (needs the right to describe ACLs). */
export async function aclChecks(app: App, io: Io): Promise<Check[]> {
  try {
    const principal = await app.principal();
    const rules = deriveAcls(app.plan());
    return await withAclAdmin(app, io.env, async (admin) => {
      const { missing, broader } = compareAcls(rules, await admin.list(principal));
      // One line per resource, with every operation it lacks.
      const lacking = new Map<AclRule, AclOperation[]>();
      for (const { rule, operation } of missing) lacking.set(rule, [...(lacking.get(rule) ?? []), operation]);
      const checks: Check[] = [...lacking].map(([rule, operations]) => ({
        name: 'acl',
        mark: 'fail' as const,
        message: `${principal} lacks ${describeRule(rule, operations)} (${rule.reason})`,
        fix: 'stream-app acls --apply',
      }));
      if (broader.length > 0) {
        checks.push({
          name: 'acls',
          mark: 'warn',
          message: `${broader.length} ACL${broader.length > 1 ? 's' : ''} broader than needed (stream-app acls --check lists them)`,
        });
      }
      if (missing.length === 0)
        checks.unshift({ name: 'acls', mark: 'ok', message: `${principal} holds every ACL ${app.id} needs` });
      return checks;
    });
  } catch (error) {
    const { code, message } = error as StreamAppError;
    return [
      {
        name: 'acls',
        mark: 'warn',
        message: `not checked: ${code ?? 'error'}: ${message}`,
        fix: 'set STREAM_APP_ADMIN_SASL_* (a user that may describe ACLs) to check them',
      },
    ];
  }
}
