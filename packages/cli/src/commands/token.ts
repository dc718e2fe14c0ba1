import { ClientCredentialsProvider, TokenLifecycle, type StreamAppError } from '@stream-app/credentials';
import { decodeJwt } from 'jose';
import type { Io } from '../io.js';

export const TOKEN_HELP = `stream-app token: fetch an access token by client credentials and show what it says (never the token itself)

  --issuer <url>            discovery from <url>/.well-known/openid-configuration
  --token-endpoint <url>    or the token endpoint itself
  --client-id <id>
  --client-secret-env <VAR> read the secret from this environment variable (default STREAM_APP_CLIENT_SECRET)
  --scope <scope>           --audience <aud>   --resource <uri>
  --allow-insecure-loopback plain HTTP to 127.0.0.1 / localhost (local testing only)`;

export interface TokenArgs {
  issuer?: string;
  'token-endpoint'?: string;
  'client-id'?: string;
  'client-secret-env'?: string;
  scope?: string;
  audience?: string;
  resource?: string;
  'allow-insecure-loopback'?: boolean;
}

export async function tokenCommand(args: TokenArgs, io: Io): Promise<number> {
  const secretVariable = args['client-secret-env'] ?? 'STREAM_APP_CLIENT_SECRET';
  const clientSecret = io.env[secretVariable];
  if (!args['client-id'] || (!args.issuer && !args['token-endpoint'])) {
    io.err(`${TOKEN_HELP}\n\nerror: give --client-id and --issuer or --token-endpoint`);
    return 2;
  }
  if (!clientSecret) {
    io.err(
      `error: the client secret is read from $${secretVariable}, which is empty (secrets are never taken on the command line)`,
    );
    return 2;
  }
  const lifecycle = new TokenLifecycle(
    new ClientCredentialsProvider({
      clientId: args['client-id'],
      clientSecret,
      ...(args.issuer ? { issuer: args.issuer } : {}),
      ...(args['token-endpoint'] ? { tokenEndpoint: args['token-endpoint'] } : {}),
      ...(args.scope ? { scope: args.scope } : {}),
      ...(args.audience ? { audience: args.audience } : {}),
      ...(args.resource ? { resource: args.resource } : {}),
      ...(args['allow-insecure-loopback'] ? { allowInsecureLoopback: true } : {}),
    }),
  );
  try {
    const token = await lifecycle.token();
    const claims = safeClaims(token.value);
    io.out(`principal   ${token.principal ?? '(none)'}`);
    io.out(
      `expires     ${new Date(token.expiresAt).toISOString()} (in ${Math.round((token.expiresAt - Date.now()) / 1000)} s)`,
    );
    for (const claim of ['iss', 'sub', 'aud', 'azp', 'scope'] as const) {
      if (claims?.[claim] !== undefined) io.out(`${claim.padEnd(11)} ${JSON.stringify(claims[claim])}`);
    }
    if (!claims) io.out('format      opaque (not a JWT)');
    return 0;
  } catch (error) {
    const { code, message } = error as StreamAppError;
    io.err(`error ${code ?? ''}: ${message}`);
    return 1;
  } finally {
    lifecycle.close();
  }
}

function safeClaims(token: string) {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
