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
