// How librdkafka's log lines become clear errors; the same errors are proven
// against the real broker in packages/testing/test/smoke.test.ts.
import { describe, expect, it } from 'vitest';
import { connectClient, explainKafkaError, KafkaDiagnostics } from '../src/index.js';

describe('KafkaDiagnostics', () => {
  it('recognizes a refused SASL handshake and a failed TLS handshake', () => {
    const sasl = new KafkaDiagnostics();
    sasl.logger.error(
      '[thrd:sasl_plaintext://127.0.0.1:9092/bootstrap]: sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: {"status":"invalid_token"} (after 3ms in state AUTH_REQ)',
    );
    expect(sasl.authenticationFailure).toEqual({
      kind: 'sasl',
      broker: 'sasl_plaintext://127.0.0.1:9092',
      reason: '{"status":"invalid_token"}',
    });

    const tls = new KafkaDiagnostics();
    tls.logger.error(
      '[thrd:sasl_ssl://127.0.0.1:9093/bootstrap]: sasl_ssl://127.0.0.1:9093/bootstrap: SSL handshake failed: certificate verify failed (after 2ms in state SSL_HANDSHAKE)',
    );
    expect(tls.authenticationFailure).toMatchObject({ kind: 'tls', reason: 'certificate verify failed' });
  });

  it('forwards every line to the sink it was given', () => {
    const lines: string[] = [];
    const diagnostics = new KafkaDiagnostics((level, message) => lines.push(`${level}: ${message}`));
    diagnostics.logger.info('Producer connected');
    expect(lines).toEqual(['info: Producer connected']);
  });

  it('connectClient fails at once with the broker reason while the client is still connecting', async () => {
    const diagnostics = new KafkaDiagnostics();
    let disconnected = false;
    const client = {
      connect: () => new Promise<void>(() => {}), // a connect that would wait for its timeout
      disconnect: async () => void (disconnected = true),
    };
    const connecting = connectClient(client, diagnostics, '127.0.0.1:9092');
    diagnostics.logger.error(
      'sasl_plaintext://127.0.0.1:9092/bootstrap: SASL authentication error: {"status":"invalid_token"} (after 1ms)',
    );
    await expect(connecting).rejects.toMatchObject({ code: 'STREAM_APP_ERR_KAFKA_AUTHENTICATION' });
    expect(disconnected).toBe(true);
  });

  it('a plain connection failure is retriable and names the address', async () => {
    const error = await connectClient(
      { connect: async () => Promise.reject(new Error('Local: Broker transport failure')), disconnect: async () => {} },
      new KafkaDiagnostics(),
      '127.0.0.1:1',
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_KAFKA_CONNECTION', retriable: true });
    expect((error as Error).message).toContain('could not connect to Kafka at 127.0.0.1:1');
  });

  it('explainKafkaError leaves other errors alone and explains authorization codes', () => {
    const other = new Error('boom');
    expect(explainKafkaError(other, { principal: 'User:a', operation: 'Write', resource: 't' })).toBe(other);
    const group = explainKafkaError({ code: 30 }, { principal: 'User:a', operation: 'Read', resource: 'g' }) as Error;
    expect(group.message).toContain("User:a may not Read group 'g'");
    expect(group.message).toContain('--operation Read --group g');
  });
});
