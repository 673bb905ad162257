import { beforeEach, expect, it } from 'vitest';
import { operator, owner } from '../../src/db/database.js';
import {
  harden,
  rollbackHardening,
  type HardenReport,
} from '../../src/migration/harden.js';
import {
  insertAccount,
  insertEInvoice,
  insertFiscalRequest,
  resetAuditTables,
} from '../support/audit-builders.js';
import { insertCompany } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { silentLogger } from './helpers.js';

function stateOf(report: HardenReport, name: string) {
  const state = report.constraints.find((c) => c.name === name);
  if (!state) throw new Error(`no state for ${name}`);
  return state;
}

describeEachDatabase('hardening: invariants become constraints', ({ db }) => {
  const deps = () => ({ db: db(), logger: silentLogger });
  const run = (enforcementOn = true) =>
    harden(deps(), { enforcementOn, accountEnvironment: 'TEST' });

  beforeEach(async () => {
    await rollbackHardening(deps());
    await resetAuditTables(db());
  });

  it('validates every constraint at once on a clean database', async () => {
    const report = await run();

    expect(report.complete).toBe(true);
    expect(stateOf(report, 'EInvoice_issued_has_account')).toMatchObject({
      status: 'enforced',
      action: 'added-and-validated',
    });
    expect(stateOf(report, 'EInvoice_account_same_company').action).toBe(
      'none',
    );
  });

  it('adds the CHECK NOT VALID and keeps it pending while an issued invoice has no account', async () => {
    const company = await insertCompany(db());
    const orphan = await insertEInvoice(db(), { companyId: company.id });

    const report = await run();

    const state = stateOf(report, 'EInvoice_issued_has_account');
    expect(state).toMatchObject({ status: 'pending', action: 'added' });
    expect(state.why).toContain('einvoice.issued_without_account: 1 row');
    expect(state.why).toContain(orphan.id);
    expect(stateOf(report, 'FiscalRequest_success_has_account').status).toBe(
      'enforced',
    );
    await expect(
      insertEInvoice(db(), { companyId: company.id }),
    ).rejects.toThrow(/EInvoice_issued_has_account/);
  });

  it('validates the pending CHECK once the audit is clean', async () => {
    const company = await insertCompany(db());
    const account = await insertAccount(db(), {
      companyId: company.id,
      kind: 'EINVOICE_FINA',
    });
    const orphan = await insertEInvoice(db(), { companyId: company.id });
    await run();
    await db().transaction(operator, (tx) =>
      tx.query(
        `UPDATE "EInvoice" SET "integrationAccountId" = $2 WHERE id = $1`,
        [orphan.id, account.id],
      ),
    );

    const report = await run();

    expect(stateOf(report, 'EInvoice_issued_has_account')).toMatchObject({
      status: 'enforced',
      action: 'validated',
    });
  });

  it('does not add the row CHECKs while enforcement is off', async () => {
    const company = await insertCompany(db());

    const report = await run(false);

    const state = stateOf(report, 'FiscalRequest_success_has_account');
    expect(state).toMatchObject({ status: 'pending', action: 'none' });
    expect(state.why).toContain('enforcement is off');
    expect(report.complete).toBe(false);
    await insertFiscalRequest(db(), { companyId: company.id });
  });

  it('validates a composite foreign key of an adopted database only when no row crosses companies', async () => {
    const mine = await insertCompany(db());
    const theirs = await insertCompany(db());
    const foreign = await insertAccount(db(), {
      companyId: theirs.id,
      kind: 'EINVOICE_FINA',
    });
    await db().transaction(owner, (tx) =>
      tx.query(`ALTER TABLE "EInvoice"
        DROP CONSTRAINT "EInvoice_account_same_company",
        ADD CONSTRAINT "EInvoice_account_same_company"
          FOREIGN KEY ("companyId", "integrationAccountId")
          REFERENCES "IntegrationAccount" ("companyId", id) NOT VALID`),
    );
    const crossed = await insertEInvoice(
      db(),
      { companyId: mine.id, integrationAccountId: foreign.id },
      { legacy: true },
    );

    const dirty = await run();
    await db().transaction(operator, (tx) =>
      tx.query(
        `UPDATE "EInvoice" SET status = 'ERROR',
        "integrationAccountId" = NULL WHERE id = $1`,
        [crossed.id],
      ),
    );
    const clean = await run();

    expect(stateOf(dirty, 'EInvoice_account_same_company')).toMatchObject({
      status: 'pending',
      action: 'none',
    });
    expect(stateOf(dirty, 'EInvoice_account_same_company').why).toContain(
      'row.account_company_mismatch: 1 row',
    );
    expect(stateOf(clean, 'EInvoice_account_same_company')).toMatchObject({
      status: 'enforced',
      action: 'validated',
    });
  });

  it('rolls back only the constraints hardening added', async () => {
    await run();

    const rolledBack = await rollbackHardening(deps());
    const company = await insertCompany(db());
    await insertEInvoice(db(), { companyId: company.id });
    const again = await run(false);

    expect(rolledBack.constraints.map((c) => [c.name, c.action])).toEqual([
      ['EInvoice_issued_has_account', 'dropped'],
      ['FiscalRequest_success_has_account', 'dropped'],
    ]);
    expect(stateOf(again, 'EInvoice_account_same_company').status).toBe(
      'enforced',
    );
  });
});
