// A throwaway self-signed certificate made by the openssl command line, so
// that tests can check thumbprints against a tool other than node:crypto.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  certificatePem: string;
  /** `openssl x509 -fingerprint -sha256`, as base64url: what Entra ID calls x5t#S256. */
  sha256Thumbprint: string;
  /** The SHA-1 fingerprint as base64url (x5t). */
  sha1Thumbprint: string;
}

export function makeSelfSignedCertificate(subject = '/CN=stream-app test client'): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'stream-app-cert-'));
  try {
    const run = (...args: string[]) =>
      execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');
    run(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      subject,
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
    );
    const fingerprint = (digest: string) => {
      const line = run('x509', '-in', 'cert.pem', '-noout', '-fingerprint', `-${digest}`);
      const hex = line.trim().split('=')[1]?.replace(/:/g, '') ?? '';
      return Buffer.from(hex, 'hex').toString('base64url');
    };
    return {
      privateKeyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
      certificatePem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      sha256Thumbprint: fingerprint('sha256'),
      sha1Thumbprint: fingerprint('sha1'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
