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
import {
  computeTotals,
  contributions,
  dec,
  hrBreakdown,
  labelOf,
  lineNet,
  OUT_OF_BASE,
  rateOf,
  vatBreakdown,
  type Breakdown,
  type UblTotals,
} from './amounts.js';
import { parseInvoiceModel } from './model-schema.js';
import { formatAmount } from './rounding.js';
import { checkText, writeXml, type XmlElement } from './xml-writer.js';

const NS = {
  cac: 'urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2',
  cbc: 'urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2',
  ext: 'urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2',
  hrextac: 'urn:mfin.gov.hr:schema:xsd:HRExtensionAggregateComponents-1',
};

export type { UblTotals } from './amounts.js';

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
