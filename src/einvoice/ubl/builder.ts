import { Decimal } from 'decimal.js';
import { invalidInput } from '../../errors/tenantgate-error.js';
import { HR_CUSTOMIZATION_ID } from '../rules/hr-cius.js';
import { KPD_CODES } from '../rules/kpd-codes.js';
import type {
  AllowanceChargeModel,
  Amount,
  InvoiceModel,
  LineModel,
  PartyModel,
  VatModel,
} from './model.js';
import { parseInvoiceModel } from './model-schema.js';
import { formatAmount, lineNetAmount, vatAmount } from './rounding.js';
import { checkText, writeXml, type XmlElement } from './xml-writer.js';

const NS = {
  cac: 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  cbc: 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
  ext: 'urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2',
  hrextac: 'urn:mfin.gov.hr:schema:xsd:HRExtensionAggregateComponents-1',
};

/** Labels of amounts outside the VAT base (HR extension, HR-BR-30). */
const OUT_OF_BASE = new Set(['HR:POVNAK', 'HR:PP', 'HR:PPMV', 'HR:N']);

/** One row of a VAT breakdown, EN (BG-23) or HR (HR-BG-2). */
interface Breakdown {
  category: string;
  rate: Decimal | undefined;
  label: string;
  taxable: Decimal;
  tax: Decimal;
  vat: VatModel;
  /** HR breakdown rows outside the VAT base use tax scheme OTH. */
  scheme: 'VAT' | 'OTH';
}

/** The totals the builder derived, as written into the document. */
export interface UblTotals {
  lineExtension: Decimal;
  allowances: Decimal;
  charges: Decimal;
  taxExclusive: Decimal;
  tax: Decimal;
  taxInclusive: Decimal;
  prepaid: Decimal;
  payable: Decimal;
}

/** What `buildUbl` returns: the document and the totals in it. */
export interface BuiltUbl {
  xml: string;
  totals: UblTotals;
}

/**
 * Builds a UBL 2.1 Invoice or CreditNote in the Croatian CIUS 2025 from
 * the JSON model. Line amounts are rounded first, each VAT category is
 * computed from its own base, and every total is derived, so the result
 * satisfies the EN 16931 calculation rules by construction. Refuses bad
 * input with a TenantGateError naming the model field.
 */
export function buildUbl(input: InvoiceModel): BuiltUbl {
  const model = parseInvoiceModel(input);
  checkModel(model);
  const nets = model.lines.map((line, i) => lineNet(line, i));
  const allowances = model.allowances ?? [];
  const charges = model.charges ?? [];
  const totals = computeTotals(model, nets, allowances, charges);
  const breakdown = vatBreakdown(model, nets);

  const root = model.kind === 'CREDIT_NOTE' ? 'CreditNote' : 'Invoice';
  const xml = writeXml({
    name: root,
    attributes: {
      xmlns: `urn:oasis:names:specification:ubl:schema:xsd:${root}-2`,
      'xmlns:cac': NS.cac,
      'xmlns:cbc': NS.cbc,
      'xmlns:ext': NS.ext,
      'xmlns:hrextac': NS.hrextac,
    },
    children: [
      ...hrExtension(model, nets, totals),
      ...header(model),
      ...parties(model),
      ...payment(model),
      ...allowances.flatMap((a, i) => docAllowanceCharge(model, a, false, i)),
      ...charges.flatMap((c, i) => docAllowanceCharge(model, c, true, i)),
      taxTotal(model, breakdown, totals),
      monetaryTotal(model, totals),
      ...model.lines.map((line, i) => lineElement(model, line, nets[i]!, i)),
    ],
  });
  return { xml, totals };
}

/** A text element; omitted when the value is absent or blank. */
function t(
  name: string,
  value: string | undefined,
  field: string,
  attributes?: Record<string, string>,
): XmlElement[] {
  if (value === undefined || value.trim() === '') return [];
  return [{ name, text: checkText(value, field), attributes }];
}

function e(name: string, ...children: XmlElement[][]): XmlElement[] {
  const flat = children.flat();
  return flat.length === 0 ? [] : [{ name, children: flat }];
}

