/**
 * The records of Fiskalizacija 2.0 reporting, as plain data. Field
 * comments name the element each one becomes (`eFiskalizacija` /
 * `eIzvjestavanje` schemas) and the EN 16931 term it comes from.
 * Amounts are decimal text (`"125.00"`); builders check and format them
 * with decimal.js, never with floating point.
 */

/** A decimal number written as text, e.g. `"100.00"` or `"1.000"`. */
export type DecimalText = string;

/** A date `YYYY-MM-DD`. */
export type DateText = string;

/** The four requests of Fiskalizacija 2.0. */
export type ReportKind = 'ERACUN' | 'NAPLATA' | 'ODBIJANJE' | 'ISPORUKA';

/** `vrstaERacuna`: `I` outgoing (the issuer reports), `U` incoming. */
export type ERacunDirection = 'I' | 'U';

/** `nacinPlacanja`: T transaction account, O settlement, Z other. */
export type PaymentMethod = 'T' | 'O' | 'Z';

/** `vrstaRazlogaOdbijanja`: N data mismatch not affecting tax, U
 * mismatch affecting tax, O other. */
export type RejectionReasonType = 'N' | 'U' | 'O';

/** `Primatelj` (BG-7). */
export interface InvoiceParty {
  /** `ime` (BT-27 / BT-44). */
  name: string;
  /** `oibPorezniBroj` (BT-31 / BT-48), 11 digits. */
  oib: string;
}

/** `Izdavatelj` (BG-4). */
export interface InvoiceIssuer extends InvoiceParty {
  /** `oibOperatera` (HR-BT-5): the operator's OIB. */
  operatorOib: string;
}

/** `PrijenosSredstava` (BG-17). */
export interface PaymentAccount {
  /** `identifikatorRacunaZaPlacanje` (BT-84), e.g. an IBAN. */
  id: string;
  /** `nazivRacunaZaPlacanje` (BT-85). */
  name?: string;
  /** `identifikatorPruzateljaPlatnihUsluga` (BT-86). */
  providerId?: string;
}

/** `DokumentUkupanIznos` (BG-22). */
export interface DocumentTotals {
  /** `neto` (BT-106): sum of line net amounts. */
  net: DecimalText;
  /** `popust` (BT-107). */
  allowances?: DecimalText;
  /** `trosak` (BT-108). */
  charges?: DecimalText;
  /** `iznosBezPdv` (BT-109). */
  withoutVat: DecimalText;
  /** `pdv` (BT-110). */
  vat: DecimalText;
  /** `iznosSPdv` (BT-112). */
  withVat: DecimalText;
  /** `placeniIznos` (BT-113). */
  paid?: DecimalText;
  /** `iznosKojiDospijevaZaPlacanje` (BT-115). */
  payable: DecimalText;
}

/** `RaspodjelaPdv` (BG-23), one per VAT category and rate. */
export interface VatBreakdown {
  /** `kategorijaPdv` (BT-118): S, O, E, AE, Z, K, G, L, M. */
  category: string;
  /** `oporeziviIznos` (BT-116). */
  taxableAmount: DecimalText;
  /** `iznosPoreza` (BT-117). */
  taxAmount: DecimalText;
  /** `stopa` (BT-119). */
  rate?: DecimalText;
  /** `razlogOslobodenja` (BT-121), a VATEX code. */
  exemptionCode?: string;
  /** `tekstRazlogaOslobodenja` (BT-120). */
  exemptionText?: string;
  /** `hrOznakaKategorijaPdv`, e.g. `HR:PDV25`. */
  hrCategory?: string;
}

/** `DokumentPopust` (BG-20). */
export interface DocumentAllowance {
  /** `iznosPopust` (BT-92). */
  amount: DecimalText;
  /** `kategorijaPdv` (BT-95). */
  category: string;
  /** `stopaPdv` (BT-96). */
  rate?: DecimalText;
  /** `tekstRazlogaPopusta` (BT-97). */
  reasonText?: string;
  /** `razlogPopusta` (BT-98), UNTDID 5189. */
  reasonCode?: string;
}

/** `DokumentTrosak` (BG-21). */
export interface DocumentCharge {
  /** `iznosTrosak` (BT-99). */
  amount: DecimalText;
  /** `kategorijaPdv` (BT-102). */
  category: string;
  /** `hrOznakaPorezneKategorije`. */
  hrCategory?: string;
  /** `stopaPdv` (BT-103). */
  rate?: DecimalText;
  /** `tekstRazlogaOslobodenjaPdv` (BT-104 text). */
  exemptionText?: string;
  /** `razlogOslobodenjaPdv`, a VATEX code. */
  exemptionCode?: string;
}

/** `ArtiklIdentifikatorKlasifikacija` (BT-158): the KPD code. */
export interface ItemClassification {
  /** `identifikatorKlasifikacije`, e.g. `62.20.20`. */
  code: string;
  /** `identifikatorSheme`: `CG` (KPD 2025). */
  scheme: 'CG';
  /** `verzijaSheme`. */
  version?: string;
}

