import type { AclBinding } from './acl-admin.js';
import type { AclOperation, AclRule } from './derive-acls.js';

export interface AclComparison {
  /** Needed and not granted (or denied): the app would be refused. */
  missing: Array<{ rule: AclRule; operation: AclOperation; deniedBy?: AclBinding }>;
  /** Granted beyond what the app needs: a wildcard, `All`, another resource. */
  broader: AclBinding[];
}

// Kafka's implications: Read, Write, Delete and Alter allow Describe; AlterConfigs allows DescribeConfigs.
const IMPLIES: { [operation: string]: string[] } = {
  Describe: ['Read', 'Write', 'Delete', 'Alter'],
  DescribeConfigs: ['AlterConfigs'],
};

function matchesResource(binding: AclBinding, rule: AclRule): boolean {
  if (binding.resourceType !== rule.resourceType || binding.host !== '*') return false;
  if (rule.resourceType === 'cluster') return true;
  if (binding.patternType === 'literal') {
    return binding.name === '*' || (rule.patternType === 'literal' && binding.name === rule.name);
  }
  return binding.patternType === 'prefixed' && rule.name.startsWith(binding.name);
}

// An allow of Read (say) also allows Describe; a deny denies only its own operation (or All).
function grants(binding: AclBinding, operation: AclOperation): boolean {
  if (binding.operation === operation || binding.operation === 'All') return true;
  return binding.permission === 'allow' && (IMPLIES[operation] ?? []).includes(binding.operation);
}

/** Compares what the app needs with what the broker holds for its principal, the way Kafka's authorizer would. */
export function compareAcls(rules: AclRule[], bindings: AclBinding[]): AclComparison {
  const missing: AclComparison['missing'] = [];
  for (const rule of rules) {
    for (const operation of rule.operations) {
      const relevant = bindings.filter((binding) => matchesResource(binding, rule) && grants(binding, operation));
      const deniedBy = relevant.find((binding) => binding.permission === 'deny');
      if (deniedBy) missing.push({ rule, operation, deniedBy });
      else if (!relevant.some((binding) => binding.permission === 'allow')) missing.push({ rule, operation });
    }
  }
  const exact = (binding: AclBinding) =>
    rules.some(
      (rule) =>
        rule.resourceType === binding.resourceType &&
        rule.name === binding.name &&
        rule.patternType === binding.patternType &&
        rule.operations.includes(binding.operation as AclOperation),
    );
  // What the wildcard principal User:* holds is everyone's, not this principal's to narrow.
  const broader = bindings.filter((binding) => binding.permission === 'allow' && !binding.wildcard && !exact(binding));
  return { missing, broader };
}

export function describeBinding(binding: AclBinding): string {
  const resource =
    binding.resourceType === 'cluster'
      ? 'the cluster'
      : `${binding.resourceType} ${binding.patternType === 'prefixed' ? `${binding.name}* (prefixed)` : binding.name}`;
  return `${binding.permission} ${binding.operation} on ${resource}${binding.host === '*' ? '' : ` from ${binding.host}`}`;
}

export function describeRule(rule: AclRule, operations = rule.operations): string {
  const resource =
    rule.resourceType === 'cluster'
      ? 'the cluster'
      : `${rule.resourceType} ${rule.patternType === 'prefixed' ? `${rule.name}* (prefixed)` : rule.name}`;
  return `${operations.join(', ')} on ${resource}`;
}
