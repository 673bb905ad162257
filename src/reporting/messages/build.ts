import { randomUUID } from 'node:crypto';
import { invalidInput } from '../../errors/tenantgate-error.js';
import type {
  BuildOptions,
  DocumentAllowance,
  DocumentCharge,
  ERacunDirection,
  InvoiceLineReport,
  InvoiceReport,
  PaymentReport,
  RejectionReport,
  ReportKind,
  ReportMessage,
  VatBreakdown,
} from './types.js';
import {
  amount2,
  code,
  date,
  decimal10,
  EFISKALIZACIJA_NS,
  EIZVJESTAVANJE_NS,
  escapeText,
  leaf,
  oib,
  optionalAmount2,
  optionalDecimal10,
  optionalText,
  sendTime,
  text,
  writeNodes,
  type Node,
} from './xml.js';

/** The most records one request may carry. */
export const MAX_RECORDS = 100;

/** The first `datumIzdavanja` the service accepts. */
const FIRST_ISSUE_DATE = '2026-01-01';

const VAT_CATEGORIES = ['S', 'O', 'E', 'AE', 'Z', 'K', 'G', 'L', 'M'] as const;
const HR_CATEGORIES = [
  'HR:PDV25',
  'HR:PDV13',
  'HR:PDV5',
  'HR:Z',
  'HR:K',
  'HR:G',
  'HR:AE',
  'HR:E',
  'HR:POVNAK',
  'HR:PP',
  'HR:PPMV',
  'HR:O',
  'HR:N',
] as const;
/** UNTDID 1001 document types the schema lists. */
export const DOCUMENT_TYPES = [
  '71', '80', '81', '82', '83', '84', '102', '130', '202', '203', '204',
  '211', '218', '219', '261', '262', '295', '296', '308', '325', '326',
  '331', '380', '381', '382', '383', '384', '385', '386', '387', '388',
  '389', '390', '393', '394', '395', '396', '420', '456', '457', '458',
  '527', '532', '553', '575', '623', '633', '751', '780', '817', '870',
  '875', '876', '877', '935',
] as const; // prettier-ignore
const ALLOWANCE_REASONS = [
  '64', '95', '100', '102', '103', '104', '105', '106', '109', '98',
] as const; // prettier-ignore

/** What each kind's root looks like. */
const ROOTS: Record<
  ReportKind,
  { name: string; namespace: string; prefix: string; record: string }
> = {
  ERACUN: {
    name: 'EvidentirajERacunZahtjev',
    namespace: EFISKALIZACIJA_NS,
    prefix: 'efis',
    record: 'ERacun',
  },
  NAPLATA: {
    name: 'EvidentirajNaplatuZahtjev',
    namespace: EIZVJESTAVANJE_NS,
    prefix: 'eizv',
    record: 'Naplata',
  },
  ODBIJANJE: {
    name: 'EvidentirajOdbijanjeZahtjev',
    namespace: EIZVJESTAVANJE_NS,
    prefix: 'eizv',
    record: 'Odbijanje',
  },
  ISPORUKA: {
    name: 'EvidentirajIsporukuZaKojuNijeIzdanERacunZahtjev',
    namespace: EIZVJESTAVANJE_NS,
    prefix: 'eizv',
    record: 'Racun',
  },
};

/** The root element name and namespace of a kind's request. */
export function requestRoot(kind: ReportKind): {
  name: string;
  namespace: string;
} {
  const { name, namespace } = ROOTS[kind];
  return { name, namespace };
}

/**
 * EvidentirajERacunZahtjev: 1–100 e-invoices, `I` when the issuer
 * reports its outgoing ones, `U` when the recipient reports incoming
 * ones. Fields go in schema order; a field the schema would refuse is
 * refused here with INVALID_INPUT naming it (`ERacun[3].issuer.oib`).
 */
