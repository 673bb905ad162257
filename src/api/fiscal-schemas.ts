/**
 * JSON schemas of the fiscalization routes. The request schema checks
 * shapes only; the receipt's own rules (OIB check digit, amounts with a
 * dot, storno) are `prepareReceipt`'s, which names the field it refuses.
 */
const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const int = { type: 'integer' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullableTime = { type: ['string', 'null'], format: 'date-time' } as const;
const amount = {
  type: 'string',
  maxLength: 30,
  description: 'decimal with a dot, e.g. "12.50"',
} as const;

const taxLine = {
  type: 'object',
  additionalProperties: false,
  properties: { rate: amount, base: amount, amount },
  required: ['rate', 'base', 'amount'],
} as const;

const lines = (items: object) =>
  ({ type: 'array', maxItems: 100, items }) as const;

/** A receipt in the platform's terms (`ReceiptInput`, JSON). */
export const receiptBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    oib: { type: 'string', maxLength: 11 },
    inVatSystem: bool,
    issuedAt: time,
    sequenceMark: { type: 'string', enum: ['P', 'N'] },
    number: { type: 'string', maxLength: 20 },
    premises: { type: 'string', maxLength: 20 },
    device: { type: 'string', maxLength: 20 },
    vat: lines(taxLine),
    consumptionTax: lines(taxLine),
    otherTaxes: lines({
      ...taxLine,
      properties: { ...taxLine.properties, name: str },
      required: [...taxLine.required, 'name'],
    }),
    exemptAmount: amount,
    marginAmount: amount,
    notTaxableAmount: amount,
    fees: lines({
      type: 'object',
      additionalProperties: false,
      properties: { name: str, amount },
      required: ['name', 'amount'],
    }),
    total: amount,
    paymentMethod: { type: 'string', enum: ['G', 'K', 'T', 'O'] },
    operatorOib: { type: 'string', maxLength: 11 },
    storno: bool,
    paragonNumber: { type: 'string', maxLength: 100 },
    specialPurpose: { type: 'string', maxLength: 1000 },
    buyerOib: { type: 'string', maxLength: 11 },
  },
  required: [
    'oib',
    'inVatSystem',
    'issuedAt',
    'sequenceMark',
    'number',
    'premises',
    'device',
    'total',
    'paymentMethod',
    'operatorOib',
  ],
} as const;

export const submitBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    receipt: receiptBodySchema,
    mode: {
      type: 'string',
      enum: ['direct', 'queued'],
      description:
        'direct (default): fiscalize now, 201 with the JIR; queued: 202, a worker sends it',
    },
    accountId: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'a FISCALIZATION_CIS account named explicitly',
    },
  },
  required: ['receipt'],
} as const;

/** What a direct submission returns (`FiscalResult`). */
export const fiscalResultSchema = {
  type: 'object',
  properties: {
    requestId: str,
    status: { type: 'string', enum: ['SUCCESS'] },
    jir: str,
    zki: str,
    qrUrl: str,
    lateDelivery: bool,
    sends: int,
    path: { type: 'string', enum: ['V1', 'V2'] },
    integrationAccountId: nullableStr,
  },
  required: [
    'requestId',
    'status',
    'jir',
    'zki',
    'qrUrl',
    'lateDelivery',
    'sends',
    'path',
    'integrationAccountId',
  ],
} as const;

export const queuedSchema = {
  type: 'object',
  properties: {
    requestId: str,
    status: { type: 'string', enum: ['QUEUED'] },
  },
  required: ['requestId', 'status'],
} as const;

const statuses = ['QUEUED', 'PROCESSING', 'SUCCESS', 'FAILED', 'DEAD'];

/** A stored fiscalization request (`FiscalRequestView`). */
export const fiscalRequestSchema = {
  type: 'object',
  properties: {
    id: str,
    companyId: str,
    status: { type: 'string', enum: statuses },
    invoiceNumber: nullableStr,
    zki: nullableStr,
    jir: nullableStr,
    attempts: int,
    lateDelivery: bool,
    deliverBy: nullableTime,
    integrationAccountId: nullableStr,
    issuedAt: nullableTime,
    total: nullableStr,
    qrUrl: nullableStr,
    lastError: {
      type: ['object', 'null'],
      properties: { code: str, name: str },
    },
    createdAt: time,
    updatedAt: time,
  },
  required: [
    'id',
    'companyId',
    'status',
    'invoiceNumber',
    'zki',
    'jir',
    'attempts',
    'lateDelivery',
    'deliverBy',
    'integrationAccountId',
    'issuedAt',
    'total',
    'qrUrl',
    'lastError',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const fiscalListQuery = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: statuses },
    before: time,
    limit: { type: 'integer', minimum: 1, maximum: 500 },
  },
} as const;

export const qrSchema = {
  type: 'object',
  properties: {
    url: {
      type: 'string',
      description: 'the verification link to encode in the QR code',
    },
    jir: str,
    issuedAt: time,
    total: str,
  },
  required: ['url', 'jir', 'issuedAt', 'total'],
} as const;
