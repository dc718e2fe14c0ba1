// What the sensors cost: the same stateless app, in the same run, rounds interleaved, four ways:
// - plain:   no sensor beyond the runtime's own;
// - metrics: the web server's Prometheus metrics (`startWebServer(app, { web: { port: 0 } })` from
//            @stream-app/web adds its WorkerMetrics sensor), with `/metrics` scraped once a second
//            during the run, as Prometheus would;
// - tracing: the app's `tracing` option with an OpenTelemetry SDK `BasicTracerProvider` whose
//            `BatchSpanProcessor` (default settings) exports to a no-op exporter that only counts
//            spans (what an exporter does with them, over the network, is not stream-app's cost);
// - both:    metrics and tracing together.
//
// The app: one agent reading a 256-byte JSON order (a validated `Record`), mapping it, and producing
// the result to a sink; at least once, the defaults of the App. Each run reads the same pre-filled
// input topic (4 partitions) from the beginning as a fresh consumer group, through the OAUTHBEARER
// listener as the test bed's app client, and produces to a fresh output topic of its own.
//
// Each run is a worker process of its own (this file, forked), as in production: runs in one process
// slow each other down. @confluentinc/kafka-javascript gives every consumer an AsyncLocalStorage (the
// lock of its run loop) that stays enabled once used, and on Node 20 each enabled one adds work to
// every promise made afterwards: with plain runs only, one after the other in one process, the
// thirteenth took 45 % more CPU per message than the second (`_propagate` of node:async_hooks went
// from 3 % to 27 % of the profile), whatever the sensors.
//
// The measure: the first BENCH_SENSORS_WARMUP orders warm the process up (JIT, class-validator's
// metadata, the web server's and the SDK's first use); it starts when the next one reaches the agent
// body and ends when all results are acknowledged by the broker and the input offsets of all orders
// are committed. The rate is the measured orders over that span; the CPU time is the worker process's
// (JavaScript, GC, librdkafka's threads, the web server answering the scrapes, the span processor)
// over the same span, per measured order. A warm-up round (one run of each variant, which warms the
// broker's JIT) is not reported; then each round runs every variant once, the order rotating from
// round to round; the ratios to plain are paired per round (the runs of a round share the machine's
// state), and medians are reported.
//
// Each run checks what it measured: one result per order in its output topic; with metrics, the last
// scrape counts every order received; with tracing, the exporter got spans (2 per order: the event's
// `process` and the result's `publish`; fewer means the span processor dropped some).
//
// BENCH_SENSORS_MESSAGES (default 60 000) measured orders per run after BENCH_SENSORS_WARMUP (default
// 20 000), BENCH_ROUNDS (default 5) rounds: the whole file runs in about 2 minutes on 2 cores.
// BENCH_SENSORS_VARIANTS (e.g. `plain,both`) runs only some variants (plain is needed: the ratios are
// to it); `node --cpu-prof dist/sensors-cost.js` writes one profile per worker process.
import { fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { App, createLogger, type AppOptions } from '@stream-app/core';
import { startWebServer, type WebServer } from '@stream-app/web';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ClientCredentialsProvider, OAuthCredentials } from '@stream-app/credentials';
// Types only: the parent loads these (and with them the identity provider's modules) when it starts;
// a worker process does not, to be a worker like any other.
import type * as Testing from '@stream-app/testing';
import type * as BenchKit from './bench-kit.js';
import { Order, orderJson, toCharge, type Charge } from './orders-workload.js';

const MESSAGES = Number(process.env.BENCH_SENSORS_MESSAGES ?? 60_000);
const WARMUP = Number(process.env.BENCH_SENSORS_WARMUP ?? 20_000);
const TOTAL = WARMUP + MESSAGES;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WORKER_FLAG = '--sensors-cost-worker';
const PARTITIONS = 4;
const SCRAPE_INTERVAL_MS = 1000;
const RUN_TIMEOUT_MS = 5 * 60_000;
const INPUT = 'bench-sensors-orders';
const DEAD_LETTERS = 'bench-sensors-dead-letters';

const ALL_VARIANTS = ['plain', 'metrics', 'tracing', 'both'] as const;
type Variant = (typeof ALL_VARIANTS)[number];
const VARIANTS: readonly Variant[] = process.env.BENCH_SENSORS_VARIANTS
  ? ALL_VARIANTS.filter((variant) => process.env.BENCH_SENSORS_VARIANTS!.split(',').includes(variant))
  : ALL_VARIANTS;