/** `StavkaERacuna` / `StavkaRacuna` (BG-25). */
export interface InvoiceLineReport {
  /** `kolicina` (BT-129). */
  quantity: DecimalText;
  /** `jedinicaMjere` (BT-130). */
  unit: string;
  /** `neto` (BT-131): the line net amount. */
  net: DecimalText;
  /** `artiklNetoCijena` (BT-146). */
  netPrice: DecimalText;
  /** `artiklBrutoCijena` (BT-148). */
  grossPrice?: DecimalText;
  /** `artiklOsnovnaKolicina` (BT-149). */
  baseQuantity?: DecimalText;
  /** `artiklJedinicaMjereZaOsnovnuKolicinu` (BT-150). */
  baseQuantityUnit?: string;
  /** `artiklKategorijaPdv` (BT-151). */
  category: string;
  /** `artiklStopaPdv` (BT-152). */
  rate?: DecimalText;
  /** `artiklNaziv` (BT-153). */
  name: string;
  /** `artiklOpis` (BT-154). */
  description?: string;
  /** `artiklHrOznakaKategorijaPdv`. */
  hrCategory?: string;
  /** KPD classifications. */
  classifications: ItemClassification[];
}

/**
 * One e-invoice to report: `ERacun` of EvidentirajERacunZahtjev, or
 * `Racun` of EvidentirajIsporukuZaKojuNijeIzdanERacunZahtjev (same
 * fields). Built from the stored UBL by `invoiceReportFromUbl`.
 */
export interface InvoiceReport {
  /** `brojDokumenta` (BT-1). */
  number: string;
  /** `datumIzdavanja` (BT-2), from 2026-01-01. */
  issueDate: DateText;
  /** `vrstaDokumenta` (BT-3), UNTDID 1001, e.g. `380`. */
  documentType: string;
  /** `valutaERacuna` / `valutaRacuna` (BT-5). */
  currency: string;
  /** `datumDospijecaPlacanja` (BT-9). */
  dueDate?: DateText;
  /** `vrstaPoslovnogProcesa` (BT-23), e.g. `P1`. */
  processId: string;
  /** `referencaNaUgovor` (BT-12). */
  contractReference?: string;
  /** `datumIsporuke` (BT-72). */
  deliveryDate?: DateText;
  /** `PrethodniERacun` (BG-3). */
  previous: { number: string; issueDate: DateText }[];
  issuer: InvoiceIssuer;
  recipient: InvoiceParty;
  paymentAccounts: PaymentAccount[];
  totals: DocumentTotals;
  vatBreakdown: VatBreakdown[];
  allowances: DocumentAllowance[];
  charges: DocumentCharge[];
  lines: InvoiceLineReport[];
  /** `indikatorKopije`. Default false. */
  copy?: boolean;
}

/** One payment of an e-invoice: `Naplata`. */
export interface PaymentReport {
  /** `brojDokumenta` of the e-invoice paid. */
  number: string;
  /** `datumIzdavanja` of the e-invoice paid. */
  issueDate: DateText;
  /** `oibPorezniBrojIzdavatelja`. */
  issuerOib: string;
  /** `oibPorezniBrojPrimatelja`. */
  recipientOib: string;
  /** `datumNaplate`. */
  paidOn: DateText;
  /** `naplaceniIznos`. */
  amount: DecimalText;
  /** `nacinPlacanja`. */
  method: PaymentMethod;
}

/** One rejection of an e-invoice by its recipient: `Odbijanje`. */
export interface RejectionReport {
  /** `brojDokumenta` of the e-invoice rejected. */
  number: string;
  /** `datumIzdavanja` of the e-invoice rejected. */
  issueDate: DateText;
  /** `oibPorezniBrojIzdavatelja`. */
  issuerOib: string;
  /** `oibPorezniBrojPrimatelja`. */
  recipientOib: string;
  /** `datumOdbijanja`. */
  rejectedOn: DateText;
  /** `vrstaRazlogaOdbijanja`. */
  reasonType: RejectionReasonType;
  /** `razlogOdbijanja`, free text. */
  reason: string;
}

/** A built, not yet signed request. */
export interface ReportMessage {
  kind: ReportKind;
  /** The root element's local name, e.g. `EvidentirajERacunZahtjev`. */
  rootName: string;
  /** The root element's namespace. */
  namespace: string;
  /** The root's `id` attribute (a UUID): the reply's `idZahtjeva`. */
  requestId: string;
  /** `datumVrijemeSlanja`, as written (Zagreb wall clock). */
  sentAt: string;
  /** How many records the request carries (1–100). */
  recordCount: number;
  /** The unsigned XML (root element, with XML declaration). */
  xml: string;
}

/** Options every builder takes. */
export interface BuildOptions {
  /** The root's `id`. Default: a fresh UUID v4. */
  requestId?: string;
  /** `datumVrijemeSlanja`. Default: now. */
  sentAt?: Date;
}
