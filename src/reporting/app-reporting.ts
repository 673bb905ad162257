import type { TenantGate } from '../app.js';
import type { ReportingClient } from './client.js';
import { ReportingService } from './reporting-service.js';

/**
 * The reporting service of an opened TenantGate: its database, gate,
 * logger and account environment, sending with `sender`'s client.
 */
export function reportingFor(
  app: TenantGate,
  sender: () => ReportingClient,
): ReportingService {
  return new ReportingService({
    db: app.db,
    gate: app.gate,
    logger: app.logger,
    sender,
    accountEnvironment: app.settings.accountEnvironment,
  });
}
