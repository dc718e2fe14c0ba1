// Deriving an app's ACLs from its plan and comparing them the way Kafka's authorizer would, without a broker.
import { App, type Stream } from '@stream-app/core';
import { describe, expect, it } from 'vitest';
import type { AclBinding } from '../src/acls/acl-admin.js';
import { compareAcls } from '../src/acls/compare-acls.js';
import { deriveAcls } from '../src/acls/derive-acls.js';

function app(options: { exactlyOnce?: boolean } = {}) {
  const app = new App({
    id: 'shop',
    broker: '127.0.0.1:9092',
    ...(options.exactlyOnce ? { processingGuarantee: 'exactly_once' as const } : {}),
  });
  const orders = app.topic('orders');
  const invoices = app.topic('invoices');
  const audit = app.topic('audit');
  // An agent that is another agent's sink: what the first yields is written to the second's topic.
  const bill = app.agent(invoices, async (stream: Stream<unknown>) => {
    for await (const _ of stream);
  });
  app.agent(
    orders,
    async function* (stream: Stream<unknown>) {
      for await (const order of stream) yield order;
    },
    { sink: [bill, audit] },
  );
  app.table('totals', { default: () => 0 });
  return app;
}

const binding = (fields: Partial<AclBinding>): AclBinding => ({
  resourceType: 'topic',
  name: 'orders',
  patternType: 'literal',
  operation: 'Read',
  permission: 'allow',
  host: '*',
  ...fields,
});

describe('deriveAcls', () => {
  it('reads sources, writes sinks (an agent sink means its topic), covers internal topics by prefix', () => {
    const rules = deriveAcls(app().plan());
    const of = (name: string) => rules.find((rule) => rule.name === name)?.operations;
    expect(of('orders')).toEqual(['Read', 'Describe', 'Create']);
    expect(of('invoices')).toEqual(['Read', 'Write', 'Describe', 'Create']);
    expect(of('audit')).toEqual(['Write', 'Describe', 'Create']);
    expect(rules.find((rule) => rule.name === 'shop-' && rule.resourceType === 'topic')).toMatchObject({
      patternType: 'prefixed',
      operations: ['Read', 'Write', 'Describe', 'Create'],
    });
    expect(rules.filter((rule) => rule.resourceType === 'group').map((rule) => [rule.name, rule.patternType])).toEqual([
      ['shop', 'literal'],
      ['shop-replies-', 'prefixed'],
    ]);
    expect(rules.some((rule) => rule.resourceType === 'transactional-id' || rule.resourceType === 'cluster')).toBe(
      false,
    );
    expect(
      deriveAcls(app({ exactlyOnce: true }).plan()).find((rule) => rule.resourceType === 'transactional-id'),
    ).toMatchObject({
      name: 'shop-',
      patternType: 'prefixed',
      operations: ['Write', 'Describe'],
    });
  });
});

describe('compareAcls', () => {
  const rules = [
    {
      resourceType: 'topic' as const,
      name: 'orders',
      patternType: 'literal' as const,
      operations: ['Read' as const, 'Describe' as const],
      reason: 'source',
    },
  ];

  it('counts Read as allowing Describe, a prefix or * as covering a name, and reports what is broader', () => {
    expect(compareAcls(rules, [binding({})])).toEqual({ missing: [], broader: [] });
    expect(compareAcls(rules, [binding({ name: 'ord', patternType: 'prefixed', operation: 'All' })]).missing).toEqual(
      [],
    );
    const wide = binding({ name: '*', operation: 'All' });
    expect(compareAcls(rules, [wide])).toEqual({ missing: [], broader: [wide] });
  });

  it("lets a deny take only its own operation (or All), and takes User:*'s grants without calling them broader", () => {
    const deniedWrite = binding({ operation: 'Write', permission: 'deny' });
    expect(compareAcls(rules, [binding({}), binding({ operation: 'Describe' }), deniedWrite]).missing).toEqual([]);
    const deniedAll = binding({ operation: 'All', permission: 'deny', wildcard: true });
    expect(compareAcls(rules, [binding({}), deniedAll]).missing.map((m) => [m.operation, m.deniedBy])).toEqual([
      ['Read', deniedAll],
      ['Describe', deniedAll],
    ]);
    const everyone = binding({ name: '*', operation: 'Read', wildcard: true });
    expect(compareAcls(rules, [everyone])).toEqual({ missing: [], broader: [] });
  });
});
