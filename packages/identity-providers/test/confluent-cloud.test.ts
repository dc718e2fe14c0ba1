// Shapes from Confluent's documentation:
// - "Configure Kafka Clients for OAuth 2.0 Authentication in Confluent Cloud" and "OAuth Configuration
//   Reference for Confluent Cloud Clients": the SASL/OAUTHBEARER extensions logicalCluster=lkc-... and
//   identityPoolId=pool-... (librdkafka sasl.oauthbearer.extensions; Java JAAS extension_logicalCluster /
//   extension_identityPoolId), spelt exactly so.
// - "Use OAuth Identity Pools with Your OAuth/OIDC Identity Provider on Confluent Cloud" (pool-... ids).
// Confluent Cloud has no token endpoint of its own: the server below plays the identity provider behind it
// (Okta here, with Okta's documented client credentials request/response, see okta.test.ts), and the test
// checks the IdP request is untouched and the extensions reach the Kafka client configuration.
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AbstractTokenProvider, kafkaClientConfig, OAuthCredentials, type AccessToken } from '@stream-app/credentials';
import { confluentCloud } from '../src/adapters/confluent-cloud.js';
import { okta } from '../src/adapters/okta.js';
import {
  fakeJwt,
  nowSeconds,
  rejectionOf,
  startFakeServer,
  thrownBy,
  type FakeResponse,
  type FakeServer,
} from './helpers/fake-server.js';

const SECRET = 'okta-secret-for-confluent-9a8b7c';
let server: FakeServer;
let respond: () => FakeResponse;

beforeAll(async () => {
  server = await startFakeServer(() => respond());
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  respond = () => {
    const iat = nowSeconds();
    return {
      body: {
        token_type: 'Bearer',
        expires_in: 3600,
        access_token: fakeJwt({
          iss: `${server.url}/oauth2/default`,
          aud: 'api://confluent',
          sub: '0oaConfluent',
          iat,
          exp: iat + 3600,
        }),
        scope: 'kafka',
      },
    };
  };
});

const idp = () =>
  okta({
    clientId: '0oaConfluent',
    clientSecret: SECRET,
    scopes: ['kafka'],
    tokenEndpoint: `${server.url}/oauth2/default/v1/token`,
    allowInsecureLoopback: true,
  });

