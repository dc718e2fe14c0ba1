// The README's demo: a real identity provider and a real Kafka broker on 127.0.0.1, the orders
// app run by `stream-app worker -A src/app.ts` as a user would, and five orders sent to it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestbed, type Testbed } from '@stream-app/testing';
import { Order } from './order.js';

const say = (message: string) => process.stdout.write(`${message}\n`);
const ORDERS = [
  { accountId: 'acc-1', amount: 12.5 },
  { accountId: 'acc-2', amount: 99 },
  { accountId: 'acc-1', amount: 7.25 },
  { accountId: 'acc-3', amount: 1200 },
  { accountId: 'acc-2', amount: 0.99 },
];

async function main() {
  say('stream-app demo: identity provider + Kafka broker + the orders worker, all on 127.0.0.1\n');
  const started = Date.now();
  const testbed: Testbed = await startTestbed({ onProgress: (m) => say(`  › ${m}`) });
  const client = testbed.info().clients.app;
  Object.assign(process.env, {
    KAFKA_BOOTSTRAP: testbed.kafka.bootstrap.oauth,
    OIDC_TOKEN_ENDPOINT: testbed.identityProvider.tokenEndpoint,
    OIDC_CLIENT_ID: client.clientId,
    OIDC_CLIENT_SECRET: client.clientSecret,
  });
  say(
    `  › identity provider ${testbed.identityProvider.issuer}, Kafka OAUTHBEARER listener ${testbed.kafka.bootstrap.oauth}\n`,
  );

  // The worker, exactly as a user starts it.
  const bin = fileURLToPath(new URL('./bin.js', import.meta.resolve('stream-app')));
  const appFile = fileURLToPath(new URL('../src/app.ts', import.meta.url));
  say(`$ stream-app worker -A examples/orders/src/app.ts --log-format pretty\n`);
  const worker = spawn(process.execPath, [bin, 'worker', '-A', appFile, '--log-format', 'pretty'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let paid = 0;
  let ready!: () => void;
  let allPaid!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const isAllPaid = new Promise<void>((resolve) => (allPaid = resolve));
  const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
  const relay = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      say(`  │ ${line}`);
      if (line.startsWith('ready in')) ready();
      if (/^account \S+ pays/.test(line) && ++paid === ORDERS.length) allPaid();
    }
  };
  worker.stdout.on('data', relay);
  worker.stderr.on('data', relay);
  const stop = async (code: number) => {
    if (worker.exitCode === null) worker.kill('SIGTERM');
    await exited;
    await testbed.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(130));
  const failed = exited.then((code) => {
    throw new Error(`the worker exited early (code ${code})`);
  });

  await Promise.race([isReady, failed]);
  // A client of the same app: the typed topic encodes and the producer shares the app's token.
  const { app, orders } = await import('./app.js');
  await app.connect();
  say(`\nsending ${ORDERS.length} orders as User:${client.clientId}…\n`);
  for (const order of ORDERS) await orders.send({ key: order.accountId, value: Order.fromPlain(order) });
  await app.stop();

  const timeout = setTimeout(() => {
    say(`\nonly ${paid} of ${ORDERS.length} orders arrived within 60 s`);
    void stop(1);
  }, 60_000);
  await Promise.race([isAllPaid, failed]);
  clearTimeout(timeout);
  say('\nall orders processed; stopping the worker with SIGTERM…\n');
  worker.kill('SIGTERM');
  const code = await exited;
  say(`\nworker exited with code ${code}; ${((Date.now() - started) / 1000).toFixed(1)} s in all.`);
  await testbed.stop();
  say('stopped cleanly.');
  process.exit(code === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
