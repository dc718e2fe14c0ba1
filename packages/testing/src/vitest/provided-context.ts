import type { TestbedInfo } from '../testbed/start-testbed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testbed: TestbedInfo;
  }
}
