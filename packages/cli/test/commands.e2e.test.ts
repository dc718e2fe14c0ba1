// The operations commands driven as a user drives them: spawned `stream-app` processes, a .env in the
// directory they run in, the real broker and identity provider of the test run.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminKafka, freePort, removeAcls, startIdentityProvider, type IdentityProvider } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { importJWK, SignJWT } from 'jose';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { probeListener } from '../src/doctor/listener-probe.js';
import { CLI_BIN, runCli } from './helpers/cli-process.js';
import { workerPool } from './helpers/worker-process.js';

const testbed = useTestbed();
const idp = testbed.identityProvider;
const CLI_APP = fileURLToPath(new URL('./fixtures/cli-app.ts', import.meta.url));
const ORDERS_APP = fileURLToPath(new URL('../../../examples/orders/src/app.ts', import.meta.url));

const dirs: string[] = [];

/** What finds Java and Maven's cache for the dev command's broker, from the test's own environment. */
function mavenEnv(): { [name: string]: string } {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        /^(JAVA_HOME|MAVEN_|M2_|STREAM_APP_CACHE|XDG_CACHE_HOME)/.test(entry[0]) && entry[1] !== undefined,
    ),
  );
}

async function until(done: () => boolean, what: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Client = { clientId: string; clientSecret: string };

/** The variables an app needs to reach the test bed as `client`, as a .env holds them. */
function connection(client: Client = testbed.clients.app, broker = testbed.kafka.bootstrap.oauth) {
  return {
    STREAM_APP_BROKER: broker,
    STREAM_APP_OAUTH_TOKEN_ENDPOINT: idp.tokenEndpoint,
    STREAM_APP_OAUTH_CLIENT_ID: client.clientId,
    STREAM_APP_OAUTH_CLIENT_SECRET: client.clientSecret,
    STREAM_APP_OAUTH_SCOPE: 'kafka',
    STREAM_APP_OAUTH_ALLOW_INSECURE_LOOPBACK: 'true',
  };
}

/** A directory with a .env of `variables`, where commands run as in a user's project. */
function project(variables: { [name: string]: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'stream-app-cli-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, '.env'),
    Object.entries(variables)
      .map(([name, value]) => `${name}=${value}`)
      .join('\n'),
  );
  return dir;
}

const admin = () => ({
  STREAM_APP_ADMIN_BOOTSTRAP: testbed.kafka.bootstrap.admin,
  STREAM_APP_ADMIN_SASL_MECHANISM: 'PLAIN',
  STREAM_APP_ADMIN_SASL_USERNAME: testbed.kafka.adminUser.username,
  STREAM_APP_ADMIN_SASL_PASSWORD: testbed.kafka.adminUser.password,
});

describe('agents, tables, topics and send', () => {
  it('read the app from the .env of the directory, list what it declares, and --create its topics', async () => {
    const id = `cli-${randomUUID().slice(0, 8)}`;
    const cwd = project({ ...connection(), CLI_APP_ID: id });
    const agents = await runCli(['agents', '-A', CLI_APP], { cwd });
    expect(agents.code, agents.output).toBe(0);
    expect(agents.stdout).toMatch(new RegExp(`Ledger.book\\s+payments-${id}\\s+1\\s+receipts-${id}\\s+totals`));
    const tables = await runCli(['tables', '-A', CLI_APP, '--json'], { cwd });
    expect(JSON.parse(tables.stdout)).toEqual({
      app: id,
      tables: [
        {
          name: 'totals',
          kind: 'table',
          partitions: 2,
          store: 'memory',
          changelog: `${id}-totals-changelog`,
          writtenBy: ['Ledger.book'],
        },
      ],
    });

    const before = await runCli(['topics', '-A', CLI_APP], { cwd });
    expect(before.code, before.output).toBe(0);
    expect(before.stdout).toMatch(new RegExp(`payments-${id}\\s+source\\s+missing \\(declared 2\\)\\s+Ledger.book`));
    expect(before.stdout).toContain('4 missing');
    const created = await runCli(['topics', '-A', CLI_APP, '--create', '--json'], { cwd });
    expect(created.code, created.output).toBe(0);
    const topics = (
      JSON.parse(created.stdout) as { topics: Array<{ name: string; role: string; actualPartitions: number }> }
    ).topics;
    expect(topics.map(({ name, role, actualPartitions }) => [name, role, actualPartitions])).toEqual([
      [`payments-${id}`, 'source', 2],
      [`receipts-${id}`, 'sink', 2],
      [`${id}-dead-letters`, 'dead-letters', 2],
      [`${id}-totals-changelog`, 'changelog', 2],
    ]);
  });

  it("send checks the value against the topic's Record: a bad one is refused with its field paths, a good one arrives", async () => {
    const id = `send-${randomUUID().slice(0, 8)}`;
    const cwd = project({ ...connection(), CLI_APP_ID: id });
    const bad = await runCli(['send', '-A', CLI_APP, `payments-${id}`, '--value', '{"accountId":"","amount":-3}'], {
      cwd,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error STREAM_APP_ERR_RECORD_INVALID: Payment is invalid:');
    expect(bad.stderr).toContain('  - Payment.accountId: accountId must be longer than or equal to 1 characters');
    expect(bad.stderr).toContain('  - Payment.amount: amount must be a positive number');
    expect(bad.stdout).not.toContain('sent');
    const notJson = await runCli(['send', '-A', CLI_APP, `payments-${id}`, '--value', '{oops'], { cwd });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('STREAM_APP_ERR_DECODE');
    const typo = await runCli(['send', '-A', CLI_APP, `paymnets-${id}`, '--value', '{}'], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      `error: ${id} declares no topic 'paymnets-${id}' (it has payments-${id}, receipts-${id}`,
    );
    const usage = await runCli(['send', '-A', CLI_APP, `payments-${id}`], { cwd });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('error: --value <json> is required');

    const good = await runCli(
      ['send', '-A', CLI_APP, `payments-${id}`, '--key', 'acc-1', '--value', '{"accountId":"acc-1","amount":12.5}'],
      { cwd },
    );
    expect(good.code, good.output).toBe(0);
    expect(good.stdout).toContain(`sent to payments-${id} with key "acc-1"`);
    const consumer = adminKafka(testbed.kafka).consumer({ kafkaJS: { groupId: `check-${id}`, fromBeginning: true } });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [`payments-${id}`] });
      const received = await new Promise<{ key: string; value: string }>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => resolve({ key: String(message.key), value: String(message.value) }),
        });
      });
      expect(received).toEqual({ key: 'acc-1', value: '{"accountId":"acc-1","amount":12.5}' });
    } finally {
      await consumer.disconnect();
    }
  });
});

