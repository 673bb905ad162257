/**
 * Fiskalizacija 2.0 reporting benchmark, all numbers from one run, for
 * one request of 100 e-invoices (the largest batch):
 *
 * 1. baseline: build the unsigned EvidentirajERacunZahtjev from records;
 * 2. read the 100 records from their stored UBL, then build;
 * 3. build + XAdES-B signature (through a vault signer);
 * 4. the round trip to the simulator over HTTPS (its schema check,
 *    signature verification and registers included), then the same
 *    with the simulator's schema check off (what that check costs).
 *
 * Each line prints its ratio to the baseline.
 *
 * Usage: npm run bench:reporting [-- --iterations 50] [-- --round-trips 5]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { packPkcs12 } from '../src/fiscal/pkcs12.js';
import { ReportingClient } from '../src/reporting/client.js';
import {
  buildEvidentirajERacun,
  invoiceReportFromUbl,
  type InvoiceReport,
} from '../src/reporting/messages/index.js';
import { signXades } from '../src/reporting/xades.js';
import { startFiskalizacija2Simulator } from '../src/sandbox/fiskalizacija2-simulator.js';
import { parseKeyList } from '../src/vault/key-ring.js';
import { Vault } from '../src/vault/vault.js';

const args = process.argv.slice(2);
const iterations = Number(valueOf('--iterations') ?? 50);
const roundTrips = Number(valueOf('--round-trips') ?? 5);
const BATCH = 100;
const CERTS = new URL('../fixtures/cis/certs/', import.meta.url);
const UBL = readFileSync(
  new URL(
    '../fixtures/hr-einvoice-samples/eRacun_PDV_NEOP_POVRATNA_NAKNADA_stavka.xml',
    import.meta.url,
  ),
  'utf8',
);

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

async function meanMs(runs: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.max(1, Math.floor(runs / 10)); i++) await fn();
  const start = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  return (performance.now() - start) / runs;
}

function tenantAInvoices(run: number): InvoiceReport[] {
  const base = invoiceReportFromUbl(UBL);
  return Array.from({ length: BATCH }, (_, i) => ({
    ...base,
    number: `B-${run}-${i}`,
    issueDate: '2026-02-01',
    issuer: {
      ...base.issuer,
      oib: '12345678903',
      operatorOib: '12345678903',
    },
    recipient: { ...base.recipient, oib: '98765432198' },
  }));
}

async function main(): Promise<void> {
  const vault = new Vault(
    parseKeyList(`v1:${randomBytes(32).toString('base64')}`),
  );
  const binding = {
    purpose: 'integration-account' as const,
    companyId: 'co_bench',
    accountId: 'acc_bench',
  };
  const envelope = vault.seal(
    packPkcs12(readFileSync(new URL('tenant-a.p12', CERTS)), 'demo-pass-A'),
    binding,
  );
  const signer = vault.signerFor(envelope, binding);
  const records = tenantAInvoices(0);
  const ubls = Array.from({ length: BATCH }, () => UBL);

  const build = () => buildEvidentirajERacun(records, { direction: 'I' });
  const baseline = await meanMs(iterations, build);
  const fromUbl = await meanMs(iterations, () =>
    buildEvidentirajERacun(
      ubls.map((u) => ({
        ...invoiceReportFromUbl(u),
        issueDate: '2026-02-01',
      })),
      { direction: 'I' },
    ),
  );
  const signed = await meanMs(iterations, () => signXades(build().xml, signer));

  let run = 0;
  const roundTripMs = async (schema: boolean) => {
    const sim = await startFiskalizacija2Simulator({ schema });
    const client = new ReportingClient({
      url: sim.url,
      ca: readFileSync(new URL('demo-ca.crt', CERTS)),
    });
    try {
      return await meanMs(roundTrips, async () => {
        run += 1;
        const result = await client.evidentirajERacun(
          tenantAInvoices(run),
          signer,
          { direction: 'I' },
        );
        if (!result.ok) throw new Error('the simulator refused the batch');
      });
    } finally {
      client.close();
      await sim.close();
    }
  };
  const roundTrip = await roundTripMs(true);
  const roundTripNoSchema = await roundTripMs(false);

  const line = (label: string, ms: number) =>
    console.log(
      `${label.padEnd(40)} ${ms.toFixed(2).padStart(9)} ms` +
        `  ${(ms / BATCH).toFixed(3).padStart(7)} ms/record` +
        `  ×${(ms / baseline).toFixed(1)}`,
    );
  console.log(`one request of ${BATCH} e-invoices (×: to the baseline)`);
  line('build (baseline)', baseline);
  line('read the UBL + build', fromUbl);
  line('build + XAdES-B signature', signed);
  line('round trip to the simulator (HTTPS)', roundTrip);
  line('the same, simulator schema check off', roundTripNoSchema);
}

await main();
