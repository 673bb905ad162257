import { AccountService } from './accounts/account-service.js';
import { CompanyService } from './companies/company-service.js';
import type { Settings } from './config/settings.js';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import { createIntermediaryDirectory } from './einvoice/directory.js';
import { InboundService } from './einvoice/inbound-service.js';
import {
  OutboundService,
  type IntermediaryDirectory,
} from './einvoice/outbound.js';
import { SendReconciler } from './einvoice/reconcile.js';
import { StatusTracker } from './einvoice/status-tracking.js';
import { createInvoiceValidator } from './einvoice/rules/validate.js';
import { EnforcementGate } from './enforcement/gate.js';
import { RouteCache } from './enforcement/route-cache.js';
import type { FlagSource } from './flags/env-flags.js';
import { StoreFlagSource } from './flags/store-flag-source.js';
import { LedgerNotifier } from './metrics/notifier.js';
import type { Kind } from './accounts/kinds.js';
import { createLogger, type Logger } from './logging/logger.js';
import { loadKeyRing } from './vault/key-ring.js';
import { openLocalKeyFile, type LocalKeyFile } from './vault/local-key-file.js';
import { Vault } from './vault/vault.js';
import { PathsUsed } from './workers/paths-used.js';
import { startHeartbeat, type ProcessRole } from './workers/registry.js';

/** The wired services: what the CLI, the demo and the API use. */
export interface TenantGate {
  settings: Settings;
  db: Database;
  vault: Vault;
  logger: Logger;
  flags: FlagSource;
  companies: CompanyService;
  accounts: AccountService;
  gate: EnforcementGate;
  outbound: OutboundService;
  /** Intermediary clients per kind and endpoint (no secrets). */
  intermediaries: IntermediaryDirectory;
  /** Inbox polling (EINVOICE_RECEIVE). */
  inbound: InboundService;
  /** SEND_UNKNOWN resolved from the intermediaries' outgoing listings. */
  reconciler: SendReconciler;
  /** SENT → DELIVERED / ACCEPTED / REJECTED from the status APIs. */
  statusTracker: StatusTracker;
  /** Set when the embedded demo generated a local master key. */
  localKeyFile: LocalKeyFile | null;
  close(): Promise<void>;
}

export interface OpenOptions {
  logger?: Logger;
  flags?: FlagSource;
  /** Intermediary endpoint overrides (the sandbox). Default none. */
  endpoints?: Partial<Record<Kind, string>>;
  /** Server CAs (PEM) per kind, e.g. the FINA sandbox's. Default none. */
  serverCa?: Partial<Record<Kind, string>>;
  /**
   * On the embedded database with no master key configured, generate
   * one beside the data folder. Default false: production must bring
   * its own key.
   */
  allowLocalKey?: boolean;
  /** Apply migrations when opening. Default true. */
  migrate?: boolean;
  /**
   * Record this process's effective flag values (at start and on each
   * change) for the flag history. Default false: one-off commands run
   * from an operator's shell must not count as a deployment; the
   * service (`npm start`) records.
   */
  recordFlags?: boolean;
  /**
   * Register this process in the worker registry under this role and
   * heartbeat every TENANTGATE_HEARTBEAT_MS until `close()`. Default
   * none: one-off commands are not workers.
   */
  register?: ProcessRole;
}

/** Opens the database and wires every service from the settings. */
export async function openTenantGate(
  settings: Settings,
  options: OpenOptions = {},
): Promise<TenantGate> {
  const logger = options.logger ?? createLogger(settings.logLevel);
  const { ring, localKeyFile } = keyRingFor(settings, options);
  // Opened authorisers are reused within the route cache's window (at
  // most 2 s), so a warm operation does no decryption.
  const vault = new Vault(ring, { openCacheMs: settings.routeCacheMaxAgeMs });
  const db = await openDatabase(settings, { migrate: options.migrate });
  const flags =
    options.flags ??
    (await startFlags(settings, db, logger, options.recordFlags ?? false));
  const notifier = settings.alertWebhookUrl
    ? new LedgerNotifier({ db, logger, webhookUrl: settings.alertWebhookUrl })
    : null;
  await notifier?.start();
  // The gate notes the path each operation takes; the heartbeat
  // reports it in the registry.
  const pathsUsed = new PathsUsed();
  const heartbeat = options.register
    ? await startHeartbeat({
        db,
        logger,
        flags,
        pathsUsed,
        role: options.register,
        environment: settings.deploymentEnvironment,
        intervalMs: settings.heartbeatMs,
      })
    : null;
  const routes = await RouteCache.start({
    db,
    logger,
    maxAgeMs: settings.routeCacheMaxAgeMs,
  });

  const gate = new EnforcementGate({
    db,
    vault,
    flags,
    logger,
    deploymentEnvironment: settings.deploymentEnvironment,
    accountEnvironment: settings.accountEnvironment,
    routes,
    pathsUsed,
  });
  const intermediaries = createIntermediaryDirectory({
    softwareId: settings.softwareId,
    timeoutMs: settings.httpTimeoutMs,
    accountEnvironment: settings.accountEnvironment,
    endpoints: options.endpoints,
    serverCa: options.serverCa,
  });

  const outbound = new OutboundService({
    db,
    gate,
    intermediaries,
    validator: createInvoiceValidator(),
  });
  return {
    settings,
    db,
    vault,
    logger,
    flags,
    companies: new CompanyService({ db, vault, logger }),
    accounts: new AccountService({ db, vault, logger }),
    gate,
    outbound,
    intermediaries,
    inbound: new InboundService({ db, gate, intermediaries, logger }),
    reconciler: new SendReconciler({ db, gate, intermediaries, outbound }),
    statusTracker: new StatusTracker({ db, gate, intermediaries, logger }),
    localKeyFile,
    close: async () => {
      await heartbeat?.stop();
      await notifier?.stop();
      await routes.stop();
      if (flags instanceof StoreFlagSource) await flags.stop();
      await db.close();
    },
  };
}

/**
 * The flag store with `FF_*` variables as overrides (DESIGN.md
 * precedence), refreshed by notifications and a short poll.
 */
async function startFlags(
  settings: Settings,
  db: Database,
  logger: Logger,
  record: boolean,
): Promise<StoreFlagSource> {
  try {
    return await StoreFlagSource.start({
      db,
      logger,
      environment: settings.deploymentEnvironment,
      envFlags: settings.flags,
      pollMs: settings.flagPollMs,
      record,
    });
  } catch (error) {
    await db.close();
    throw error;
  }
}

function keyRingFor(settings: Settings, options: OpenOptions) {
  const configured =
    settings.vault.keys !== undefined || settings.vault.keyFile !== undefined;
  const embedded = settings.databaseUrl === undefined;
  if (configured || !options.allowLocalKey || !embedded) {
    return { ring: loadKeyRing(settings.vault), localKeyFile: null };
  }
  const localKeyFile = openLocalKeyFile(settings.dataDir);
  return {
    ring: loadKeyRing({ ...settings.vault, keyFile: localKeyFile.path }),
    localKeyFile,
  };
}
