import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { insertAccount } from '../../src/accounts/account-store.js';
import type { EInvoiceKind } from '../../src/accounts/kinds.js';
import { tenant } from '../../src/db/database.js';
import { createIntermediaryDirectory } from '../../src/einvoice/directory.js';
import { ieRacuniCredentials } from '../../src/einvoice/ie-racuni-client.js';
import { mojEracunCredentials } from '../../src/einvoice/moj-eracun-client.js';
import { OutboundService } from '../../src/einvoice/outbound.js';
import { packPkcs12 } from '../../src/fiscal/pkcs12.js';
import {
  startFinaSimulator,
  type FinaSimulator,
} from '../../src/sandbox/fina-simulator.js';
import {
  startIeRacuniSimulator,
  type IeRacuniSimulator,
} from '../../src/sandbox/ie-racuni-simulator.js';
import {
  startMojEracunSimulator,
  type MojEracunSimulator,
} from '../../src/sandbox/moj-eracun-simulator.js';
import { envelopeKeyVersion } from '../../src/vault/envelope.js';
import { randomOib } from '../support/builders.js';
import { describeEachDatabase } from '../support/databases.js';
import { registerSecret } from '../support/known-secrets.js';
import {
  ENFORCED,
  sampleFor,
  setFlags,
  usePlatform,
  type Platform,
} from '../support/platform.js';

// Each intermediary through the real gate and vault: the account's
// sealed secret (credential set or PKCS#12) is the only credential, and
// the gate hands the client its capability.

/** The OIB of the FINA test certificate (fixtures/fina). */
const FINA_OIB = '12345678903';
const P12_PASSWORD = 'fina-demo-pass';
registerSecret('FINA fixture PKCS#12 password', P12_PASSWORD);

describeEachDatabase(
  'sending on a tenant account, per intermediary',
  ({ db }) => {
    const platform = usePlatform(db);
    let moj: MojEracunSimulator;
    let ie: IeRacuniSimulator;
    let fina: FinaSimulator;
    let outbound: OutboundService;

    beforeAll(async () => {
      [moj, ie, fina] = await Promise.all([
        startMojEracunSimulator(),
        startIeRacuniSimulator(),
        startFinaSimulator(),
      ]);
      const p = platform();
      const intermediaries = createIntermediaryDirectory({
        softwareId: 'TenantGate-test',
        timeoutMs: 10_000,
        accountEnvironment: 'TEST',
        endpoints: {
          EINVOICE_MOJ_ERACUN: moj.url,
          EINVOICE_IE_RACUNI: ie.url,
          EINVOICE_FINA: fina.url,
        },
        serverCa: { EINVOICE_FINA: fina.serverCa },
      });
      outbound = new OutboundService({
        db: p.db,
        gate: p.gate,
        intermediaries,
      });
    });

    afterAll(async () => {
      await Promise.all([moj.close(), ie.close(), fina.close()]);
    });

    async function companyOn(p: Platform, kind: EInvoiceKind, oib: string) {
      return p.companies.create({
        name: `${kind} d.o.o.`,
        oib,
        eInvoicingEnabled: true,
        eInvoiceKind: kind,
      });
    }

    async function sendAndRead(p: Platform, companyId: string, oib: string) {
      setFlags(p, ENFORCED);
      const sent = await outbound.send({
        companyId,
        ublXml: sampleFor('eRacun_PDV25.xml', oib),
      });
      return outbound.find(companyId, sent.invoice.id);
    }

    it('Moj-eRačun: the credential set travels in the body', async () => {
      const p = platform();
      const oib = randomOib();
      const password = `pw-${randomBytes(8).toString('hex')}`;
      registerSecret('Moj-eRačun test password', password);
      const company = await companyOn(p, 'EINVOICE_MOJ_ERACUN', oib);
      moj.registerAccount({ username: `u-${oib}`, password, companyId: oib });
      const account = await p.accounts.create({
        companyId: company.id,
        kind: 'EINVOICE_MOJ_ERACUN',
        environment: 'TEST',
        secret: mojEracunCredentials({
          username: `u-${oib}`,
          password,
          companyId: oib,
        }),
      });

      const row = await sendAndRead(p, company.id, oib);

      const held = moj.documents().filter((d) => d.senderOib === oib);
      expect(held).toHaveLength(1);
      expect(row).toMatchObject({
        status: 'SENT',
        providerKind: 'EINVOICE_MOJ_ERACUN',
        providerRef: String(held[0]?.electronicId),
        integrationAccountId: account.id,
      });
    });

    it('IE-Računi: the credential set travels as headers', async () => {
      const p = platform();
      const oib = randomOib();
      const token = `tok-${randomBytes(8).toString('hex')}`;
      registerSecret('IE-Računi test token', token);
      const company = await companyOn(p, 'EINVOICE_IE_RACUNI', oib);
      ie.registerIntegrator('tenantgate', 'integrator-pw');
      ie.registerTenant(oib, token);
      const account = await p.accounts.create({
        companyId: company.id,
        kind: 'EINVOICE_IE_RACUNI',
        environment: 'TEST',
        secret: ieRacuniCredentials({
          username: 'tenantgate',
          password: 'integrator-pw',
          oib,
          token,
        }),
      });

      const row = await sendAndRead(p, company.id, oib);

      const imports = ie.imports().filter((i) => i.oib === oib);
      expect(imports).toHaveLength(1);
      expect(row).toMatchObject({
        status: 'SENT',
        providerKind: 'EINVOICE_IE_RACUNI',
        providerRef: imports[0]?.importId,
        integrationAccountId: account.id,
      });
    });

    it("FINA: the account's PKCS#12 gives mutual TLS and the signatures", async () => {
      const p = platform();
      const company = await companyOn(p, 'EINVOICE_FINA', FINA_OIB);
      fina.registerCompany(FINA_OIB);
      const accountId = `ia_${randomBytes(8).toString('hex')}`;
      const p12 = readFileSync(
        new URL('../../fixtures/fina/tenant-supplier.p12', import.meta.url),
      );
      const envelope = p.vault.seal(packPkcs12(p12, P12_PASSWORD), {
        purpose: 'integration-account',
        companyId: company.id,
        accountId,
      });
      // AccountService creates certificate accounts for CIS only so far.
      await p.db.transaction(tenant(company.id), (tx) =>
        insertAccount(tx, {
          id: accountId,
          companyId: company.id,
          kind: 'EINVOICE_FINA',
          environment: 'TEST',
          providerConfig: { reportsToTaxAuthority: true },
          secretEnvelope: envelope,
          keyVersion: envelopeKeyVersion(envelope),
        }),
      );

      const row = await sendAndRead(p, company.id, FINA_OIB);

      const held = fina.invoices().filter((i) => i.supplierOib === FINA_OIB);
      expect(held).toHaveLength(1);
      expect(row).toMatchObject({
        status: 'SENT',
        providerKind: 'EINVOICE_FINA',
        providerRef: held[0]?.invoiceId,
        integrationAccountId: accountId,
      });
    });
  },
);
