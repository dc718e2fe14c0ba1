import type * as Testing from '@stream-app/testing';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CliError } from '../errors.js';
import { text, type Command } from './command.js';

const APP_FILE = `// Made by \`stream-app dev\`: an app that takes its broker and OAuth client from .env.
import { App, agent, service, type Stream } from '@stream-app/core';

export const app = new App({ id: 'dev-app', topicPartitions: 3 });
export const greetings = app.topic('greetings', { valueType: 'json' });

@service(app)
export class Greeter {
  @agent(greetings)
  async greet(stream: Stream<unknown>) {
    for await (const greeting of stream) console.log('received', greeting);
  }
}
`;

export const devCommand: Command = {
  name: 'dev',
  summary: 'start a local identity provider and Kafka broker for development; Ctrl-C stops them',
  help: `usage: stream-app dev [--dir <folder>] [--json]

Starts a real OIDC identity provider and a real Kafka broker (KRaft, OAUTHBEARER and PLAIN
listeners, ACLs on) on 127.0.0.1, the same test bed the project's tests use, and writes into
<folder> (default ./stream-app-dev) a .env with how to connect and a ready app.ts:

  cd stream-app-dev && npx stream-app worker -A app.ts

It needs JDK 17+ and Maven (the broker's jars come from Maven Central on the first run) and the
@stream-app/testing package. Ctrl-C (or SIGTERM) stops both servers and removes the broker's data.

options:
      --dir <folder>             where .env and app.ts go (an existing app.ts is kept)
      --json                     print the connection as one JSON document once ready`,
  options: { dir: { type: 'string' }, json: { type: 'boolean' } },
  async run(values, _positionals, { out, cwd }) {
    let testing: typeof Testing;
    try {
      testing = await import('@stream-app/testing');
    } catch (error) {
      throw new CliError(
        'STREAM_APP_ERR_DEV_TESTBED',
        'stream-app dev runs the test bed of @stream-app/testing: add it as a dev dependency (npm i -D @stream-app/testing)',
        { cause: error },
      );
    }
    let signalled: (signal: NodeJS.Signals) => void = () => {};
    const signal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
    process.once('SIGINT', signalled);
    process.once('SIGTERM', signalled);
    const started = Date.now();
    out.line('stream-app dev: a local identity provider and Kafka broker on 127.0.0.1');
    const testbed = await testing
      .startTestbed({ onProgress: (message) => out.line(`  ${out.dim('›')} ${message}`) })
      .catch((error: unknown) => {
        process.off('SIGINT', signalled);
        process.off('SIGTERM', signalled);
        throw new CliError('STREAM_APP_ERR_DEV_TESTBED', `the test bed did not start: ${(error as Error).message}`, {
          cause: error,
        });
      });
    try {
      const info = testbed.info();
      const dir = resolve(cwd, text(values, 'dir') ?? 'stream-app-dev');
      mkdirSync(dir, { recursive: true });
      const client = info.clients.app;
      const env: Array<[string, string]> = [
        ['STREAM_APP_BROKER', info.kafka.bootstrap.oauth],
        ['STREAM_APP_OAUTH_TOKEN_ENDPOINT', info.identityProvider.tokenEndpoint],
        ['STREAM_APP_OAUTH_CLIENT_ID', client.clientId],
        ['STREAM_APP_OAUTH_CLIENT_SECRET', client.clientSecret],
        ['STREAM_APP_OAUTH_SCOPE', 'kafka'],
        ['STREAM_APP_OAUTH_ALLOW_INSECURE_LOOPBACK', 'true'],
        ['STREAM_APP_ADMIN_BOOTSTRAP', info.kafka.bootstrap.admin],
        ['STREAM_APP_ADMIN_SASL_MECHANISM', 'PLAIN'],
        ['STREAM_APP_ADMIN_SASL_USERNAME', info.kafka.adminUser.username],
        ['STREAM_APP_ADMIN_SASL_PASSWORD', info.kafka.adminUser.password],
      ];
      const envFile = join(dir, '.env');
      writeFileSync(
        envFile,
        `# Written by stream-app dev for the servers it runs now; the secrets are local fixtures.\n${env.map(([name, value]) => `${name}=${value}`).join('\n')}\n`,
        { mode: 0o600 },
      );
      chmodSync(envFile, 0o600);
      const appFile = join(dir, 'app.ts');
      if (!existsSync(appFile)) writeFileSync(appFile, APP_FILE);
      const where = relative(cwd, dir) || '.';
      out.result({
        identityProvider: {
          issuer: info.identityProvider.issuer,
          tokenEndpoint: info.identityProvider.tokenEndpoint,
          jwksUri: info.identityProvider.jwksUri,
          audience: info.identityProvider.audience,
        },
        kafka: {
          oauth: info.kafka.bootstrap.oauth,
          oauthSsl: info.kafka.bootstrap.oauthSsl,
          admin: info.kafka.bootstrap.admin,
          caFile: info.kafka.caFile,
          version: info.kafka.version,
        },
        envFile,
        appFile,
      });
      out.line();
      out.table(
        ['SERVER', 'ADDRESS', ''],
        [
          ['identity provider', info.identityProvider.issuer, `token endpoint ${info.identityProvider.tokenEndpoint}`],
          ['Kafka OAUTHBEARER', info.kafka.bootstrap.oauth, `audience ${info.identityProvider.audience}`],
          ['Kafka OAUTHBEARER+TLS', info.kafka.bootstrap.oauthSsl, `CA ${info.kafka.caFile}`],
          ['Kafka PLAIN (admin)', info.kafka.bootstrap.admin, `user ${info.kafka.adminUser.username}`],
        ],
      );
      out.line();
      out.line(`${out.bold(`${where}/.env`)} (read by every stream-app command run in ${where}):`);
      for (const [name, value] of env)
        out.line(`  ${name}=${/SECRET|PASSWORD/.test(name) ? '… (in the file)' : value}`);
      out.line();
      out.line(`${out.bold('try it')}:`);
      out.line(`  cd ${where} && npx stream-app worker -A app.ts`);
      out.line(`  cd ${where} && npx stream-app send -A app.ts greetings --value '{"hello":"world"}'`);
      out.line();
      out.line(out.mark('ok', `ready in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops both servers.`));
      const received = await signal;
      out.line(`\n${received}: stopping the broker and the identity provider…`);
    } finally {
      process.off('SIGINT', signalled);
      process.off('SIGTERM', signalled);
      await testbed.stop();
    }
    out.line(out.mark('ok', 'stopped.'));
    return 0;
  },
};
