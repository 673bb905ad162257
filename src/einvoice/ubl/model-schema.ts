import { z } from 'zod';
import { invalidInput } from '../../errors/tenantgate-error.js';
import type { InvoiceModel } from './model.js';

const amount = z.union([
  z.string().regex(/^[+-]?[0-9]+(\.[0-9]+)?$/, 'a decimal number'),
  z.number().finite(),
]);
const date = z.string().regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/, 'YYYY-MM-DD');
const text = z.string().min(1);
const oib = z.string().regex(/^[0-9]{11}$/, 'an OIB of 11 digits');

const vat = z.object({
  category: z.enum(['S', 'Z', 'E', 'AE', 'K', 'G', 'O']),
  rate: amount.optional(),
  label: text.optional(),
  exemptionReason: text.optional(),
  exemptionReasonCode: text.optional(),
});

const party = z.object({
  name: text,
  oib,
  vatRegistered: z.boolean().optional(),
  address: z.object({
    street: text.optional(),
    city: text.optional(),
    postalCode: text.optional(),
    country: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2'),
  }),
});

const allowanceCharge = z.object({
  amount,
  reason: text.optional(),
  reasonCode: text.optional(),
  vat,
});

const lineAllowanceCharge = z.object({ amount, reason: text });

const line = z.object({
  id: text.optional(),
  name: text,
  description: text.optional(),
  quantity: amount,
  unitCode: text,
  price: amount,
  baseQuantity: amount.optional(),
  kpd: z
    .string()
    .regex(/^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$/, 'a KPD code like 62.20.20')
    .optional(),
  vat,
  allowances: z.array(lineAllowanceCharge).optional(),
  charges: z.array(lineAllowanceCharge).optional(),
});

/** The shape of `InvoiceModel`, checked when the model comes as JSON. */
export const invoiceModelSchema = z.object({
  kind: z.enum(['INVOICE', 'CREDIT_NOTE']),
  number: text,
  issueDate: date,
  issueTime: z.string().regex(/^[0-9]{2}:[0-9]{2}:[0-9]{2}$/, 'hh:mm:ss'),
  dueDate: date.optional(),
  typeCode: z
    .string()
    .regex(/^[0-9]{3}$/)
    .optional(),
  process: z.string().regex(/^(P[1-9]|P1[0-2]|P99:.+)$/, 'P1…P12 or P99:…'),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
  note: text.optional(),
  buyerReference: text.optional(),
  orderReference: text.optional(),
  contractReference: text.optional(),
  period: z.object({ start: date.optional(), end: date.optional() }).optional(),
  deliveryDate: date.optional(),
  deliveryCountry: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
  billingReferences: z
    .array(z.object({ number: text, issueDate: date }))
    .optional(),
  seller: party,
  buyer: party,
  operator: z.object({ name: text, oib }),
  paymentMeans: z
    .array(
      z.object({
        code: text,
        accountId: text.optional(),
        paymentId: text.optional(),
        note: text.optional(),
      }),
    )
    .optional(),
  paymentTerms: text.optional(),
  allowances: z.array(allowanceCharge).optional(),
  charges: z.array(allowanceCharge).optional(),
  prepaidAmount: amount.optional(),
  lines: z.array(line).min(1),
});

/**
 * Checks untrusted JSON against the invoice model and returns it typed.
 * The first problem is refused as INVALID_INPUT naming the field path
 * (e.g. `lines[0].vat.category`) and the rule `invoice-model`.
 */
export function parseInvoiceModel(input: unknown): InvoiceModel {
  const parsed = invoiceModelSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path
    .map((p, i) =>
      typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`,
    )
    .join('');
  throw invalidInput(
    field || 'invoice',
    'invoice-model',
    `${field || 'invoice'}: ${issue.message}`,
  );
}
