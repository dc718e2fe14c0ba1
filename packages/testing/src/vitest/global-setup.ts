import type { TestProject } from 'vitest/node';
import { startTestbed } from '../testbed/start-testbed.js';
import './provided-context.js';

/** One identity provider and one broker for the whole test run, shared by every test file. */
export default async function setup(project: TestProject) {
  const testbed = await startTestbed();
  project.provide('testbed', testbed.info());
  return () => testbed.stop();
}
