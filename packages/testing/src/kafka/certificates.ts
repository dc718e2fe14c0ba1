import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BrokerCertificates {
  /** PEM of the CA that signed the broker's certificate: what clients trust. */
  caFile: string;
  /** PKCS#12 keystore with the broker's key and certificate for 127.0.0.1 / localhost. */
  keystoreFile: string;
  keystorePassword: string;
}

/** Makes a throwaway CA and a broker certificate for 127.0.0.1 and localhost with openssl. */
export function makeBrokerCertificates(dir: string, password: string): BrokerCertificates {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) =>
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=stream-app test CA',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    file('broker.key'),
    '-out',
    file('broker.csr'),
  );
  writeFileSync(file('broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(
    'x509',
    '-req',
    '-in',
    file('broker.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    file('broker.ext'),
    '-out',
    file('broker.pem'),
  );
  openssl(
    'pkcs12',
    '-export',
    '-in',
    file('broker.pem'),
    '-inkey',
    file('broker.key'),
    '-certfile',
    file('ca.pem'),
    '-name',
    'broker',
    '-passout',
    `pass:${password}`,
    '-out',
    file('broker.p12'),
  );
  return { caFile: file('ca.pem'), keystoreFile: file('broker.p12'), keystorePassword: password };
}
