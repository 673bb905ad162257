import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openPkcs12 } from '../../src/fiscal/pkcs12.js';
import { isTenantGateError } from '../../src/errors/tenantgate-error.js';

const certs = new URL('../../fixtures/cis/certs/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, certs));
const ISSUER = 'CN=TenantGate Demo Fiscal CA,O=TenantGate Test,C=HR';

function refusal(run: () => unknown) {
  try {
    run();
  } catch (error) {
    if (isTenantGateError(error, 'CERTIFICATE_INVALID')) return error;
    throw error;
  }
  throw new Error('expected CERTIFICATE_INVALID');
}

describe('PKCS#12 files of the fixture', () => {
  const cases = [
    {
      name: 'modern AES with a chain (tenant a)',
      p12: 'tenant-a.p12',
      password: 'demo-pass-A',
      crt: 'tenant-a.crt',
      oib: '12345678903',
      serial: '8193',
      chain: 1,
    },
    {
      name: 'legacy RC2/3DES, OIB inside O (tenant b)',
      p12: 'tenant-b-legacy.p12',
      password: 'demo-pass-B',
      crt: 'tenant-b.crt',
      oib: '98765432198',
      serial: '8194',
      chain: 1,
    },
    {
      name: 'non-ASCII password (tenant a)',
      p12: 'tenant-a-utf8-password.p12',
      password: 'Šifra-čćž-2026',
      crt: 'tenant-a.crt',
      oib: '12345678903',
      serial: '8193',
      chain: 0,
    },
    {
      name: 'expired certificate (tenant c)',
      p12: 'tenant-c-expired.p12',
      password: 'demo-pass-C',
      crt: 'tenant-c-expired.crt',
      oib: '24715430428',
      serial: '8195',
      chain: 0,
    },
  ];

  describe.each(cases)('$name', (c) => {
    const opened = openPkcs12(file(c.p12), c.password);

    it('picks the key’s own certificate out of the chain', () => {
      const expected = new X509Certificate(file(c.crt));
      expect(opened.certificateDer.equals(expected.raw)).toBe(true);
      expect(opened.chainDer).toHaveLength(c.chain);
      expect(expected.checkPrivateKey(opened.privateKey)).toBe(true);
    });

    it('reads OIB, issuer (RFC 2253), decimal serial and expiry', () => {
      const expected = new X509Certificate(file(c.crt));
      expect(opened.info.oib).toBe(c.oib);
      expect(opened.info.issuer).toBe(ISSUER);
      expect(opened.info.serialDecimal).toBe(c.serial);
      expect(opened.info.notAfter.getTime()).toBe(
        new Date(expected.validTo).getTime(),
      );
    });
  });

  it('reads the subject as RFC 2253, organizationIdentifier included', () => {
    const { info } = openPkcs12(file('tenant-a.p12'), 'demo-pass-A');
    expect(info.subject).toBe(
      'serialNumber=HR12345678903,CN=FISKAL 1,' +
        'organizationIdentifier=VATHR-12345678903,O=Alpha d.o.o.,C=HR',
    );
  });

  it('refuses a certificate without an OIB, naming the rule', () => {
    const error = refusal(() =>
      openPkcs12(file('tenant-d-no-oib.p12'), 'demo-pass-D'),
    );
    expect(error.details).toMatchObject({
      field: 'certificate',
      rule: 'subject-has-oib',
    });
  });

  it('refuses a wrong password without echoing it', () => {
    const error = refusal(() =>
      openPkcs12(file('tenant-a.p12'), 'not-the-password'),
    );
    expect(error.details.rule).toBe('password');
    expect(JSON.stringify(error)).not.toContain('not-the-password');
  });

  it('refuses bytes that are not a PKCS#12 file', () => {
    const error = refusal(() => openPkcs12(file('tenant-a.crt'), 'x'));
    expect(error.details.field).toBe('certificate');
  });
});