function dec(value: Amount | undefined, field: string): Decimal {
  try {
    const d = new Decimal(value ?? 0);
    if (!d.isFinite()) throw new Error('not finite');
    return d;
  } catch {
    throw invalidInput(
      field,
      'decimal',
      `${field}: '${value}' is not a number`,
    );
  }
}

function checkModel(model: InvoiceModel): void {
  if (model.lines.length === 0) {
    throw invalidInput('lines', 'BR-16', 'lines: at least one line');
  }
  if (/\s/.test(model.number) || model.number === '') {
    throw invalidInput(
      'number',
      'HR-BR-1',
      'number: required, without whitespace',
    );
  }
  const dates: [string, string | undefined][] = [
    ['issueDate', model.issueDate],
    ['dueDate', model.dueDate],
    ['deliveryDate', model.deliveryDate],
    ['period.start', model.period?.start],
    ['period.end', model.period?.end],
  ];
  for (const [field, value] of dates) {
    if (value !== undefined && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(value)) {
      throw invalidInput(
        field,
        'date',
        `${field}: '${value}' is not YYYY-MM-DD`,
      );
    }
  }
  model.lines.forEach((line, i) => {
    if (line.kpd === undefined || KPD_CODES.has(line.kpd)) return;
    throw invalidInput(
      `lines[${i}].kpd`,
      'HR-BR-CL-2',
      `lines[${i}].kpd: '${line.kpd}' is not a KPD 2025 code`,
    );
  });
  if (!/^[0-9]{2}:[0-9]{2}:[0-9]{2}$/.test(model.issueTime)) {
    throw invalidInput('issueTime', 'HR-BR-2', 'issueTime: hh:mm:ss');
  }
  if (!/^(P[1-9]|P1[0-2]|P99:.+)$/.test(model.process)) {
    throw invalidInput('process', 'HR-BR-34', 'process: P1…P12 or P99:<label>');
  }
}

function lineNet(line: LineModel, i: number): Decimal {
  const field = `lines[${i}]`;
  return lineNetAmount({
    quantity: dec(line.quantity, `${field}.quantity`),
    price: dec(line.price, `${field}.price`),
    baseQuantity: dec(line.baseQuantity ?? 1, `${field}.baseQuantity`),
    allowances: (line.allowances ?? []).map((a, j) =>
      dec(a.amount, `${field}.allowances[${j}].amount`),
    ),
    charges: (line.charges ?? []).map((c, j) =>
      dec(c.amount, `${field}.charges[${j}].amount`),
    ),
  });
}

function sumAmounts(items: AllowanceChargeModel[], field: string): Decimal {
  return items.reduce(
    (s, item, i) =>
      s.plus(
        dec(item.amount, `${field}[${i}].amount`).toDecimalPlaces(
          2,
          Decimal.ROUND_HALF_UP,
        ),
      ),
    new Decimal(0),
  );
}

function computeTotals(
  model: InvoiceModel,
  nets: Decimal[],
  allowances: AllowanceChargeModel[],
  charges: AllowanceChargeModel[],
): UblTotals {
  const lineExtension = nets.reduce((s, n) => s.plus(n), new Decimal(0));
  const allowanceTotal = sumAmounts(allowances, 'allowances');
  const chargeTotal = sumAmounts(charges, 'charges');
  const taxExclusive = lineExtension.minus(allowanceTotal).plus(chargeTotal);
  const tax = vatBreakdown(model, nets).reduce(
    (s, row) => s.plus(row.tax),
    new Decimal(0),
  );
  const taxInclusive = taxExclusive.plus(tax);
  const prepaid = dec(model.prepaidAmount, 'prepaidAmount');
  return {
    lineExtension,
    allowances: allowanceTotal,
    charges: chargeTotal,
    taxExclusive,
    tax,
    taxInclusive,
    prepaid,
    payable: taxInclusive.minus(prepaid),
  };
}

function rateOf(vat: VatModel, field: string): Decimal | undefined {
  if (vat.category === 'O') return undefined;
  if (vat.category === 'S' && vat.rate === undefined) {
    throw invalidInput(
      `${field}.rate`,
      'BR-S-05',
      `${field}.rate: required for category S`,
    );
  }
  return dec(vat.rate ?? 0, `${field}.rate`);
}

