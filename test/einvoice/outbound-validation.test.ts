import { expect, it } from 'vitest';
import { operator } from '../../src/db/database.js';
import { OutboundService } from '../../src/einvoice/outbound.js';
import { createInvoiceValidator } from '../../src/einvoice/rules/validate.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  documentsFrom,
  eventsOf,
  invoiceFor,
  usePlatform,
  type Platform,
} from '../support/platform.js';

/** The outbound service as the application wires it: validating. */
function validating(p: Platform): OutboundService {
  return new OutboundService({
    db: p.db,
    gate: p.gate,
    intermediaries: p.intermediaries,
    validator: createInvoiceValidator(),
  });
}

describeEachDatabase('outbound validation', ({ db }) => {
  const platform = usePlatform(db);

  it('sends a valid document after checking schema and rules', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const xml = invoiceFor(tenant).replaceAll(
      />2025-(\d\d-\d\d)</g,
      '>2026-$1<',
    );

    const outcome = await validating(p).send({
      companyId: tenant.company.id,
      ublXml: xml,
    });

    expect(outcome.invoice.status).toBe('SENT');
    expect(documentsFrom(p, tenant)).toHaveLength(1);
  });

  it('never sends an invalid document and keeps it with its findings', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    // Dated 2025: the Croatian CIUS refuses it (HR-BR-40).
    const xml = invoiceFor(tenant);

    const error = await validating(p)
      .send({ companyId: tenant.company.id, ublXml: xml })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TenantGateError);
    expect((error as TenantGateError).code).toBe('EINVOICE_INVALID');
    expect((error as TenantGateError).details.rule).toBe('HR-BR-40');
    expect(documentsFrom(p, tenant)).toHaveLength(0);
    expect(await eventsOf(p, tenant.company.id)).toHaveLength(0);
    const rows = await p.db.transaction(operator, (tx) =>
      tx.query<{ status: string; lastError: { code: string } }>(
        'SELECT status, "lastError" FROM "EInvoice" WHERE "companyId" = $1',
        [tenant.company.id],
      ),
    );
    expect(rows).toEqual([
      expect.objectContaining({
        status: 'ERROR',
        lastError: expect.objectContaining({ code: 'EINVOICE_INVALID' }),
      }),
    ]);
  });
});
