import type { ApiRoutes } from '../context.js';
import { accountRoutes } from './accounts.js';
import { apiKeyRoutes } from './api-keys.js';
import { companyRoutes } from './companies.js';
import { dashboardRoutes } from './dashboard.js';
import { eInvoiceRoutes } from './einvoices.js';
import { fiscalRoutes } from './fiscal.js';
import { flagRoutes } from './flags.js';
import { metricsRoutes } from './metrics.js';
import { prometheusRoutes } from './prometheus.js';
import { readinessRoutes } from './readiness.js';
import { rolloutRoutes } from './rollout.js';
import { workerRoutes } from './workers.js';

/**
 * Every feature's routes, each registered as its own encapsulated
 * plugin (a module's hooks apply to its routes only). Fiscalization,
 * flags and rollout slot in here.
 */
export const API_ROUTES: readonly ApiRoutes[] = [
  accountRoutes,
  eInvoiceRoutes,
  fiscalRoutes,
  companyRoutes,
  readinessRoutes,
  rolloutRoutes,
  workerRoutes,
  flagRoutes,
  metricsRoutes,
  prometheusRoutes,
  apiKeyRoutes,
  dashboardRoutes,
];
