import { exitCodeOf, printChecks, type Check } from '../checks/check.js';
import { aclChecks, clusterChecks, identityChecks, listenerChecks } from '../doctor/doctor-checks.js';
import type { App } from '@stream-app/core';
import { APP_HELP, APP_OPTIONS, appOf, text, type Command, type CommandContext, type OptionValues } from './command.js';

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check everything between the app and Kafka: identity provider, token, listeners, topics, ACLs',
  help: `usage: stream-app doctor -A <module> [--expected-issuer <iss>] [--expected-audience <aud>] [--json]

One line per check, with the fix for each failure:
  identity provider   a token comes from the app's credentials
  discovery           the issuer's discovery document is there and names the same issuer and its keys
  token …             the token as the broker's validator checks it (signature, iss, aud, exp, iat, sub)
  listener …          each bootstrap address is reachable and offers the app's SASL mechanism
  authentication      the broker accepts the app's credentials
  topic …             each topic the app uses exists with its declared partitions
  acls                the principal holds every ACL the app needs (stream-app acls)

options:
${APP_HELP}
      --expected-issuer <iss>    the broker's sasl.oauthbearer.expected.issuer (default $STREAM_APP_BROKER_EXPECTED_ISSUER)
      --expected-audience <aud>  the broker's sasl.oauthbearer.expected.audience (default $STREAM_APP_BROKER_EXPECTED_AUDIENCE)

Reading ACLs needs Describe on the cluster: as the app, or as STREAM_APP_ADMIN_SASL_* (see acls --help).
Exit code: 0 healthy (warnings allowed), 1 a check failed, 2 usage.`,
  options: { ...APP_OPTIONS, 'expected-issuer': { type: 'string' }, 'expected-audience': { type: 'string' } },
  async run(values, _positionals, context) {
    const app = await appOf(values, context);
    // One token for every check: the credentials stay open until the end.
    const credentials = app.options.credentials;
    const release = credentials?.kind === 'oauth' ? credentials.lifecycle.retain() : undefined;
    try {
      return await diagnose(app, values, context);
    } finally {
      release?.();
    }
  },
};

async function diagnose(app: App, values: OptionValues, { out, io }: CommandContext): Promise<number> {
  const options = {
    expectedIssuer: text(values, 'expected-issuer') ?? io.env.STREAM_APP_BROKER_EXPECTED_ISSUER,
    expectedAudience: text(values, 'expected-audience') ?? io.env.STREAM_APP_BROKER_EXPECTED_AUDIENCE,
  };
  out.line(`stream-app doctor: ${app.id} against ${app.options.bootstrap}`);
  out.line();
  const checks: Check[] = [];
  const section = async (label: string, run: () => Promise<Check[]>) => {
    const found = await out.step(label, run, (result) => {
      const { mark, text } = summary(result);
      return { mark, text: `${label}: ${text}` };
    });
    checks.push(...found);
    return found;
  };
  const identity = await section(
    'identity provider and token',
    async () => (await identityChecks(app, options)).checks,
  );
  const listeners = await section('listeners', () => listenerChecks(app));
  const blocked = [...identity, ...listeners].some(
    (check) => check.mark === 'fail' && (check.name === 'identity provider' || check.name.startsWith('listener')),
  );
  if (blocked) {
    checks.push({ name: 'topics, acls', mark: 'info', message: 'not checked: fix the failures above first' });
  } else {
    const cluster = await section('authentication and topics', () => clusterChecks(app, io));
    if (cluster.some((check) => check.name === 'authentication' && check.mark === 'fail')) {
      checks.push({ name: 'acls', mark: 'info', message: 'not checked: the broker refused the credentials' });
    } else {
      await section('acls', () => aclChecks(app, io));
    }
  }
  const code = exitCodeOf(checks);
  out.result({ app: app.id, healthy: code === 0, checks });
  out.line();
  printChecks(out, checks);
  const failed = checks.filter((check) => check.mark === 'fail').length;
  const warned = checks.filter((check) => check.mark === 'warn').length;
  out.line();
  out.line(
    failed === 0
      ? out.mark('ok', `healthy${warned > 0 ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}`)
      : out.mark('fail', `${failed} check${failed > 1 ? 's' : ''} failed`),
  );
  return code;
}

function summary(checks: Check[]): { mark: 'ok' | 'fail' | 'warn'; text: string } {
  const failed = checks.filter((check) => check.mark === 'fail').length;
  const warned = checks.filter((check) => check.mark === 'warn').length;
  if (failed > 0) return { mark: 'fail', text: `${failed} failed` };
  return warned > 0 ? { mark: 'warn', text: `${warned} warning${warned > 1 ? 's' : ''}` } : { mark: 'ok', text: 'ok' };
}
