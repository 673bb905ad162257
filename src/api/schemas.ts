/**
 * JSON schemas of the HTTP API: Fastify validates requests and
 * serializes responses with them, and /openapi.json is built from them.
 * A response schema lists every field it may return, so a column added
 * to a row (a secret, say) never reaches a caller by accident.
 */
import { ACCOUNT_STATUSES, EINVOICE_KINDS, KINDS } from '../accounts/kinds.js';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const int = { type: 'integer' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;

/** An object schema whose listed properties are all required. */
function record(properties: Record<string, unknown>) {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties),
  } as const;
}

export const problemSchema = {
  type: 'object',
  description: 'RFC 9457 problem details (application/problem+json)',
  properties: {
    type: str,
    title: str,
    status: int,
    detail: str,
    code: { type: 'string', enum: Object.keys(ERROR_CATALOGUE) },
    severity: str,
    retryable: bool,
    instance: { type: 'string', description: 'the request id' },
    field: str,
    rule: str,
    eInvoiceId: str,
    integrationAccountId: str,
    fiscalRequestId: str,
    blockedBy: {
      type: 'string',
      enum: ['gates', 'approval'],
      description: 'ROLLOUT_BLOCKED: what held the rollout',
    },
    gates: {
      type: 'array',
      description: 'ROLLOUT_BLOCKED: every gate evaluated, with its numbers',
      items: { type: 'object', additionalProperties: true },
    },
  },
  required: [
    'type',
    'title',
    'status',
    'detail',
    'code',
    'severity',
    'retryable',
    'instance',
  ],
} as const;

/** The problem responses every authenticated route may give. */
export const problemResponses = {
  '4xx': {
    description: 'Problem details',
    content: { 'application/problem+json': { schema: problemSchema } },
  },
  '5xx': {
    description: 'Problem details',
    content: { 'application/problem+json': { schema: problemSchema } },
  },
} as const;

export const accountSchema = record({
  id: str,
  companyId: str,
  kind: { type: 'string', enum: KINDS },
  environment: { type: 'string', enum: ['TEST', 'PROD'] },
  status: { type: 'string', enum: ACCOUNT_STATUSES },
  statusReason: nullableStr,
  providerConfig: { type: 'object', additionalProperties: true },
  keyVersion: nullableStr,
  certSubject: nullableStr,
  certSerial: nullableStr,
  certNotAfter: nullableTime,
  certOib: nullableStr,
  createdAt: time,
  updatedAt: time,
  rotatedAt: nullableTime,
  lastUsedAt: nullableTime,
  secretVerifiedAt: nullableTime,
});

export const companySchema = record({
  id: str,
  name: str,
  oib: str,
  fiscalizationEnabled: bool,
  eInvoicingEnabled: bool,
  eInvoiceKind: nullableStr,
  premisesCode: nullableStr,
  deviceCode: nullableStr,
  eInvoiceProvider: nullableStr,
  hasLegacyEInvoiceKey: bool,
  hasLegacyCertificate: bool,
  createdAt: time,
});

export const eInvoiceSchema = record({
  id: str,
  companyId: str,
  status: str,
  number: str,
  idempotencyKey: str,
  providerKind: nullableStr,
  providerRef: nullableStr,
  integrationAccountId: nullableStr,
  lastError: {
    type: ['object', 'null'],
    additionalProperties: true,
  },
  sentAt: nullableTime,
});

export const eInvoiceListItemSchema = record({
  id: str,
  direction: { type: 'string', enum: ['OUTBOUND', 'INBOUND'] },
  status: str,
  number: str,
  issueDate: str,
  buyerOib: nullableStr,
  buyerName: nullableStr,
  totalAmount: { type: ['string', 'null'], description: 'decimal, 2 places' },
  currency: str,
  providerKind: nullableStr,
  providerRef: nullableStr,
  integrationAccountId: nullableStr,
  createdAt: time,
  sentAt: nullableTime,
});

export const sendOutcomeSchema = record({
  invoice: eInvoiceSchema,
  duplicate: bool,
});

const checkSchema = record({
  id: str,
  title: str,
  kind: { type: 'string', enum: ['readiness', 'invariant'] },
  status: { type: 'string', enum: ['READY', 'NOT_READY'] },
  count: int,
  samples: { type: 'array', items: str },
  threshold: int,
});

/** The same report object `tenantgate audit --json` prints. */
export const auditReportSchema = record({
  generatedAt: str,
  database: { type: 'string', enum: ['pglite', 'postgres'] },
  checks: { type: 'array', items: checkSchema },
  ready: bool,
});

export const pathUsageSchema = {
  type: 'array',
  description: "The spec's V1 vs V2 path usage query, one row per hour",
  items: record({ hour: time, v2_path: int, v1_path: int }),
} as const;

export const operationSummarySchema = {
  type: 'array',
  items: record({
    operation: str,
    path: nullableStr,
    outcome: str,
    wouldBlock: bool,
    fallback: bool,
    errorName: nullableStr,
    count: int,
  }),
} as const;

export const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
  required: ['id'],
} as const;

export const createAccountBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: EINVOICE_KINDS },
    environment: { type: 'string', enum: ['TEST', 'PROD'] },
    secret: { type: 'string', minLength: 1, writeOnly: true },
    providerConfig: { type: 'object', additionalProperties: true },
  },
  required: ['kind', 'environment', 'secret'],
} as const;

export const rotateBody = {
  type: 'object',
  additionalProperties: false,
  properties: { secret: { type: 'string', minLength: 1, writeOnly: true } },
  required: ['secret'],
} as const;

export const disableBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', minLength: 1, maxLength: 500 } },
  required: ['reason'],
} as const;

export const sendBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ublXml: { type: 'string', minLength: 1 },
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 200 },
    accountId: { type: 'string', minLength: 1, maxLength: 200 },
  },
  required: ['ublXml'],
} as const;

export const createCompanyBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 200 },
    name: { type: 'string', minLength: 1, maxLength: 500 },
    oib: { type: 'string', pattern: '^[0-9]{11}$' },
    fiscalizationEnabled: bool,
    eInvoicingEnabled: bool,
    eInvoiceKind: { type: ['string', 'null'], enum: [...EINVOICE_KINDS, null] },
  },
  required: ['name', 'oib'],
} as const;

export const entitlementsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    fiscalizationEnabled: bool,
    eInvoicingEnabled: bool,
    eInvoiceKind: { type: ['string', 'null'], enum: [...EINVOICE_KINDS, null] },
  },
} as const;

/** The tenant header an operator key must send on tenant routes. */
export const tenantHeaders = {
  type: 'object',
  properties: {
    'x-tenant-id': {
      type: 'string',
      description:
        'Operator keys: the company acted for. Tenant keys: optional, must be their own.',
    },
  },
} as const;
