import { invalidInput } from '../../errors/tenantgate-error.js';
import {
  all,
  attr,
  kid,
  kids,
  parseXml,
  text,
  textAt,
  type UblElement,
} from '../../einvoice/rules/dom.js';
import { isCharge, UblDocument } from '../../einvoice/rules/ubl-document.js';
import type {
  DocumentAllowance,
  DocumentCharge,
  InvoiceLineReport,
  InvoiceReport,
  ItemClassification,
  VatBreakdown,
} from './types.js';

export interface FromUblOptions {
  /**
   * `oibOperatera` when the UBL has no operator (HR-BT-5,
   * `SellerContact/ID`). Default: none, and a UBL without one is
   * refused.
   */
  operatorOib?: string;
}

/** The KPD 2025 classification list (`listID`). */
const KPD_LIST = 'CG';

/**
 * Reads the e-invoice to report from its stored UBL 2.1 Invoice or
 * CreditNote (HR CIUS): header, parties, payment accounts, totals, the
 * VAT breakdown, document allowances and charges, and the lines with
 * their KPD classification. Values are copied as written; the builder
 * checks and formats them. Refuses a document missing what the report
 * needs with INVALID_INPUT naming the UBL path.
 */
export function invoiceReportFromUbl(
  ubl: string,
  options: FromUblOptions = {},
): InvoiceReport {
  const doc = new UblDocument(parseXml(ubl));
  const root = doc.root;
  const seller = doc.seller;
  const buyer = doc.buyer;
  const totals = doc.totals;

  return {
    number: need(textAt(root, 'ID'), 'cbc:ID'),
    issueDate: need(textAt(root, 'IssueDate'), 'cbc:IssueDate'),
    documentType: need(
      textAt(root, doc.isCreditNote ? 'CreditNoteTypeCode' : 'InvoiceTypeCode'),
      doc.isCreditNote ? 'cbc:CreditNoteTypeCode' : 'cbc:InvoiceTypeCode',
    ),
    currency: need(
      textAt(root, 'DocumentCurrencyCode'),
      'cbc:DocumentCurrencyCode',
    ),
    dueDate: opt(
      textAt(root, 'DueDate') ?? textAt(root, 'PaymentMeans/PaymentDueDate'),
    ),
    processId: need(textAt(root, 'ProfileID'), 'cbc:ProfileID'),
    contractReference: opt(textAt(root, 'ContractDocumentReference/ID')),
    deliveryDate: opt(textAt(root, 'Delivery/ActualDeliveryDate')),
    previous: all(root, 'BillingReference/InvoiceDocumentReference').map(
      (ref) => ({
        number: need(textAt(ref, 'ID'), 'InvoiceDocumentReference/cbc:ID'),
        issueDate: need(
          textAt(ref, 'IssueDate'),
          'InvoiceDocumentReference/cbc:IssueDate',
        ),
      }),
    ),
    issuer: {
      name: need(partyName(seller), 'AccountingSupplierParty/Party name'),
      oib: need(partyOib(seller), 'AccountingSupplierParty/Party OIB'),
      operatorOib: need(
        opt(textAt(root, 'AccountingSupplierParty/SellerContact/ID')) ??
          options.operatorOib,
        'AccountingSupplierParty/SellerContact/cbc:ID',
      ),
    },
    recipient: {
      name: need(partyName(buyer), 'AccountingCustomerParty/Party name'),
      oib: need(partyOib(buyer), 'AccountingCustomerParty/Party OIB'),
    },
    paymentAccounts: all(root, 'PaymentMeans/PayeeFinancialAccount').map(
      (account) => ({
        id: need(textAt(account, 'ID'), 'PayeeFinancialAccount/cbc:ID'),
        name: opt(textAt(account, 'Name')),
        providerId: opt(textAt(account, 'FinancialInstitutionBranch/ID')),
      }),
    ),
    totals: {
      net: need(
        textAt(totals, 'LineExtensionAmount'),
        'LegalMonetaryTotal/cbc:LineExtensionAmount',
      ),
      allowances: opt(textAt(totals, 'AllowanceTotalAmount')),
      charges: opt(textAt(totals, 'ChargeTotalAmount')),
      withoutVat: need(
        textAt(totals, 'TaxExclusiveAmount'),
        'LegalMonetaryTotal/cbc:TaxExclusiveAmount',
      ),
      vat: documentVat(doc),
      withVat: need(
        textAt(totals, 'TaxInclusiveAmount'),
        'LegalMonetaryTotal/cbc:TaxInclusiveAmount',
      ),
      paid: opt(textAt(totals, 'PrepaidAmount')),
      payable: need(
        textAt(totals, 'PayableAmount'),
        'LegalMonetaryTotal/cbc:PayableAmount',
      ),
    },
    vatBreakdown: doc.subtotals.map(vatBreakdown),
    allowances: doc.allowances.map(allowance),
    charges: doc.charges.map(charge),
    lines: doc.lines.map((line) => invoiceLine(line, doc.quantityName)),
    copy: textAt(root, 'CopyIndicator') === 'true',
  };
}

function need(value: string | undefined, path: string): string {
  if (value !== undefined && value !== '') return value;
  throw invalidInput(
    path,
    'required',
    `${path}: required in the UBL to report the e-invoice`,
  );
}

