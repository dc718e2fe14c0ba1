// Checks what the machine must provide: Node, a JDK and Maven for the local
// broker, and the Debian -dev packages that the native Kafka client links to.
import { execFileSync, spawnSync } from 'node:child_process';
import { fail, info, step } from './ui.mjs';

// What @confluentinc/kafka-javascript needs to build librdkafka with CKJS_LINKING=dynamic.
export const NATIVE_BUILD_PACKAGES = [
  'zlib1g-dev',
  'libssl-dev',
  'libsasl2-dev',
  'libzstd-dev',
  'liblz4-dev',
  'libcurl4-openssl-dev',
];

const has = (command, args = ['--version']) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

export function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    fail(`Node ${process.versions.node} is too old: stream-app needs Node >= 20.19 (Node 24 LTS recommended).`);
  }
}

export function checkToolchain() {
  const missing = [];
  if (!has('npm', ['--version'])) missing.push('npm (it installs pnpm and Node 24), e.g. `apt-get install npm`');
  if (!has('java', ['-version']) || !has('jar', ['--version'])) {
    missing.push('a JDK 17+ (`java`, `jar`), e.g. `apt-get install openjdk-17-jdk-headless`');
  }
  if (!has('mvn', ['-v'])) missing.push('Maven 3.8+ (`mvn`), e.g. `apt-get install maven`');
  if (!has('cc', ['--version']) || !has('c++', ['--version']) || !has('make', ['--version'])) {
    missing.push('a C/C++ toolchain (`cc`, `c++`, `make`), e.g. `apt-get install build-essential`');
  }
  if (!has('python3', ['--version'])) missing.push('python3 (node-gyp needs it), e.g. `apt-get install python3`');
  if (!has('openssl', ['version']))
    missing.push('the openssl command (the test broker makes its certificates), e.g. `apt-get install openssl`');
  if (missing.length > 0) fail(`stream-app's tests and demo need:\n  - ${missing.join('\n  - ')}`);
}

function missingDebianPackages() {
  return NATIVE_BUILD_PACKAGES.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
}

export function ensureNativeBuildPackages() {
  if (!has('dpkg-query', ['--version'])) {
    info(`not a Debian system: make sure the equivalents of ${NATIVE_BUILD_PACKAGES.join(' ')} are installed`);
    return;
  }
  const missing = missingDebianPackages();
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    fail(`the native Kafka client needs system packages that are missing. Run:\n\n  sudo sh -c '${command}'\n`);
  }
  step(`installing ${missing.join(', ')} with apt-get`, () => {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
  });
}
