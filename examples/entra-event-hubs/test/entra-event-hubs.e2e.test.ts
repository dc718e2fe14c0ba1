// The example as an operator runs it, against the test run's real Kafka broker. Neither Entra ID nor Event
// Hubs can be reached from here: the adapter's authorityHost points at a local server on 127.0.0.1 that
// plays Entra's v2.0 token endpoint (client credentials with a client secret, as Microsoft documents it)
// and signs with the test bed identity provider's key, which the broker trusts; the broker stands in for
// Event Hubs, and Kafka ACLs on the service principal stand in for its RBAC role assignments.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminKafka } from '@stream-app/testing';
import { useTestbed } from '@stream-app/testing/vitest';
import { importJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../packages/cli/test/helpers/cli-process.js';
import { spawnWorker } from '../../../packages/cli/test/helpers/worker-process.js';

const testbed = useTestbed();
const idp = testbed.identityProvider;
const APP = fileURLToPath(new URL('../src/app.ts', import.meta.url));
const id = randomUUID();
const TENANT = randomUUID();
const CLIENT_ID = randomUUID();
const CLIENT_SECRET = randomBytes(30).toString('base64url');
// An app-only token's sub is the object id of the client's service principal: the principal Kafka sees.
const SP_OBJECT_ID = randomUUID();
const PRINCIPAL = `User:${SP_OBJECT_ID}`;
const NAMESPACE = 'orders-test-ns';
const SCOPE = `https://${NAMESPACE}.servicebus.windows.net/.default`;
const APP_ID = `entra-${id}`;
const TOPIC = `eh-orders-${id}`;
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;

let entra: Server;
let authorityHost = '';
const tokenRequests: URLSearchParams[] = [];
let dir = '';

/** Entra's answer to a client credentials request: the documented error shapes, or a token the broker accepts. */
async function answer(path: string, form: URLSearchParams): Promise<{ status: number; body: object }> {
  const refuse = (status: number, error: string, description: string) => ({
    status,
    body: { error, error_description: description, error_codes: [Number(/\d+/.exec(description)?.[0])] },
  });
  if (path !== `/${TENANT}/oauth2/v2.0/token`) return refuse(400, 'invalid_request', 'AADSTS90002: Tenant not found.');
  if (form.get('grant_type') !== 'client_credentials') return refuse(400, 'unsupported_grant_type', 'AADSTS70003');
  if (form.get('client_id') !== CLIENT_ID) return refuse(400, 'unauthorized_client', 'AADSTS700016: not found.');
  if (form.get('client_secret') !== CLIENT_SECRET) {
    return refuse(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
  }
  if (form.get('scope') !== SCOPE) return refuse(400, 'invalid_scope', 'AADSTS500011: resource not found.');
  const now = Math.floor(Date.now() / 1000);
  // Entra would issue iss https://sts.windows.net/<tenant>/ and aud https://<namespace>.servicebus.windows.net,
  // which Event Hubs checks itself; the test bed broker expects the test bed's issuer and audience.
  const accessToken = await new SignJWT({
    iss: idp.issuer,
    aud: idp.audience,
    sub: SP_OBJECT_ID,
    oid: SP_OBJECT_ID,
    appid: CLIENT_ID,
    tid: TENANT,
    iat: now,
    nbf: now,
    exp: now + 3599,
    ver: '1.0',
  })
    .setProtectedHeader({ alg: idp.algorithm, kid: idp.signingKey.kid!, typ: 'JWT' })
    .sign(await importJWK(idp.signingKey, idp.algorithm));
  return {
    status: 200,
    body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'entra-example-'));
  entra = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      tokenRequests.push(form);
      const reply = (status: number, json: object) =>
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(json));
      if (req.method !== 'POST') return reply(405, { error: 'invalid_request' });
      answer(new URL(req.url ?? '/', 'http://127.0.0.1').pathname, form).then(
        ({ status, body: json }) => reply(status, json),
        () => reply(500, { error: 'server_error' }),
      );
    });
  });
  await new Promise<void>((resolve) => entra.listen(0, '127.0.0.1', resolve));
  authorityHost = `http://127.0.0.1:${(entra.address() as AddressInfo).port}`;
  // Event hubs exist before the app runs (the app may not create them): the source and the dead-letter topic.
  const admin = adminKafka(testbed.kafka).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        { topic: TOPIC, numPartitions: 3 },
        { topic: `${APP_ID}-dead-letters`, numPartitions: 3 },
      ],
    });
  } finally {
    await admin.disconnect();
  }
});