export function buildEvidentirajERacun(
  records: readonly InvoiceReport[],
  options: BuildOptions & { direction: ERacunDirection },
): ReportMessage {
  const direction = code(options.direction, ['I', 'U'], 'direction');
  return build('ERACUN', records, options, (record, field) =>
    invoiceNodes(record, field, 'ERACUN'),
  ).withHeader([{ name: 'vrstaERacuna', text: direction }]);
}

/** EvidentirajNaplatuZahtjev: 1–100 payments (`Naplata`). */
export function buildEvidentirajNaplatu(
  records: readonly PaymentReport[],
  options: BuildOptions = {},
): ReportMessage {
  return build('NAPLATA', records, options, paymentNodes).withHeader([]);
}

/** EvidentirajOdbijanjeZahtjev: 1–100 rejections (`Odbijanje`). */
export function buildEvidentirajOdbijanje(
  records: readonly RejectionReport[],
  options: BuildOptions = {},
): ReportMessage {
  return build('ODBIJANJE', records, options, rejectionNodes).withHeader([]);
}

/**
 * EvidentirajIsporukuZaKojuNijeIzdanERacunZahtjev: 1–100 supplies for
 * which no e-invoice was issued (`Racun`, header `vrstaRacuna` IR).
 */
export function buildEvidentirajIsporuku(
  records: readonly InvoiceReport[],
  options: BuildOptions = {},
): ReportMessage {
  return build('ISPORUKA', records, options, (record, field) =>
    invoiceNodes(record, field, 'ISPORUKA'),
  ).withHeader([{ name: 'vrstaRacuna', text: 'IR' }]);
}

function build<T>(
  kind: ReportKind,
  records: readonly T[],
  options: BuildOptions,
  recordNodes: (record: T, field: string) => (Node | undefined)[],
) {
  const root = ROOTS[kind];
  checkBatch(records, root.record);
  const requestId = options.requestId ?? randomUUID();
  text(requestId, 'requestId', 200);
  const sentAt = sendTime(options.sentAt ?? new Date());
  const bodies = records.map((record, i) => ({
    name: root.record,
    children: recordNodes(record, `${root.record}[${i + 1}]`),
  }));

  return {
    withHeader(extra: Node[]): ReportMessage {
      const header: Node = {
        name: 'Zaglavlje',
        children: [{ name: 'datumVrijemeSlanja', text: sentAt }, ...extra],
      };
      const p = root.prefix;
      const xml =
        '<?xml version="1.0" encoding="UTF-8"?>' +
        `<${p}:${root.name} xmlns:${p}="${root.namespace}"` +
        ` ${p}:id="${escapeText(requestId)}">` +
        writeNodes([header, ...bodies], p) +
        `</${p}:${root.name}>`;
      return {
        kind,
        rootName: root.name,
        namespace: root.namespace,
        requestId,
        sentAt,
        recordCount: records.length,
        xml,
      };
    },
  };
}

/** 1–100 records; 101 is refused naming the record element. */
function checkBatch(records: readonly unknown[], field: string): void {
  if (!Array.isArray(records) || records.length === 0) {
    throw invalidInput(
      field,
      'batch-size',
      `${field}: a request carries at least one record`,
      { count: 0, max: MAX_RECORDS },
    );
  }
  if (records.length > MAX_RECORDS) {
    throw invalidInput(
      field,
      'batch-size',
      `${field}: a request carries at most ${MAX_RECORDS} records, got ${records.length}`,
      { count: records.length, max: MAX_RECORDS },
    );
  }
}

