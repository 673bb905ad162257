import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { AccountService } from '../../src/accounts/account-service.js';
import type { IntegrationAccount } from '../../src/accounts/account-store.js';
import type { AccountStatus } from '../../src/accounts/kinds.js';
import {
  CompanyService,
  type Company,
} from '../../src/companies/company-service.js';
import { FLAG_NAMES, type FlagName } from '../../src/config/settings.js';
import { operator, type Database } from '../../src/db/database.js';
import { createIntermediaryDirectory } from '../../src/einvoice/directory.js';
import {
  OutboundService,
  type IntermediaryDirectory,
} from '../../src/einvoice/outbound.js';
import { EnforcementGate } from '../../src/enforcement/gate.js';
import { StaticFlagSource } from '../../src/flags/env-flags.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import {
  startEposlovanjeSimulator,
  type EposlovanjeSimulator,
  type ReceivedDocument,
} from '../../src/sandbox/eposlovanje-simulator.js';
import { parseKeyList } from '../../src/vault/key-ring.js';
import { Vault } from '../../src/vault/vault.js';
import { randomOib } from './builders.js';
import { registerSecret } from './known-secrets.js';

/** The deployment environment the test platform runs in by default. */
export const TEST_DEPLOYMENT_ENV = 'staging';

/** Every log line the platform wrote, as text and parsed. */
export class CapturedLogs {
  private chunks: string[] = [];

  /** The pino destination: keeps each line in memory. */
  readonly stream = new Writable({
    write: (chunk: Buffer | string, _encoding, done) => {
      this.chunks.push(String(chunk));
      done();
    },
  });

  /** Everything written so far, raw: search it for secrets. */
  text(): string {
    return this.chunks.join('');
  }

