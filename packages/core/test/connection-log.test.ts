// What a Kafka client logs about its connections, read into counts, sensor events and one coded warning
// per refused re-authentication. The lines are librdkafka's own (the `security` debug context on); the
// same is proven against the real broker in packages/cli/test/reauthentication.e2e.test.ts.
import { describe, expect, it } from 'vitest';
import { ConnectionLog, createLogger, type KafkaConnectionEvent } from '../src/index.js';
import { withSecurityDebug } from '../src/kafka/connection-log.js';

const BROKER = 'sasl_plaintext://127.0.0.1:39041/1';
const line = (text: string, withName = true) => `[thrd:${BROKER}]: ${withName ? `${BROKER}: ` : ''}${text}`;

function withLog() {
  const lines: string[] = [];
  const events: KafkaConnectionEvent[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (entry) => lines.push(entry) });
  return { lines, events, connections: new ConnectionLog(log, (event) => events.push(event)) };
}

describe('ConnectionLog', () => {
  it('counts authentications and re-authentications, with the session lifetime the broker gave', () => {
    const { lines, events, connections } = withLog();
    expect(
      connections.handled(line('Received session lifetime 9500 ms from broker', false), 'rdkafka#producer-1'),
    ).toBe(false);
    connections.handled(line('Auth in state REAUTH (handshake supported)'), 'rdkafka#producer-1');
    connections.handled(line('Received session lifetime 9800 ms from broker', false), 'rdkafka#producer-1');
    expect(connections.counts).toEqual({
      authentications: 1,
      authenticationFailures: 0,
      reauthentications: 1,
      reauthenticationFailures: 0,
      disconnects: 0,
    });
    expect(events.map(({ kind, sessionLifetimeMs }) => [kind, sessionLifetimeMs])).toEqual([
      ['authenticated', 9500],
      ['reauthenticated', 9800],
    ]);
    expect(lines).toEqual([]);
  });

  it('counts a refused first authentication, and leaves its error to the client and the diagnostics', () => {
    const { lines, events, connections } = withLog();
    const refused = line(
      'SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER (after 3ms in state AUTH_REQ)',
    );
    expect(connections.handled(refused, 'rdkafka#producer-1')).toBe(false);
    expect(connections.counts).toMatchObject({
      authentications: 0,
      authenticationFailures: 1,
      reauthenticationFailures: 0,
    });
    expect(events).toEqual([
      {
        client: 'rdkafka#producer-1',
        broker: BROKER,
        kind: 'authentication-failed',
        reason:
          'SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism OAUTHBEARER',
      },
    ]);
    expect(lines).toEqual([]);
  });

  it('turns a refused re-authentication into one coded warning; the echoes that follow are left to debug', () => {
    const { lines, events, connections } = withLog();
    const client = 'rdkafka#consumer-2';
    connections.handled(line('Auth in state REAUTH (handshake supported)'), client);
    const refused = line(
      "SASL OAUTHBEARER mechanism handshake failed: Broker: Request not valid in current SASL state: broker's supported mechanisms:  (after 2ms in state AUTH_HANDSHAKE)",
    );
    expect(connections.handled(refused, client)).toBe(true);
    expect(connections.handled('Error: authentication failure', client)).toBe(true);
    expect(connections.handled(line('all broker connections are down', false), client)).toBe(true);
    // Another client's trouble is its own.
    expect(connections.handled('Error: authentication failure', 'rdkafka#producer-1')).toBe(false);
    connections.handled(line('Disconnected (after 3ms in state AUTH_HANDSHAKE)'), client);
    expect(connections.counts).toMatchObject({ reauthenticationFailures: 1, disconnects: 1 });
    expect(events.map((event) => event.kind)).toEqual(['reauthentication-failed', 'disconnected']);
    const logged = lines.filter((entry) => !entry.includes('"level":"debug"'));
    expect(logged).toHaveLength(1);
    const warning = JSON.parse(logged[0]!) as { level: string; code: string; broker: string; reason: string };
    expect(warning).toMatchObject({ level: 'warn', code: 'STREAM_APP_ERR_KAFKA_REAUTHENTICATION', broker: BROKER });
    expect(warning.reason).toMatch(/Request not valid in current SASL state/);
  });

  it('a connection the broker closes during a re-authentication is a failed one, warned about once', () => {
    const { lines, connections } = withLog();
    const client = 'rdkafka#consumer-3';
    connections.handled(line('Auth in state REAUTH (handshake supported)'), client);
    expect(
      connections.handled(
        line('Disconnected: connection closed by peer: receive 0 after POLLIN (after 413ms in state AUTH_HANDSHAKE)'),
        client,
      ),
    ).toBe(true);
    expect(
      connections.handled(
        line(
          "SASL OAUTHBEARER mechanism handshake failed: Local: Broker transport failure: broker's supported mechanisms: (n/a) (after 0ms in state DOWN)",
        ),
        client,
      ),
    ).toBe(true);
    expect(connections.handled('Error: all broker connections are down', client)).toBe(true);
    expect(connections.counts).toMatchObject({ reauthenticationFailures: 1, disconnects: 1 });
    const logged = lines.filter((entry) => !entry.includes('"level":"debug"'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ code: 'STREAM_APP_ERR_KAFKA_REAUTHENTICATION' });
  });

  it('a failed first authentication is not a re-authentication (connectClient reports it)', () => {
    const { connections } = withLog();
    expect(connections.handled(line('SASL authentication error: {"status":"invalid_token"} (after 3ms)'), 'c')).toBe(
      false,
    );
    expect(connections.counts.reauthenticationFailures).toBe(0);
  });

  it("adds the security debug context to the user's", () => {
    expect(withSecurityDebug(undefined)).toBe('security');
    expect(withSecurityDebug('cgrp,fetch')).toBe('cgrp,fetch,security');
    expect(withSecurityDebug('all')).toBe('all');
    expect(withSecurityDebug('security,broker')).toBe('security,broker');
  });
});
