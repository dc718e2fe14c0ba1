// Request and response shapes from AWS's documentation:
// - AWS STS API Reference, "GetWebIdentityToken" (query protocol: POST with form body Action=GetWebIdentityToken,
//   Version=2011-06-15, Audience.member.N, SigningAlgorithm (RS256 | ES384), DurationSeconds (60-3600, default 300);
//   response <GetWebIdentityTokenResponse><GetWebIdentityTokenResult><WebIdentityToken/><Expiration/>
//   </GetWebIdentityTokenResult><ResponseMetadata><RequestId/></ResponseMetadata></GetWebIdentityTokenResponse>;
//   errors JWTPayloadSizeExceededException, OutboundWebIdentityFederationDisabledException (403),
//   SessionDurationEscalationException; "not available on the STS Global endpoint").
// - AWS STS API Reference, "Common Errors" / query API error responses
//   (<ErrorResponse><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/></ErrorResponse>).
// - AWS Signature Version 4 ("Create a signed AWS API request"): the Authorization header
//   AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/sts/aws4_request, SignedHeaders=..., Signature=...;
//   the signature is recomputed with node:crypto (helpers/sigv4.ts).
// Field names checked against @aws-sdk/client-sts's schema (GetWebIdentityTokenRequest$/Response$, awsQueryError codes).
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessToken } from '@stream-app/credentials';
import { awsStsWebIdentity } from '../src/adapters/aws-sts-web-identity.js';
import {
  fakeJwt,
  nowSeconds,
  rejectionOf,
  startFakeServer,
  thrownBy,
  type FakeResponse,
  type FakeServer,
  type RecordedRequest,
} from './helpers/fake-server.js';
import { headerSignature, sha256Hex } from './helpers/sigv4.js';

const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/orders-producer';
const ISSUER = 'https://6f2c9a1e-3b4d-4e5f-8a7b-9c0d1e2f3a4b.tokens.sts.global.api.aws';
const REGION = 'eu-west-1';

let server: FakeServer;
let respond: (request: RecordedRequest) => FakeResponse;
let issuedToken = '';
let expiration = new Date();

beforeAll(async () => {
  server = await startFakeServer((request) => respond(request));
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  respond = (request) => {
    const iat = nowSeconds();
    const duration = Number(request.form.get('DurationSeconds') ?? 300);
    expiration = new Date((iat + duration) * 1000);
    issuedToken = fakeJwt({
      aud: request.form.get('Audience.member.1'),
      sub: ROLE_ARN,
      iss: ISSUER,
      iat,
      exp: iat + duration,
      jti: 'b1c2d3e4-0000-0000-0000-000000000000',
      'https://sts.amazonaws.com/': { aws_account: '123456789012', principal_id: ROLE_ARN },
    });
    return {
      headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': 'c6104cbe-af31-11e0-8154-cbc7ccf896c7' },
      body:
        '<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n' +
        '  <GetWebIdentityTokenResult>\n' +
        `    <WebIdentityToken>${issuedToken}</WebIdentityToken>\n` +
        `    <Expiration>${expiration.toISOString()}</Expiration>\n` +
        '  </GetWebIdentityTokenResult>\n' +
        '  <ResponseMetadata>\n    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n  </ResponseMetadata>\n' +
        '</GetWebIdentityTokenResponse>\n',
    };
  };
});

const options = () => ({
  audience: 'kafka.example.com',
  region: REGION,
  signingAlgorithm: 'RS256' as const,
  credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
  endpoint: server.url,
  allowInsecureLoopback: true,
});