describe('token', () => {
  /** A token signed with the identity provider's own key, with the claims given. */
  async function signed(claims: { [name: string]: unknown }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      iss: idp.issuer,
      aud: idp.audience,
      sub: 'stream-app-test',
      iat: now,
      exp: now + 60,
      ...claims,
    })
      .setProtectedHeader({ alg: idp.algorithm, kid: idp.signingKey.kid! })
      .sign(await importJWK(idp.signingKey, idp.algorithm));
  }
  const expect_ = (audience = idp.audience) => [
    '--verify',
    '--expected-issuer',
    idp.issuer,
    '--expected-audience',
    audience,
  ];

  it("--verify passes the app's own token, and names a wrong audience with the broker setting to compare", async () => {
    const cwd = project(connection());
    const good = await runCli(['token', '-A', CLI_APP, ...expect_()], { cwd });
    expect(good.code, good.output).toBe(0);
    expect(good.stdout).toContain('principal    User:stream-app-test');
    expect(good.stdout).toMatch(/ok\s+signature\s+RS256 \(kid [^)]+\), verified with http:\/\/127\.0\.0\.1:\d+\/jwks/);
    expect(good.stdout).toContain('the broker would accept this token');
    expect(good.output).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(good.output).not.toContain(testbed.clients.app.clientSecret);

    const wrong = await runCli(['token', '-A', CLI_APP, ...expect_('urn:kafka:other-cluster')], { cwd });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toContain(
      `FAIL audience   aud is "${idp.audience}" but the broker expects "urn:kafka:other-cluster": it would refuse the token`,
    );
    expect(wrong.stdout).toContain('compare: sasl.oauthbearer.expected.audience');
    expect(wrong.stdout).toContain('the broker would refuse this token');
  });

  it('--verify names an expired token, a foreign issuer and a missing subject', async () => {
    const cwd = project({});
    const file = join(cwd, 'token.jwt');
    const now = Math.floor(Date.now() / 1000);
    writeFileSync(file, await signed({ iat: now - 600, exp: now - 300 }));
    const expired = await runCli(['token', '--token-file', file, ...expect_(), '--json'], { cwd });
    expect(expired.code).toBe(1);
    const result = JSON.parse(expired.stdout) as {
      brokerWouldAccept: boolean;
      checks: Array<{ name: string; mark: string; message: string }>;
    };
    expect(result.brokerWouldAccept).toBe(false);
    expect(result.checks.find((check) => check.name === 'expiry')).toMatchObject({ mark: 'fail' });
    const expiry = result.checks.find((check) => check.name === 'expiry')!.message;
    expect(expiry).toMatch(/^the token expired at \S+, \d+ s ago: the broker would refuse it$/);
    expect(Number(/, (\d+) s ago/.exec(expiry)![1])).toBeGreaterThanOrEqual(300);
    expect(result.checks.find((check) => check.name === 'signature')).toMatchObject({ mark: 'ok' });

    writeFileSync(file, await signed({ iss: 'https://elsewhere.example.com', sub: undefined }));
    const foreign = await runCli(
      ['token', '--token-file', file, '--jwks', idp.jwksUri, '--expected-issuer', idp.issuer],
      { cwd },
    );
    expect(foreign.code).toBe(1);
    expect(foreign.stdout).toContain(
      `iss is "https://elsewhere.example.com" but the broker expects "${idp.issuer}" exactly`,
    );
    expect(foreign.stdout).toContain('compare: sasl.oauthbearer.expected.issuer');
    expect(foreign.stdout).toContain('the token has no sub claim, which names the principal');
  });
});

