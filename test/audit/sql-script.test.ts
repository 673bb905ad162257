import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { runAudit } from '../../src/audit/audit.js';
import type { AuditReport } from '../../src/audit/report.js';
import { operator } from '../../src/db/database.js';
import { insertCompany } from '../support/builders.js';
import {
  BROKEN_ENVELOPE,
  insertAccount,
  insertActiveAccountWithoutSecret,
  insertEInvoice,
  insertFiscalRequest,
  insertLegacyInboxCursor,
  insertProviderSyncState,
  insertReadyCompany,
  resetAuditTables,
  testSecretProbe,
} from '../support/audit-builders.js';
import { describeEachDatabase } from '../support/databases.js';

const SCRIPT = readFileSync(
  new URL('../../scripts/audit-integration-state.sql', import.meta.url),
  'utf8',
);
const DEFAULT_ENVIRONMENT = "SELECT 'TEST'::text AS account_environment";

interface ScriptRow {
  check_id: string;
  status: string;
  count: number;
  samples: string;
}

describeEachDatabase('scripts/audit-integration-state.sql', ({ db }) => {
  beforeEach(() => resetAuditTables(db()));

  async function runScript(environment: 'TEST' | 'PROD') {
    const sql = SCRIPT.replace(
      DEFAULT_ENVIRONMENT,
      `SELECT '${environment}'::text AS account_environment`,
    );
    return db().transaction(operator, (tx) => tx.query<ScriptRow>(sql));
  }

  /** The audit's rows as the script prints them (minus the vault check). */
  function asScriptRows(report: AuditReport): ScriptRow[] {
    return report.checks
      .filter((c) => c.id !== 'account.active_secret_unreadable')
      .map((c) => ({
        check_id: c.id,
        status: c.status === 'READY' ? 'READY' : 'NOT READY',
        count: c.count,
        samples: c.samples.join(', '),
      }));
  }

  async function expectAgreement(environment: 'TEST' | 'PROD') {
    const report = await runAudit(db(), {
      accountEnvironment: environment,
      secretProbe: testSecretProbe,
    });
    const rows = await runScript(environment);
    expect(rows).toEqual(asScriptRows(report));
    return rows;
  }

  it('defaults to the TEST account environment', () => {
    expect(SCRIPT).toContain(DEFAULT_ENVIRONMENT);
  });

  it('says READY on every row of a clean database', async () => {
    await insertReadyCompany(db());

    const rows = await expectAgreement('TEST');

    expect(rows).toHaveLength(8);
    expect(rows.every((r) => r.status === 'READY')).toBe(true);
  });

  it('agrees with runAudit on every check of a broken database', async () => {
    await insertBrokenState();

    const test = await expectAgreement('TEST');
    await expectAgreement('PROD');

    expect(test.filter((r) => r.status === 'NOT READY')).toHaveLength(8);
  });

  it('does not count a legacy inbox cursor (no account) as linked to a missing account', async () => {
    const { companyId } = await insertReadyCompany(db());
    await insertLegacyInboxCursor(db(), companyId);

    const rows = await expectAgreement('TEST');

    expect(rows.every((r) => r.status === 'READY')).toBe(true);
  });

  /** At least one violation of every check, some of them twice. */
  async function insertBrokenState(): Promise<void> {
    const a = await insertReadyCompany(db());
    const b = await insertReadyCompany(db());
    const companyId = a.companyId;
    const legacy = { legacy: true };
    await insertEInvoice(db(), { companyId, status: 'ACCEPTED' });
    await insertFiscalRequest(db(), { companyId });
    await insertCompany(db(), { fiscalizationEnabled: true });
    const prodCis = await insertCompany(db(), { fiscalizationEnabled: true });
    await insertAccount(db(), {
      companyId: prodCis.id,
      kind: 'FISCALIZATION_CIS',
      environment: 'PROD',
    });
    await insertCompany(db(), {
      eInvoicingEnabled: true,
      eInvoiceKind: 'EINVOICE_IE_RACUNI',
    });
    await insertEInvoice(
      db(),
      { companyId, integrationAccountId: b.fina.id },
      legacy,
    );
    await insertProviderSyncState(db(), {
      companyId,
      integrationAccountId: a.cis.id,
    });
    await insertFiscalRequest(
      db(),
      { companyId, integrationAccountId: 'acct_gone' },
      legacy,
    );
    await insertActiveAccountWithoutSecret(db(), {
      companyId: b.companyId,
      kind: 'EINVOICE_MOJ_ERACUN',
    });
    await insertAccount(db(), {
      companyId: b.companyId,
      kind: 'EINVOICE_EPOSLOVANJE',
      secretEnvelope: `${BROKEN_ENVELOPE}x`,
    });
  }
});

describe('scripts/audit-integration-state.sql as a file', () => {
  it('is one read-only statement that psql can run as is', () => {
    const code = SCRIPT.split('\n')
      .filter((line) => !line.trimStart().startsWith('--'))
      .join('\n');

    expect(code.trim().endsWith(';')).toBe(true);
    expect(code.trim().slice(0, -1)).not.toContain(';');
    expect(code).not.toMatch(/\b(INSERT|UPDATE|DELETE|ALTER|DROP)\b/i);
    // no psql variables (:name, :'name') and no bind parameters ($1)
    expect(code).not.toMatch(/(?<![:\w]):'?[A-Za-z_]|\$\d/);
  });
});
