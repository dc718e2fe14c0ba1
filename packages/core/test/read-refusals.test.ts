// A read the broker refuses mid-run (an ACL removed) becomes one coded warning that names the ACL, not
// a client log line with a stack every time the client retries. Proven against the real broker in the
// reliability suite's ACL case (packages/cli/test/reliability).
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/index.js';
import { ReadRefusals } from '../src/kafka/read-refusals.js';

const REFUSED_LINE =
  'Consumer encountered error while consuming. Retrying. Error details: KafkaJSProtocolError: Broker: Topic authorization failed : Error: Broker: Topic authorization failed\n    at Function.createLibrdkafkaError';

function withLog() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', format: 'json', write: (line) => lines.push(line) });
  const reads = { groupId: 'orders-app', topics: ['orders'] };
  return {
    lines,
    refusals: new ReadRefusals(
      log,
      async () => 'User:svc',
      () => reads,
    ),
  };
}

describe('ReadRefusals', () => {
  it('warns once with the code, the principal and the ACL to add, without the stack', async () => {
    const { lines, refusals } = withLog();
    expect(refusals.handled(REFUSED_LINE)).toBe(true);
    expect(refusals.handled(REFUSED_LINE)).toBe(true);
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    const entry = JSON.parse(lines[0]!) as { code: string; error: { code: string; message: string } };
    expect(entry.code).toBe('STREAM_APP_ERR_KAFKA_AUTHORIZATION');
    expect(entry.error.message).toContain('User:svc may not Read topic');
    expect(entry.error.message).toContain('--allow-principal User:svc --operation Read --topic orders');
    expect(lines[0]).not.toContain('createLibrdkafkaError');
  });

  it('names the group when the group is refused, and leaves other lines alone', async () => {
    const { lines, refusals } = withLog();
    expect(
      refusals.handled(
        'Consumer encountered error while consuming. Retrying. Error details: Broker: Group authorization failed',
      ),
    ).toBe(true);
    expect(refusals.handled('Producer connected')).toBe(false);
    // An agent's own failure (a refused write, say) is not a refused read.
    expect(
      refusals.handled(
        'Consumer encountered error while processing message. Error details: Broker: Topic authorization failed',
      ),
    ).toBe(false);
    expect(refusals.handled('[thrd:main]: Broker: Topic authorization failed')).toBe(false);
    await vi.waitFor(() => expect(lines).toHaveLength(1));
    expect(lines[0]).toContain('--group orders-app');
  });
});
