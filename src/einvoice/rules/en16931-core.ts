import { all, attr, has, kid, kids, textAt, type UblElement } from './dom.js';
import { num } from './ubl-document.js';
import { rule, type Rule } from './types.js';

const PARTY = 'AccountingSupplierParty/Party';
const BUYER = 'AccountingCustomerParty/Party';

/** A rule that the root must have a non-blank value at `path`. */
function required(id: string, field: string, path: string, what: string) {
  return rule(
    id,
    field,
    `An invoice shall have ${what} (${field}, ${path})`,
    (doc, fail) => {
      if (!has(doc.root, path.replace(/\b\w+:/g, ''))) fail();
    },
  );
}

/** The document level rules of EN 16931 (BR-01 … BR-65). */
export const coreRules: Rule[] = [
  required(
    'BR-01',
    'BT-24',
    'cbc:CustomizationID',
    'a specification identifier',
  ),
  required('BR-02', 'BT-1', 'cbc:ID', 'an invoice number'),
  required('BR-03', 'BT-2', 'cbc:IssueDate', 'an issue date'),
  rule(
    'BR-04',
    'BT-3',
    'An invoice shall have an invoice type code (BT-3, cbc:InvoiceTypeCode / cbc:CreditNoteTypeCode)',
    (doc, fail) => {
      const name = doc.isCreditNote ? 'CreditNoteTypeCode' : 'InvoiceTypeCode';
      if (!has(doc.root, name)) fail();
    },
  ),
  required('BR-05', 'BT-5', 'cbc:DocumentCurrencyCode', 'a currency code'),
  required(
    'BR-06',
    'BT-27',
    `${PARTY}/PartyLegalEntity/RegistrationName`,
    'the seller name',
  ),
  required(
    'BR-07',
    'BT-44',
    `${BUYER}/PartyLegalEntity/RegistrationName`,
    'the buyer name',
  ),
  rule(
    'BR-08',
    'BG-5',
    'An invoice shall contain the seller postal address (BG-5, cac:AccountingSupplierParty/cac:Party/cac:PostalAddress)',
    (doc, fail) => {
      if (!kid(doc.seller, 'PostalAddress')) fail(doc.seller);
    },
  ),
  rule(
    'BR-09',
    'BT-40',
    'The seller postal address shall contain a seller country code (BT-40, cac:PostalAddress/cac:Country/cbc:IdentificationCode)',
    (doc, fail) => {
      const address = kid(doc.seller, 'PostalAddress');
      if (address && !has(address, 'Country/IdentificationCode')) fail(address);
    },
  ),
  rule(
    'BR-10',
    'BG-8',
    'An invoice shall contain the buyer postal address (BG-8, cac:AccountingCustomerParty/cac:Party/cac:PostalAddress)',
    (doc, fail) => {
      if (!kid(doc.buyer, 'PostalAddress')) fail(doc.buyer);
    },
  ),
  rule(
    'BR-11',
    'BT-55',
    'The buyer postal address shall contain a buyer country code (BT-55, cac:PostalAddress/cac:Country/cbc:IdentificationCode)',
    (doc, fail) => {
      const address = kid(doc.buyer, 'PostalAddress');
      if (address && !has(address, 'Country/IdentificationCode')) fail(address);
    },
  ),
  required(
    'BR-12',
    'BT-106',
    'LegalMonetaryTotal/LineExtensionAmount',
    'the sum of invoice line net amounts',
  ),
  required(
    'BR-13',
    'BT-109',
    'LegalMonetaryTotal/TaxExclusiveAmount',
    'the invoice total amount without VAT',
  ),
  required(
    'BR-14',
    'BT-112',
    'LegalMonetaryTotal/TaxInclusiveAmount',
    'the invoice total amount with VAT',
  ),
  required(
    'BR-15',
    'BT-115',
    'LegalMonetaryTotal/PayableAmount',
    'the amount due for payment',
  ),
  rule(
    'BR-16',
    'BG-25',
    'An invoice shall have at least one invoice line (BG-25, cac:InvoiceLine / cac:CreditNoteLine)',
    (doc, fail) => {
      if (doc.lines.length === 0) fail();
    },
  ),
  rule(
    'BR-17',
    'BT-59',
    'The payee name (BT-59, cac:PayeeParty/cac:PartyName/cbc:Name) shall be provided if the payee is different from the seller',
    (doc, fail) => {
      for (const payee of kids(doc.root, 'PayeeParty')) {
        if (!has(payee, 'PartyName/Name')) fail(payee);
      }
    },
  ),
  rule(
    'BR-18',
    'BT-62',
    'The seller tax representative name (BT-62, cac:TaxRepresentativeParty/cac:PartyName/cbc:Name) shall be provided',
    (doc, fail) => {
      for (const rep of kids(doc.root, 'TaxRepresentativeParty')) {
        if (!has(rep, 'PartyName/Name')) fail(rep);
      }
    },
  ),
  rule(
    'BR-19',
    'BG-12',
    'The seller tax representative postal address (BG-12, cac:TaxRepresentativeParty/cac:PostalAddress) shall be provided',
    (doc, fail) => {
      for (const rep of kids(doc.root, 'TaxRepresentativeParty')) {
        if (!kid(rep, 'PostalAddress')) fail(rep);
      }
    },
  ),
  rule(
    'BR-20',
    'BT-69',
    'The seller tax representative postal address shall contain a country code (BT-69)',
    (doc, fail) => {
      for (const rep of kids(doc.root, 'TaxRepresentativeParty')) {
        const address = kid(rep, 'PostalAddress');
        if (address && !has(address, 'Country/IdentificationCode')) {
          fail(address);
        }
      }
    },
  ),
  lineRule(
    'BR-21',
    'BT-126',
    'Each invoice line shall have an invoice line identifier (BT-126, cbc:ID)',
    (line) => has(line, 'ID'),
  ),
  rule(
    'BR-22',
    'BT-129',
    'Each invoice line shall have an invoiced quantity (BT-129, cbc:InvoicedQuantity / cbc:CreditedQuantity)',
    (doc, fail) => {
      for (const line of doc.lines) {
        if (!has(line, doc.quantityName)) fail(line);
      }
    },
  ),
  rule(
    'BR-23',
    'BT-130',
    'An invoice line shall have an invoiced quantity unit of measure code (BT-130, @unitCode)',
    (doc, fail) => {
      for (const line of doc.lines) {
        const quantity = kid(line, doc.quantityName);
        if (quantity && !attr(quantity, 'unitCode')) fail(quantity);
      }
    },
  ),
  lineRule(
    'BR-24',
    'BT-131',
    'Each invoice line shall have an invoice line net amount (BT-131, cbc:LineExtensionAmount)',
    (line) => has(line, 'LineExtensionAmount'),
  ),
  lineRule(
    'BR-25',
    'BT-153',
    'Each invoice line shall contain the item name (BT-153, cac:Item/cbc:Name)',
    (line) => has(line, 'Item/Name'),
  ),
  lineRule(
    'BR-26',
    'BT-146',
    'Each invoice line shall contain the item net price (BT-146, cac:Price/cbc:PriceAmount)',
    (line) => has(line, 'Price/PriceAmount'),
  ),
  rule(
    'BR-27',
    'BT-146',
    'The item net price (BT-146, cac:Price/cbc:PriceAmount) shall not be negative',
    (doc, fail) => {
      for (const price of doc.lines.flatMap((l) =>
        all(l, 'Price/PriceAmount'),
      )) {
        if (num(price)?.isNegative()) {
          fail(price);
        }
      }
    },
  ),
  rule(
    'BR-28',
    'BT-148',
    'The item gross price (BT-148, cac:Price/cac:AllowanceCharge/cbc:BaseAmount) shall not be negative',
    (doc, fail) => {
      for (const line of doc.lines) {
        for (const base of all(line, 'Price/AllowanceCharge/BaseAmount')) {
          if (num(base)?.isNegative()) {
            fail(base);
          }
        }
      }
    },
  ),
  rule(
    'BR-29',
    'BT-73',
    'The invoicing period end date (BT-74) shall be later or equal to the start date (BT-73)',
    (doc, fail) => {
      for (const period of kids(doc.root, 'InvoicePeriod')) {
        if (!periodInOrder(period)) fail(period);
      }
    },
  ),
  rule(
    'BR-30',
    'BT-134',
    'The invoice line period end date (BT-135) shall be later or equal to the start date (BT-134)',
    (doc, fail) => {
      for (const period of doc.lines.flatMap((l) => kids(l, 'InvoicePeriod'))) {
        if (!periodInOrder(period)) fail(period);
      }
    },
  ),
  allowanceRule(
    'BR-31',
    'BT-92',
    false,
    'Each document level allowance shall have an amount (BT-92, cbc:Amount)',
    (ac) => has(ac, 'Amount'),
  ),
  allowanceRule(
    'BR-32',
    'BT-95',
    false,
    'Each document level allowance shall have a VAT category code (BT-95, cac:TaxCategory/cbc:ID)',
    (ac) => has(ac, 'TaxCategory/ID'),
  ),
  allowanceRule(
    'BR-33',
    'BT-97',
    false,
    'Each document level allowance shall have a reason (BT-97, cbc:AllowanceChargeReason) or a reason code (BT-98)',
    hasReason,
  ),
  allowanceRule(
    'BR-36',
    'BT-99',
    true,
    'Each document level charge shall have an amount (BT-99, cbc:Amount)',
    (ac) => has(ac, 'Amount'),
  ),
  allowanceRule(
    'BR-37',
    'BT-102',
    true,
    'Each document level charge shall have a VAT category code (BT-102, cac:TaxCategory/cbc:ID)',
    (ac) => has(ac, 'TaxCategory/ID'),
  ),
  allowanceRule(
    'BR-38',
    'BT-104',
    true,
    'Each document level charge shall have a reason (BT-104, cbc:AllowanceChargeReason) or a reason code (BT-105)',
    hasReason,
  ),
  lineAllowanceRule(
    'BR-41',
    'BT-136',
    false,
    'Each invoice line allowance shall have an amount (BT-136, cbc:Amount)',
    (ac) => has(ac, 'Amount'),
  ),
  lineAllowanceRule(
    'BR-42',
    'BT-139',
    false,
    'Each invoice line allowance shall have a reason (BT-139) or a reason code (BT-140)',
    hasReason,
  ),
  lineAllowanceRule(
    'BR-43',
    'BT-141',
    true,
    'Each invoice line charge shall have an amount (BT-141, cbc:Amount)',
    (ac) => has(ac, 'Amount'),
  ),
  lineAllowanceRule(
    'BR-44',
    'BT-144',
    true,
    'Each invoice line charge shall have a reason (BT-144) or a reason code (BT-145)',
    hasReason,
  ),
  subtotalRule(
    'BR-45',
    'BT-116',
    'Each VAT breakdown shall have a VAT category taxable amount (BT-116, cbc:TaxableAmount)',
    (st) => has(st, 'TaxableAmount'),
  ),
  subtotalRule(
    'BR-46',
    'BT-117',
    'Each VAT breakdown shall have a VAT category tax amount (BT-117, cbc:TaxAmount)',
    (st) => has(st, 'TaxAmount'),
  ),
  subtotalRule(
    'BR-47',
    'BT-118',
    'Each VAT breakdown shall be defined through a VAT category code (BT-118, cac:TaxCategory/cbc:ID)',
    (st) => has(st, 'TaxCategory/ID'),
  ),
  subtotalRule(
    'BR-48',
    'BT-119',
    'Each VAT breakdown shall have a VAT category rate (BT-119, cac:TaxCategory/cbc:Percent), except if the invoice is not subject to VAT',
    (st) =>
      has(st, 'TaxCategory/Percent') || textAt(st, 'TaxCategory/ID') === 'O',
  ),
  rule(
    'BR-49',
    'BT-81',
    'A payment instruction shall specify the payment means type code (BT-81, cbc:PaymentMeansCode)',
    (doc, fail) => {
      for (const means of kids(doc.root, 'PaymentMeans')) {
        if (!has(means, 'PaymentMeansCode')) fail(means);
      }
    },
  ),
  rule(
    'BR-50',
    'BT-84',
    'A payment account identifier (BT-84, cac:PayeeFinancialAccount/cbc:ID) shall be present if credit transfer information is provided',
    (doc, fail) => {
      for (const means of kids(doc.root, 'PaymentMeans')) {
        for (const account of kids(means, 'PayeeFinancialAccount')) {
          if (!has(account, 'ID')) fail(account);
        }
      }
    },
  ),
  rule(
    'BR-51',
    'BT-87',
    'The payment card primary account number (BT-87, cac:CardAccount/cbc:PrimaryAccountNumberID) should not be given in full: at most 6 digits, no more than 10 characters',
    (doc, fail) => {
      for (const means of kids(doc.root, 'PaymentMeans')) {
        const pan = textAt(means, 'CardAccount/PrimaryAccountNumberID');
        if (pan !== undefined && pan.length > 10) fail(means);
      }
    },
    'warning',
  ),
  rule(
    'BR-52',
    'BT-122',
    'Each additional supporting document shall contain a reference (BT-122, cac:AdditionalDocumentReference/cbc:ID)',
    (doc, fail) => {
      for (const ref of kids(doc.root, 'AdditionalDocumentReference')) {
        if (!has(ref, 'ID')) fail(ref);
      }
    },
  ),
  rule(
    'BR-53',
    'BT-111',
    'If the VAT accounting currency code (BT-6) is present, the invoice total VAT amount in accounting currency (BT-111) shall be provided',
    (doc, fail) => {
      const currency = textAt(doc.root, 'TaxCurrencyCode');
      if (!currency) return;
      const found = doc.taxTotals.some(
        (t) => attr(kid(t, 'TaxAmount'), 'currencyID') === currency,
      );
      if (!found) fail(kid(doc.root, 'TaxCurrencyCode'));
    },
  ),
  rule(
    'BR-54',
    'BT-160',
    'Each item attribute shall contain a name (BT-160, cbc:Name) and a value (BT-161, cbc:Value)',
    (doc, fail) => {
      for (const line of doc.lines) {
        for (const prop of all(line, 'Item/AdditionalItemProperty')) {
          if (!has(prop, 'Name') || !has(prop, 'Value')) fail(prop);
        }
      }
    },
  ),
  rule(
    'BR-55',
    'BT-25',
    'Each preceding invoice reference shall contain the preceding invoice number (BT-25, cac:InvoiceDocumentReference/cbc:ID)',
    (doc, fail) => {
      for (const ref of kids(doc.root, 'BillingReference')) {
        if (!has(ref, 'InvoiceDocumentReference/ID')) fail(ref);
      }
    },
  ),
  rule(
    'BR-56',
    'BT-63',
    'Each seller tax representative party shall have a VAT identifier (BT-63, cac:PartyTaxScheme/cbc:CompanyID)',
    (doc, fail) => {
      for (const rep of kids(doc.root, 'TaxRepresentativeParty')) {
        if (!has(rep, 'PartyTaxScheme/CompanyID')) fail(rep);
      }
    },
  ),
  rule(
    'BR-57',
    'BT-80',
    'Each deliver to address shall contain a deliver to country code (BT-80, cac:Address/cac:Country/cbc:IdentificationCode)',
    (doc, fail) => {
      for (const address of all(
        doc.root,
        'Delivery/DeliveryLocation/Address',
      )) {
        if (!has(address, 'Country/IdentificationCode')) fail(address);
      }
    },
  ),
  rule(
    'BR-61',
    'BT-84',
    'For a credit transfer (BT-81 30 or 58) the payment account identifier (BT-84, cac:PayeeFinancialAccount/cbc:ID) shall be present',
    (doc, fail) => {
      for (const means of kids(doc.root, 'PaymentMeans')) {
        const code = textAt(means, 'PaymentMeansCode');
        if (code !== '30' && code !== '58') continue;
        if (!has(means, 'PayeeFinancialAccount/ID')) fail(means);
      }
    },
  ),
  rule(
    'BR-62',
    'BT-34',
    'The seller electronic address (BT-34, cbc:EndpointID) shall have a scheme identifier (@schemeID)',
    (doc, fail) => {
      const endpoint = kid(doc.seller, 'EndpointID');
      if (endpoint && !attr(endpoint, 'schemeID')) fail(endpoint);
    },
  ),
  rule(
    'BR-63',
    'BT-49',
    'The buyer electronic address (BT-49, cbc:EndpointID) shall have a scheme identifier (@schemeID)',
    (doc, fail) => {
      const endpoint = kid(doc.buyer, 'EndpointID');
      if (endpoint && !attr(endpoint, 'schemeID')) fail(endpoint);
    },
  ),
  rule(
    'BR-64',
    'BT-157',
    'The item standard identifier (BT-157, cac:StandardItemIdentification/cbc:ID) shall have a scheme identifier (@schemeID)',
    (doc, fail) => {
      for (const line of doc.lines) {
        for (const id of all(line, 'Item/StandardItemIdentification/ID')) {
          if (!attr(id, 'schemeID')) fail(id);
        }
      }
    },
  ),
  rule(
    'BR-65',
    'BT-158',
    'The item classification identifier (BT-158, cbc:ItemClassificationCode) shall have a scheme identifier (@listID)',
    (doc, fail) => {
      for (const line of doc.lines) {
        const codes = all(
          line,
          'Item/CommodityClassification/ItemClassificationCode',
        );
        for (const code of codes) if (!attr(code, 'listID')) fail(code);
      }
    },
  ),
];