if (!VARIANTS.includes('plain')) throw new Error('BENCH_SENSORS_VARIANTS must include plain (the ratios are to it)');
const withMetrics = (variant: Variant) => variant === 'metrics' || variant === 'both';
const withTracing = (variant: Variant) => variant === 'tracing' || variant === 'both';

// ── the work ─────────────────────────────────────────────────────────────────

// ── the sensors ──────────────────────────────────────────────────────────────

/** An exporter that drops the spans it is given and counts them. */
class CountingExporter implements SpanExporter {
  spans = 0;

  export(spans: Parameters<SpanExporter['export']>[0], done: Parameters<SpanExporter['export']>[1]): void {
    this.spans += spans.length;
    done({ code: 0 }); // ExportResultCode.SUCCESS
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Scrapes `/metrics` every second, as Prometheus would; `stop` scrapes one last time and returns that text. */
function scrapeEverySecond(server: WebServer): { scrapes: () => number; stop: () => Promise<string> } {
  let scrapes = 0;
  let failure: unknown;
  let last: Promise<string> = Promise.resolve('');
  const scrape = () =>
    (last = fetch(`${server.url}/metrics`).then(async (response) => {
      const text = await response.text();
      if (!response.ok) throw new Error(`GET /metrics answered ${response.status}: ${text.slice(0, 200)}`);
      scrapes += 1;
      return text;
    }));
  const timer = setInterval(() => void scrape().catch((error: unknown) => (failure ??= error)), SCRAPE_INTERVAL_MS);
  return {
    scrapes: () => scrapes,
    stop: async () => {
      clearInterval(timer);
      await last.catch(() => {});
      if (failure) throw failure as Error;
      return scrape();
    },
  };
}

/** The value of a counter sample of the Prometheus text (`name{…label="value"…} 123`), summed over its series. */
function counterValue(text: string, name: string, label: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// ── one run (in a worker process of its own) ────────────────────────────────

/** What the parent hands a worker process. */
interface RunSpec {
  variant: Variant;
  tag: string;
  output: string;
  testbed: Testing.TestbedInfo;
}

interface Run {
  /** Measured orders per second, from the first after the warm-up in the agent to all acknowledged and committed. */
  rate: number;
  /** CPU time of the worker process per measured order, over the same span. */
  cpuMicros: number;
  /** Scrapes of `/metrics` answered during the run (metrics variants). */
  scrapes?: number;
  /** Spans the exporter got, per order (tracing variants). */
  spansPerMessage?: number;
  /** The 1-minute load average at the end of the run (above 2, on 2 cores, something else competed). */
  load: number;
}

/** The measure, started when the first order after the warm-up reaches the agent. */
class Clock {
  #started: bigint | undefined;
  #cpu: NodeJS.CpuUsage | undefined;

  start(): void {
    if (this.#started !== undefined) return;
    this.#started = process.hrtime.bigint();
    this.#cpu = process.cpuUsage();
  }

  stop(): { rate: number; cpuMicros: number } {
    if (this.#started === undefined || !this.#cpu)
      throw new Error('the warm-up never ended: too few orders reached the agent');
    const seconds = Number(process.hrtime.bigint() - this.#started) / 1e9;
    const cpu = process.cpuUsage(this.#cpu);
    return { rate: MESSAGES / seconds, cpuMicros: (cpu.user + cpu.system) / MESSAGES };
  }
}

async function runApp({ variant, tag, output, testbed }: RunSpec): Promise<Run> {
  const exporter = new CountingExporter();
  const tracerProvider = withTracing(variant)
    ? new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] })
    : undefined;
  const options: AppOptions = {
    id: `bench-sensors-${variant}-${tag}`,
    broker: testbed.kafka.bootstrap.oauth,
    // What testbedCredentials of @stream-app/testing makes: the test bed's app client, plain HTTP on loopback.
    credentials: new OAuthCredentials({
      tokenProvider: new ClientCredentialsProvider({
        tokenEndpoint: testbed.identityProvider.tokenEndpoint,
        ...testbed.clients.app,
        scope: 'kafka',
        allowInsecureLoopback: true,
      }),
    }),
    topicPartitions: PARTITIONS,
    deadLetterTopic: DEAD_LETTERS,
    logger: createLogger({ level: 'warn' }),
    ...(tracerProvider ? { tracing: { tracerProvider } } : {}),
  };
  const app = new App(options);
  const orders = app.topic(INPUT, { valueType: Order });
  const charges = app.topic<Charge>(output);
  const clock = new Clock();
  let processed = 0;
  let allYielded!: () => void;
  const yielded = new Promise<void>((resolve) => (allYielded = resolve));
  app.agent(
    orders,
    async function* charge(stream) {
      for await (const order of stream) {
        if (processed === WARMUP) clock.start();
        yield toCharge(order);
        processed += 1;
        if (processed === TOTAL) allYielded();
      }
    },
    { sink: [charges] },
  );
  const committed = new Map<number, number>();
  app.on('committed', (offsets) => {
    for (const { topic, partition, offset } of offsets) if (topic === INPUT) committed.set(partition, offset);
  });
  // The input topic holds exactly TOTAL orders, so the committed offsets add up to TOTAL at the end.
  const committedAll = () => [...committed.values()].reduce((sum, offset) => sum + offset, 0) >= TOTAL;
  const failed = new Promise<never>((_, reject) => app.once('failed', reject));
  failed.catch(() => {});
  let server: WebServer | undefined;
  let scraper: ReturnType<typeof scrapeEverySecond> | undefined;
  try {
    if (withMetrics(variant)) {
      server = await startWebServer(app, { web: { port: 0 } });
      scraper = scrapeEverySecond(server);
    }
    await app.start();
    await Promise.race([yielded, failed]);
    // app.commit() flushes every send (waits for the broker's acknowledgements) before it commits.
    while (!committedAll()) {
      await Promise.race([app.commit(), failed]);
      if (!committedAll()) await new Promise((resolve) => setImmediate(resolve));
    }
    const run: Run = { ...clock.stop(), load: loadavg()[0]! };
    const stats = app.stats();
    if (stats.deadLettered > 0 || stats.skipped > 0) {
      throw new Error(`the ${variant} app rejected ${stats.deadLettered + stats.skipped} orders`);
    }
    if (scraper) {
      run.scrapes = scraper.scrapes();
      const text = await scraper.stop();
      scraper = undefined;
      const received = counterValue(text, 'stream_app_messages_received_total', `topic="${INPUT}"`);
      if (received !== TOTAL) throw new Error(`/metrics counts ${received} received orders, not ${TOTAL}`);
    }
    if (tracerProvider) {
      await tracerProvider.forceFlush();
      run.spansPerMessage = exporter.spans / TOTAL;
      if (exporter.spans === 0) {
        throw new Error(`the ${variant} app made no span: the app's tracing option did nothing`);
      }
    }
    return run;
  } finally {
    await scraper?.stop().catch(() => {});
    await app.stop();
    await server?.close();
    await tracerProvider?.shutdown();
  }
}

/** The worker process's side: run the one app it was given, send the result back. */
async function worker(spec: RunSpec): Promise<void> {
  setTimeout(() => {
    process.stderr.write(`bench failed: the ${spec.variant} run did not finish within ${RUN_TIMEOUT_MS} ms\n`);
    process.exit(1);
  }, RUN_TIMEOUT_MS).unref();
  const run = await runApp(spec);
  await new Promise<void>((resolve, reject) =>
    process.send!(run, (error: Error | null) => (error ? reject(error) : resolve())),
  );
  process.exit(0); // whatever a library left open (a keep-alive socket, a timer) is not this run's business
}

/** The parent's side: fork this file for one run and wait for its result. */
function runInWorker(spec: RunSpec): Promise<Run> {
  return new Promise<Run>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [WORKER_FLAG, JSON.stringify(spec)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: Run | undefined;
    child.on('message', (message) => (result = message as Run));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`the ${spec.variant} run's worker process ended with ${signal ?? `code ${code}`}`));
    });
  });
}

