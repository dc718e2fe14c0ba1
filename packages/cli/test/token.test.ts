// `stream-app token` against the test run's real identity provider.
import { useTestbed } from '@stream-app/testing/vitest';
import { describe, expect, it } from 'vitest';
import { main, type Io } from '../src/index.js';

const testbed = useTestbed();

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const value: Io = { out: (l) => void out.push(l), err: (l) => void err.push(l), env };
  return { value, out, err };
}

describe('stream-app token', () => {
  const { app } = testbed.clients;
  const args = [
    'token',
    '--token-endpoint',
    testbed.identityProvider.tokenEndpoint,
    '--client-id',
    app.clientId,
    '--allow-insecure-loopback',
  ];

  it("shows the token's principal, expiry and claims, never the token", async () => {
    const run = io({ STREAM_APP_CLIENT_SECRET: app.clientSecret });
    expect(await main(args, run.value)).toBe(0);
    const text = run.out.join('\n');
    expect(text).toMatch(new RegExp(`^principal +User:${app.clientId}$`, 'm'));
    expect(text).toMatch(new RegExp(`^ {2}iss +"${testbed.identityProvider.issuer}"$`, 'm'));
    expect(text).toMatch(new RegExp(`^ {2}aud +"${testbed.identityProvider.audience}"$`, 'm'));
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(text).not.toContain(app.clientSecret);
  });

  it('refuses a secret on the command line and explains a refused client', async () => {
    const empty = io();
    expect(await main(args, empty.value)).toBe(2);
    expect(empty.err.join('\n')).toContain('$STREAM_APP_CLIENT_SECRET, which is empty');
    const wrong = io({ STREAM_APP_CLIENT_SECRET: 'wrong-secret-123' });
    expect(await main(args, wrong.value)).toBe(1);
    expect(wrong.err.join('\n')).toContain('STREAM_APP_ERR_NO_VALID_TOKEN');
    expect(wrong.err.join('\n')).toContain('invalid_client');
    expect(wrong.err.join('\n')).not.toContain('wrong-secret-123');
  });

  it('prints help and rejects unknown commands', async () => {
    const help = io();
    expect(await main([], help.value)).toBe(0);
    expect(help.out.join('\n')).toContain('usage: stream-app <command>');
    const unknown = io();
    expect(await main(['nope'], unknown.value)).toBe(2);
    expect(unknown.err.join('\n')).toContain('unknown command "nope"');
  });
});
