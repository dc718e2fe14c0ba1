import type { Agent, AgentOptions } from '../agents/agent.js';
import type { App, CrontabOptions, ServiceMembers } from '../app/app.js';
import type { Duration } from '../clock/duration.js';
import type { TimerOptions } from '../timers/timer.js';
import type { PageOptions } from '../web/pages.js';
import type { Topic } from '../topics/topic.js';

const AGENT_METHODS = Symbol.for('stream-app:agent-methods');
const AGENTS = Symbol.for('stream-app:agents');
const TIMER_METHODS = Symbol.for('stream-app:timer-methods');
const PAGE_METHODS = Symbol.for('stream-app:page-methods');

interface AgentMethod {
  method: string;
  topic: Topic<never, never>;
  options: AgentOptions;
}

type Decorated = {
  [AGENT_METHODS]?: AgentMethod[];
  [AGENTS]?: Map<string, Agent>;
  [TIMER_METHODS]?: ServiceMembers['timers'];
  [PAGE_METHODS]?: NonNullable<ServiceMembers['pages']>;
};

function own<T>(type: Decorated, key: typeof AGENT_METHODS | typeof TIMER_METHODS | typeof PAGE_METHODS): T[] {
  if (!Object.hasOwn(type, key)) (type as { [key: symbol]: unknown })[key] = [];
  return (type as { [key: symbol]: T[] })[key]!;
}

/** Marks a method of a `@service(app)` class as an agent of `topic` (or of `app.topic(name)`). */
export function agent(topic: Topic<unknown, unknown>, options: AgentOptions = {}): MethodDecorator {
  return (target, property) => {
    own<AgentMethod>(target.constructor as Decorated, AGENT_METHODS).push({
      method: String(property),
      topic: topic as Topic<never, never>,
      options,
    });
  };
}

/** Marks a method of a `@service(app)` class as a timer run every `interval` (ms or `'10s'`), like Faust's `@app.timer`. */
export function timer(interval: Duration, options: TimerOptions = {}): MethodDecorator {
  return (target, property) => {
    own<ServiceMembers['timers'][number]>(target.constructor as Decorated, TIMER_METHODS).push({
      method: String(property),
      every: interval,
      options,
    });
  };
}

/** Marks a method of a `@service(app)` class as run at the times of a cron expression, like Faust's `@app.crontab`. */
export function crontab(expression: string, options: CrontabOptions = {}): MethodDecorator {
  return (target, property) => {
    own<ServiceMembers['timers'][number]>(target.constructor as Decorated, TIMER_METHODS).push({
      method: String(property),
      crontab: expression,
      options,
    });
  };
}

/**
 * Marks a method of a `@service(app)` class as a web page at `path`, like Faust's `@app.page`: it is
 * given the request (`PageRequest`) and returns the answer (JSON) or a `PageResponse`.
 */
export function page(path: string, options: PageOptions = {}): MethodDecorator {
  return (target, property) => {
    own<NonNullable<ServiceMembers['pages']>[number]>(target.constructor as Decorated, PAGE_METHODS).push({
      method: String(property),
      path,
      options,
    });
  };
}

/**
 * Registers a class's `@agent` methods with the app. The app makes one instance of the class
 * (with `new`, no arguments) when the worker starts; agents run as its methods.
 */
export function service(app: App): ClassDecorator {
  return (target) => {
    const type = target as unknown as (new () => object) & Decorated;
    type[AGENTS] = app.service(type, {
      agents: type[AGENT_METHODS] ?? [],
      timers: type[TIMER_METHODS] ?? [],
      pages: type[PAGE_METHODS] ?? [],
    });
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
