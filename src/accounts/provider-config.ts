import { z } from 'zod';
import { invalidInput } from '../errors/tenantgate-error.js';
import type { Kind } from './kinds.js';

const url = z.string().url();

/**
 * Who reports this account's e-invoices to the Tax Administration
 * (Fiskalizacija 2.0): the intermediary on the company's behalf, or the
 * platform itself. The default per kind is in
 * src/reporting/obligations.ts (`taxReportingOf`).
 */
const taxReporting = z.enum(['INTERMEDIARY', 'PLATFORM']);

/**
 * Non-secret settings per kind. Secrets never go here: they live in the
 * vault envelope. Unknown keys are refused, so a secret pasted into the
 * wrong field is caught rather than stored in clear.
 */
const SCHEMAS: Record<Kind, z.ZodType<Record<string, unknown>>> = {
  EINVOICE_EPOSLOVANJE: z
    .object({
      baseUrl: url.optional(),
      sendAsEmail: z.boolean().optional(),
      taxReporting: taxReporting.optional(),
    })
    .strict(),
  EINVOICE_MOJ_ERACUN: z
    .object({
      baseUrl: url.optional(),
      username: z.string().min(1).optional(),
      companyBu: z.string().optional(),
      taxReporting: taxReporting.optional(),
    })
    .strict(),
  EINVOICE_IE_RACUNI: z
    .object({ baseUrl: url.optional(), taxReporting: taxReporting.optional() })
    .strict(),
  EINVOICE_FINA: z
    .object({
      baseUrl: url.optional(),
      reportsToTaxAuthority: z.boolean().optional(),
      taxReporting: taxReporting.optional(),
    })
    .strict(),
  FISCALIZATION_CIS: z.object({ baseUrl: url.optional() }).strict(),
};

/** Validates a kind's provider config; the error names the field. */
export function parseProviderConfig(
  kind: Kind,
  value: unknown,
): Record<string, unknown> {
  const parsed = SCHEMAS[kind].safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.join('.') ?? '';
  const keys =
    issue && 'keys' in issue ? (issue.keys as string[]).join(', ') : '';
  const field = `providerConfig${path ? `.${path}` : keys ? `.${keys}` : ''}`;
  throw invalidInput(
    field,
    issue?.code ?? 'invalid',
    `${field}: ${issue?.message ?? 'invalid'} (kind ${kind})`,
    { kind },
  );
}