describe('awsStsWebIdentity()', () => {
  it('POSTs the documented GetWebIdentityToken form, signed with SigV4 for sts in the region', async () => {
    const provider = awsStsWebIdentity(options());
    const token = (await provider.token()) as AccessToken;

    expect(server.requests).toHaveLength(1);
    const request = server.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/');
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(request.body).toBe(
      'Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=kafka.example.com&SigningAlgorithm=RS256&DurationSeconds=300',
    );
    const authorization = String(request.headers.authorization);
    const date = String(request.headers['x-amz-date']).slice(0, 8);
    expect(authorization).toMatch(
      new RegExp(
        `^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${date}/${REGION}/sts/aws4_request, SignedHeaders=[a-z0-9;-]*\\bhost\\b[a-z0-9;-]*, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(request.headers['x-amz-content-sha256']).toBe(sha256Hex(request.body));
    expect(authorization.endsWith(`Signature=${headerSignature(request, SECRET_KEY, REGION, 'sts')}`)).toBe(true);
    expect(authorization).not.toContain(SECRET_KEY);

    expect(token.value).toBe(issuedToken);
    expect(token.expiresAt).toBe(expiration.getTime());
    expect(token.principal).toBe(ROLE_ARN);
    expect(provider.describe()).toBe(`AWS STS GetWebIdentityToken for kafka.example.com at ${server.url}`);
    expect(inspect(provider)).not.toContain(SECRET_KEY);
    expect(JSON.stringify(provider)).not.toContain(SECRET_KEY);
  });

  it('sends every audience, ES384 and the duration asked for; signs the session token', async () => {
    await awsStsWebIdentity({
      ...options(),
      audience: ['kafka.example.com', 'schema-registry.example.com'],
      signingAlgorithm: 'ES384',
      durationSeconds: 900,
      credentials: async () => ({
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: SECRET_KEY,
        sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE',
      }),
    }).token();
    const request = server.requests[0]!;
    expect(request.body).toBe(
      'Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=kafka.example.com' +
        '&Audience.member.2=schema-registry.example.com&SigningAlgorithm=ES384&DurationSeconds=900',
    );
    expect(request.headers['x-amz-security-token']).toBe('IQoJb3JpZ2luX2VjEXAMPLE');
    expect(String(request.headers.authorization)).toContain('Credential=ASIAEXAMPLE/');
    expect(String(request.headers.authorization)).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
    expect(
      String(request.headers.authorization).endsWith(
        `Signature=${headerSignature(request, SECRET_KEY, REGION, 'sts')}`,
      ),
    ).toBe(true);
  });

  it('403 OutboundWebIdentityFederationDisabled: a TOKEN_ENDPOINT error saying how to enable it, no secret', async () => {
    // The brief's code and the SDK model's code (with the Exception suffix) must read the same.
    for (const code of ['OutboundWebIdentityFederationDisabled', 'OutboundWebIdentityFederationDisabledException']) {
      respond = () => ({
        status: 403,
        headers: { 'content-type': 'text/xml', 'x-amzn-RequestId': '4f1a2b3c-0000-0000-0000-000000000403' },
        body:
          '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">\n' +
          '  <Error>\n    <Type>Sender</Type>\n' +
          `    <Code>${code}</Code>\n` +
          '    <Message>The outbound web identity federation feature is not enabled for this account.</Message>\n' +
          '  </Error>\n  <RequestId>4f1a2b3c-0000-0000-0000-000000000403</RequestId>\n</ErrorResponse>\n',
      });
      const error = await rejectionOf(awsStsWebIdentity(options()).token());
      expect(error, code).toMatchObject({
        name: 'StreamAppError',
        code: 'STREAM_APP_ERR_TOKEN_ENDPOINT',
        retriable: false,
        details: {
          status: 403,
          error: 'OutboundWebIdentityFederationDisabled',
          requestId: '4f1a2b3c-0000-0000-0000-000000000403',
        },
      });
      expect(error.message).toBe(
        `STS GetWebIdentityToken at ${server.url} was refused: HTTP 403 OutboundWebIdentityFederationDisabled (Sender): ` +
          'The outbound web identity federation feature is not enabled for this account. Enable outbound identity federation ' +
          'for the AWS account once (IAM EnableOutboundWebIdentityFederation: `aws iam enable-outbound-web-identity-federation`) ' +
          'and trust the issuer URL it returns at the broker.',
      );
      expect(inspect(error)).not.toContain(SECRET_KEY);
    }
    expect(server.requests).toHaveLength(2);
  });

  it('an unreachable endpoint is IDP_UNREACHABLE and retriable', async () => {
    const error = await rejectionOf(
      awsStsWebIdentity({ ...options(), endpoint: 'http://127.0.0.1:9', maxAttempts: 1 }).token(),
    );
    expect(error).toMatchObject({ code: 'STREAM_APP_ERR_IDP_UNREACHABLE', retriable: true });
    expect(error.message).toContain('STS at http://127.0.0.1:9 could not be reached');
  });

  it('refuses a missing audience, a wrong algorithm, a duration out of range before any request', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...options(), audience: '' }, 'INVALID_OPTIONS', /audience is required/],
      [{ ...options(), audience: [] }, 'INVALID_OPTIONS', /audience is required/],
      [{ ...options(), audience: undefined }, 'INVALID_OPTIONS', /audience is required/],
      [{ ...options(), signingAlgorithm: 'HS256' }, 'INVALID_OPTIONS', /signingAlgorithm must be 'RS256' or 'ES384'/],
      [{ ...options(), signingAlgorithm: undefined }, 'INVALID_OPTIONS', /signingAlgorithm must be/],
      [{ ...options(), durationSeconds: 59 }, 'INVALID_OPTIONS', /from 60 to 3600, not 59/],
      [{ ...options(), durationSeconds: 3601 }, 'INVALID_OPTIONS', /from 60 to 3600/],
      [{ ...options(), durationSeconds: 90.5 }, 'INVALID_OPTIONS', /whole number/],
      [{ ...options(), region: 'aws-global' }, 'INVALID_OPTIONS', /not on the global endpoint/],
      [{ ...options(), region: undefined }, 'INVALID_OPTIONS', /region is required/],
      [
        { ...options(), credentials: { accessKeyId: ACCESS_KEY } },
        'INVALID_OPTIONS',
        /needs accessKeyId and secretAccessKey/,
      ],
      [{ ...options(), allowInsecureLoopback: false }, 'INSECURE_URL', /plain HTTP/],
    ];
    for (const [given, code, message] of cases) {
      const error = thrownBy(() => awsStsWebIdentity(given as Parameters<typeof awsStsWebIdentity>[0]));
      expect(error, String(message)).toMatchObject({ code: `STREAM_APP_ERR_${code}` });
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(SECRET_KEY);
    }
    expect(server.requests).toHaveLength(0);
  });
});
