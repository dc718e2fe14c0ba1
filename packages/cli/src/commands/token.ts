import { readFileSync } from 'node:fs';
import { ClientCredentialsProvider, TokenLifecycle, type AccessToken } from '@stream-app/credentials';
import { CliError } from '../errors.js';
import { exitCodeOf, printChecks } from '../checks/check.js';
import { decodeToken, scopesOf, verifyForBroker, type BrokerExpectations } from '../token/verify-token.js';
import { appOf, text, UsageError, type Command, type CommandContext, type OptionValues } from './command.js';

export const tokenCommand: Command = {
  name: 'token',
  summary: 'fetch a token and show its header, claims and expiry (never the token); --verify it as the broker would',
  help: `usage: stream-app token (-A <module> | --client-id <id> --issuer <url> | --token-file <path>) [--verify …]

Gets an access token and prints its header and claims, the principal the broker will see, its
scopes and time to expiry. The token itself is never printed.

where the token comes from (one of):
  -A, --app <module>             the app's own credentials (its identity-provider adapter)
  --client-id <id>               client credentials at --issuer <url> (discovery) or --token-endpoint <url>;
                                 the secret from $STREAM_APP_CLIENT_SECRET, or --client-secret-env <VAR>
      --scope <s> --audience <a> --resource <uri>   grant parameters
      --allow-insecure-loopback  plain HTTP to 127.0.0.1 / localhost (local testing only)
  --token-file <path>            a token saved in a file

--verify (implied by any of these): check it as the broker's OAuthBearerValidatorCallbackHandler would, and say which claim
would make the broker refuse it and which broker setting to compare:
      --jwks <url|file>          sasl.oauthbearer.jwks.endpoint.url (default: jwks_uri of --expected-issuer)
      --expected-issuer <iss>    sasl.oauthbearer.expected.issuer
      --expected-audience <aud>  sasl.oauthbearer.expected.audience
      --sub-claim <name>         sasl.oauthbearer.sub.claim.name (default sub)
      --scope-claim <name>       sasl.oauthbearer.scope.claim.name (default scope)
      --clock-skew <seconds>     sasl.oauthbearer.clock.skew.seconds (default 30)

      --json                     one JSON document on stdout
exit code: 0 token fetched (and, with --verify, the broker would accept it), 1 otherwise, 2 usage.`,
  options: {
    app: { type: 'string', short: 'A' },
    json: { type: 'boolean' },
    issuer: { type: 'string' },
    'token-endpoint': { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret-env': { type: 'string' },
    scope: { type: 'string' },
    audience: { type: 'string' },
    resource: { type: 'string' },
    'allow-insecure-loopback': { type: 'boolean' },
    'token-file': { type: 'string' },
    verify: { type: 'boolean' },
    jwks: { type: 'string' },
    'expected-issuer': { type: 'string' },
    'expected-audience': { type: 'string' },
    'sub-claim': { type: 'string' },
    'scope-claim': { type: 'string' },
    'clock-skew': { type: 'string' },
  },
  async run(values, _positionals, context) {
    const { out } = context;
    const token = await obtainToken(values, context);
    const decoded = decodeToken(token.value);
    const now = Date.now();
    const expiresIn = Math.round((token.expiresAt - now) / 1000);
    const expires = Number.isFinite(token.expiresAt) ? new Date(token.expiresAt).toISOString() : null;
    // Any broker expectation given means --verify.
    const verify =
      values.verify === true || ['jwks', 'expected-issuer', 'expected-audience'].some((name) => text(values, name));
    const expectations = verify ? await expectationsOf(values) : undefined;
    const checks = expectations ? await verifyForBroker(token.value, expectations, now) : [];
    const scopes = decoded ? scopesOf(decoded.claims, expectations?.scopeClaim) : [];
    out.result({
      format: decoded ? 'jwt' : 'opaque',
      principal: token.principal ?? null,
      expiresAt: expires,
      expiresInSeconds: expires ? expiresIn : null,
      scopes,
      header: decoded?.header ?? null,
      claims: decoded?.claims ?? null,
      ...(expectations ? { checks, brokerWouldAccept: exitCodeOf(checks) === 0 } : {}),
    });
    const rows: Array<[string, string]> = [
      [
        'format',
        decoded
          ? `JWT, ${String(decoded.header.alg)}${decoded.header.kid ? `, kid ${String(decoded.header.kid)}` : ''}`
          : 'opaque (not a JWT)',
      ],
      ['principal', token.principal ? `User:${token.principal}` : '(none)'],
      [
        'expires',
        `${new Date(token.expiresAt).toISOString()} (${expiresIn >= 0 ? `in ${expiresIn} s` : `${-expiresIn} s ago`})`,
      ],
      ['scopes', scopes.join(' ') || '(none)'],
    ];
    if (decoded) {
      rows.push(['header', JSON.stringify(decoded.header)]);
      for (const [name, value] of Object.entries(decoded.claims)) rows.push([`  ${name}`, JSON.stringify(value)]);
    }
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, value] of rows) out.line(`${out.bold(name.padEnd(width))}  ${value}`);
    if (!expectations) return 0;
    out.line();
    out.line(out.bold('as the broker would check it:'));
    printChecks(out, checks);
    const code = exitCodeOf(checks);
    out.line();
    const unsigned = checks.some((check) => check.name === 'signature' && check.mark === 'warn');
    out.line(
      code !== 0
        ? out.mark('fail', 'the broker would refuse this token')
        : unsigned
          ? out.mark('warn', 'the broker would accept this token if its signature is good (not checked: no --jwks)')
          : out.mark('ok', 'the broker would accept this token'),
    );
    return code;
  },
};