function hasReason(ac: UblElement): boolean {
  return (
    has(ac, 'AllowanceChargeReason') || has(ac, 'AllowanceChargeReasonCode')
  );
}

function periodInOrder(period: UblElement): boolean {
  const start = textAt(period, 'StartDate');
  const end = textAt(period, 'EndDate');
  if (!start || !end) return true;
  return end >= start;
}

function lineRule(
  id: string,
  field: string,
  message: string,
  ok: (line: UblElement) => boolean,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const line of doc.lines) if (!ok(line)) fail(line);
  });
}

function allowanceRule(
  id: string,
  field: string,
  charge: boolean,
  message: string,
  ok: (ac: UblElement) => boolean,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const ac of charge ? doc.charges : doc.allowances) {
      if (!ok(ac)) fail(ac);
    }
  });
}

function lineAllowanceRule(
  id: string,
  field: string,
  charge: boolean,
  message: string,
  ok: (ac: UblElement) => boolean,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const line of doc.lines) {
      for (const ac of kids(line, 'AllowanceCharge')) {
        const isCharge = ['true', '1'].includes(
          textAt(ac, 'ChargeIndicator') ?? '',
        );
        if (isCharge === charge && !ok(ac)) fail(ac);
      }
    }
  });
}

function subtotalRule(
  id: string,
  field: string,
  message: string,
  ok: (subtotal: UblElement) => boolean,
): Rule {
  return rule(id, field, message, (doc, fail) => {
    for (const st of doc.subtotals) if (!ok(st)) fail(st);
  });
}
