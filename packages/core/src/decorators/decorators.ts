import type { Agent, AgentOptions } from '../agents/agent.js';
import type { App } from '../app/app.js';
import type { Topic } from '../topics/topic.js';

const AGENT_METHODS = Symbol.for('stream-app:agent-methods');
const AGENTS = Symbol.for('stream-app:agents');

interface AgentMethod {
  method: string;
  topic: Topic<never, never>;
  options: AgentOptions;
}

type Decorated = { [AGENT_METHODS]?: AgentMethod[]; [AGENTS]?: Map<string, Agent> };

/** Marks a method of a `@service(app)` class as an agent of `topic` (or of `app.topic(name)`). */
export function agent(topic: Topic<unknown, unknown>, options: AgentOptions = {}): MethodDecorator {
  return (target, property) => {
    const type = target.constructor as Decorated;
    const methods = Object.hasOwn(type, AGENT_METHODS) ? type[AGENT_METHODS]! : (type[AGENT_METHODS] = []);
    methods.push({ method: String(property), topic: topic as Topic<never, never>, options });
  };
}

/**
 * Registers a class's `@agent` methods with the app. The app makes one instance of the class
 * (with `new`, no arguments) when the worker starts; agents run as its methods.
 */
export function service(app: App): ClassDecorator {
  return (target) => {
    const type = target as unknown as (new () => object) & Decorated;
    type[AGENTS] = app.service(type, type[AGENT_METHODS] ?? []);
  };
}

/** The Agent behind a decorated method, to `send`, `ask` or `cast` to it: `agentOf(Billing, 'charge')`. */
export function agentOf<V = unknown, K = unknown>(
  type: abstract new (...args: never[]) => object,
  method: string,
): Agent<V, K> {
  const found = (type as unknown as Decorated)[AGENTS]?.get(method);
  if (!found) throw new Error(`${type.name}.${method} is not an @agent of a @service(app) class`);
  return found as unknown as Agent<V, K>;
}
