// The example as an operator runs it, against the test run's real Kafka broker. AWS cannot be reached from
// here, so a local server on 127.0.0.1 plays STS: it answers GetWebIdentityToken as AWS documents it, with a
// JWT signed by the test bed identity provider's key (the broker trusts that key as Aiven trusts the
// account's STS issuer). Everything else — the adapter, the AWS SDK's SigV4 request, the broker's
// validation and ACLs, the CLI — is the real thing.
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
const ROLE_ARN = `arn:aws:iam::123456789012:role/orders-${id}`;
const PRINCIPAL = `User:${ROLE_ARN}`;
const REGION = 'eu-west-1';
// Static credentials for the SDK's default chain (the env provider); the stand-in checks they sign the request.
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = randomBytes(30).toString('base64');
const JWT = /eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/;

let sts: Server;
let stsUrl = '';
const stsCalls: Array<{ action: string | null; signedBy: string | undefined }> = [];
let dir = '';

/** What STS answers to GetWebIdentityToken (STS API Reference), with a token the test bed broker accepts. */
async function getWebIdentityToken(form: URLSearchParams): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const duration = Number(form.get('DurationSeconds') ?? 300);
  const jwt = await new SignJWT({
    iss: idp.issuer,
    aud: form.get('Audience.member.1') ?? '',
    sub: ROLE_ARN,
    iat: now,
    exp: now + duration,
    jti: randomUUID(),
    'https://sts.amazonaws.com/': { aws_account: '123456789012', principal_id: ROLE_ARN },
  })
    .setProtectedHeader({ alg: idp.algorithm, kid: idp.signingKey.kid!, typ: 'JWT' })
    .sign(await importJWK(idp.signingKey, idp.algorithm));
  return (
    '<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult>' +
    `<WebIdentityToken>${jwt}</WebIdentityToken><Expiration>${new Date((now + duration) * 1000).toISOString()}</Expiration>` +
    `</GetWebIdentityTokenResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>` +
    '</GetWebIdentityTokenResponse>'
  );
}