// ── the run ──────────────────────────────────────────────────────────────────

let testing: typeof Testing;
let kit: typeof BenchKit;

async function createTopics(testbed: Testing.Testbed, topics: string[]): Promise<void> {
  const admin = testing.createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  } finally {
    await admin.disconnect();
  }
}

/** Checks, outside the measure, that a run produced exactly one result per order. */
async function expectOutput(testbed: Testing.Testbed, topic: string): Promise<void> {
  const admin = testing.createAdminClient(testbed.kafka);
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    const produced = offsets.reduce((sum, { high }) => sum + Number(high), 0);
    if (produced !== TOTAL) throw new Error(`${topic} holds ${produced} results, not ${TOTAL}`);
  } finally {
    await admin.disconnect();
  }
}

/** Fills the input topic once, as the admin on the PLAIN listener (fast, and not what is measured). */
async function prefill(testbed: Testing.Testbed): Promise<void> {
  const producer = testing.adminKafka(testbed.kafka).producer();
  await producer.connect();
  try {
    const inFlight: Array<Promise<unknown>> = [];
    for (let start = 0; start < TOTAL; start += 1000) {
      const messages = [];
      for (let i = start; i < Math.min(start + 1000, TOTAL); i += 1) {
        messages.push({ key: `account-${String(i % 64).padStart(4, '0')}`, value: orderJson(i) });
      }
      inFlight.push(producer.send({ topic: INPUT, messages }));
      if (inFlight.length >= 20) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } finally {
    await producer.disconnect();
  }
}

function describe(run: Run): string {
  const extra = [
    run.scrapes !== undefined ? `${run.scrapes} scrapes` : undefined,
    run.spansPerMessage !== undefined ? `${run.spansPerMessage.toFixed(2)} spans/msg exported` : undefined,
    `load ${run.load.toFixed(2)}`,
  ].filter((part) => part !== undefined);
  return `${kit.rate(run.rate)} msg/s, ${run.cpuMicros.toFixed(1)} µs CPU/msg (${extra.join(', ')})`;
}

function printTable(rounds: Array<{ [variant in Variant]: Run }>): void {
  const ratio = (round: { [variant in Variant]: Run }, variant: Variant) => round[variant].rate / round.plain.rate;
  const cpuRatio = (round: { [variant in Variant]: Run }, variant: Variant) =>
    round[variant].cpuMicros / round.plain.cpuMicros;
  const table = [
    ['variant', 'msg/s', 'µs CPU/msg', 'msg/s ÷ plain', 'CPU/msg ÷ plain', 'msg/s per round'],
    ...VARIANTS.map((variant) => [
      variant,
      kit.rate(kit.median(rounds.map((round) => round[variant].rate))),
      kit.median(rounds.map((round) => round[variant].cpuMicros)).toFixed(1),
      kit.median(rounds.map((round) => ratio(round, variant))).toFixed(3),
      kit.median(rounds.map((round) => cpuRatio(round, variant))).toFixed(3),
      rounds.map((round) => kit.rate(round[variant].rate)).join(' / '),
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) =>
        column === 0 || column === 5 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  process.stdout.write(
    `\n${table.map(line).join('\n')}\n\n` +
      `medians of ${rounds.length} rounds; the ratios are paired per round (each variant's run ÷ the plain run of ` +
      `the same round), then the median taken\n`,
  );
}

async function main() {
  [testing, kit] = await Promise.all([import('@stream-app/testing'), import('./bench-kit.js')]);
  process.stdout.write(
    `sensors' cost: ${MESSAGES.toLocaleString('en')} orders measured after ${WARMUP.toLocaleString('en')} of warm-up, ` +
      `${Buffer.byteLength(orderJson(0))} B on ${PARTITIONS} partitions, decode + validate + map + produce, ` +
      `${VARIANTS.join(' / ')}, ${ROUNDS} rounds, interleaved, each run a worker process of its own\n`,
  );
  const testbed = await testing.startTestbed({ onProgress: (m) => process.stdout.write(`  › ${m}\n`) });
  try {
    const output = (variant: Variant, tag: string) => `bench-sensors-out-${variant}-${tag}`;
    const tags = ['warm-up', ...Array.from({ length: ROUNDS }, (_, i) => `round-${i + 1}`)];
    await createTopics(testbed, [
      INPUT,
      DEAD_LETTERS,
      ...tags.flatMap((tag) => VARIANTS.map((variant) => output(variant, tag))),
    ]);
    await prefill(testbed);
    process.stdout.write(`  › input topic filled\n`);
    const run = async (variant: Variant, tag: string): Promise<Run> => {
      const result = await runInWorker({ variant, tag, output: output(variant, tag), testbed: testbed.info() });
      await expectOutput(testbed, output(variant, tag));
      process.stdout.write(`  ${tag.padEnd(8)} ${variant.padEnd(8)} ${describe(result)}\n`);
      return result;
    };
    // A warm-up round, not reported: the broker's JIT and caches (each worker process warms itself up).
    for (const variant of VARIANTS) await run(variant, 'warm-up');
    const rounds: Array<{ [variant in Variant]: Run }> = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      // The order rotates: round 1 plain first, round 2 metrics first, and so on.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!);
      const runs = {} as { [variant in Variant]: Run };
      for (const variant of order) runs[variant] = await run(variant, `round-${round}`);
      rounds.push(runs);
    }
    printTable(rounds);
  } finally {
    await testbed.stop();
  }
}

const workerAt = process.argv.indexOf(WORKER_FLAG);
(workerAt >= 0 ? worker(JSON.parse(process.argv[workerAt + 1]!) as RunSpec) : main()).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
