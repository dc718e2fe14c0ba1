import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The reliability suite (docs/reliability.md): one file with its own test bed, which it restarts and breaks.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/cli/test/reliability/**/*.test.ts'],
    exclude: [],
    globalSetup: [],
    fileParallelism: false,
    testTimeout: 400_000,
  },
});
