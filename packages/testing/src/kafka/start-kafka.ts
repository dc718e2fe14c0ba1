import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../free-port.js';
import { spawnWatched, stopOnExit, stopWatched } from '../process/watched-process.js';
import { printProgress, type ProgressListener } from '../progress.js';
import { createAcls, type AclBinding } from './acls.js';
import { createAdminClient } from './admin-client.js';
import { brokerProperties, LOG4J2_PROPERTIES } from './broker-properties.js';
import { makeBrokerCertificates } from './certificates.js';
import { runKafkaTool } from './java.js';
import type { KafkaInfo } from './kafka-info.js';
import { KAFKA_VERSION, resolveKafka } from './resolve-kafka.js';

export interface KafkaOptions {
  /** The identity provider whose tokens the OAuth listeners accept. */
  identityProvider: { issuer: string; jwksUri: string; audience: string };
  /** `connections.max.reauth.ms` on the OAuth listeners (KIP-368); default 0 = no re-authentication. */
  reauthMs?: number;
  /** More SASL_PLAINTEXT OAUTHBEARER listeners, one per `connections.max.reauth.ms` given (`bootstrap.reauth`). */
  reauthListeners?: number[];
  /** How often the broker re-reads the JWKS; default 60 s (an unknown `kid` also triggers a read). */
  jwksRefreshMs?: number;
  /** Extra `server.properties` entries. */
  brokerConfig?: Record<string, string | number | boolean>;
  version?: string;
  heapMb?: number;
  startTimeoutMs?: number;
  onProgress?: ProgressListener;
}

export interface KafkaBroker extends KafkaInfo {
  /** Milliseconds from launching the JVM to `Kafka Server started` (last start). */
  readonly startupMs: number;
  createAdminClient(): ReturnType<typeof createAdminClient>;
  createAcls(acls: AclBinding[]): Promise<void>;
  /** Stops the broker and deletes its data. */
  stop(): Promise<void>;
  /** Stops and starts again with the same ports, configuration and data. */
  restart(): Promise<void>;
}

/**
 * Starts one Apache Kafka broker+controller (KRaft) on 127.0.0.1, resolved
 * from Maven Central, with a PLAIN admin listener and OAUTHBEARER listeners
 * that validate JWTs against the identity provider's JWKS.
 */
export async function startKafka(options: KafkaOptions): Promise<KafkaBroker> {
  const onProgress = options.onProgress ?? printProgress;
  const version = options.version ?? KAFKA_VERSION;
  const lib = await resolveKafka(onProgress, version);

  const dataDir = mkdtempSync(join(tmpdir(), 'stream-app-kafka-'));
  const adminPassword = randomBytes(12).toString('hex');
  const passwordUser = { username: 'password-app', password: randomBytes(12).toString('hex') };
  const certificates = makeBrokerCertificates(dataDir, randomBytes(12).toString('hex'));
  const reauthListeners = options.reauthListeners ?? [];
  const [controller, admin, oauth, oauthSsl, ...more] = (await freePorts(4 + reauthListeners.length)) as [
    number,
    number,
    number,
    number,
    ...number[],
  ];
  const reauth = reauthListeners.map((reauthMs, i) => ({ reauthMs, port: more[i]! }));
  const ports = { controller, admin, oauth, oauthSsl, reauth };
  const configFile = join(dataDir, 'server.properties');
  writeFileSync(
    configFile,
    brokerProperties({
      ports,
      logDir: join(dataDir, 'data'),
      adminPassword,
      passwordUser,
      keystoreFile: certificates.keystoreFile,
      keystorePassword: certificates.keystorePassword,
      jwksUri: options.identityProvider.jwksUri,
      issuer: options.identityProvider.issuer,
      audience: options.identityProvider.audience,
      reauthMs: options.reauthMs ?? 0,
      jwksRefreshMs: options.jwksRefreshMs ?? 60_000,
      extra: options.brokerConfig ?? {},
    }),
    { mode: 0o600 },
  );
  writeFileSync(join(dataDir, 'log4j2.properties'), LOG4J2_PROPERTIES);

  // Passed as --cluster-id=<id>: a random id may start with '-', which a separate argument would turn into a flag.
  const clusterId = randomBytes(16).toString('base64url');
  onProgress(`formatting KRaft storage in ${dataDir}`);
  // SCRAM credentials live in the cluster metadata: KRaft adds them at format time.
  const scram = ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
    '--add-scram',
    `${mechanism}=[name=${passwordUser.username},password=${passwordUser.password}]`,
  ]);
  const format = ['format', `--cluster-id=${clusterId}`, '-c', configFile, ...scram];
  await runKafkaTool(lib, 'kafka.tools.StorageTool', format).catch((error: unknown) => {
    removeAllButLog(dataDir);
    throw error;
  });

  const info: KafkaInfo = {
    version,
    bootstrap: {
      admin: `127.0.0.1:${ports.admin}`,
      oauth: `127.0.0.1:${ports.oauth}`,
      oauthSsl: `127.0.0.1:${ports.oauthSsl}`,
      reauth: Object.fromEntries(reauth.map(({ reauthMs, port }) => [reauthMs, `127.0.0.1:${port}`])),
    },
    caFile: certificates.caFile,
    adminUser: { username: 'admin', password: adminPassword },
    passwordUser,
    dataDir,
    logFile: join(dataDir, 'server.log'),
    lib,
  };

  const launch = { lib, dataDir, configFile, logFile: info.logFile, options, onProgress };
  let running = await launchBroker(launch).catch((error: unknown) => {
    removeAllButLog(dataDir); // keys and passwords go; the log stays for the reader of the error
    throw error;
  });
  const removeExitHook = stopOnExit(() => running.child);

  return {
    ...info,
    get startupMs() {
      return running.startupMs;
    },
    createAdminClient: () => createAdminClient(info),
    createAcls: (acls) => createAcls(info, acls),
    async stop() {
      await stopWatched(running.child);
      removeExitHook();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await stopWatched(running.child);
      running = await launchBroker(launch);
    },
  };
}

