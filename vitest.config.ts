import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { configDefaults, defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(`./packages/${path}`, import.meta.url));

// SWC instead of esbuild: esbuild cannot emit decorator metadata, which Record decoding relies on.
export default defineConfig({
  plugins: [
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    // Tests run against the sources, so no build is needed first.
    alias: [
      { find: /^@stream-app\/credentials\/errors$/, replacement: src('credentials/src/errors.ts') },
      { find: /^@stream-app\/([a-z-]+)\/([a-z-]+)$/, replacement: src('$1/src/$2/index.ts') },
      { find: /^@stream-app\/([a-z-]+)$/, replacement: src('$1/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // The reliability suite has a config and a test bed of its own (vitest.reliability.config.ts).
    exclude: [...configDefaults.exclude, 'packages/cli/test/reliability/**'],
    globalSetup: ['./packages/testing/src/vitest/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    env: {
      // No cloud SDK may probe a metadata address from a test.
      AWS_EC2_METADATA_DISABLED: 'true',
      METADATA_SERVER_DETECTION: 'none',
    },
  },
});
