/** Every status an e-invoice row may have (the table's CHECK). */
export const EINVOICE_STATUSES = [
  'DRAFT',
  'PENDING_FISCALIZATION',
  'FISCALIZED',
  'SENDING',
  'SEND_UNKNOWN',
  'SENT',
  'DELIVERED',
  'ACCEPTED',
  'REJECTED',
  'ARCHIVED',
  'ERROR',
] as const;

export type EInvoiceStatus = (typeof EINVOICE_STATUSES)[number];