interface Launch {
  lib: string;
  dataDir: string;
  configFile: string;
  logFile: string;
  options: KafkaOptions;
  onProgress: ProgressListener;
}

async function launchBroker(launch: Launch): Promise<{ child: ChildProcess; startupMs: number }> {
  const { options } = launch;
  const started = Date.now();
  const logOffset = existsSync(launch.logFile) ? readFileSync(launch.logFile).length : 0;
  const jvm = [
    'java',
    `-Xmx${options.heapMb ?? 512}m`,
    '-Xms128m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(launch.dataDir, 'log4j2.properties')}`,
    // Kafka 4 refuses JWKS/token URLs that are not listed here.
    `-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${options.identityProvider.jwksUri}`,
    '-cp',
    join(launch.lib, '*'),
    'kafka.Kafka',
    launch.configFile,
  ];
  mkdirSync(launch.dataDir, { recursive: true });
  const child = spawnWatched(jvm, launch.logFile);
  let exited = false;
  child.once('exit', () => (exited = true));
  launch.onProgress(`starting Kafka ${options.version ?? KAFKA_VERSION} broker (log: ${launch.logFile})`);

  const deadline = started + (options.startTimeoutMs ?? 120_000);
  for (;;) {
    const log = existsSync(launch.logFile) ? readFileSync(launch.logFile).subarray(logOffset).toString('utf8') : '';
    if (log.includes('Kafka Server started')) break;
    if (exited || Date.now() > deadline) {
      const why = exited
        ? 'the broker exited during start'
        : `the broker was not ready within ${deadline - started} ms`;
      if (!exited) await stopWatched(child);
      throw new Error(`Kafka did not start: ${why}.\n${summarizeLog(log, launch.logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const startupMs = Date.now() - started;
  launch.onProgress(`Kafka is ready in ${(startupMs / 1000).toFixed(1)} s`);
  return { child, startupMs };
}

/** The broker's errors with their causes first (its shutdown noise buries them), then the last lines of its log. */
function summarizeLog(log: string, logFile: string): string {
  const lines = log.trimEnd().split('\n');
  const errors: string[] = [];
  lines.forEach((line, index) => {
    if (errors.length >= 20 || !/^\[[^\]]+\] (ERROR|FATAL) /.test(line)) return;
    errors.push(line.slice(0, 1000));
    // The exception and its causes follow on lines of their own; stack frames are left out.
    for (const next of lines.slice(index + 1, index + 200)) {
      if (next.startsWith('[')) break;
      if (!/^\s+at |^\s+\.\.\. \d+ more/.test(next)) errors.push(`    ${next.trim().slice(0, 1000)}`);
    }
  });
  const parts = errors.length > 0 ? [`Errors in ${logFile}:`, ...errors, ''] : [];
  return [...parts, `Last lines of ${logFile}:`, ...lines.slice(-15)].join('\n');
}

function removeAllButLog(dataDir: string) {
  for (const entry of readdirSync(dataDir)) {
    if (entry !== 'server.log') rmSync(join(dataDir, entry), { recursive: true, force: true });
  }
}
