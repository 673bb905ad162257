/**
 * The JSON invoice model TenantGate builds UBL 2.1 from (HR CIUS 2025).
 * Amounts, quantities and rates are decimal strings (or numbers) and
 * are computed with decimal arithmetic; the builder derives every total.
 * Dates are `YYYY-MM-DD`, times `hh:mm:ss`.
 */
export interface InvoiceModel {
  /** `INVOICE` builds `<Invoice>`, `CREDIT_NOTE` builds `<CreditNote>`. */
  kind: 'INVOICE' | 'CREDIT_NOTE';
  /** BT-1, no whitespace (HR-BR-1), e.g. `1-P1-1`. */
  number: string;
  /** BT-2. */
  issueDate: string;
  /** HR-BT-2, `hh:mm:ss`. */
  issueTime: string;
  /** BT-9. A credit note carries it as the payment means' due date. */
  dueDate?: string;
  /** BT-3. Default: `380` for an invoice, `381` for a credit note. */
  typeCode?: string;
  /** BT-23: `P1` … `P12` or `P99:<buyer label>`. */
  process: string;
  /** BT-5. Default: `EUR`. */
  currency?: string;
  /** BT-22. */
  note?: string;
  /** BT-10. */
  buyerReference?: string;
  /** BT-13. */
  orderReference?: string;
  /** BT-12. */
  contractReference?: string;
  /** BG-14 (BT-73, BT-74). */
  period?: { start?: string; end?: string };
  /** BT-72. */
  deliveryDate?: string;
  /** BT-80, deliver-to country (ISO 3166-1); needed for category K. */
  deliveryCountry?: string;
  /** BG-3: the invoices this one corrects or settles. */
  billingReferences?: { number: string; issueDate: string }[];
  seller: PartyModel;
  buyer: PartyModel;
  /** HR-BT-4/5: the person who issued the invoice. */
  operator: { name: string; oib: string };
  /** BG-16. */
  paymentMeans?: PaymentMeansModel[];
  /** BT-20. */
  paymentTerms?: string;
  /** BG-20 / BG-21: document level allowances and charges. */
  allowances?: AllowanceChargeModel[];
  charges?: AllowanceChargeModel[];
  /** BT-113, paid in advance. Default: 0 (not written). */
  prepaidAmount?: Amount;
  /** BG-25, at least one. */
  lines: LineModel[];
}

/** A decimal value as a string (preferred) or a number. */
export type Amount = string | number;

export interface PartyModel {
  /** BT-27 / BT-44 (legal name). */
  name: string;
  /** The OIB: electronic address (scheme 9934) and HR VAT id. */
  oib: string;
  /**
   * Write the VAT identifier `HR<oib>` (BT-31 / BT-48). Default: true.
   * A seller outside the VAT system sets false.
   */
  vatRegistered?: boolean;
  address: AddressModel;
}

export interface AddressModel {
  street?: string;
  city?: string;
  postalCode?: string;
  /** ISO 3166-1 alpha-2. */
  country: string;
}

export interface PaymentMeansModel {
  /** BT-81, UNTDID 4461 (e.g. `30` credit transfer, `10` cash). */
  code: string;
  /** BT-84: the IBAN for a credit transfer. */
  accountId?: string;
  /** BT-83: the payment reference (`HR00 …`). */
  paymentId?: string;
  /** BT-82. */
  note?: string;
}

/** A VAT category with its rate and, where needed, its reason. */
export interface VatModel {
  /** UNTDID 5305: S, Z, E, AE, K, G, O. */
  category: 'S' | 'Z' | 'E' | 'AE' | 'K' | 'G' | 'O';
  /** Percent. Default: 0 (none for O). Required for S. */
  rate?: Amount;
  /**
   * HR-TB-2 label (HR-BT-6/12), e.g. `HR:PDV25`. Default: derived from
   * the category and rate (`HR:PDV<rate>` for S, `HR:<category>`).
   * `HR:POVNAK`, `HR:PP`, `HR:PPMV`, `HR:N` mark amounts outside the
   * VAT base, reported in the HR extension.
   */
  label?: string;
  /** BT-120: required for E, AE, K, G, O. */
  exemptionReason?: string;
  /** BT-121, e.g. `VATEX-EU-132`. */
  exemptionReasonCode?: string;
}

export interface AllowanceChargeModel {
  amount: Amount;
  /** BT-97 / BT-104. A reason or a reason code is required. */
  reason?: string;
  /** BT-98 (UNTDID 5189) / BT-105 (UNTDID 7161). */
  reasonCode?: string;
  vat: VatModel;
}

export interface LineModel {
  /** BT-126. Default: the line's position, from 1. */
  id?: string;
  /** BT-153. */
  name: string;
  /** BT-154. */
  description?: string;
  /** BT-129. */
  quantity: Amount;
  /** BT-130, UN/ECE Rec 20 (e.g. `H87` piece, `HUR` hour). */
  unitCode: string;
  /** BT-146, net price per base quantity. */
  price: Amount;
  /** BT-149. Default: 1 (not written). */
  baseQuantity?: Amount;
  /** BT-158: KPD 2025 code (listID CG), e.g. `62.20.20`. */
  kpd?: string;
  vat: VatModel;
  /** BG-27 / BG-28: line allowances and charges. */
  allowances?: { amount: Amount; reason: string }[];
  charges?: { amount: Amount; reason: string }[];
}