describe('confluentCloud()', () => {
  it('adds exactly logicalCluster and identityPoolId, and leaves the identity provider request alone', async () => {
    const provider = confluentCloud({ logicalCluster: 'lkc-abc123', identityPoolId: 'pool-XyZ9', provider: idp() });
    expect(await provider.extensions?.()).toStrictEqual({ logicalCluster: 'lkc-abc123', identityPoolId: 'pool-XyZ9' });

    const token = (await provider.token()) as AccessToken;
    expect(token.extensions).toStrictEqual({ logicalCluster: 'lkc-abc123', identityPoolId: 'pool-XyZ9' });
    expect(token.principal).toBe('0oaConfluent');
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/oauth2/default/v1/token');
    expect(Object.fromEntries(request.form)).toEqual({ grant_type: 'client_credentials', scope: 'kafka' });
    expect(request.headers.authorization).toMatch(/^Basic /);
    expect(provider.describe()).toBe(
      `Confluent Cloud lkc-abc123, pool-XyZ9 with Okta client credentials for 0oaConfluent at ${server.url}/oauth2/default/v1/token`,
    );
    expect(inspect(provider)).not.toContain(SECRET);
    expect(JSON.stringify(provider)).not.toContain(SECRET);
  });

  it('reaches the Kafka client configuration: oauthBearerProvider answers with the two extensions', async () => {
    const credentials = new OAuthCredentials({
      tokenProvider: confluentCloud({ logicalCluster: 'lkc-abc123', identityPoolId: 'pool-XyZ9', provider: idp() }),
      ssl: true,
    });
    try {
      const sasl = kafkaClientConfig(credentials).kafkaJS.sasl;
      if (sasl?.mechanism !== 'oauthbearer') throw new Error('expected SASL/OAUTHBEARER');
      const answer = await sasl.oauthBearerProvider();
      expect(answer).toMatchObject({ principal: '0oaConfluent' });
      expect(answer.extensions).toStrictEqual({ logicalCluster: 'lkc-abc123', identityPoolId: 'pool-XyZ9' });
      expect(typeof answer.lifetime).toBe('number');
    } finally {
      credentials.lifecycle.close();
    }
  });

  it('identityPoolId is optional; its extensions win over the inner provider (bare-string tokens too)', async () => {
    class Inner extends AbstractTokenProvider {
      async token() {
        return fakeJwt({ sub: 'svc', exp: nowSeconds() + 600 });
      }
      override extensions() {
        return { traceId: 't-1', logicalCluster: 'lkc-wrong' };
      }
    }
    const provider = confluentCloud({ logicalCluster: 'lkc-abc123', provider: new Inner() });
    expect(await provider.extensions?.()).toStrictEqual({ traceId: 't-1', logicalCluster: 'lkc-abc123' });
    expect(typeof (await provider.token())).toBe('string');
  });

  it("the identity provider's refusal passes through unchanged (401 invalid_client), without the secret", async () => {
    respond = () => ({
      status: 401,
      body: {
        error: 'invalid_client',
        error_description: 'The client secret supplied for a confidential client is invalid.',
      },
    });
    const error = await rejectionOf(confluentCloud({ logicalCluster: 'lkc-abc123', provider: idp() }).token());
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_TOKEN_ENDPOINT', retriable: false });
    expect(error.message).toContain('HTTP 401 invalid_client');
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses misspelt extension names, naming the right key, before any request', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ logical_cluster: 'lkc-abc123' }, /unknown option 'logical_cluster': did you mean 'logicalCluster'\?/],
      [{ logicalClusterId: 'lkc-abc123' }, /unknown option 'logicalClusterId': did you mean 'logicalCluster'\?/],
      [{ extension_logicalCluster: 'lkc-abc123' }, /did you mean 'logicalCluster'\?/],
      [
        { logicalCluster: 'lkc-abc123', identity_pool_id: 'pool-XyZ9' },
        /unknown option 'identity_pool_id': did you mean 'identityPoolId'\?/,
      ],
      [
        { logicalCluster: 'lkc-abc123', identityPool: 'pool-XyZ9' },
        /unknown option 'identityPool': did you mean 'identityPoolId'\?/,
      ],
      [{ logicalCluster: 'lkc-abc123', identityPoolID: 'pool-XyZ9' }, /did you mean 'identityPoolId'\?/],
      [{ logicalCluster: 'lkc-abc123', tokenProvider: 'x' }, /did you mean 'provider'\?/],
      [
        { logicalCluster: 'lkc-abc123', region: 'x' },
        /unknown option 'region': the options are logicalCluster, identityPoolId, provider/,
      ],
    ];
    for (const [options, message] of cases) {
      const error = thrownBy(() => confluentCloud({ provider: idp(), ...options } as never));
      expect(error, String(message)).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
      expect(error.message).toMatch(message);
    }
    expect(
      thrownBy(() => confluentCloud({ logical_cluster: 'lkc-abc123', provider: idp() } as never)).message,
    ).toContain('spelt exactly so; other spellings fail at the broker with a generic OAUTHBEARER error');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses ids without their prefix, and a missing provider', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ logicalCluster: undefined }, /logicalCluster is required: the Kafka cluster id/],
      [
        { logicalCluster: 'pkc-4nym6' },
        /starting with 'lkc-'; 'pkc-4nym6' is the physical cluster in the bootstrap host name/,
      ],
      [{ logicalCluster: 'abc123' }, /starting with 'lkc-'; 'abc123' is not/],
      [{ logicalCluster: 'lkc-' }, /is not a lkc-\.\.\. id/],
      [
        { logicalCluster: 'lkc-abc123', identityPoolId: 'lkc-abc123' },
        /identityPoolId must be the identity pool id .* starting with 'pool-'; 'lkc-abc123' is a Kafka cluster/,
      ],
      [{ logicalCluster: 'lkc-abc123', identityPoolId: '' }, /identityPoolId is required/],
      [{ logicalCluster: 'lkc-abc123', provider: undefined }, /provider is required/],
    ];
    for (const [options, message] of cases) {
      const error = thrownBy(() => confluentCloud({ provider: idp(), ...options } as never));
      expect(error, String(message)).toMatchObject({ code: 'STREAM_APP_ERR_INVALID_OPTIONS' });
      expect(error.message).toMatch(message);
    }
    expect(server.requests).toHaveLength(0);
  });
});
