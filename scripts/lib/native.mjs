// The native Kafka client is compiled against one Node ABI at a time. We keep
// one build per ABI in ~/.cache/stream-app/native and put the right one in
// place before a run, so that Node 20 and Node 24 can share one checkout.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { cacheDir } from './cache.mjs';
import { repoRoot, step, info } from './ui.mjs';

const BINARY = 'confluent-kafka-javascript.node';

/** The folder holding `include/node/node.h` for this Node binary, so node-gyp never downloads headers. */
export function nodeHeadersDir(nodeBinary) {
  const prefix = join(dirname(nodeBinary), '..');
  if (!existsSync(join(prefix, 'include', 'node', 'node.h'))) {
    throw new Error(
      `no Node headers under ${prefix}/include/node: cannot build the native Kafka client for ${nodeBinary}`,
    );
  }
  return prefix;
}

export function nativeBuildEnv(nodeBinary) {
  return {
    ...process.env,
    // Link librdkafka against the system's zlib/OpenSSL/SASL/zstd/lz4/curl instead of downloading them.
    CKJS_LINKING: 'dynamic',
    npm_config_nodedir: nodeHeadersDir(nodeBinary),
    PATH: `${dirname(nodeBinary)}:${process.env.PATH}`,
  };
}

/** The installed package folder of @confluentinc/kafka-javascript (resolved from @stream-app/core). */
export function nativePackageDir() {
  const require = createRequire(join(repoRoot, 'packages', 'core', 'package.json'));
  return dirname(require.resolve('@confluentinc/kafka-javascript/package.json'));
}

function abiOf(nodeBinary) {
  return execFileSync(nodeBinary, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
}

function loads(nodeBinary, binaryPath) {
  const probe = `process.dlopen({ exports: {} }, ${JSON.stringify(binaryPath)})`;
  return spawnSync(nodeBinary, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

/** Makes node_modules hold a native client build that `nodeBinary` can load, building one if needed. */
export function ensureNativeClient(nodeBinary) {
  const pkgDir = nativePackageDir();
  const installed = join(pkgDir, 'build', 'Release', BINARY);
  const abi = abiOf(nodeBinary);
  const { version } = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  // The binding finds librdkafka through its RUNPATH, $ORIGIN/../deps: the cache keeps that layout.
  const cached = cacheDir('native', `kafka-javascript-${version}`, `abi-${abi}`, 'Release', BINARY);

  if (existsSync(installed) && loads(nodeBinary, installed)) {
    if (!existsSync(cached)) saveBuild(join(pkgDir, 'build'), cached);
    return;
  }
  if (!existsSync(cached) || !loads(nodeBinary, cached)) buildInto(nodeBinary, pkgDir, cached, abi);
  // Unlink before copying: pnpm hard-links node_modules to its store, and writing in place would corrupt it.
  mkdirSync(dirname(installed), { recursive: true });
  rmSync(installed, { force: true });
  copyFileSync(cached, installed);
  info(`native Kafka client for Node ABI ${abi} is in place`);
}

function buildInto(nodeBinary, pkgDir, cached, abi) {
  // Built beside the installed package so that its own dependencies (nan) resolve.
  const work = join(dirname(pkgDir), `.build-abi-${abi}`);
  step(`building the native Kafka client for Node ABI ${abi} (about two minutes, once per machine)`, () => {
    rmSync(work, { recursive: true, force: true });
    cpSync(pkgDir, work, {
      recursive: true,
      dereference: true,
      filter: (src) => !src.includes(`${pkgDir}/build`) && !src.includes(`${pkgDir}/node_modules`),
    });
    const nodeGyp = findNodeGyp();
    // The compiler's warnings would bury everything else: they go to a log, shown if the build fails.
    const log = cacheDir('native', `build-abi-${abi}.log`);
    mkdirSync(dirname(log), { recursive: true });
    info(`compiler output: ${log}`);
    const out = openSync(log, 'w');
    const result = spawnSync(nodeBinary, [nodeGyp, 'rebuild', `--jobs=${availableParallelism()}`], {
      cwd: work,
      stdio: ['ignore', out, out],
      env: nativeBuildEnv(nodeBinary),
    });
    closeSync(out);
    if (result.status !== 0) {
      const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-30).join('\n');
      throw new Error(
        `building the native Kafka client failed (exit ${result.status}); last lines of ${log}:\n${tail}`,
      );
    }
    saveBuild(join(work, 'build'), cached);
    rmSync(work, { recursive: true, force: true });
  });
}

/** Copies a build's binding and its librdkafka shared libraries into the cache. */
function saveBuild(buildDir, cached) {
  const deps = join(dirname(dirname(cached)), 'deps');
  mkdirSync(dirname(cached), { recursive: true });
  mkdirSync(deps, { recursive: true });
  for (const name of readdirSync(join(buildDir, 'deps')).filter((file) => /\.so(\.\d+)*$/.test(file))) {
    copyFileSync(join(buildDir, 'deps', name), join(deps, name));
  }
  copyFileSync(join(buildDir, 'Release', BINARY), cached);
}

function findNodeGyp() {
  const require = createRequire(join(repoRoot, 'package.json'));
  return require.resolve('node-gyp/bin/node-gyp.js');
}