function invoiceNodes(
  r: InvoiceReport,
  f: string,
  kind: 'ERACUN' | 'ISPORUKA',
): (Node | undefined)[] {
  const eracun = kind === 'ERACUN';
  if (!Array.isArray(r.lines) || r.lines.length === 0) {
    throw invalidInput(`${f}.lines`, 'required', `${f}.lines: at least one`);
  }
  if (!Array.isArray(r.vatBreakdown) || r.vatBreakdown.length === 0) {
    throw invalidInput(
      `${f}.vatBreakdown`,
      'required',
      `${f}.vatBreakdown: at least one`,
    );
  }
  return [
    leaf('brojDokumenta', text(r.number, `${f}.number`, 100)),
    leaf(
      'datumIzdavanja',
      date(r.issueDate, `${f}.issueDate`, FIRST_ISSUE_DATE),
    ),
    leaf(
      'vrstaDokumenta',
      code(r.documentType, DOCUMENT_TYPES, `${f}.documentType`),
    ),
    leaf(eracun ? 'valutaERacuna' : 'valutaRacuna', currency(r, f)),
    leaf(
      'datumDospijecaPlacanja',
      r.dueDate === undefined ? undefined : date(r.dueDate, `${f}.dueDate`),
    ),
    leaf('vrstaPoslovnogProcesa', text(r.processId, `${f}.processId`, 200)),
    leaf(
      'referencaNaUgovor',
      optionalText(r.contractReference, `${f}.contractReference`, 1024),
    ),
    leaf(
      'datumIsporuke',
      r.deliveryDate === undefined
        ? undefined
        : date(r.deliveryDate, `${f}.deliveryDate`),
    ),
    ...(r.previous ?? []).map((p, i) => ({
      name: eracun ? 'PrethodniERacun' : 'PrethodniRacun',
      children: [
        leaf(
          'brojDokumenta',
          text(p.number, `${f}.previous[${i}].number`, 100),
        ),
        leaf(
          'datumIzdavanja',
          date(p.issueDate, `${f}.previous[${i}].issueDate`),
        ),
      ],
    })),
    {
      name: 'Izdavatelj',
      children: [
        leaf('ime', text(r.issuer?.name, `${f}.issuer.name`, 1024)),
        leaf('oibPorezniBroj', oib(r.issuer?.oib, `${f}.issuer.oib`)),
        leaf(
          'oibOperatera',
          oib(r.issuer?.operatorOib, `${f}.issuer.operatorOib`),
        ),
      ],
    },
    {
      name: 'Primatelj',
      children: [
        leaf('ime', text(r.recipient?.name, `${f}.recipient.name`, 1024)),
        leaf('oibPorezniBroj', oib(r.recipient?.oib, `${f}.recipient.oib`)),
      ],
    },
    ...(r.paymentAccounts ?? []).map((a, i) => {
      const af = `${f}.paymentAccounts[${i}]`;
      return {
        name: 'PrijenosSredstava',
        children: [
          leaf('identifikatorRacunaZaPlacanje', text(a.id, `${af}.id`, 200)),
          leaf(
            'nazivRacunaZaPlacanje',
            optionalText(a.name, `${af}.name`, 500),
          ),
          leaf(
            'identifikatorPruzateljaPlatnihUsluga',
            optionalText(a.providerId, `${af}.providerId`, 200),
          ),
        ],
      };
    }),
    totalsNode(r, `${f}.totals`),
    ...r.vatBreakdown.map((v, i) => vatNode(v, `${f}.vatBreakdown[${i}]`)),
    ...(r.allowances ?? []).map((a, i) =>
      allowanceNode(a, `${f}.allowances[${i}]`),
    ),
    ...(r.charges ?? []).map((c, i) => chargeNode(c, `${f}.charges[${i}]`)),
    ...r.lines.map((l, i) =>
      lineNode(
        l,
        `${f}.lines[${i}]`,
        eracun ? 'StavkaERacuna' : 'StavkaRacuna',
      ),
    ),
    leaf('indikatorKopije', r.copy ? 'true' : 'false'),
  ];
}

function currency(r: InvoiceReport, f: string): string {
  if (typeof r.currency !== 'string' || !/^[A-Z]{3}$/.test(r.currency)) {
    throw invalidInput(
      `${f}.currency`,
      'iso-4217',
      `${f}.currency: an ISO 4217 code`,
    );
  }
  return r.currency;
}

