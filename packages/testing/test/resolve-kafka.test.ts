import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
