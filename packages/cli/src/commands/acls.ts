import type { App } from '@stream-app/core';
import { withAclAdmin } from '../acls/acl-admin.js';
import { compareAcls, describeBinding, describeRule } from '../acls/compare-acls.js';
import { deriveAcls, kafkaAclsCommands } from '../acls/derive-acls.js';
import { CliError } from '../errors.js';
import { APP_HELP, APP_OPTIONS, appOf, text, UsageError, type Command } from './command.js';

export const aclsCommand: Command = {
  name: 'acls',
  summary: 'the ACLs the app needs, from its topology: print them as kafka-acls.sh commands, --apply or --check them',
  help: `usage: stream-app acls -A <module> [--principal <User:…>] [--apply | --check] [--json]

Derives every ACL the app needs for its principal and nothing broader: Read on the topics its
agents read, Write on those it writes, Read/Write on its internal topics (prefix <id>-: changelogs,
repartition, leader, members, replies, dead letters), Read on its consumer group, Write on its
transactional ids under exactly once, and Create on its topics only when it may declare them.

Without --apply or --check it prints them as kafka-acls.sh commands.

options:
${APP_HELP}
      --principal <User:…>       the principal to grant (default: the one the app's credentials give,
                                 e.g. User:<sub> of its token; for AWS, User:<the IAM role ARN>)
      --apply                    create them through the admin API
      --check                    compare them with what the broker holds: what is missing, what is broader

--apply and --check connect as the app, or as an admin with STREAM_APP_ADMIN_SASL_MECHANISM,
STREAM_APP_ADMIN_SASL_USERNAME and STREAM_APP_ADMIN_SASL_PASSWORD, to STREAM_APP_ADMIN_BOOTSTRAP
(default the app's broker). Exit code: 0 applied or clean, 1 something missing or broader, 2 usage.`,
  options: { ...APP_OPTIONS, principal: { type: 'string' }, apply: { type: 'boolean' }, check: { type: 'boolean' } },
  async run(values, _positionals, context) {
    if (values.apply && values.check) throw new UsageError('give --apply or --check, not both');
    const app = await appOf(values, context);
    const { out, io } = context;
    const principal = text(values, 'principal') ?? (await principalOf(app));
    if (!principal.startsWith('User:') || principal === 'User:unknown') {
      throw new CliError(
        'STREAM_APP_ERR_ACL_ADMIN',
        `the app's principal is not known (${principal}): give it with --principal User:<name>`,
      );
    }
    const rules = deriveAcls(app.plan());
    if (!values.apply && !values.check) {
      const commands = kafkaAclsCommands(rules, principal, io.env.STREAM_APP_ADMIN_BOOTSTRAP || app.options.bootstrap);
      out.result({ principal, acls: rules, commands });
      out.line(`# ${rules.length} ACLs for ${principal}, the principal of ${app.id}`);
      rules.forEach((rule, index) => {
        out.line(`# ${describeRule(rule)}: ${rule.reason}`);
        out.line(commands[index]);
      });
      return 0;
    }
    return withAclAdmin(app, io.env, async (admin, connection) => {
      if (values.apply) {
        await out.step(
          `granting ${rules.length} ACLs to ${principal} on ${connection.bootstrap} (as ${connection.describe})`,
          () => admin.create(principal, rules),
          () => `granted ${rules.length} ACLs to ${principal}`,
        );
        for (const rule of rules) out.line(`  ${describeRule(rule)}`);
      }
      // The broker's authorizer takes new ACLs in a moment after they are created (KRaft propagates them).
      let { missing, broader } = compareAcls(rules, await admin.list(principal));
      for (let tries = 0; values.apply && missing.length > 0 && tries < 20; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        ({ missing, broader } = compareAcls(rules, await admin.list(principal)));
      }
      out.result({
        principal,
        ...(values.apply ? { applied: rules } : {}),
        missing: missing.map(({ rule, operation, deniedBy }) => ({ ...rule, operations: [operation], deniedBy })),
        broader,
      });
      if (values.apply && missing.length === 0) return 0;
      out.line();
      for (const { rule, operation, deniedBy } of missing) {
        out.line(
          out.mark(
            'fail',
            `missing: ${describeRule(rule, [operation])}${deniedBy ? ` (denied by ${describeBinding(deniedBy)})` : ''}: ${rule.reason}`,
          ),
        );
      }
      for (const binding of broader) out.line(out.mark('warn', `broader than needed: ${describeBinding(binding)}`));
      if (missing.length === 0 && broader.length === 0) {
        out.line(out.mark('ok', `${principal} holds exactly the ${rules.length} ACLs ${app.id} needs`));
        return 0;
      }
      out.line();
      out.line(
        `${missing.length} missing, ${broader.length} broader than needed` +
          (missing.length > 0 ? ': run stream-app acls --apply' : ''),
      );
      return 1;
    });
  },
};

/** The app's principal; for OAuth it needs a token, whose failure is reported as such. */
async function principalOf(app: App): Promise<string> {
  const credentials = app.options.credentials;
  if (credentials?.kind === 'oauth') return `User:${(await credentials.lifecycle.token()).principal ?? 'unknown'}`;
  return app.principal();
}