afterAll(async () => {
  entra?.closeAllConnections();
  await new Promise((resolve) => entra?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The worker's environment, as a deployment would set it, with the broker and authority made local. */
const appEnv = (secret = CLIENT_SECRET) => ({
  EVENTHUBS_NAMESPACE: NAMESPACE,
  KAFKA_BOOTSTRAP: testbed.kafka.bootstrap.oauth, // instead of <namespace>.servicebus.windows.net:9093
  // The acls command's admin connection follows the app's TLS, and the test bed's admin listener is plain.
  KAFKA_TLS: 'false',
  AZURE_AUTHORITY_HOST: authorityHost,
  AZURE_TENANT_ID: TENANT,
  AZURE_CLIENT_ID: CLIENT_ID,
  AZURE_CLIENT_SECRET: secret,
  ORDERS_APP_ID: APP_ID,
  ORDERS_TOPIC: TOPIC,
});
const adminEnv = () => ({
  STREAM_APP_ADMIN_BOOTSTRAP: testbed.kafka.bootstrap.admin,
  STREAM_APP_ADMIN_SASL_MECHANISM: 'PLAIN',
  STREAM_APP_ADMIN_SASL_USERNAME: testbed.kafka.adminUser.username,
  STREAM_APP_ADMIN_SASL_PASSWORD: testbed.kafka.adminUser.password,
});
/** `stream-app <command> -A src/app.ts …` in an empty directory, with only `env` beside PATH. */
const cli = (command: string, args: string[], env: { [name: string]: string }) =>
  runCli([command, '-A', APP, ...args], { cwd: dir, env, timeoutMs: 90_000 });
/** A `principal  User:<object id>` row, as the token command and the worker's banner print it. */
const principalRow = new RegExp(`^\\s*principal\\s+${PRINCIPAL}$`, 'm');

/** Output must never hold a token or the client secret. */
function expectNoSecrets(output: string) {
  expect(output).not.toMatch(JWT);
  expect(output).not.toContain(CLIENT_SECRET);
}

describe('examples/entra-event-hubs', () => {
  it('asks for the Event Hubs scope with the client secret, and names the fix when the secret is wrong', async () => {
    const token = await cli(
      'token',
      ['--verify', '--expected-issuer', idp.issuer, '--expected-audience', idp.audience],
      appEnv(),
    );
    expect(token.code, token.output).toBe(0);
    expect(token.stdout).toMatch(principalRow);
    expect(token.stdout).toContain('the broker would accept this token');
    expectNoSecrets(token.output);
    expect(Object.fromEntries(tokenRequests.at(-1)!)).toEqual({
      client_id: CLIENT_ID,
      scope: SCOPE,
      client_secret: CLIENT_SECRET,
      grant_type: 'client_credentials',
    });

    const wrongSecret = `not-${CLIENT_SECRET}`;
    const wrong = await cli('token', [], appEnv(wrongSecret));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('HTTP 401 invalid_client');
    expect(wrong.stderr).toContain('use the secret Value, not its Secret ID');
    expect(wrong.output).not.toContain(wrongSecret);
  });

  it("the worker processes an order on the real broker as the service principal, with only the app's rights", async () => {
    // What the Data Receiver role assignment gives on Event Hubs, as Kafka ACLs on the principal here.
    const applied = await cli('acls', ['--principal', PRINCIPAL, '--apply'], { ...appEnv(), ...adminEnv() });
    expect(applied.code, applied.output).toBe(0);
    expect(applied.stdout).toContain(`ACLs to ${PRINCIPAL}`);
    expect(applied.stdout).not.toContain('Create'); // the app may not create event hubs
    // Without --principal: the one the app's own Entra token gives, so the two agree.
    const check = await cli('acls', ['--check', '--json'], { ...appEnv(), ...adminEnv() });
    expect(check.code, check.output).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ principal: PRINCIPAL, missing: [], broader: [] });

    const worker = startWorker(appEnv());
    try {
      await worker.waitFor(/^ready in/, 'the worker to be ready', 90_000);
      expect(worker.output.join('\n')).toMatch(principalRow);
      await worker.waitFor(/partitions assigned/, 'its partitions', 90_000);
      // An upstream producer (the admin here) sends an order to the event hub.
      const producer = adminKafka(testbed.kafka).producer();
      await producer.connect();
      await producer.send({
        topic: TOPIC,
        messages: [{ key: 'o-1', value: JSON.stringify({ orderId: `o-${id}`, amount: 19.5 }) }],
      });
      await producer.disconnect();
      await worker.waitFor(new RegExp(`order o-${id} fulfilled \\(19\\.50\\)`), 'the order to be processed', 90_000);
      worker.process.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expectNoSecrets(worker.output.join('\n') + applied.output + check.output);
    } finally {
      if (worker.process.exitCode === null) worker.process.kill('SIGKILL');
    }
  }, 300_000);
});

/** `stream-app worker -A src/app.ts` in a clean environment (no AWS_* or STREAM_APP_* of the developer's). */
const startWorker = (env: { [name: string]: string }) =>
  spawnWorker(APP, { cwd: dir, env: { PATH: process.env.PATH ?? '', UV_THREADPOOL_SIZE: '16', ...env } });
