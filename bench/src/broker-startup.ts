// Broker start to ready (JVM launch to "Kafka Server started"), three times, median.
import { silentProgress, startIdentityProvider, startKafka } from '@stream-app/testing';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 3);

async function main() {
  const idp = await startIdentityProvider({ clients: [{ clientId: 'probe', clientSecret: 'probe-secret' }] });
  const times: number[] = [];
  try {
    for (let run = 1; run <= RUNS; run += 1) {
      const kafka = await startKafka({ identityProvider: idp, onProgress: silentProgress });
      times.push(kafka.startupMs);
      process.stdout.write(`  start ${run}: ${(kafka.startupMs / 1000).toFixed(1)} s\n`);
      await kafka.stop();
    }
  } finally {
    await idp.stop();
  }
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? 0;
  process.stdout.write(`broker start to ready: median ${(median / 1000).toFixed(1)} s of ${RUNS}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
