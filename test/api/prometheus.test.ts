import { expect, it } from 'vitest';
import { describeEachDatabase } from '../support/databases.js';
import { companyWithAccount, invoiceFor } from '../support/platform.js';
import { useApi } from './api-fixture.js';

describeEachDatabase('HTTP API /metrics', ({ db }) => {
  const h = useApi(db);

  it('exposes the ledger in the Prometheus format without tenant labels', async () => {
    const tenant = await companyWithAccount(h().platform);
    await h().platform.outbound.send({
      companyId: tenant.company.id,
      ublXml: invoiceFor(tenant),
    });

    const answer = await h().call('GET', '/metrics', {
      token: h().operatorToken,
    });

    expect(answer.status).toBe(200);
    expect(answer.text).toMatch(
      /tenantgate_operations_total\{[^}]*operation="EINVOICE_SEND"[^}]*path="V2"[^}]*\} [1-9]/,
    );
    expect(answer.text).not.toContain(tenant.company.id);
  });

  it('refuses a scrape without an operator key', async () => {
    const answer = await h().call('GET', '/metrics', {});
    expect(answer.status).toBe(401);
  });
});
