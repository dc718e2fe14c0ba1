// No server here: the MSK IAM token is made locally and never touches the network with static,
// file or environment credentials. Shapes from:
// - Amazon MSK Developer Guide, "IAM access control" and aws/aws-msk-iam-sasl-signer-js README: the token is
//   the base64url of a SigV4-presigned GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect
//   with a User-Agent parameter, valid for at most 900 s.
// - AWS General Reference / IAM User Guide, "Signature Version 4 › Create a signed request › Authenticate
//   requests using query parameters": canonical request, string to sign, signing key derivation, and the
//   X-Amz-Algorithm / X-Amz-Credential / X-Amz-Date / X-Amz-Expires / X-Amz-SignedHeaders / X-Amz-Signature
//   parameters. The signature is recomputed with node:crypto (helpers/sigv4.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { AccessToken } from '@stream-app/credentials';
import { awsMskIam } from '../src/adapters/aws-msk-iam.js';
import { rejectionOf, thrownBy } from './helpers/fake-server.js';
import { presignedUrlSignature } from './helpers/sigv4.js';

// AWS's documented example credentials.
const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

const expectedSignature = (url: URL, secretAccessKey: string, region: string) =>
  presignedUrlSignature(url, secretAccessKey, region, 'kafka-cluster');

function decodeToken(token: AccessToken): URL {
  expect(token.value).toMatch(/^[A-Za-z0-9_-]+$/); // base64url without padding
  return new URL(Buffer.from(token.value, 'base64url').toString('utf8'));
}

function expectPresignedConnect(url: URL, region: string, accessKeyId: string) {
  expect(url.protocol).toBe('https:');
  expect(url.host).toBe(`kafka.${region}.amazonaws.com`);
  expect(url.pathname).toBe('/');
  const q = url.searchParams;
  expect(q.get('Action')).toBe('kafka-cluster:Connect');
  expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
  const amzDate = q.get('X-Amz-Date') ?? '';
  expect(amzDate).toMatch(/^\d{8}T\d{6}Z$/);
  expect(q.get('X-Amz-Credential')).toBe(`${accessKeyId}/${amzDate.slice(0, 8)}/${region}/kafka-cluster/aws4_request`);
  expect(q.get('X-Amz-SignedHeaders')).toBe('host');
  const expires = q.get('X-Amz-Expires') ?? '';
  expect(expires).toMatch(/^\d+$/); // an integer number of seconds
  expect(Number(expires)).toBeGreaterThan(0);
  expect(Number(expires)).toBeLessThanOrEqual(900);
  expect(q.get('User-Agent')).toMatch(/^aws-msk-iam-sasl-signer-js\/\d+\.\d+\.\d+$/);
  expect(q.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
}

const signedAt = (url: URL) => {
  const d = url.searchParams.get('X-Amz-Date') ?? '';
  return Date.UTC(
    +d.slice(0, 4),
    +d.slice(4, 6) - 1,
    +d.slice(6, 8),
    +d.slice(9, 11),
    +d.slice(11, 13),
    +d.slice(13, 15),
  );
};

const savedEnv = { ...process.env };
afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
});

