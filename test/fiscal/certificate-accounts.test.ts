import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { AccountService } from '../../src/accounts/account-service.js';
import { CompanyService } from '../../src/companies/company-service.js';
import { isTenantGateError } from '../../src/errors/tenantgate-error.js';
import { createLogger } from '../../src/logging/logger.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { describeEachDatabase } from '../support/databases.js';
import { CapturedLogs } from '../support/platform.js';

const certs = new URL('../../fixtures/cis/certs/', import.meta.url);
const file = (name: string) => readFileSync(new URL(name, certs));
const OIB_A = '12345678903';
const OIB_B = '98765432198';
const OIB_C = '24715430428';

async function refusal(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isTenantGateError(error)) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

describeEachDatabase('FISCALIZATION_CIS accounts from PKCS#12', (ctx) => {
  const logs = new CapturedLogs();
  let accounts: AccountService;
  let vault: Vault;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const db = ctx.db();
    const logger = createLogger('debug', logs.stream);
    vault = new Vault(parseKeyList(`v1:${randomBytes(32).toString('base64')}`));
    accounts = new AccountService({ db, vault, logger });
    const companies = new CompanyService({ db, vault, logger });
    for (const [label, oib] of [
      ['a', OIB_A],
      ['b', OIB_B],
      ['c', OIB_C],
    ] as const) {
      const company = await companies.create({
        name: `Tenant ${label}`,
        oib,
        fiscalizationEnabled: true,
      });
      ids[label] = company.id;
    }
  });

  it('creates an ACTIVE account with the certificate metadata', async () => {
    const account = await accounts.createCertificateAccount({
      companyId: ids.a ?? '',
      environment: 'TEST',
      p12: file('tenant-a.p12'),
      password: 'demo-pass-A',
    });

    expect(account).toMatchObject({
      kind: 'FISCALIZATION_CIS',
      environment: 'TEST',
      status: 'ACTIVE',
      certOib: OIB_A,
      certSerial: '8193',
      certSubject: expect.stringContaining('VATHR-12345678903'),
    });
    expect(account.certNotAfter?.toISOString()).toBe(
      '2030-12-31T23:59:59.000Z',
    );
    expect(logs.text()).not.toContain('demo-pass-A');
  });

  it('accepts a legacy RC2/3DES file and a non-ASCII password', async () => {
    const legacy = await accounts.createCertificateAccount({
      companyId: ids.b ?? '',
      environment: 'TEST',
      p12: file('tenant-b-legacy.p12'),
      password: 'demo-pass-B',
    });
    const utf8 = await accounts.createCertificateAccount({
      companyId: ids.a ?? '',
      environment: 'PROD',
      p12: file('tenant-a-utf8-password.p12'),
      password: 'Šifra-čćž-2026',
    });

    expect(legacy.certOib).toBe(OIB_B);
    expect(utf8.certOib).toBe(OIB_A);
  });

  it('the sealed file opens for its account (accounts verify)', async () => {
    const [account] = (await accounts.list(ids.b)).filter(
      (a) => a.kind === 'FISCALIZATION_CIS',
    );
    const report = await accounts.verifyAll();

    expect(account).toBeDefined();
    expect(report.failed.map((f) => f.id)).not.toContain(account?.id);
  });

  it('marks an account with an expired certificate EXPIRED', async () => {
    const account = await accounts.createCertificateAccount({
      companyId: ids.c ?? '',
      environment: 'TEST',
      p12: file('tenant-c-expired.p12'),
      password: 'demo-pass-C',
    });

    expect(account.status).toBe('EXPIRED');
    expect(account.certNotAfter?.toISOString()).toBe(
      '2025-01-01T00:00:00.000Z',
    );
  });

  it('refuses a certificate of another OIB before storing', async () => {
    const error = await refusal(
      accounts.createCertificateAccount({
        companyId: ids.b ?? '',
        environment: 'PROD',
        p12: file('tenant-a.p12'),
        password: 'demo-pass-A',
      }),
    );

    expect(error.code).toBe('CERTIFICATE_INVALID');
    expect(error.details).toMatchObject({ rule: 'oib-matches-company' });
    expect(
      (await accounts.list(ids.b)).filter((a) => a.environment === 'PROD'),
    ).toHaveLength(0);
  });

  it('refuses a certificate without an OIB', async () => {
    const error = await refusal(
      accounts.createCertificateAccount({
        companyId: ids.b ?? '',
        environment: 'PROD',
        p12: file('tenant-d-no-oib.p12'),
        password: 'demo-pass-D',
      }),
    );

    expect(error.details).toMatchObject({
      field: 'certificate',
      rule: 'subject-has-oib',
    });
  });

  it('refuses a second account for the same environment', async () => {
    const error = await refusal(
      accounts.createCertificateAccount({
        companyId: ids.a ?? '',
        environment: 'TEST',
        p12: file('tenant-a.p12'),
        password: 'demo-pass-A',
      }),
    );

    expect(error.code).toBe('ACCOUNT_EXISTS');
  });

  it('rotates to a new file, refusing one of another OIB', async () => {
    const [account] = (await accounts.list(ids.a)).filter(
      (a) => a.environment === 'TEST',
    );
    const id = account?.id ?? '';

    const rotated = await accounts.rotateCertificate(
      ids.a ?? '',
      id,
      file('tenant-a-utf8-password.p12'),
      'Šifra-čćž-2026',
    );
    const error = await refusal(
      accounts.rotateCertificate(
        ids.a ?? '',
        id,
        file('tenant-b-legacy.p12'),
        'demo-pass-B',
      ),
    );

    expect(rotated.rotatedAt).not.toBeNull();
    expect(error.details.rule).toBe('oib-matches-company');
  });
});
