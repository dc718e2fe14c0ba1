// Produce throughput through the OAUTHBEARER listener vs the PLAIN listener of
// the same broker, in the same run, rounds interleaved. Goal: the token work
// costs under 3%.
import { randomBytes } from 'node:crypto';
import { KafkaJS } from '@confluentinc/kafka-javascript';
import { connectClient, KafkaDiagnostics } from '@stream-app/core';
import {
  ClientCredentialsProvider,
  kafkaClientConfig,
  OAuthCredentials,
  SaslCredentials,
  type Credentials,
} from '@stream-app/credentials';
import { startTestbed } from '@stream-app/testing';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
const BATCH = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const payload = randomBytes(128).toString('hex'); // 256 bytes

async function produce(credentials: Credentials, bootstrap: string, topic: string): Promise<number> {
  const diagnostics = new KafkaDiagnostics();
  const config = kafkaClientConfig(credentials);
  const producer = new KafkaJS.Kafka({
    ...config,
    kafkaJS: { ...config.kafkaJS, brokers: [bootstrap], logger: diagnostics.logger } as never,
  }).producer();
  await connectClient(producer, diagnostics, bootstrap);
  const messages = Array.from({ length: BATCH }, (_, i) => ({ key: String(i % 64), value: payload }));
  const started = process.hrtime.bigint();
  const inflight: Array<Promise<unknown>> = [];
  for (let sent = 0; sent < MESSAGES; sent += BATCH) {
    inflight.push(producer.send({ topic, messages }));
    if (inflight.length >= 20) await inflight.shift();
  }
  await Promise.all(inflight);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await producer.disconnect();
  return MESSAGES / seconds;
}

async function main() {
  process.stdout.write(`produce ${MESSAGES} messages of 256 B, ${ROUNDS} rounds per listener, interleaved\n`);
  const testbed = await startTestbed({ onProgress: (m) => process.stdout.write(`  › ${m}\n`) });
  try {
    const topic = 'bench-produce';
    const admin = testbed.kafka.createAdminClient();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await admin.disconnect();
    const { app } = testbed.info().clients;
    const oauth = new OAuthCredentials({
      tokenProvider: new ClientCredentialsProvider({
        tokenEndpoint: testbed.identityProvider.tokenEndpoint,
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        allowInsecureLoopback: true,
      }),
    });
    // Not the super user: the PLAIN principal has the same ACLs as the OAuth one, so both pay for authorization.
    const plain = new SaslCredentials({ mechanism: 'PLAIN', ...testbed.kafka.passwordUser });
    const rates = { plain: [] as number[], oauth: [] as number[] };
    const ratios: number[] = [];
    await produce(plain, testbed.kafka.bootstrap.admin, topic); // warm-up: JIT, topic metadata, broker caches
    for (let round = 1; round <= ROUNDS; round += 1) {
      const order: Array<'plain' | 'oauth'> = round % 2 ? ['plain', 'oauth'] : ['oauth', 'plain'];
      for (const which of order) {
        const rate =
          which === 'plain'
            ? await produce(plain, testbed.kafka.bootstrap.admin, topic)
            : await produce(oauth, testbed.kafka.bootstrap.oauth, topic);
        rates[which].push(rate);
        process.stdout.write(`  round ${round} ${which.padEnd(5)} ${Math.round(rate).toLocaleString('en')} msg/s\n`);
      }
      // Paired per round: the two runs of a round share the machine's state, so their ratio is steadier than the rates.
      ratios.push((rates.oauth.at(-1) ?? 0) / (rates.plain.at(-1) ?? 1));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const ratio = median(ratios);
    process.stdout.write(
      `\nmedian PLAIN ${Math.round(median(rates.plain)).toLocaleString('en')} msg/s, OAUTHBEARER ${Math.round(median(rates.oauth)).toLocaleString('en')} msg/s\n` +
        `OAUTHBEARER / PLAIN per round: ${ratios.map((r) => r.toFixed(3)).join(' ')}\n` +
        `median ratio ${ratio.toFixed(3)} (token cost ${((1 - ratio) * 100).toFixed(1)}%; goal: under 3%)\n`,
    );
    oauth.lifecycle.close();
  } finally {
    await testbed.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