describe('awsMskIam()', () => {
  it('signs kafka-cluster:Connect for the region with static credentials: a correct SigV4 presigned URL', async () => {
    const provider = awsMskIam({
      region: 'eu-west-1',
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    });
    const token = (await provider.token()) as AccessToken;
    const url = decodeToken(token);
    expectPresignedConnect(url, 'eu-west-1', ACCESS_KEY);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(url.searchParams.has('X-Amz-Security-Token')).toBe(false);
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, SECRET_KEY, 'eu-west-1'));
    // The check has teeth: another secret or region gives another signature.
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(expectedSignature(url, `${SECRET_KEY}x`, 'eu-west-1'));
    expect(url.searchParams.get('X-Amz-Signature')).not.toBe(expectedSignature(url, SECRET_KEY, 'eu-west-2'));

    expect(token.expiresAt).toBe(signedAt(url) + 900_000);
    expect(token.principal).toBe(ACCESS_KEY);
    expect(token.value).not.toContain(SECRET_KEY);
    expect(decodeURIComponent(url.href)).not.toContain(SECRET_KEY);
    expect(provider.describe()).toBe('MSK IAM signer for kafka.eu-west-1.amazonaws.com (static credentials)');
    expect(inspect(provider)).not.toContain(SECRET_KEY);
    expect(JSON.stringify(provider)).not.toContain(SECRET_KEY);
  });

  it('temporary credentials from a provider: signs the session token, integer X-Amz-Expires, expiry capped by the credentials', async () => {
    const expiration = new Date(Date.now() + 300_123);
    let calls = 0;
    const token = (await awsMskIam({
      region: 'us-east-1',
      credentials: async () => {
        calls += 1;
        return {
          accessKeyId: 'ASIAEXAMPLE',
          secretAccessKey: SECRET_KEY,
          sessionToken: 'FwoGZXIvYXdzEXAMPLE//session',
          expiration,
        };
      },
    }).token()) as AccessToken;
    expect(calls).toBe(1);
    const url = decodeToken(token);
    expectPresignedConnect(url, 'us-east-1', 'ASIAEXAMPLE');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('FwoGZXIvYXdzEXAMPLE//session');
    expect(url.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(url, SECRET_KEY, 'us-east-1'));
    expect(token.expiresAt).toBe(expiration.getTime());
  });

  it('a named profile from the shared credentials file, and the default chain from AWS_* variables', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stream-app-aws-'));
    try {
      writeFileSync(
        join(dir, 'credentials'),
        `[kafka-prod]\naws_access_key_id = AKIAPROFILEEXAMPLE\naws_secret_access_key = ${SECRET_KEY}\n`,
      );
      writeFileSync(join(dir, 'config'), '[profile kafka-prod]\nregion = eu-central-1\n');
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      const fromProfile = (await awsMskIam({
        region: 'eu-central-1',
        awsProfile: 'kafka-prod',
      }).token()) as AccessToken;
      const profileUrl = decodeToken(fromProfile);
      expectPresignedConnect(profileUrl, 'eu-central-1', 'AKIAPROFILEEXAMPLE');
      expect(profileUrl.searchParams.get('X-Amz-Signature')).toBe(
        expectedSignature(profileUrl, SECRET_KEY, 'eu-central-1'),
      );
      expect(fromProfile.principal).toBe('AKIAPROFILEEXAMPLE');

      const missing = await rejectionOf(awsMskIam({ region: 'eu-central-1', awsProfile: 'no-such-profile' }).token());
      expect(missing).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
      expect(missing.message).toContain('could not get AWS credentials (profile no-such-profile)');

      process.env.AWS_ACCESS_KEY_ID = 'AKIAENVEXAMPLE';
      process.env.AWS_SECRET_ACCESS_KEY = SECRET_KEY;
      const fromEnv = (await awsMskIam({ region: 'ap-southeast-2' }).token()) as AccessToken;
      const envUrl = decodeToken(fromEnv);
      expectPresignedConnect(envUrl, 'ap-southeast-2', 'AKIAENVEXAMPLE');
      expect(envUrl.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(envUrl, SECRET_KEY, 'ap-southeast-2'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a credentials provider that finds nothing becomes a StreamAppError saying where credentials come from', async () => {
    const error = await rejectionOf(
      awsMskIam({
        region: 'eu-west-1',
        credentials: async () => {
          throw Object.assign(new Error('Could not load credentials from any providers'), {
            name: 'CredentialsProviderError',
          });
        },
      }).token(),
    );
    expect(error).toMatchObject({ name: 'StreamAppError', code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
    expect(error.message).toBe(
      'could not get AWS credentials (credentials provider) to sign the MSK IAM token: Could not load credentials from any providers. ' +
        'Give credentials, awsProfile or roleArn, or set up the default chain (AWS_* variables, ~/.aws, an instance role).',
    );
  });

  it('refuses misconfiguration up front', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /region is required/],
      [{ region: 'Europe' }, /not an AWS region code/],
      [{ region: 'eu-west-1', credentials: { accessKeyId: ACCESS_KEY } }, /needs accessKeyId and secretAccessKey/],
      [
        { region: 'eu-west-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }, awsProfile: 'p' },
        /not credentials and awsProfile/,
      ],
      [{ region: 'eu-west-1', roleArn: 'kafka-role' }, /not an IAM role ARN/],
      [{ region: 'eu-west-1', roleSessionName: 's' }, /only used with roleArn/],
    ];
    for (const [options, message] of cases) {
      const error = thrownBy(() => awsMskIam(options as Parameters<typeof awsMskIam>[0]));
      expect(error, String(message)).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(SECRET_KEY);
    }
    expect(
      awsMskIam({ region: 'us-gov-west-1', roleArn: 'arn:aws-us-gov:iam::123456789012:role/kafka' }).describe(),
    ).toBe('MSK IAM signer for kafka.us-gov-west-1.amazonaws.com (role arn:aws-us-gov:iam::123456789012:role/kafka)');
  });
});
