import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { servingCert } from './tls.js';

describe('the self-signed metrics certificate', () => {
  it('is a valid server certificate for localhost and 127.0.0.1, valid for a year', async () => {
    const { cert, key, selfSigned } = await servingCert(undefined);
    expect(selfSigned).toBe(true);
    expect(key).toContain('PRIVATE KEY');
    const x509 = new X509Certificate(cert);
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(new Date(x509.validTo).getTime()).toBeGreaterThan(Date.now() + 300 * 24 * 3600 * 1000);
  });
});
