// Importing the core (or only its errors) must not load the OAuth libraries: a PLAINTEXT or SASL app
// has no need of openid-client or jose, and an app without tracing none of @opentelemetry/api. Checked on
// the built packages (the test command builds them first), in a child Node whose resolver refuses those.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const core = fileURLToPath(new URL('..', import.meta.url));
const refuse = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (/[\\\\/]node_modules[\\\\/](jose|openid-client|@opentelemetry[\\\\/]api)[\\\\/]/.test(result.url)) throw new Error('loaded ' + result.url);
  return result;
}`;

function importIn(child: string): string {
  const script = `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(refuse)}));
${child}
console.log('ok');`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: core, encoding: 'utf8' });
}

describe('import cost', () => {
  it('is built (npm test builds every package before the tests)', () => {
    expect(existsSync(new URL('../dist/index.js', import.meta.url)), 'run the build first: pnpm -r build').toBe(true);
  });

  it('loads neither openid-client, jose nor @opentelemetry/api when a PLAINTEXT app imports @stream-app/core', () => {
    expect(
      importIn(`const core = await import('@stream-app/core');
new core.App({ id: 'plain', broker: 'localhost:9092' });
const { CoreError, StreamAppError } = await import('@stream-app/core/errors');
if (!(new CoreError('STREAM_APP_ERR_APP_STATE', 'x') instanceof StreamAppError)) throw new Error('one base class');`),
    ).toContain('ok');
  });

  it('the check itself refuses jose when something does load it', () => {
    expect(() => importIn(`await import('@stream-app/credentials');`)).toThrow(/loaded .*(jose|openid-client)/);
  });

  it('the check itself refuses @opentelemetry/api when an app with tracing loads it', () => {
    expect(() =>
      importIn(`const core = await import('@stream-app/core');
await new core.App({ id: 'traced', broker: 'localhost:9092', tracing: true }).connect().catch((error) => {
  if (/loaded/.test(error.message)) throw error;
});`),
    ).toThrow(/loaded .*@opentelemetry/);
  });
});