function totalsNode(r: InvoiceReport, f: string): Node {
  const t = r.totals;
  if (!t) throw invalidInput(f, 'required', `${f}: required`);
  return {
    name: 'DokumentUkupanIznos',
    children: [
      leaf('neto', amount2(t.net, `${f}.net`)),
      leaf('popust', optionalAmount2(t.allowances, `${f}.allowances`)),
      leaf('trosak', optionalAmount2(t.charges, `${f}.charges`)),
      leaf('iznosBezPdv', amount2(t.withoutVat, `${f}.withoutVat`)),
      leaf('pdv', amount2(t.vat, `${f}.vat`)),
      leaf('iznosSPdv', amount2(t.withVat, `${f}.withVat`)),
      leaf('placeniIznos', optionalAmount2(t.paid, `${f}.paid`)),
      leaf('iznosKojiDospijevaZaPlacanje', amount2(t.payable, `${f}.payable`)),
    ],
  };
}

function vatNode(v: VatBreakdown, f: string): Node {
  return {
    name: 'RaspodjelaPdv',
    children: [
      leaf('kategorijaPdv', code(v.category, VAT_CATEGORIES, `${f}.category`)),
      leaf('oporeziviIznos', amount2(v.taxableAmount, `${f}.taxableAmount`)),
      leaf('iznosPoreza', amount2(v.taxAmount, `${f}.taxAmount`)),
      leaf('stopa', optionalDecimal10(v.rate, `${f}.rate`)),
      leaf('razlogOslobodenja', vatex(v.exemptionCode, `${f}.exemptionCode`)),
      leaf(
        'tekstRazlogaOslobodenja',
        optionalText(v.exemptionText, `${f}.exemptionText`, 1024),
      ),
      leaf(
        'hrOznakaKategorijaPdv',
        hrCategory(v.hrCategory, `${f}.hrCategory`),
      ),
    ],
  };
}

function allowanceNode(a: DocumentAllowance, f: string): Node {
  return {
    name: 'DokumentPopust',
    children: [
      leaf('iznosPopust', amount2(a.amount, `${f}.amount`)),
      leaf('kategorijaPdv', code(a.category, VAT_CATEGORIES, `${f}.category`)),
      leaf('stopaPdv', optionalDecimal10(a.rate, `${f}.rate`)),
      leaf(
        'tekstRazlogaPopusta',
        optionalText(a.reasonText, `${f}.reasonText`, 1024),
      ),
      leaf(
        'razlogPopusta',
        a.reasonCode === undefined
          ? undefined
          : code(a.reasonCode, ALLOWANCE_REASONS, `${f}.reasonCode`),
      ),
    ],
  };
}

function chargeNode(c: DocumentCharge, f: string): Node {
  return {
    name: 'DokumentTrosak',
    children: [
      leaf('iznosTrosak', amount2(c.amount, `${f}.amount`)),
      leaf('kategorijaPdv', code(c.category, VAT_CATEGORIES, `${f}.category`)),
      leaf(
        'hrOznakaPorezneKategorije',
        hrCategory(c.hrCategory, `${f}.hrCategory`),
      ),
      leaf('stopaPdv', optionalDecimal10(c.rate, `${f}.rate`)),
      leaf(
        'tekstRazlogaOslobodenjaPdv',
        optionalText(c.exemptionText, `${f}.exemptionText`, 1024),
      ),
      leaf(
        'razlogOslobodenjaPdv',
        vatex(c.exemptionCode, `${f}.exemptionCode`),
      ),
    ],
  };
}