/** HR-TB-2 label: explicit, or derived from the category and rate. */
function labelOf(vat: VatModel): string {
  if (vat.label) return vat.label;
  if (vat.category === 'S')
    return `HR:PDV${new Decimal(vat.rate ?? 0).toFixed()}`;
  return `HR:${vat.category}`;
}

interface Contribution {
  vat: VatModel;
  amount: Decimal;
  field: string;
}

function contributions(model: InvoiceModel, nets: Decimal[]): Contribution[] {
  const round = (a: Amount, f: string) =>
    dec(a, f).toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
  return [
    ...model.lines.map((l, i) => ({
      vat: l.vat,
      amount: nets[i]!,
      field: `lines[${i}].vat`,
    })),
    ...(model.charges ?? []).map((c, i) => ({
      vat: c.vat,
      amount: round(c.amount, `charges[${i}].amount`),
      field: `charges[${i}].vat`,
    })),
    ...(model.allowances ?? []).map((a, i) => ({
      vat: a.vat,
      amount: round(a.amount, `allowances[${i}].amount`).negated(),
      field: `allowances[${i}].vat`,
    })),
  ];
}

/** BG-23: one row per category and rate, VAT from the row's base. */
function vatBreakdown(model: InvoiceModel, nets: Decimal[]): Breakdown[] {
  return group(contributions(model, nets), (c) => {
    const rate = rateOf(c.vat, c.field);
    return {
      key: `${c.vat.category}|${rate?.toFixed() ?? ''}`,
      rate,
      label: labelOf(c.vat),
      category: c.vat.category,
      scheme: 'VAT' as const,
    };
  });
}

/** HR-BG-2: as BG-23, but amounts outside the VAT base become O/OTH. */
function hrBreakdown(model: InvoiceModel, nets: Decimal[]): Breakdown[] {
  return group(contributions(model, nets), (c) => {
    const label = labelOf(c.vat);
    if (OUT_OF_BASE.has(label)) {
      return {
        key: `O|${label}`,
        rate: new Decimal(0),
        label,
        category: 'O',
        scheme: 'OTH' as const,
      };
    }
    const rate = rateOf(c.vat, c.field);
    return {
      key: `${c.vat.category}|${rate?.toFixed() ?? ''}|${label}`,
      rate,
      label,
      category: c.vat.category,
      scheme: 'VAT' as const,
    };
  });
}

function group(
  items: Contribution[],
  keyOf: (c: Contribution) => {
    key: string;
    rate: Decimal | undefined;
    label: string;
    category: string;
    scheme: 'VAT' | 'OTH';
  },
): Breakdown[] {
  const rows = new Map<string, Breakdown>();
  for (const item of items) {
    const k = keyOf(item);
    const row = rows.get(k.key) ?? {
      category: k.category,
      rate: k.rate,
      label: k.label,
      taxable: new Decimal(0),
      tax: new Decimal(0),
      vat: item.vat,
      scheme: k.scheme,
    };
    row.taxable = row.taxable.plus(item.amount);
    rows.set(k.key, row);
  }
  for (const row of rows.values()) {
    row.tax =
      row.category === 'S' && row.rate
        ? vatAmount(row.taxable, row.rate)
        : new Decimal(0);
  }
  return [...rows.values()];
}

function money(
  model: InvoiceModel,
  name: string,
  value: Decimal,
): XmlElement[] {
  return [
    {
      name,
      text: formatAmount(value),
      attributes: { currencyID: model.currency ?? 'EUR' },
    },
  ];
}

function needsHrExtension(model: InvoiceModel, nets: Decimal[]): boolean {
  return contributions(model, nets).some(
    (c) => c.vat.category === 'E' || OUT_OF_BASE.has(labelOf(c.vat)),
  );
}