describe('acls', () => {
  const pool = workerPool(testbed);
  const client = testbed.clients.leastPrivilege;
  const principal = `User:${client.clientId}`;
  // The principal is the test bed's, shared by reruns: what a test granted goes again after it.
  afterEach(async () => {
    const kafka = new Kafka({
      brokers: [testbed.kafka.bootstrap.admin],
      sasl: { mechanism: 'plain', ...testbed.kafka.adminUser },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteAcls({
        filters: [
          { resourceType: 1, resourcePatternType: 1, principal, host: '*', operation: 1, permissionType: 1 } as never,
        ],
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('--apply then --check is clean; the orders app runs with only those ACLs, and one removed is a coded authorization error', async () => {
    const id = `acl-${randomUUID().slice(0, 8)}`;
    const ordersEnv = { ORDERS_APP_ID: id, ORDERS_TOPIC: `orders-${id}` };
    const cwd = project({
      ...admin(),
      ...ordersEnv,
      KAFKA_BOOTSTRAP: testbed.kafka.bootstrap.oauth,
      OIDC_TOKEN_ENDPOINT: idp.tokenEndpoint,
      OIDC_CLIENT_ID: client.clientId,
      OIDC_CLIENT_SECRET: client.clientSecret,
    });

    const printed = await runCli(['acls', '-A', ORDERS_APP], { cwd });
    expect(printed.code, printed.output).toBe(0);
    expect(printed.stdout).toContain(
      `kafka-acls.sh --bootstrap-server ${testbed.kafka.bootstrap.admin} --command-config admin.properties --add --allow-principal '${principal}' --operation Read --operation Describe --operation Create --topic 'orders-${id}' --resource-pattern-type literal`,
    );
    expect(printed.stdout).toContain(
      `--operation Read --operation Describe --group '${id}' --resource-pattern-type literal`,
    );
    expect(printed.stdout).toContain(`--topic '${id}-' --resource-pattern-type prefixed`);

    const missing = await runCli(['acls', '-A', ORDERS_APP, '--check'], { cwd });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`missing: Read on topic orders-${id}`);
    expect(missing.stdout).toContain(`missing: Read on group ${id}`);

    const applied = await runCli(['acls', '-A', ORDERS_APP, '--apply'], { cwd });
    expect(applied.code, applied.output).toBe(0);
    expect(applied.stdout).toContain(`granted 4 ACLs to ${principal}`);
    const clean = await runCli(['acls', '-A', ORDERS_APP, '--check', '--json'], { cwd });
    expect(clean.code, clean.output).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ principal, missing: [], broader: [] });

    // The orders app as this principal, with nothing but those ACLs.
    const worker = pool.start(ORDERS_APP, {
      ...ordersEnv,
      OIDC_CLIENT_ID: client.clientId,
      OIDC_CLIENT_SECRET: client.clientSecret,
    });
    await worker.waitFor(/^ready in/, 'the worker to be ready');
    await worker.waitFor(/partitions assigned/, 'its partitions');
    // Orders come from another principal: this one may read them, not write them.
    const producer = project({
      ...ordersEnv,
      KAFKA_BOOTSTRAP: testbed.kafka.bootstrap.oauth,
      OIDC_TOKEN_ENDPOINT: idp.tokenEndpoint,
      OIDC_CLIENT_ID: testbed.clients.app.clientId,
      OIDC_CLIENT_SECRET: testbed.clients.app.clientSecret,
    });
    const refused = await runCli(
      ['send', '-A', ORDERS_APP, `orders-${id}`, '--value', '{"accountId":"acc-1","amount":5}'],
      { cwd },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `error STREAM_APP_ERR_KAFKA_AUTHORIZATION: ${principal} may not Write topic 'orders-${id}'`,
    );
    const send = await runCli(
      ['send', '-A', ORDERS_APP, `orders-${id}`, '--key', 'acc-1', '--value', '{"accountId":"acc-1","amount":5}'],
      { cwd: producer },
    );
    expect(send.code, send.output).toBe(0);
    await worker.waitFor(/account acc-1 pays 5\.00/, 'the order to be processed');

    await removeAcls(testbed.kafka, [{ principal, resourceType: 'topic', name: `orders-${id}`, operations: ['Read'] }]);
    await worker.waitFor(/STREAM_APP_ERR_KAFKA_AUTHORIZATION/, 'the coded authorization error', 90_000);
    const refusal = worker.output.find((line) => line.includes('STREAM_APP_ERR_KAFKA_AUTHORIZATION'))!;
    expect(refusal).toContain(principal);
    expect(refusal).toContain(`orders-${id}`);
    const after = await runCli(['acls', '-A', ORDERS_APP, '--check'], { cwd });
    expect(after.code).toBe(1);
    expect(after.stdout).toContain(`missing: Read on topic orders-${id}`);
  }, 240_000);
});

describe('doctor', () => {
  let other: IdentityProvider | undefined;
  afterAll(() => other?.stop());
  const healthy = () => ['doctor', '-A', CLI_APP, '--expected-issuer', idp.issuer, '--expected-audience', idp.audience];

  it('passes on a healthy test bed', async () => {
    const cwd = project({ ...connection(), ...admin(), CLI_APP_ID: `doc-${randomUUID().slice(0, 8)}` });
    const run = await runCli(healthy(), { cwd });
    expect(run.code, run.output).toBe(0);
    for (const line of [
      'identity provider',
      'discovery',
      'token signature',
      'token issuer',
      'token audience',
      'authentication',
      'acls',
    ]) {
      expect(run.stdout).toMatch(new RegExp(`^ok\\s+${line}\\s`, 'm'));
    }
    expect(run.stdout).toMatch(/^ok\s+listener 127\.0\.0\.1:\d+\s+reachable, offers OAUTHBEARER$/m);
    expect(run.stdout).toMatch(/^warn\s+topic payments-doc-\S+\s+missing; the worker will create it$/m);
    expect(run.stdout).toContain('healthy');
  });

  it('finds an identity provider that is down, a wrong issuer, a missing ACL and a wrong listener', async () => {
    const id = `doc-${randomUUID().slice(0, 8)}`;
    const down = await runCli(healthy(), {
      cwd: project({
        ...connection(),
        STREAM_APP_OAUTH_TOKEN_ENDPOINT: `http://127.0.0.1:${await freePort()}/token`,
        CLI_APP_ID: id,
      }),
    });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/^FAIL identity provider\s+no token from .*STREAM_APP_ERR_NO_VALID_TOKEN/m);
    expect(down.stdout).toContain('fix: check that the identity provider is up');

    other = await startIdentityProvider({ clients: [testbed.clients.app] });
    const issuer = await runCli(healthy(), {
      cwd: project({ ...connection(), STREAM_APP_OAUTH_TOKEN_ENDPOINT: other.tokenEndpoint, CLI_APP_ID: id }),
    });
    expect(issuer.code).toBe(1);
    expect(issuer.stdout).toMatch(
      new RegExp(`^FAIL token issuer\\s+iss is "${other.issuer}" but the broker expects "${idp.issuer}" exactly`, 'm'),
    );
    expect(issuer.stdout).toMatch(/^FAIL authentication\s+STREAM_APP_ERR_KAFKA_AUTHENTICATION/m);

    const acl = await runCli(healthy(), {
      cwd: project({ ...connection(testbed.clients.noAcls), ...admin(), CLI_APP_ID: id }),
    });
    expect(acl.code).toBe(1);
    expect(acl.stdout).toMatch(
      new RegExp(`^FAIL acl\\s+User:no-acls lacks Read, Describe, Create on topic payments-${id}`, 'm'),
    );
    expect(acl.stdout).toContain('fix: stream-app acls --apply');

    const listener = await runCli(healthy(), {
      cwd: project({ ...connection(testbed.clients.app, testbed.kafka.bootstrap.admin), CLI_APP_ID: id }),
    });
    expect(listener.code).toBe(1);
    expect(listener.stdout).toMatch(
      /^FAIL listener 127\.0\.0\.1:\d+\s+offers PLAIN, SCRAM-SHA-\d+, SCRAM-SHA-\d+, not OAUTHBEARER: it is the wrong listener for this app$/m,
    );
    expect(listener.stdout).toContain('not checked: fix the failures above first');
  }, 120_000);
});

describe('dev', () => {
  it('starts an identity provider and a broker, writes a .env and an app that work, and stops both on Ctrl-C', async () => {
    const dir = fileURLToPath(new URL(`../.cache/dev-${randomUUID().slice(0, 8)}`, import.meta.url));
    dirs.push(dir);
    const child = spawn(process.execPath, [CLI_BIN, 'dev', '--dir', dir], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...mavenEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await until(
        () => /ready in [\d.]+ s; Ctrl-C stops both servers/.test(output),
        () => `dev to be ready:\n${output}`,
        120_000,
      );
      expect(output).toMatch(/STREAM_APP_BROKER=127\.0\.0\.1:\d+/);
      expect(output).toContain('STREAM_APP_OAUTH_CLIENT_SECRET=… (in the file)');
      expect(output).not.toContain(testbed.clients.app.clientSecret);
      const broker = /STREAM_APP_BROKER=(\S+)/.exec(output)![1]!;
      const sent = await runCli(['send', '-A', 'app.ts', 'greetings', '--value', '{"hello":"world"}'], { cwd: dir });
      expect(sent.code, sent.output).toBe(0);
      expect(sent.stdout).toContain(`sending to greetings on ${broker}`);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toContain('SIGINT: stopping the broker and the identity provider');
      const [host, port] = broker.split(':');
      const probe = await probeListener(`${host}:${port}`, { tls: false });
      expect(probe.reachable).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 240_000);
});

describe('the command line itself', () => {
  it('has --help for every command and refuses unknown options with the help', async () => {
    const all = await runCli(['--help']);
    const commands = [...all.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((match) => match[1]);
    expect(commands).toEqual(['worker', 'send', 'agents', 'tables', 'topics', 'token', 'acls', 'doctor', 'dev']);
    for (const command of commands) {
      const help = await runCli([command!, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: stream-app ${command}`));
    }
    const unknown = await runCli(['agents', '--nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("error: Unknown option '--nope'");
  });
});