interface ObtainedToken {
  value: string;
  expiresAt: number;
  principal: string | undefined;
}

async function obtainToken(values: OptionValues, context: CommandContext): Promise<ObtainedToken> {
  const tokenFile = text(values, 'token-file');
  if (tokenFile) {
    let value: string;
    try {
      value = readFileSync(tokenFile, 'utf8').trim();
    } catch (error) {
      throw new CliError(
        'STREAM_APP_ERR_TOKEN_SOURCE',
        `cannot read --token-file ${tokenFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const claims = decodeToken(value)?.claims;
    return {
      value,
      expiresAt: typeof claims?.exp === 'number' ? claims.exp * 1000 : Number.NaN,
      principal: typeof claims?.sub === 'string' ? claims.sub : undefined,
    };
  }
  if (typeof values.app === 'string') {
    const app = await appOf(values, context);
    const credentials = app.options.credentials;
    if (credentials?.kind !== 'oauth') {
      throw new CliError(
        'STREAM_APP_ERR_TOKEN_SOURCE',
        `${app.id} authenticates with ${credentials ? credentials.describe() : 'nothing (PLAINTEXT)'}, not OAuth: it has no token to show`,
      );
    }
    return fromLifecycle(credentials.lifecycle, context, credentials.describe());
  }
  const clientId = text(values, 'client-id');
  const issuer = text(values, 'issuer');
  const tokenEndpoint = text(values, 'token-endpoint');
  if (!clientId || (!issuer && !tokenEndpoint)) {
    throw new UsageError('give -A <module>, --token-file <path>, or --client-id with --issuer or --token-endpoint');
  }
  const secretVariable = text(values, 'client-secret-env') ?? 'STREAM_APP_CLIENT_SECRET';
  const clientSecret = context.io.env[secretVariable];
  if (!clientSecret) {
    throw new UsageError(
      `the client secret is read from $${secretVariable}, which is empty (secrets are never taken on the command line)`,
    );
  }
  const lifecycle = new TokenLifecycle(
    new ClientCredentialsProvider({
      clientId,
      clientSecret,
      ...(issuer ? { issuer } : {}),
      ...(tokenEndpoint ? { tokenEndpoint } : {}),
      ...(text(values, 'scope') ? { scope: text(values, 'scope')! } : {}),
      ...(text(values, 'audience') ? { audience: text(values, 'audience')! } : {}),
      ...(text(values, 'resource') ? { resource: text(values, 'resource')! } : {}),
      ...(values['allow-insecure-loopback'] ? { allowInsecureLoopback: true } : {}),
    }),
  );
  try {
    return await fromLifecycle(lifecycle, context, `client credentials for ${clientId}`);
  } finally {
    lifecycle.close();
  }
}

async function fromLifecycle(
  lifecycle: { token(): Promise<AccessToken> },
  { out }: CommandContext,
  what: string,
): Promise<ObtainedToken> {
  const token = await out.step(
    `fetching a token (${what})`,
    () => lifecycle.token(),
    () => `token from ${what}`,
  );
  return { value: token.value, expiresAt: token.expiresAt, principal: token.principal };
}

async function expectationsOf(values: OptionValues): Promise<BrokerExpectations> {
  const skew = text(values, 'clock-skew');
  if (skew !== undefined && !/^\d+$/.test(skew))
    throw new UsageError(`--clock-skew must be whole seconds, got "${skew}"`);
  const issuer = text(values, 'expected-issuer');
  return {
    jwks: text(values, 'jwks') ?? (issuer ? await discoverJwks(issuer) : undefined),
    issuer,
    audience: text(values, 'expected-audience'),
    subClaim: text(values, 'sub-claim'),
    scopeClaim: text(values, 'scope-claim'),
    ...(skew === undefined ? {} : { clockSkewSeconds: Number(skew) }),
  };
}

/** The jwks_uri of an issuer's OpenID discovery document, or undefined when it has none. */
async function discoverJwks(issuer: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return undefined;
    const document = (await response.json()) as { jwks_uri?: unknown };
    return typeof document.jwks_uri === 'string' ? document.jwks_uri : undefined;
  } catch {
    return undefined;
  }
}
