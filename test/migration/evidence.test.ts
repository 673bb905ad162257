import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import {
  collectEvidence,
  writeEvidence,
} from '../../src/migration/evidence.js';
import { provision } from '../../src/migration/provision.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  freshVault,
  insertInvoices,
  legacyCompany,
  silentLogger,
} from './helpers.js';

const vault = freshVault();

describeEachDatabase('migration evidence', ({ db }) => {
  it('counts invoices by status and link, accounts by kind and provenance, legacy credentials', async () => {
    const company = await legacyCompany(db(), vault);
    await insertInvoices(db(), company.id, { count: 3 });
    await insertInvoices(db(), company.id, { count: 2, status: 'DRAFT' });
    await provision(
      { db: db(), vault, logger: silentLogger },
      { apply: true, accountEnvironment: 'TEST' },
    );

    const evidence = await collectEvidence(db(), 'before');

    expect(evidence.einvoices).toContainEqual({
      status: 'SENT',
      linked: 0,
      unlinked: expect.any(Number),
    });
    expect(evidence.companies.withLegacyKey).toBeGreaterThanOrEqual(1);
    expect(evidence.accounts).toContainEqual(
      expect.objectContaining({
        kind: 'EINVOICE_EPOSLOVANJE',
        status: 'ACTIVE',
        provisioned: expect.any(Number),
      }),
    );
    expect(evidence.byCompany).toContainEqual({
      companyId: company.id,
      unlinkedServed: 3,
    });
  });

  it('writes the same evidence as JSON and Markdown, and refuses a label that is not a file name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'evidence-'));
    const evidence = await collectEvidence(db(), 'after');

    const paths = writeEvidence(dir, evidence);

    expect(JSON.parse(readFileSync(paths.json, 'utf8'))).toEqual(evidence);
    const markdown = readFileSync(paths.markdown, 'utf8');
    expect(markdown).toContain('# Migration evidence: after');
    expect(markdown).toContain('## E-invoices by status');
    expect(() =>
      writeEvidence(dir, { ...evidence, label: '../escape' }),
    ).toThrow(/label/);
  });
});
