/** What the OAuth client of this example needs to know. */
export interface OAuthClient {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
}

export interface Token {
  value: string;
  principal: string;
  lifetime: number;
}

/** One client credentials grant (RFC 6749 §4.4) with HTTP Basic client authentication. */
export async function clientCredentials(client: OAuthClient): Promise<Token> {
  const response = await fetch(client.tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'kafka' }),
  });
  const body = (await response.json()) as { access_token?: string; expires_in?: number; error?: string };
  if (!response.ok || !body.access_token) {
    throw new Error(`token request to ${client.tokenEndpoint} failed: ${response.status} ${body.error ?? ''}`.trim());
  }
  return {
    value: body.access_token,
    principal: client.clientId,
    lifetime: Date.now() + (body.expires_in ?? 300) * 1000,
  };
}