function hrExtension(
  model: InvoiceModel,
  nets: Decimal[],
  totals: UblTotals,
): XmlElement[] {
  if (!needsHrExtension(model, nets)) return [];
  const rows = hrBreakdown(model, nets);
  const outOfScope = rows
    .filter((r) => r.scheme === 'OTH')
    .reduce((s, r) => s.plus(r.taxable), new Decimal(0));
  const data = e(
    'hrextac:HRFISK20Data',
    e(
      'hrextac:HRTaxTotal',
      money(model, 'cbc:TaxAmount', totals.tax),
      ...rows.map((row) =>
        e(
          'hrextac:HRTaxSubtotal',
          money(model, 'cbc:TaxableAmount', row.taxable),
          money(model, 'cbc:TaxAmount', row.tax),
          e(
            'hrextac:HRTaxCategory',
            t('cbc:ID', row.category, 'vat.category'),
            t('cbc:Name', row.label, 'vat.label'),
            t(
              'cbc:Percent',
              (row.rate ?? new Decimal(0)).toFixed(),
              'vat.rate',
            ),
            ...exemption(row.vat, row.category),
            e('hrextac:HRTaxScheme', t('cbc:ID', row.scheme, 'vat')),
          ),
        ),
      ),
    ),
    e(
      'hrextac:HRLegalMonetaryTotal',
      money(
        model,
        'cbc:TaxExclusiveAmount',
        totals.taxExclusive.minus(outOfScope),
      ),
      money(model, 'hrextac:OutOfScopeOfVATAmount', outOfScope),
    ),
  );
  return e(
    'ext:UBLExtensions',
    e('ext:UBLExtension', e('ext:ExtensionContent', data)),
  );
}

function exemption(
  vat: VatModel,
  category: string,
  field = 'vat',
): XmlElement[][] {
  if (category === 'S' || category === 'Z') return [];
  return [
    t(
      'cbc:TaxExemptionReasonCode',
      vat.exemptionReasonCode,
      `${field}.exemptionReasonCode`,
    ),
    t(
      'cbc:TaxExemptionReason',
      vat.exemptionReason,
      `${field}.exemptionReason`,
    ),
  ];
}

function header(model: InvoiceModel): XmlElement[] {
  const credit = model.kind === 'CREDIT_NOTE';
  const typeCode = model.typeCode ?? (credit ? '381' : '380');
  return [
    ...t('cbc:CustomizationID', HR_CUSTOMIZATION_ID, 'customization'),
    ...t('cbc:ProfileID', model.process, 'process'),
    ...t('cbc:ID', model.number, 'number'),
    ...t('cbc:IssueDate', model.issueDate, 'issueDate'),
    ...t('cbc:IssueTime', model.issueTime, 'issueTime'),
    ...(credit ? [] : t('cbc:DueDate', model.dueDate, 'dueDate')),
    ...t(
      credit ? 'cbc:CreditNoteTypeCode' : 'cbc:InvoiceTypeCode',
      typeCode,
      'typeCode',
    ),
    ...t('cbc:Note', model.note, 'note'),
    ...t('cbc:DocumentCurrencyCode', model.currency ?? 'EUR', 'currency'),
    ...t('cbc:BuyerReference', model.buyerReference, 'buyerReference'),
    ...e(
      'cac:InvoicePeriod',
      t('cbc:StartDate', model.period?.start, 'period.start'),
      t('cbc:EndDate', model.period?.end, 'period.end'),
    ),
    ...e(
      'cac:OrderReference',
      t('cbc:ID', model.orderReference, 'orderReference'),
    ),
    ...(model.billingReferences ?? []).flatMap((ref, i) =>
      e(
        'cac:BillingReference',
        e(
          'cac:InvoiceDocumentReference',
          t('cbc:ID', ref.number, `billingReferences[${i}].number`),
          t(
            'cbc:IssueDate',
            ref.issueDate,
            `billingReferences[${i}].issueDate`,
          ),
        ),
      ),
    ),
    ...e(
      'cac:ContractDocumentReference',
      t('cbc:ID', model.contractReference, 'contractReference'),
    ),
  ];
}

