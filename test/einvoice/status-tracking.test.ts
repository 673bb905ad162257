import { describe, expect, it } from 'vitest';
import {
  mapStatus,
  StatusTracker,
} from '../../src/einvoice/status-tracking.js';
import { describeEachDatabase } from '../support/databases.js';
import {
  companyWithAccount,
  companyWithLegacyKey,
  ENFORCED,
  eventsOf,
  invoiceFor,
  setFlags,
  type Platform,
  type Tenant,
  usePlatform,
} from '../support/platform.js';

function trackerOf(p: Platform): StatusTracker {
  return new StatusTracker({
    db: p.db,
    gate: p.gate,
    intermediaries: p.intermediaries,
    logger: p.logger,
  });
}

async function sent(p: Platform, tenant: Tenant) {
  const outcome = await p.outbound.send({
    companyId: tenant.company.id,
    ublXml: invoiceFor(tenant),
  });
  return outcome.invoice;
}

describe("each intermediary's status words", () => {
  it('maps ePoslovanje, Moj-eRačun, FINA and IE-Računi words to ours', () => {
    expect(mapStatus('EINVOICE_EPOSLOVANJE', 'DELIVERED')).toBe('DELIVERED');
    expect(mapStatus('EINVOICE_EPOSLOVANJE', 'accepted')).toBe('ACCEPTED');
    expect(mapStatus('EINVOICE_MOJ_ERACUN', '30')).toBe('SENT');
    expect(mapStatus('EINVOICE_MOJ_ERACUN', '40')).toBe('DELIVERED');
    expect(mapStatus('EINVOICE_MOJ_ERACUN', '50')).toBe('REJECTED');
    expect(mapStatus('EINVOICE_FINA', 'RECEIVING_CONFIRMED')).toBe('DELIVERED');
    expect(mapStatus('EINVOICE_FINA', 'APPROVED')).toBe('ACCEPTED');
    expect(mapStatus('EINVOICE_IE_RACUNI', 'REJECTED')).toBe('REJECTED');
  });

  it('guesses nothing for a word it does not know', () => {
    expect(mapStatus('EINVOICE_EPOSLOVANJE', 'ARCHIVED_BY_BUYER')).toBe(
      undefined,
    );
    expect(mapStatus('EINVOICE_MOJ_ERACUN', '99')).toBe(undefined);
  });
});

describeEachDatabase('status tracking', ({ db }) => {
  const platform = usePlatform(db);

  it('moves SENT to DELIVERED, then ACCEPTED, as the intermediary reports', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const invoice = await sent(p, tenant);
    const ref = String(invoice.providerRef);

    const unchanged = await trackerOf(p).refreshCompany(tenant.company.id);
    p.simulator.setStatus(ref, 'DELIVERED');
    const delivered = await trackerOf(p).refreshCompany(tenant.company.id);
    p.simulator.setStatus(ref, 'ACCEPTED');
    const accepted = await trackerOf(p).refreshCompany(tenant.company.id);
    const afterwards = await trackerOf(p).refreshCompany(tenant.company.id);

    expect(unchanged).toEqual([
      expect.objectContaining({ from: 'SENT', to: 'SENT', word: 'SENT' }),
    ]);
    expect(delivered).toEqual([
      expect.objectContaining({ from: 'SENT', to: 'DELIVERED' }),
    ]);
    expect(accepted).toEqual([
      expect.objectContaining({ from: 'DELIVERED', to: 'ACCEPTED' }),
    ]);
    // A final status is not polled again.
    expect(afterwards).toEqual([]);
    const row = await p.outbound.find(tenant.company.id, invoice.id);
    expect(row.status).toBe('ACCEPTED');
  });

  it('records REJECTED', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const invoice = await sent(p, tenant);
    p.simulator.setStatus(String(invoice.providerRef), 'REJECTED');

    await trackerOf(p).refresh(tenant.company.id, invoice.id);

    const row = await p.outbound.find(tenant.company.id, invoice.id);
    expect(row.status).toBe('REJECTED');
  });

  it('never moves a status backwards, nor on an unknown word', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const invoice = await sent(p, tenant);
    const ref = String(invoice.providerRef);
    p.simulator.setStatus(ref, 'DELIVERED');
    await trackerOf(p).refresh(tenant.company.id, invoice.id);

    p.simulator.setStatus(ref, 'SENT');
    const back = await trackerOf(p).refresh(tenant.company.id, invoice.id);
    p.simulator.setStatus(ref, 'SOMETHING_NEW');
    const unknown = await trackerOf(p).refresh(tenant.company.id, invoice.id);

    expect(back).toMatchObject({ from: 'DELIVERED', to: 'DELIVERED' });
    expect(unknown).toMatchObject({ to: 'DELIVERED', word: 'SOMETHING_NEW' });
    expect(p.logs.withEvent('einvoice.status_word_unknown')).toHaveLength(1);
    const row = await p.outbound.find(tenant.company.id, invoice.id);
    expect(row.status).toBe('DELIVERED');
  });

  it('polls through the gate as part of the send, on the sending account', async () => {
    const p = platform();
    const tenant = await companyWithAccount(p);
    const invoice = await sent(p, tenant);

    await trackerOf(p).refresh(tenant.company.id, invoice.id);

    const events = await eventsOf(p, tenant.company.id);
    expect(events.at(-1)).toMatchObject({
      operation: 'EINVOICE_SEND',
      outcome: 'SUCCESS',
      origin: 'worker',
      path: 'V2',
      integrationAccountId: tenant.account?.id,
      documentId: invoice.id,
    });
  });

  it('is refused by enforcement for a document sent with a legacy key', async () => {
    const p = platform();
    const tenant = await companyWithLegacyKey(p);
    const invoice = await sent(p, tenant);
    p.simulator.setStatus(String(invoice.providerRef), 'DELIVERED');
    setFlags(p, ENFORCED);

    const change = await trackerOf(p).refresh(tenant.company.id, invoice.id);

    expect(change).toMatchObject({
      to: 'SENT',
      error: { code: 'INTEGRATION_REQUIRED' },
    });
    expect((await eventsOf(p, tenant.company.id)).at(-1)).toMatchObject({
      outcome: 'BLOCKED',
      documentId: invoice.id,
    });
    const row = await p.outbound.find(tenant.company.id, invoice.id);
    expect(row.status).toBe('SENT');
  });
});
