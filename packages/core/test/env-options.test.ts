// STREAM_APP_* variables fill what the app's code leaves out, never what it gives.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { StreamAppError } from '../src/index.js';
import { App } from '../src/index.js';
import { withEnvOptions } from '../src/app/env-options.js';

function failure(fn: () => unknown): StreamAppError {
  try {
    fn();
  } catch (error) {
    return error as StreamAppError;
  }
  throw new Error('expected a failure');
}

describe('settings from STREAM_APP_* variables', () => {
  it('fills the options the code leaves out and keeps the ones it gives', () => {
    const env = {
      STREAM_APP_BROKER: 'kafka-1:9093,kafka-2:9093',
      STREAM_APP_PROCESSING_GUARANTEE: 'exactly_once',
      STREAM_APP_TOPIC_PARTITIONS: '12',
      STREAM_APP_TOPIC_ALLOW_DECLARE: 'false',
      STREAM_APP_WEB_PORT: '0',
    };
    const filled = withEnvOptions({ id: 'orders', topicPartitions: 3 }, env);
    expect(filled).toMatchObject({
      broker: 'kafka-1:9093,kafka-2:9093',
      processingGuarantee: 'exactly_once',
      topicPartitions: 3,
      topicAllowDeclare: false,
      web: { port: 0 },
    });
    expect(withEnvOptions({ id: 'orders', broker: 'code:9092' }, env).broker).toBe('code:9092');
  });

  it('names the variable whose value is wrong', () => {
    const error = failure(() => withEnvOptions({ id: 'a' }, { STREAM_APP_TOPIC_PARTITIONS: 'many' }));
    expect(error.code).toBe('STREAM_APP_ERR_INVALID_OPTIONS');
    expect(error.message).toBe('$STREAM_APP_TOPIC_PARTITIONS must be a whole number, got "many"');
    expect(failure(() => new App({ id: 'a' })).message).toContain('$STREAM_APP_BROKER');
  });

  it('makes client credentials from STREAM_APP_OAUTH_*, the secret from a file, and never shows it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'env-options-'));
    writeFileSync(join(dir, 'secret'), 's3cr3t-value\n');
    const filled = withEnvOptions(
      { id: 'a', broker: 'k:9093' },
      {
        STREAM_APP_OAUTH_TOKEN_ENDPOINT: 'https://idp.example.com/token',
        STREAM_APP_OAUTH_CLIENT_ID: 'orders-service',
        STREAM_APP_OAUTH_CLIENT_SECRET_FILE: join(dir, 'secret'),
      },
    );
    const app = new App(filled);
    expect(app.credentials?.kind).toBe('oauth');
    expect(app.credentials?.describe()).toContain('orders-service');
    for (const shown of [inspect(app, { depth: 6 }), JSON.stringify(app.credentials), app.credentials?.describe()]) {
      expect(shown).not.toContain('s3cr3t');
    }
    const missing = failure(() =>
      withEnvOptions({ id: 'a' }, { STREAM_APP_OAUTH_CLIENT_ID: 'x', STREAM_APP_OAUTH_ISSUER: 'https://i' }),
    );
    expect(missing.message).toBe(
      'set $STREAM_APP_OAUTH_CLIENT_SECRET or $STREAM_APP_OAUTH_CLIENT_SECRET_FILE (a file holding the secret)',
    );
  });

  it('makes SASL credentials from STREAM_APP_SASL_*', () => {
    const filled = withEnvOptions(
      { id: 'a', broker: 'k:9093' },
      { STREAM_APP_SASL_MECHANISM: 'scram-sha-512', STREAM_APP_SASL_USERNAME: 'u', STREAM_APP_SASL_PASSWORD: 'p4ss' },
    );
    expect(new App(filled).credentials?.describe()).toBe('SASL/SCRAM-SHA-512 as u');
  });
});
