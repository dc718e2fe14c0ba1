import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  ClientCredentialsProvider,
  OAuthCredentials,
  redact,
  SaslCredentials,
  Secret,
  StaticTokenProvider,
} from '../src/index.js';

const SECRET = 'client-secret-that-must-not-leak';
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMiLCJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLXZhbHVl';

describe('secrets stay secret', () => {
  it('in toString, inspect and JSON.stringify of every credential', () => {
    const holders = [
      new Secret(SECRET),
      new SaslCredentials({ mechanism: 'PLAIN', username: 'svc', password: SECRET }),
      new OAuthCredentials({
        tokenProvider: new ClientCredentialsProvider({
          tokenEndpoint: 'https://idp.example/token',
          clientId: 'svc',
          clientSecret: SECRET,
        }),
      }),
      new OAuthCredentials({ tokenProvider: new StaticTokenProvider(TOKEN) }),
    ];
    for (const holder of holders) {
      for (const text of [String(holder), inspect(holder, { depth: 10 }), JSON.stringify(holder)]) {
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain(TOKEN);
      }
    }
  });

  it('redact() removes given secrets and anything shaped like a JWT', () => {
    expect(redact(`secret=${SECRET} token=${TOKEN}`, [SECRET])).toBe('secret=[redacted] token=[redacted]');
  });

  it('refuses plain HTTP to anything but loopback, and loopback only when allowed', () => {
    expect(
      () =>
        new ClientCredentialsProvider({
          tokenEndpoint: 'http://idp.example/token',
          clientId: 'a',
          clientSecret: 'b',
          allowInsecureLoopback: true,
        }),
    ).toThrow(expect.objectContaining({ code: 'STREAM_APP_ERR_INSECURE_URL' }));
    expect(
      () =>
        new ClientCredentialsProvider({ tokenEndpoint: 'http://127.0.0.1:9/token', clientId: 'a', clientSecret: 'b' }),
    ).toThrow(/allowInsecureLoopback/);
    expect(
      () =>
        new ClientCredentialsProvider({
          tokenEndpoint: 'http://127.0.0.1:9/token',
          clientId: 'a',
          clientSecret: 'b',
          allowInsecureLoopback: true,
        }),
    ).not.toThrow();
  });
});

describe('configuration objects and keys', () => {
  it('kafkaClientConfig output prints no password', async () => {
    const { kafkaClientConfig } = await import('../src/index.js');
    const config = kafkaClientConfig(
      new SaslCredentials({ mechanism: 'SCRAM-SHA-512', username: 'svc', password: SECRET }),
    );
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(inspect(config, { depth: 10 })).not.toContain(SECRET);
    expect((config.kafkaJS.sasl as { password: string }).password).toBe(SECRET);
  });

  it('private keys are checked up front, with the algorithm their curve needs', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { ClientCredentialsProvider: Provider } = await import('../src/index.js');
    const ok = (privateKey: string) =>
      new Provider({ tokenEndpoint: 'https://idp.example/token', clientId: 'a', privateKey });
    for (const curve of ['P-256', 'P-384', 'P-521']) {
      expect(() =>
        ok(
          generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({
            type: 'pkcs8',
            format: 'pem',
          }) as string,
        ),
      ).not.toThrow();
    }
    expect(() => ok('not a key')).toThrow(expect.objectContaining({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' }));
    const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    expect(() => ok(dsa)).toThrow(/dsa keys are not supported/);
  });
});