function errorResponse(code: string, message: string): string {
  return (
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>' +
    `<Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aws-sts-example-'));
  sts = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      // SigV4 for sts in the region, by our access key (the adapter's unit test recomputes the signature).
      const signedBy = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([^/]+)\/sts\/aws4_request,/.exec(
        String(req.headers.authorization ?? ''),
      );
      stsCalls.push({ action: form.get('Action'), signedBy: signedBy?.[1] });
      const answer = (status: number, xml: string) => res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
      if (signedBy?.[1] !== ACCESS_KEY || signedBy[2] !== REGION) {
        return answer(
          403,
          errorResponse('InvalidClientTokenId', 'The security token included in the request is invalid.'),
        );
      }
      if (form.get('Action') !== 'GetWebIdentityToken' || form.get('SigningAlgorithm') !== idp.algorithm) {
        return answer(
          400,
          errorResponse('InvalidAction', 'This stand-in answers GetWebIdentityToken with RS256 only.'),
        );
      }
      getWebIdentityToken(form).then(
        (xml) => answer(200, xml),
        () => answer(500, errorResponse('InternalFailure', 'signing failed')),
      );
    });
  });
  await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
  stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
});

afterAll(async () => {
  sts?.closeAllConnections();
  await new Promise((resolve) => sts?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The worker's environment, as a deployment would set it; nothing of the developer's own AWS setup. */
const appEnv = () => ({
  KAFKA_BOOTSTRAP: testbed.kafka.bootstrap.oauth,
  // The acls command's admin connection follows the app's TLS, and the test bed's admin listener is plain.
  KAFKA_TLS: 'false',
  KAFKA_AUDIENCE: idp.audience,
  AWS_REGION: REGION,
  STS_ENDPOINT: stsUrl,
  AWS_ACCESS_KEY_ID: ACCESS_KEY,
  AWS_SECRET_ACCESS_KEY: SECRET_KEY,
  AWS_EC2_METADATA_DISABLED: 'true', // never 169.254.169.254
  AWS_CONFIG_FILE: join(dir, 'no-config'),
  AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
  ORDERS_APP_ID: `aws-sts-${id}`,
  ORDERS_TOPIC: `aws-orders-${id}`,
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
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** A `principal  User:<ARN>` row, as the token command and the worker's banner print it. */
const principalRow = new RegExp(`^\\s*principal\\s+${escapeRegExp(PRINCIPAL)}$`, 'm');

/** Output must never hold a token or the AWS secret key. */
function expectNoSecrets(output: string) {
  expect(output).not.toMatch(JWT);
  expect(output).not.toContain(SECRET_KEY);
}

describe('examples/aws-sts-web-identity', () => {
  it('the app authenticates as its role ARN; ACLs granted to User:<ARN> let the worker process an order', async () => {
    // What the broker would see: the token's principal is the role ARN, and its iss/aud/signature pass.
    const token = await cli(
      'token',
      ['--verify', '--expected-issuer', idp.issuer, '--expected-audience', idp.audience],
      appEnv(),
    );
    expect(token.code, token.output).toBe(0);
    expect(token.stdout).toMatch(principalRow);
    expect(token.stdout).toContain('the broker would accept this token');
    expectNoSecrets(token.output);

    // The operator's side: the ACLs on the full ARN principal, applied as the admin, then checked.
    const before = await cli('acls', ['--principal', PRINCIPAL, '--check'], { ...appEnv(), ...adminEnv() });
    expect(before.code, before.output).toBe(1);
    expect(before.stdout).toContain(`missing: Read on topic aws-orders-${id}`);
    const applied = await cli('acls', ['--principal', PRINCIPAL, '--apply'], { ...appEnv(), ...adminEnv() });
    expect(applied.code, applied.output).toBe(0);
    expect(applied.stdout).toMatch(new RegExp(`granted \\d+ ACLs to ${escapeRegExp(PRINCIPAL)} `));
    // Without --principal: the principal is the one the app's own STS token gives, so this also proves they match.
    const check = await cli('acls', ['--check', '--json'], { ...appEnv(), ...adminEnv() });
    expect(check.code, check.output).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ principal: PRINCIPAL, missing: [], broader: [] });
    expectNoSecrets(applied.output + check.output);

    // The worker, exactly as deployed, holding nothing but those ACLs.
    const worker = startWorker(appEnv());
    try {
      await worker.waitFor(/^ready in/, 'the worker to be ready', 90_000);
      expect(worker.output.join('\n')).toMatch(principalRow);
      await worker.waitFor(/partitions assigned/, 'its partitions', 90_000);
      // An upstream producer (the admin here) sends an order to the app's topic.
      const producer = adminKafka(testbed.kafka).producer();
      await producer.connect();
      await producer.send({
        topic: `aws-orders-${id}`,
        messages: [{ key: 'o-1', value: JSON.stringify({ orderId: `o-${id}`, amount: 42 }) }],
      });
      await producer.disconnect();
      await worker.waitFor(new RegExp(`order o-${id} fulfilled \\(42\\.00\\)`), 'the order to be processed', 90_000);
      worker.process.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expectNoSecrets(worker.output.join('\n'));
    } finally {
      if (worker.process.exitCode === null) worker.process.kill('SIGKILL');
    }
    // Every STS call was a GetWebIdentityToken signed with the workload's credentials.
    expect(stsCalls.length).toBeGreaterThan(0);
    expect(stsCalls.every((call) => call.action === 'GetWebIdentityToken' && call.signedBy === ACCESS_KEY)).toBe(true);
  }, 300_000);
});

/** `stream-app worker -A src/app.ts` in a clean environment (no AWS_* or STREAM_APP_* of the developer's). */
const startWorker = (env: { [name: string]: string }) =>
  spawnWorker(APP, { cwd: dir, env: { PATH: process.env.PATH ?? '', UV_THREADPOOL_SIZE: '16', ...env } });
