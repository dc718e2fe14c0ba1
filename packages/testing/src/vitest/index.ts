import { inject } from 'vitest';
import type { TestbedInfo } from '../testbed/start-testbed.js';
import './provided-context.js';

/** The identity provider and broker that the test run's global setup started. */
export function useTestbed(): TestbedInfo {
  return inject('testbed');
}