  lines(): Record<string, unknown>[] {
    return this.text()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Lines whose `event` field is one of `events`. */
  withEvent(...events: string[]): Record<string, unknown>[] {
    return this.lines().filter((l) => events.includes(String(l.event)));
  }

  clear(): void {
    this.chunks = [];
  }
}

/** The services of src/app.ts, wired over a test database. */
export interface Platform {
  db: Database;
  flags: StaticFlagSource;
  vault: Vault;
  logger: Logger;
  logs: CapturedLogs;
  simulator: EposlovanjeSimulator;
  intermediaries: IntermediaryDirectory;
  companies: CompanyService;
  accounts: AccountService;
  gate: EnforcementGate;
  outbound: OutboundService;
}

export interface PlatformOptions {
  /** Where the gate says it runs. Default `staging`. */
  deploymentEnvironment?: 'staging' | 'production';
  /** Time allowed for one intermediary request. Default 5 000 ms. */
  timeoutMs?: number;
}

/**
 * Wires the services the way `openTenantGate` does, with a vault over a
 * fresh random master key, every flag off, logs captured in memory and
 * ePoslovanje pointed at `simulator`.
 */
export function buildPlatform(
  db: Database,
  simulator: EposlovanjeSimulator,
  options: PlatformOptions = {},
): Platform {
  const logs = new CapturedLogs();
  const logger = createLogger('debug', logs.stream);
  const masterKey = randomBytes(32).toString('base64');
  registerSecret('test platform master key', masterKey);
  const vault = new Vault(parseKeyList(`v1:${masterKey}`));
  const flags = new StaticFlagSource();
  const gate = new EnforcementGate({
    db,
    vault,
    flags,
    logger,
    deploymentEnvironment: options.deploymentEnvironment ?? TEST_DEPLOYMENT_ENV,
    accountEnvironment: 'TEST',
  });
  const intermediaries = createIntermediaryDirectory({
    softwareId: 'TenantGate-test',
    timeoutMs: options.timeoutMs ?? 5_000,
    accountEnvironment: 'TEST',
    endpoints: { EINVOICE_EPOSLOVANJE: simulator.url },
  });
  return {
    db,
    flags,
    vault,
    logger,
    logs,
    simulator,
    intermediaries,
    companies: new CompanyService({ db, vault, logger }),
    accounts: new AccountService({ db, vault, logger }),
    gate,
    outbound: new OutboundService({ db, gate, intermediaries }),
  };
}

/**
 * One simulator and one platform per suite; before each test every
 * flag is off and the captured logs are empty. Tests make their own
 * companies, so they never see each other's rows or documents.
 */
export function usePlatform(
  db: () => Database,
  options: PlatformOptions = {},
): () => Platform {
  let simulator: EposlovanjeSimulator | undefined;
  let platform: Platform | undefined;
  beforeAll(async () => {
    simulator = await startEposlovanjeSimulator();
    platform = buildPlatform(db(), simulator, options);
  });
  afterAll(async () => {
    await simulator?.close();
  });
  beforeEach(() => {
    if (!platform) return;
    setFlags(platform, {});
    platform.logs.clear();
  });
  return () => {
    if (!platform) throw new Error('platform not built yet');
    return platform;
  };
}

/** Sets every flag: those named to their value, the rest off. */
export function setFlags(
  p: Platform,
  values: Partial<Record<FlagName, boolean>>,
): void {
  for (const flag of FLAG_NAMES) p.flags.set(flag, values[flag] ?? false);
}

/** Enforcement on (rule 2 of the routing table). */
export const ENFORCED = { FF_ENFORCE_INTEGRATION_ACCOUNT: true } as const;
/** Enforcement off, outbound migration flag on (rule 3). */
export const MIGRATING = { FF_INTEGRATION_ACCOUNT_OUTBOUND: true } as const;
/** Both off: the legacy world (rule 4). */
export const LEGACY_WORLD = {} as const;

/** A company and the credentials the builders gave it. */
export interface Tenant {
  company: Company;
  /** The legacy (V1) API key, registered with the simulator. */
  legacyKey: string | null;
  /** The ePoslovanje integration account, if any. */
  account: IntegrationAccount | null;
  /** The account's API key, registered with the simulator. */
  accountKey: string | null;
}

export interface TenantOptions {
  /**
   * The company's default intermediary. Default `EINVOICE_EPOSLOVANJE`;
   * `null` for a company imported with only `eInvoiceProvider`.
   */
  eInvoiceKind?: 'EINVOICE_EPOSLOVANJE' | null;
  /** Status of the account, where the builder makes one. Default ACTIVE. */
  status?: AccountStatus;
}

/** A unique, recognisable API key: search the logs for it. */
export function newApiKey(label: string): string {
  return `ep-${label}-${randomBytes(12).toString('hex')}`;
}

/** A company with e-invoicing on and no credentials at all. */
export async function companyWithNothing(
  p: Platform,
  options: TenantOptions = {},
): Promise<Tenant> {
  const company = await p.companies.create({
    name: 'Test d.o.o.',
    oib: randomOib(),
    eInvoicingEnabled: true,
    eInvoiceKind:
      options.eInvoiceKind === undefined
        ? 'EINVOICE_EPOSLOVANJE'
        : options.eInvoiceKind,
  });
  return { company, legacyKey: null, account: null, accountKey: null };
}

/** A company that still sends with a legacy ePoslovanje key (V1). */
export async function companyWithLegacyKey(
  p: Platform,
  options: TenantOptions = {},
): Promise<Tenant> {
  const tenant = await companyWithNothing(p, options);
  return addLegacyKey(p, tenant);
}

/** A company with an ePoslovanje integration account (V2). */
export async function companyWithAccount(
  p: Platform,
  options: TenantOptions = {},
): Promise<Tenant> {
  const tenant = await companyWithNothing(p, options);
  return addAccount(p, tenant, options.status ?? 'ACTIVE');
}

/** A company with both a legacy key and an integration account. */
export async function companyWithBoth(
  p: Platform,
  options: TenantOptions = {},
): Promise<Tenant> {
  const tenant = await companyWithLegacyKey(p, options);
  return addAccount(p, tenant, options.status ?? 'ACTIVE');
}

/** Gives the company a legacy key and registers it with the simulator. */
export async function addLegacyKey(
  p: Platform,
  tenant: Tenant,
): Promise<Tenant> {
  const legacyKey = newApiKey('legacy');
  await p.companies.setLegacyEInvoiceKey(
    tenant.company.id,
    'eposlovanje',
    legacyKey,
  );
  p.simulator.registerKey(legacyKey, tenant.company.oib);
  return { ...tenant, legacyKey };
}

/** Creates the company's ePoslovanje account (TEST) in `status`. */
export async function addAccount(
  p: Platform,
  tenant: Tenant,
  status: AccountStatus = 'ACTIVE',
): Promise<Tenant> {
  const accountKey = newApiKey('account');
  const created = await p.accounts.create({
    companyId: tenant.company.id,
    kind: 'EINVOICE_EPOSLOVANJE',
    environment: 'TEST',
    secret: accountKey,
  });
  p.simulator.registerKey(accountKey, tenant.company.oib);
  const account = await setAccountStatus(p, created, status);
  return { ...tenant, account, accountKey };
}

/**
 * Moves an account to `status`: DISABLED and ACTIVE through the service,
 * EXPIRED and REVOKED (set by expiry and revocation jobs) directly.
 */
export async function setAccountStatus(
  p: Platform,
  account: IntegrationAccount,
  status: AccountStatus,
): Promise<IntegrationAccount> {
  if (status === account.status) return account;
  if (status === 'DISABLED') {
    return p.accounts.disable(account.companyId, account.id, 'test');
  }
  if (status === 'ACTIVE') {
    return p.accounts.enable(account.companyId, account.id);
  }
  await p.db.transaction(operator, (tx) =>
    tx.query(
      `UPDATE "IntegrationAccount" SET status = $2, "updatedAt" = now()
        WHERE id = $1`,
      [account.id, status],
    ),
  );
  return p.accounts.show(account.companyId, account.id);
}

/** An operation event row, as the ledger stores it. */
export interface StoredEvent {
  environment: string;
  companyId: string;
  integrationAccountId: string | null;
  operation: string;
  kind: string | null;
  path: 'V1' | 'V2' | null;
  outcome: 'SUCCESS' | 'FAILURE' | 'BLOCKED';
  wouldBlock: boolean;
  fallback: boolean;
  errorName: string | null;
  errorCode: string | null;
  origin: string;
  documentId: string | null;
}

/** The company's operation events, oldest first (operator scope). */
export async function eventsOf(
  p: Platform,
  companyId: string,
): Promise<StoredEvent[]> {
  return p.db.transaction(operator, (tx) =>
    tx.query<StoredEvent>(
      `SELECT environment, "companyId", "integrationAccountId", operation,
              kind, path, outcome, "wouldBlock", fallback, "errorName",
              "errorCode", origin, "documentId"
         FROM "OperationEvent" WHERE "companyId" = $1 ORDER BY id`,
      [companyId],
    ),
  );
}

/** Documents the simulator accepted from the company's OIB. */
export function documentsFrom(p: Platform, tenant: Tenant): ReceivedDocument[] {
  return p.simulator.documents().filter((d) => d.oib === tenant.company.oib);
}

const SAMPLES_DIR = new URL(
  '../../fixtures/hr-einvoice-samples/',
  import.meta.url,
);

/** The seller OIB every official sample carries. */
export const SAMPLE_SELLER_OIB = '12345678901';

/** File names of the official HR e-invoice samples. */
export const SAMPLE_NAMES: readonly string[] = readdirSync(SAMPLES_DIR)
  .filter((name) => name.endsWith('.xml'))
  .sort();

/** An official sample with the dummy seller OIB replaced by `oib`. */
export function sampleFor(name: string, oib: string): string {
  const xml = readFileSync(new URL(name, SAMPLES_DIR), 'utf8');
  return xml.split(SAMPLE_SELLER_OIB).join(oib);
}

/** The default sample: a plain 25 % VAT invoice. */
export function invoiceFor(tenant: Tenant): string {
  return sampleFor('eRacun_PDV25.xml', tenant.company.oib);
}
