import type { Agent } from '../agents/agent.js';
import type { Timer } from '../timers/timer.js';
import type { Topic } from '../topics/topic.js';
import type { TopicSpec } from '../transport/transport.js';
import type { Page } from '../web/pages.js';

/** A topic with its types erased: any `Topic<V, K>` is one (codecs and `encode` are checked where the types are known). */
export type AnyTopic = Topic<unknown, unknown>;

/** A decorated class: its agents run as methods of one instance, made when first needed. */
export interface Service {
  type: new () => object;
  instance?: object;
}

/**
 * What the app is made of: its topics, its agents, which agents read which topic (their own, and
 * the topics of their `through` and `groupBy`), and the internal topics. Topics an agent starts to
 * read after the worker subscribed are announced to `onLateTopic`, so the consumer can resubscribe.
 */
export class Topology {
  readonly topics = new Map<string, AnyTopic>();
  readonly agents = new Map<string, Agent>();
  readonly #routes = new Map<string, Agent[]>();
  readonly #services = new Map<Agent | Timer | Page, Service>();
  #subscribed = false;
  onLateTopic: ((topic: string) => void) | undefined;

  addTopic(topic: AnyTopic): void {
    this.topics.set(topic.name, topic);
  }

  addAgent(agent: Agent): void {
    this.agents.set(agent.name, agent);
    this.route(agent.topic.name, agent);
  }

  bindService(member: Agent | Timer | Page, service: Service): void {
    this.#services.set(member, service);
  }

  /** The `this` of a decorated agent, timer or page: one instance of its class, made when first needed. */
  thisFor(agent: Agent | Timer | Page): unknown {
    const service = this.#services.get(agent);
    if (!service) return undefined;
    service.instance ??= new service.type();
    return service.instance;
  }

  /** `agent` reads `topic`; returns whether that is new. */
  route(topic: string, agent: Agent): boolean {
    const agents = this.#routes.get(topic) ?? [];
    if (agents.includes(agent)) return false;
    const late = this.#subscribed && !this.#routes.has(topic);
    agents.push(agent);
    this.#routes.set(topic, agents);
    if (late) this.onLateTopic?.(topic);
    return true;
  }

  readers(topic: string): readonly Agent[] {
    return this.#routes.get(topic) ?? [];
  }

  /** The topics the consumer subscribes to; from now on a new one is late. */
  subscription(): string[] {
    this.#subscribed = true;
    return [...this.#routes.keys()];
  }

  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** The internal topic behind an agent's `groupBy(…, { name })`. */
  static repartitionName(appId: string, agent: Agent, name: string): string {
    return `${appId}-${agent.name.replace(/[^a-zA-Z0-9._-]/g, '_')}-${name}-repartition`;
  }

  specs(deadLetters: TopicSpec): TopicSpec[] {
    const specs = [...this.topics.values()].map((topic) => topic.spec());
    if (!this.topics.has(deadLetters.name)) specs.push(deadLetters);
    return specs;
  }
}
