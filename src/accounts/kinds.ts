/** Integration kinds (DESIGN.md glossary). */
export const EINVOICE_KINDS = [
  'EINVOICE_EPOSLOVANJE',
  'EINVOICE_FINA',
  'EINVOICE_IE_RACUNI',
  'EINVOICE_MOJ_ERACUN',
] as const;
export const KINDS = [...EINVOICE_KINDS, 'FISCALIZATION_CIS'] as const;

export type EInvoiceKind = (typeof EINVOICE_KINDS)[number];
export type Kind = (typeof KINDS)[number];

export const ACCOUNT_ENVIRONMENTS = ['TEST', 'PROD'] as const;
export type AccountEnvironment = (typeof ACCOUNT_ENVIRONMENTS)[number];

export const ACCOUNT_STATUSES = [
  'ACTIVE',
  'DISABLED',
  'EXPIRED',
  'REVOKED',
] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** Regulated operations (DESIGN.md glossary). */
export const OPERATIONS = [
  'EINVOICE_SEND',
  'EINVOICE_RECEIVE',
  'FISCALIZATION',
  'EINVOICE_REPORT',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * The legacy `Company."eInvoiceProvider"` values of the prior system and
 * the kind each maps to.
 */
export const LEGACY_PROVIDER_KINDS: Record<string, EInvoiceKind> = {
  eposlovanje: 'EINVOICE_EPOSLOVANJE',
  fina: 'EINVOICE_FINA',
  'ie-racuni': 'EINVOICE_IE_RACUNI',
  'moj-eracun': 'EINVOICE_MOJ_ERACUN',
};

export function isEInvoiceKind(value: string): value is EInvoiceKind {
  return (EINVOICE_KINDS as readonly string[]).includes(value);
}

export function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value);
}