function party(p: PartyModel, field: string): XmlElement[] {
  const a = p.address;
  return e(
    'cac:Party',
    t('cbc:EndpointID', p.oib, `${field}.oib`, { schemeID: '9934' }),
    e(
      'cac:PostalAddress',
      t('cbc:StreetName', a.street, `${field}.address.street`),
      t('cbc:CityName', a.city, `${field}.address.city`),
      t('cbc:PostalZone', a.postalCode, `${field}.address.postalCode`),
      e(
        'cac:Country',
        t('cbc:IdentificationCode', a.country, `${field}.address.country`),
      ),
    ),
    p.vatRegistered === false
      ? []
      : e(
          'cac:PartyTaxScheme',
          t('cbc:CompanyID', `HR${p.oib}`, `${field}.oib`),
          e('cac:TaxScheme', t('cbc:ID', 'VAT', field)),
        ),
    e(
      'cac:PartyLegalEntity',
      t('cbc:RegistrationName', p.name, `${field}.name`),
      t('cbc:CompanyID', p.oib, `${field}.oib`),
    ),
  );
}

function parties(model: InvoiceModel): XmlElement[] {
  return [
    ...e(
      'cac:AccountingSupplierParty',
      party(model.seller, 'seller'),
      e(
        'cac:SellerContact',
        t('cbc:ID', model.operator.oib, 'operator.oib'),
        t('cbc:Name', model.operator.name, 'operator.name'),
      ),
    ),
    ...e('cac:AccountingCustomerParty', party(model.buyer, 'buyer')),
    ...e(
      'cac:Delivery',
      t('cbc:ActualDeliveryDate', model.deliveryDate, 'deliveryDate'),
      e(
        'cac:DeliveryLocation',
        e(
          'cac:Address',
          e(
            'cac:Country',
            t(
              'cbc:IdentificationCode',
              model.deliveryCountry,
              'deliveryCountry',
            ),
          ),
        ),
      ),
    ),
  ];
}

function payment(model: InvoiceModel): XmlElement[] {
  const credit = model.kind === 'CREDIT_NOTE';
  return [
    ...(model.paymentMeans ?? []).flatMap((m, i) =>
      e(
        'cac:PaymentMeans',
        t('cbc:PaymentMeansCode', m.code, `paymentMeans[${i}].code`),
        credit ? t('cbc:PaymentDueDate', model.dueDate, 'dueDate') : [],
        t('cbc:InstructionNote', m.note, `paymentMeans[${i}].note`),
        t('cbc:PaymentID', m.paymentId, `paymentMeans[${i}].paymentId`),
        e(
          'cac:PayeeFinancialAccount',
          t('cbc:ID', m.accountId, `paymentMeans[${i}].accountId`),
        ),
      ),
    ),
    ...e('cac:PaymentTerms', t('cbc:Note', model.paymentTerms, 'paymentTerms')),
  ];
}

function taxCategory(
  name: string,
  vat: VatModel,
  field: string,
  withLabel: boolean,
): XmlElement[] {
  const rate = rateOf(vat, field);
  return e(
    name,
    t('cbc:ID', vat.category, `${field}.category`),
    withLabel ? t('cbc:Name', labelOf(vat), `${field}.label`) : [],
    rate === undefined ? [] : t('cbc:Percent', rate.toFixed(), `${field}.rate`),
    ...exemption(vat, vat.category, field),
    e('cac:TaxScheme', t('cbc:ID', 'VAT', field)),
  );
}

function docAllowanceCharge(
  model: InvoiceModel,
  ac: AllowanceChargeModel,
  charge: boolean,
  i: number,
): XmlElement[] {
  const field = `${charge ? 'charges' : 'allowances'}[${i}]`;
  if (!ac.reason && !ac.reasonCode) {
    throw invalidInput(
      `${field}.reason`,
      charge ? 'BR-38' : 'BR-33',
      `${field}.reason: a reason or a reason code is required`,
    );
  }
  return e(
    'cac:AllowanceCharge',
    t('cbc:ChargeIndicator', String(charge), field),
    t('cbc:AllowanceChargeReasonCode', ac.reasonCode, `${field}.reasonCode`),
    t('cbc:AllowanceChargeReason', ac.reason, `${field}.reason`),
    money(
      model,
      'cbc:Amount',
      dec(ac.amount, `${field}.amount`).toDecimalPlaces(
        2,
        Decimal.ROUND_HALF_UP,
      ),
    ),
    taxCategory('cac:TaxCategory', ac.vat, `${field}.vat`, true),
  );
}

