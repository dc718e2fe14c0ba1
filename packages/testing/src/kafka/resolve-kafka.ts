import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../cache-dir.js';
import type { ProgressListener } from '../progress.js';

/** The Apache Kafka release the test bed runs; 4.3.1 is the newest whose kafka-tools is on Maven Central. */
export const KAFKA_VERSION = '4.3.1';
const LOG4J_VERSION = '2.26.1';
/** Pinned, so that what Maven resolves does not depend on its own default plugin version. */
export const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
// kafka-clients brings slf4j-api 1.7; the log4j2 binding for 2.x needs 2.x (callers of 1.7 work with it).
const SLF4J_VERSION = '2.0.17';

/**
 * Resolves the broker's classpath from Maven Central into the user cache
 * (once per version) and returns the folder of jars.
 */
export async function resolveKafka(onProgress: ProgressListener, version = KAFKA_VERSION): Promise<string> {
  const home = cacheDir(`kafka-${version}-log4j-${LOG4J_VERSION}-slf4j-${SLF4J_VERSION}`);
  const lib = join(home, 'lib');
  const marker = join(home, 'resolved');
  if (existsSync(marker)) return lib;

  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'pom.xml'), pom(version));
  onProgress(`resolving Apache Kafka ${version} from Maven Central (once; cached in ${home})`);
  let downloaded = 0;
  const started = Date.now();
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const mvn = spawn(
      'mvn',
      [
        '-B',
        '-f',
        join(home, 'pom.xml'),
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${lib}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const onLine = (line: string) => {
      output.push(line);
      if (output.length > 40) output.shift();
      if (/^\[INFO\] Downloaded from/.test(line) || /^Downloaded from/.test(line)) {
        downloaded += 1;
        if (downloaded % 25 === 0) onProgress(`  ${downloaded} files downloaded (${elapsed(started)})`);
      }
    };
    let buffer = '';
    const feed = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      lines.forEach(onLine);
    };
    mvn.stdout.on('data', feed);
    mvn.stderr.on('data', feed);
    mvn.once('error', (error) => reject(new Error(`could not run Maven (mvn): ${error.message}. Install Maven 3.8+.`)));
    mvn.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`Maven could not resolve Apache Kafka ${version} (exit ${code}):\n${output.join('\n')}`));
    });
  });
  const jars = readdirSync(lib).filter((name) => name.endsWith('.jar')).length;
  writeFileSync(marker, `${new Date().toISOString()}\n`);
  onProgress(`resolved ${jars} jars (${downloaded} downloads, ${elapsed(started)})`);
  return lib;
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function pom(version: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.stream-app.testing</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>${SLF4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>${LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>${LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
`;
}