function opt(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

function partyName(party: UblElement | undefined): string | undefined {
  return opt(
    textAt(party, 'PartyLegalEntity/RegistrationName') ??
      textAt(party, 'PartyName/Name'),
  );
}

/**
 * The party's OIB: the endpoint (scheme 9934), an identifier
 * `9934:<OIB>`, or the VAT id `HR<OIB>`, whichever comes first.
 */
function partyOib(party: UblElement | undefined): string | undefined {
  const endpoint = kid(party, 'EndpointID');
  if (endpoint && attr(endpoint, 'schemeID') === '9934') {
    return opt(text(endpoint));
  }
  for (const id of all(party, 'PartyIdentification/ID')) {
    const value = text(id) ?? '';
    if (/^9934:\d{11}$/.test(value)) return value.slice(5);
  }
  for (const scheme of kids(party, 'PartyTaxScheme')) {
    const value = textAt(scheme, 'CompanyID') ?? '';
    if (/^HR\d{11}$/.test(value)) return value.slice(2);
  }
  return opt(text(endpoint));
}

/** BT-110: the TaxTotal amount in the document currency. */
function documentVat(doc: UblDocument): string {
  const currency = textAt(doc.root, 'DocumentCurrencyCode');
  const amounts = doc.taxTotals
    .map((t) => kid(t, 'TaxAmount'))
    .filter((a): a is UblElement => a !== undefined);
  const inCurrency =
    amounts.find((a) => attr(a, 'currencyID') === currency) ?? amounts[0];
  return need(text(inCurrency), 'TaxTotal/cbc:TaxAmount');
}

/** A category's `Name` when it is one of the HR categories. */
function hrName(category: UblElement | undefined): string | undefined {
  const name = textAt(category, 'Name');
  return name?.startsWith('HR:') ? name : undefined;
}

function vatBreakdown(subtotal: UblElement): VatBreakdown {
  const category = kid(subtotal, 'TaxCategory');
  return {
    category: need(textAt(category, 'ID'), 'TaxSubtotal/TaxCategory/cbc:ID'),
    taxableAmount: need(
      textAt(subtotal, 'TaxableAmount'),
      'TaxSubtotal/cbc:TaxableAmount',
    ),
    taxAmount: need(textAt(subtotal, 'TaxAmount'), 'TaxSubtotal/cbc:TaxAmount'),
    rate: opt(textAt(category, 'Percent')),
    exemptionCode: opt(textAt(category, 'TaxExemptionReasonCode')),
    exemptionText: opt(textAt(category, 'TaxExemptionReason')),
    hrCategory: hrName(category),
  };
}

function allowance(el: UblElement): DocumentAllowance {
  const category = kid(el, 'TaxCategory');
  return {
    amount: need(textAt(el, 'Amount'), 'AllowanceCharge/cbc:Amount'),
    category: need(
      textAt(category, 'ID'),
      'AllowanceCharge/TaxCategory/cbc:ID',
    ),
    rate: opt(textAt(category, 'Percent')),
    reasonText: opt(textAt(el, 'AllowanceChargeReason')),
    reasonCode: opt(textAt(el, 'AllowanceChargeReasonCode')),
  };
}

function charge(el: UblElement): DocumentCharge {
  const category = kid(el, 'TaxCategory');
  return {
    amount: need(textAt(el, 'Amount'), 'AllowanceCharge/cbc:Amount'),
    category: need(
      textAt(category, 'ID'),
      'AllowanceCharge/TaxCategory/cbc:ID',
    ),
    hrCategory: hrName(category),
    rate: opt(textAt(category, 'Percent')),
    exemptionText: opt(textAt(category, 'TaxExemptionReason')),
    exemptionCode: opt(textAt(category, 'TaxExemptionReasonCode')),
  };
}

function invoiceLine(
  line: UblElement,
  quantityName: string,
): InvoiceLineReport {
  const quantity = kid(line, quantityName);
  const item = kid(line, 'Item');
  const category = kid(item, 'ClassifiedTaxCategory');
  const price = kid(line, 'Price');
  const baseQuantity = kid(price, 'BaseQuantity');
  const priceAllowance = kids(price, 'AllowanceCharge').find(
    (a) => !isCharge(a),
  );
  return {
    quantity: need(text(quantity), `${quantityName}`),
    unit: need(attr(quantity, 'unitCode'), `${quantityName}/@unitCode`),
    net: need(
      textAt(line, 'LineExtensionAmount'),
      'InvoiceLine/cbc:LineExtensionAmount',
    ),
    netPrice: need(textAt(price, 'PriceAmount'), 'Price/cbc:PriceAmount'),
    grossPrice: opt(textAt(priceAllowance, 'BaseAmount')),
    baseQuantity: opt(text(baseQuantity)),
    baseQuantityUnit: baseQuantity ? attr(baseQuantity, 'unitCode') : undefined,
    category: need(textAt(category, 'ID'), 'Item/ClassifiedTaxCategory/cbc:ID'),
    rate: opt(textAt(category, 'Percent')),
    name: need(textAt(item, 'Name'), 'Item/cbc:Name'),
    description: opt(textAt(item, 'Description')),
    hrCategory: hrName(category),
    classifications: all(item, 'CommodityClassification/ItemClassificationCode')
      .filter((c) => attr(c, 'listID') === KPD_LIST)
      .map((c): ItemClassification => ({
        code: need(text(c), 'ItemClassificationCode'),
        scheme: KPD_LIST,
        version: opt(attr(c, 'listVersionID')),
      })),
  };
}