function taxTotal(
  model: InvoiceModel,
  rows: Breakdown[],
  totals: UblTotals,
): XmlElement {
  return {
    name: 'cac:TaxTotal',
    children: [
      ...money(model, 'cbc:TaxAmount', totals.tax),
      ...rows.flatMap((row) =>
        e(
          'cac:TaxSubtotal',
          money(model, 'cbc:TaxableAmount', row.taxable),
          money(model, 'cbc:TaxAmount', row.tax),
          taxCategory('cac:TaxCategory', row.vat, 'vat', false),
        ),
      ),
    ],
  };
}

function monetaryTotal(model: InvoiceModel, totals: UblTotals): XmlElement {
  const optional = (name: string, value: Decimal) =>
    value.isZero() ? [] : money(model, name, value);
  return {
    name: 'cac:LegalMonetaryTotal',
    children: [
      ...money(model, 'cbc:LineExtensionAmount', totals.lineExtension),
      ...money(model, 'cbc:TaxExclusiveAmount', totals.taxExclusive),
      ...money(model, 'cbc:TaxInclusiveAmount', totals.taxInclusive),
      ...optional('cbc:AllowanceTotalAmount', totals.allowances),
      ...optional('cbc:ChargeTotalAmount', totals.charges),
      ...optional('cbc:PrepaidAmount', totals.prepaid),
      ...money(model, 'cbc:PayableAmount', totals.payable),
    ],
  };
}

function lineElement(
  model: InvoiceModel,
  line: LineModel,
  net: Decimal,
  i: number,
): XmlElement {
  const credit = model.kind === 'CREDIT_NOTE';
  const field = `lines[${i}]`;
  const lineAc = (
    items: { amount: Amount; reason: string }[] | undefined,
    charge: boolean,
  ) =>
    (items ?? []).flatMap((ac, j) =>
      e(
        'cac:AllowanceCharge',
        t('cbc:ChargeIndicator', String(charge), field),
        t(
          'cbc:AllowanceChargeReason',
          ac.reason,
          `${field}.${charge ? 'charges' : 'allowances'}[${j}].reason`,
        ),
        money(
          model,
          'cbc:Amount',
          dec(ac.amount, `${field}.amount`).toDecimalPlaces(
            2,
            Decimal.ROUND_HALF_UP,
          ),
        ),
      ),
    );
  const unit = { unitCode: checkText(line.unitCode, `${field}.unitCode`) };
  return {
    name: credit ? 'cac:CreditNoteLine' : 'cac:InvoiceLine',
    children: [
      ...t('cbc:ID', line.id ?? String(i + 1), `${field}.id`),
      ...t(
        credit ? 'cbc:CreditedQuantity' : 'cbc:InvoicedQuantity',
        dec(line.quantity, `${field}.quantity`).toFixed(),
        `${field}.quantity`,
        unit,
      ),
      ...money(model, 'cbc:LineExtensionAmount', net),
      ...lineAc(line.allowances, false),
      ...lineAc(line.charges, true),
      ...e(
        'cac:Item',
        t('cbc:Description', line.description, `${field}.description`),
        t('cbc:Name', line.name, `${field}.name`),
        e(
          'cac:CommodityClassification',
          t('cbc:ItemClassificationCode', line.kpd, `${field}.kpd`, {
            listID: 'CG',
          }),
        ),
        taxCategory(
          'cac:ClassifiedTaxCategory',
          line.vat,
          `${field}.vat`,
          true,
        ),
      ),
      ...e(
        'cac:Price',
        money(model, 'cbc:PriceAmount', dec(line.price, `${field}.price`)).map(
          (el) => ({
            ...el,
            text: dec(line.price, `${field}.price`).toFixed(),
          }),
        ),
        line.baseQuantity === undefined
          ? []
          : t(
              'cbc:BaseQuantity',
              dec(line.baseQuantity, `${field}.baseQuantity`).toFixed(),
              `${field}.baseQuantity`,
              unit,
            ),
      ),
    ],
  };
}
