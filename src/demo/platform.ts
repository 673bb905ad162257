import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TenantGate } from '../app.js';
import { completeOib } from '../companies/oib.js';
import { isTenantGateError } from '../errors/tenantgate-error.js';
import type { EposlovanjeSimulator } from '../sandbox/eposlovanje-simulator.js';

const SAMPLES_DIR = fileURLToPath(
  new URL('../../fixtures/hr-einvoice-samples/', import.meta.url),
);

/** The dummy seller OIB of the official samples. */
const SAMPLE_SELLER_OIB = '12345678901';

type Setup = 'legacy' | 'account' | 'both' | 'nothing';

interface DemoTenant {
  id: string;
  name: string;
  oib: string;
  setup: Setup;
}

/**
 * The demo platform: one tenant still on a legacy key, one migrated,
 * one with both, one misconfigured (entitled, no credentials at all).
 */
export const DEMO_TENANTS: DemoTenant[] = [
  { id: 'demo-jadran', name: 'Jadran Legacy d.o.o.', setup: 'legacy' },
  { id: 'demo-sava', name: 'Sava Migrated d.o.o.', setup: 'account' },
  { id: 'demo-drava', name: 'Drava Both d.o.o.', setup: 'both' },
  { id: 'demo-kupa', name: 'Kupa Misconfigured d.o.o.', setup: 'nothing' },
].map((t, i) => ({
  ...t,
  setup: t.setup as Setup,
  oib: completeOib(`9${String(i + 1).padStart(9, '0')}`),
}));

/** Demo-only API keys; real ones come from the intermediary. */
export function demoApiKey(companyId: string): string {
  return `demo-eposlovanje-key-${companyId}`;
}

export interface DemoSendSummary {
  attempted: number;
  sent: number;
  alreadyDone: number;
  failed: { companyId: string; document: string; code: string }[];
}

/** Creates what is missing of the demo platform. Idempotent. */
export async function seedDemoPlatform(app: TenantGate): Promise<number> {
  let created = 0;
  for (const tenant of DEMO_TENANTS) {
    const existing = await app.companies.findByOib(tenant.oib);
    if (existing) continue;
    await app.companies.create({
      id: tenant.id,
      name: tenant.name,
      oib: tenant.oib,
      eInvoicingEnabled: true,
      fiscalizationEnabled: tenant.setup === 'nothing',
      eInvoiceKind: tenant.setup === 'legacy' ? null : 'EINVOICE_EPOSLOVANJE',
    });
    if (tenant.setup === 'legacy' || tenant.setup === 'both') {
      await app.companies.setLegacyEInvoiceKey(
        tenant.id,
        'eposlovanje',
        demoApiKey(tenant.id),
      );
    }
    if (tenant.setup === 'account' || tenant.setup === 'both') {
      await app.accounts.create({
        companyId: tenant.id,
        kind: 'EINVOICE_EPOSLOVANJE',
        environment: app.settings.accountEnvironment,
        secret: demoApiKey(tenant.id),
      });
    }
    created++;
  }
  return created;
}

export function registerDemoKeys(simulator: EposlovanjeSimulator): void {
  for (const tenant of DEMO_TENANTS) {
    simulator.registerKey(demoApiKey(tenant.id), tenant.oib);
  }
}

/**
 * The official samples, with the seller mapped onto a tenant's OIB and
 * the 2025 dates moved to 2026: the CIUS accepts no issue date before
 * 2026-01-01 (HR-BR-40), and the samples were published before that.
 */
export function samplesFor(oib: string): { name: string; xml: string }[] {
  return readdirSync(SAMPLES_DIR)
    .filter((f) => f.endsWith('.xml'))
    .sort()
    .map((name) => ({
      name,
      xml: readFileSync(SAMPLES_DIR + name, 'utf8')
        .replaceAll(SAMPLE_SELLER_OIB, oib)
        .replaceAll(/>2025-(\d\d-\d\d)</g, '>2026-$1<'),
    }));
}

/**
 * Sends every official sample for the legacy tenant (V1) and the
 * migrated one (V2), one sample for the tenant with both, and one for
 * the misconfigured tenant (refused, kept as ERROR). A document already
 * stored is not submitted again.
 */
export async function sendDemoTraffic(
  app: TenantGate,
): Promise<DemoSendSummary> {
  const summary: DemoSendSummary = {
    attempted: 0,
    sent: 0,
    alreadyDone: 0,
    failed: [],
  };
  for (const tenant of DEMO_TENANTS) {
    const samples = samplesFor(tenant.oib);
    const documents =
      tenant.setup === 'legacy' || tenant.setup === 'account'
        ? samples
        : samples.slice(0, 1);
    for (const doc of documents) {
      const key = `demo:${doc.name}`;
      if (await app.outbound.findByKey(tenant.id, key)) {
        summary.alreadyDone++;
        continue;
      }
      summary.attempted++;
      try {
        await app.outbound.send({
          companyId: tenant.id,
          ublXml: doc.xml,
          idempotencyKey: key,
          origin: 'user',
          actor: 'demo',
        });
        summary.sent++;
      } catch (error) {
        if (!isTenantGateError(error)) throw error;
        summary.failed.push({
          companyId: tenant.id,
          document: doc.name,
          code: error.code,
        });
      }
    }
  }
  return summary;
}