function lineNode(l: InvoiceLineReport, f: string, name: string): Node {
  return {
    name,
    children: [
      leaf('kolicina', decimal10(l.quantity, `${f}.quantity`)),
      leaf('jedinicaMjere', unit(l.unit, `${f}.unit`)),
      leaf('neto', amount2(l.net, `${f}.net`)),
      leaf('artiklNetoCijena', decimal10(l.netPrice, `${f}.netPrice`)),
      leaf(
        'artiklBrutoCijena',
        optionalDecimal10(l.grossPrice, `${f}.grossPrice`),
      ),
      leaf(
        'artiklOsnovnaKolicina',
        optionalDecimal10(l.baseQuantity, `${f}.baseQuantity`),
      ),
      leaf(
        'artiklJedinicaMjereZaOsnovnuKolicinu',
        l.baseQuantityUnit === undefined
          ? undefined
          : unit(l.baseQuantityUnit, `${f}.baseQuantityUnit`),
      ),
      leaf(
        'artiklKategorijaPdv',
        code(l.category, VAT_CATEGORIES, `${f}.category`),
      ),
      leaf('artiklStopaPdv', optionalDecimal10(l.rate, `${f}.rate`)),
      leaf('artiklNaziv', text(l.name, `${f}.name`, 1024)),
      leaf('artiklOpis', optionalText(l.description, `${f}.description`, 4096)),
      leaf(
        'artiklHrOznakaKategorijaPdv',
        hrCategory(l.hrCategory, `${f}.hrCategory`),
      ),
      ...(l.classifications ?? []).map((c, i) => ({
        name: 'ArtiklIdentifikatorKlasifikacija',
        children: [
          leaf(
            'identifikatorKlasifikacije',
            text(c.code, `${f}.classifications[${i}].code`, 10),
          ),
          leaf(
            'identifikatorSheme',
            code(c.scheme, ['CG'], `${f}.classifications[${i}].scheme`),
          ),
          leaf(
            'verzijaSheme',
            optionalText(c.version, `${f}.classifications[${i}].version`, 10),
          ),
        ],
      })),
    ],
  };
}

function paymentNodes(r: PaymentReport, f: string): (Node | undefined)[] {
  return [
    leaf('brojDokumenta', text(r.number, `${f}.number`, 100)),
    leaf(
      'datumIzdavanja',
      date(r.issueDate, `${f}.issueDate`, FIRST_ISSUE_DATE),
    ),
    leaf('oibPorezniBrojIzdavatelja', oib(r.issuerOib, `${f}.issuerOib`)),
    leaf('oibPorezniBrojPrimatelja', oib(r.recipientOib, `${f}.recipientOib`)),
    leaf('datumNaplate', date(r.paidOn, `${f}.paidOn`)),
    leaf('naplaceniIznos', amount2(r.amount, `${f}.amount`)),
    leaf('nacinPlacanja', code(r.method, ['T', 'O', 'Z'], `${f}.method`)),
  ];
}

function rejectionNodes(r: RejectionReport, f: string): (Node | undefined)[] {
  return [
    leaf('brojDokumenta', text(r.number, `${f}.number`, 100)),
    leaf(
      'datumIzdavanja',
      date(r.issueDate, `${f}.issueDate`, FIRST_ISSUE_DATE),
    ),
    leaf('oibPorezniBrojIzdavatelja', oib(r.issuerOib, `${f}.issuerOib`)),
    leaf('oibPorezniBrojPrimatelja', oib(r.recipientOib, `${f}.recipientOib`)),
    leaf('datumOdbijanja', date(r.rejectedOn, `${f}.rejectedOn`)),
    leaf(
      'vrstaRazlogaOdbijanja',
      code(r.reasonType, ['N', 'U', 'O'], `${f}.reasonType`),
    ),
    leaf('razlogOdbijanja', text(r.reason, `${f}.reason`, 1024)),
  ];
}

function unit(value: string, field: string): string {
  if (typeof value !== 'string' || !/^[A-Z0-9]{2,3}$/.test(value)) {
    throw invalidInput(
      field,
      'unit-code',
      `${field}: a UN/ECE rec. 20 unit code (2–3 capitals or digits)`,
    );
  }
  return value;
}

function vatex(value: string | undefined, field: string) {
  if (value === undefined) return undefined;
  if (!/^vatex-eu-[0-9a-z-]+$/i.test(value)) {
    throw invalidInput(field, 'vatex', `${field}: a VATEX-EU code`);
  }
  return value;
}

function hrCategory(value: string | undefined, field: string) {
  return value === undefined ? undefined : code(value, HR_CATEGORIES, field);
}
