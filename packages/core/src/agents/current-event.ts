import { AsyncLocalStorage } from 'node:async_hooks';
import type { StreamEvent } from '../streams/event.js';

/** Whatever runs an agent body and knows the event it is on. */
export interface EventScope {
  readonly currentEvent: StreamEvent | undefined;
  /** The agent running (its name goes on the dead letters of what a table refuses). */
  readonly agent: { readonly name: string };
}

// Only entered by apps with tables: on Node 20 an AsyncLocalStorage in use slows every promise a little.
const scopes = new AsyncLocalStorage<EventScope>();

/** Runs `fn` (an agent's life) so that code it calls, across awaits, can ask for the event being processed. */
export function runInScope<T>(scope: EventScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/** The event the calling agent is processing (a table write belongs to its partition); undefined outside agents. */
export function currentEvent(): StreamEvent | undefined {
  return scopes.getStore()?.currentEvent;
}

/** The agent running the calling code, and its event; undefined outside agents. */
export function currentScope(): EventScope | undefined {
  return scopes.getStore();
}
