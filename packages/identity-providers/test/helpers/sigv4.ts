// AWS Signature Version 4, written from the AWS documentation ("Create a signed
// AWS API request": canonical request, string to sign, signing key, signature),
// so that tests can check the signatures the SDKs produce with node:crypto.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** RFC 3986 percent-encoding, as SigV4 wants it. */
export const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function signature(options: {
  secretAccessKey: string;
  amzDate: string;
  region: string;
  service: string;
  canonicalRequest: string;
}): string {
  const date = options.amzDate.slice(0, 8);
  const scope = `${date}/${options.region}/${options.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', options.amzDate, scope, sha256Hex(options.canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${options.secretAccessKey}`, date), options.region), options.service),
    'aws4_request',
  );
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

export function canonicalQuery(params: Iterable<[string, string]>): string {
  return [...params]
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** The signature of a presigned GET URL (query-string authentication), from scratch. */
export function presignedUrlSignature(url: URL, secretAccessKey: string, region: string, service: string): string {
  const amzDate = url.searchParams.get('X-Amz-Date') ?? '';
  // Everything but the signature is signed (a parameter appended after signing must be left out too).
  const query = canonicalQuery(
    [...url.searchParams].filter(([name]) => name !== 'X-Amz-Signature' && name !== 'User-Agent'),
  );
  const canonicalRequest = ['GET', url.pathname, query, `host:${url.host}\n`, 'host', sha256Hex('')].join('\n');
  return signature({ secretAccessKey, amzDate, region, service, canonicalRequest });
}

/** The signature of a request signed in its Authorization header, from what the server received. */
export function headerSignature(
  request: { method: string; path: string; query: URLSearchParams; headers: IncomingHttpHeaders; body: string },
  secretAccessKey: string,
  region: string,
  service: string,
): string {
  const authorization = String(request.headers.authorization ?? '');
  const signed = /SignedHeaders=([^,\s]+)/.exec(authorization)?.[1]?.split(';') ?? [];
  const canonicalHeaders = signed
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [
    request.method,
    request.path,
    canonicalQuery(request.query),
    canonicalHeaders,
    signed.join(';'),
    sha256Hex(request.body),
  ].join('\n');
  return signature({
    secretAccessKey,
    amzDate: String(request.headers['x-amz-date']),
    region,
    service,
    canonicalRequest,
  });
}
