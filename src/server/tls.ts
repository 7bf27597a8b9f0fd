// The serving certificate for secure metrics: tls.crt and tls.key from a directory (cert-manager's
// Secret layout), or else a self-signed one made at start-up, as controller-runtime does.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface ServingCert {
  cert: string;
  key: string;
  selfSigned: boolean;
}

export async function servingCert(certDir: string | undefined): Promise<ServingCert> {
  if (certDir && existsSync(join(certDir, 'tls.crt'))) {
    return {
      cert: readFileSync(join(certDir, 'tls.crt'), 'utf8'),
      key: readFileSync(join(certDir, 'tls.key'), 'utf8'),
      selfSigned: false,
    };
  }
  const name = hostname();
  // Loaded only when needed: the X.509 and ASN.1 code it brings is a few MiB the operator would
  // otherwise hold for nothing (a bundle chunk of its own).
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: name },
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private, selfSigned: true };
}
