import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../src/free-port.js';
import { runKafkaTool } from '../src/kafka/java.js';
import { resolveKafka } from '../src/kafka/resolve-kafka.js';

describe('resolveKafka', () => {
  it('puts the broker, its tools and a log4j2 binding on the classpath', async () => {
    const messages: string[] = [];
    const lib = await resolveKafka((m) => messages.push(m));
    const jars = readdirSync(lib);
    expect(jars.some((j) => /^kafka_2\.13-4\.\d+\.\d+\.jar$/.test(j))).toBe(true);
    expect(jars.some((j) => /^kafka-tools-4/.test(j))).toBe(true);
    expect(jars.some((j) => /^log4j-slf4j2-impl/.test(j))).toBe(true);
    expect(jars.some((j) => /^jose4j/.test(j))).toBe(true);
    expect(existsSync(join(lib, '..', 'resolved'))).toBe(true);
  }, 600_000);
});

describe('runKafkaTool', () => {
  it("a tool's failure names its arguments without the SCRAM passwords in them", async () => {
    const lib = await resolveKafka(() => {});
    const args = ['format', '--cluster-id=x', '-c', '/nonexistent/server.properties'];
    const scram = ['--add-scram', 'SCRAM-SHA-256=[name=app,password=hunter2-secret]'];
    const error = await runKafkaTool(lib, 'kafka.tools.StorageTool', [...args, ...scram]).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain('kafka.tools.StorageTool format');
    expect(error?.message).toContain('password=<redacted>');
    expect(error?.message).not.toContain('hunter2-secret');
  }, 600_000);
});

describe('freePorts', () => {
  it('hands out distinct ports', async () => {
    const ports = await freePorts(32);
    expect(new Set(ports).size).toBe(32);
  });
});
