import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../cache-dir.js';
import { freePorts } from '../free-port.js';
import { hasExited, spawnWatched, stopOnExit, stopWatched } from '../process/watched-process.js';
import { DEPENDENCY_PLUGIN } from '../kafka/resolve-kafka.js';
import { printProgress, type ProgressListener } from '../progress.js';

const run = promisify(execFile);

/** The Keycloak the identity-provider suite runs: the Quarkus distribution from Maven Central. */
export const KEYCLOAK_VERSION = '26.4.7';

export interface KeycloakClient {
  clientId: string;
  clientSecret: string;
  /** Put into every access token's `aud` (an audience mapper), as Kafka requires. */
  audience: string;
}

export interface KeycloakOptions {
  realm?: string;
  clients: KeycloakClient[];
  accessTokenLifetimeSec?: number;
  onProgress?: ProgressListener;
  startTimeoutMs?: number;
}

export interface RunningKeycloak {
  url: string;
  realm: string;
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  startupMs: number;
  logFile: string;
  stop(): Promise<void>;
}

/** Downloads (once) and starts a real Keycloak in dev mode on 127.0.0.1, with a realm imported at start. */
export async function startKeycloak(options: KeycloakOptions): Promise<RunningKeycloak> {
  const onProgress = options.onProgress ?? printProgress;
  const home = await resolveKeycloak(onProgress);
  const realm = options.realm ?? 'stream-app';
  const [port, managementPort] = (await freePorts(2)) as [number, number];
  const runDir = join(cacheDir('keycloak-runs'), `${process.pid}-${port}`);
  mkdirSync(runDir, { recursive: true });
  // Keycloak imports every file of data/import; one file per realm name, so parallel runs of one realm agree.
  const importDir = join(home, 'data', 'import');
  mkdirSync(importDir, { recursive: true });
  const realmFile = join(importDir, `${realm}.json`);
  writeFileSync(realmFile, JSON.stringify(realmExport(realm, options)), { mode: 0o600 });
  const logFile = join(runDir, 'keycloak.log');
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  onProgress(`starting Keycloak ${KEYCLOAK_VERSION} (dev mode, realm ${realm}; log: ${logFile})`);
  const child = spawnWatched(
    [
      join(home, 'bin', 'kc.sh'),
      'start-dev',
      '--db=dev-mem',
      '--http-host=127.0.0.1',
      `--http-port=${port}`,
      `--http-management-port=${managementPort}`,
      '--import-realm',
      '--cache=local',
    ],
    logFile,
    { JAVA_OPTS_KC_HEAP: '-Xms128m -Xmx768m' },
  );
  const removeExitHook = stopOnExit(() => child);
  const discovery = `${url}/realms/${realm}/.well-known/openid-configuration`;
  const deadline = started + (options.startTimeoutMs ?? 180_000);
  for (;;) {
    const ok = await fetch(discovery).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (hasExited(child) || Date.now() > deadline) {
      rmSync(realmFile, { force: true });
      await stopWatched(child);
      removeExitHook();
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-30).join('\n') : '';
      throw new Error(
        `Keycloak did not start (${hasExited(child) ? 'it exited' : 'timed out'}). Last lines of ${logFile}:\n${log}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  // Imported: its client secrets need not stay on disk, nor be imported again by the next start.
  rmSync(realmFile, { force: true });
  const startupMs = Date.now() - started;
  onProgress(`Keycloak is ready in ${(startupMs / 1000).toFixed(1)} s`);
  const issuer = `${url}/realms/${realm}`;
  return {
    url,
    realm,
    issuer,
    tokenEndpoint: `${issuer}/protocol/openid-connect/token`,
    jwksUri: `${issuer}/protocol/openid-connect/certs`,
    startupMs,
    logFile,
    async stop() {
      await stopWatched(child);
      removeExitHook();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/** Resolves the distribution zip from Maven Central into ~/.m2 and unpacks it into the cache, once. */
async function resolveKeycloak(onProgress: ProgressListener): Promise<string> {
  const root = cacheDir(`keycloak-${KEYCLOAK_VERSION}`);
  const home = join(root, `keycloak-${KEYCLOAK_VERSION}`);
  if (existsSync(join(root, 'unpacked'))) return home;
  onProgress(`resolving Keycloak ${KEYCLOAK_VERSION} from Maven Central (once; about 160 MB)`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const artifact = `org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:zip`;
  await run('mvn', ['-B', '-q', `${DEPENDENCY_PLUGIN}:copy`, `-Dartifact=${artifact}`, `-DoutputDirectory=${root}`], {
    maxBuffer: 16 << 20,
  });
  onProgress('unpacking Keycloak');
  // The JDK's jar tool reads zip files: no unzip needed on the machine.
  await run('jar', ['xf', join(root, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip`)], {
    cwd: root,
    maxBuffer: 16 << 20,
  });
  await run('chmod', ['+x', join(home, 'bin', 'kc.sh')]);
  rmSync(join(root, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.zip`), { force: true });
  writeFileSync(join(root, 'unpacked'), `${new Date().toISOString()}\n`);
  return home;
}

function realmExport(realm: string, options: KeycloakOptions) {
  return {
    realm,
    enabled: true,
    accessTokenLifespan: options.accessTokenLifetimeSec ?? 300,
    clients: options.clients.map((client) => ({
      clientId: client.clientId,
      enabled: true,
      protocol: 'openid-connect',
      publicClient: false,
      clientAuthenticatorType: 'client-secret',
      secret: client.clientSecret,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
      protocolMappers: [
        {
          name: 'kafka-audience',
          protocol: 'openid-connect',
          protocolMapper: 'oidc-audience-mapper',
          config: {
            'included.custom.audience': client.audience,
            'access.token.claim': 'true',
            'id.token.claim': 'false',
          },
        },
      ],
    })),
    // Service-account users are not created by an import: they must be in it.
    users: options.clients.map((client) => ({
      username: `service-account-${client.clientId}`,
      enabled: true,
      serviceAccountClientId: client.clientId,
    })),
  };
}
