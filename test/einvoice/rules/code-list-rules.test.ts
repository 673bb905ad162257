import { describe, expect, it } from 'vitest';
import { codeListRules } from '../../../src/einvoice/rules/en16931-codes.js';
import { checkRulesXml } from '../../../src/einvoice/rules/engine.js';

const NS =
  'xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" ' +
  'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" ' +
  'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"';

/** A small invoice holding only `body`: the code list rules need no more. */
const invoice = (body: string) => `<Invoice ${NS}>${body}</Invoice>`;

/** The findings of the code list rules for `body`, as `rule value`. */
function findings(body: string): string[] {
  return checkRulesXml(invoice(body), { rules: codeListRules }).map(
    (f) => `${f.rule} ${f.message.slice(f.message.lastIndexOf(': ') + 2)}`,
  );
}

describe('EN 16931 code list rules', () => {
  it('checks each document type against its own UNTDID 1001 list (BR-CL-01)', () => {
    expect(findings('<cbc:InvoiceTypeCode>471</cbc:InvoiceTypeCode>')).toEqual(
      [],
    );
    expect(findings('<cbc:InvoiceTypeCode>381</cbc:InvoiceTypeCode>')).toEqual([
      "BR-CL-01 '381'",
    ]);
  });

  it('refuses currencies ISO 4217 no longer lists, like HRK (BR-CL-03/05)', () => {
    const body =
      '<cbc:TaxCurrencyCode>HRK</cbc:TaxCurrencyCode>' +
      '<cac:TaxTotal><cbc:TaxAmount currencyID="HRK">1</cbc:TaxAmount>' +
      '</cac:TaxTotal>' +
      '<cac:LegalMonetaryTotal>' +
      '<cbc:PayableAmount currencyID="EUR">1</cbc:PayableAmount>' +
      '</cac:LegalMonetaryTotal>';

    expect(findings(body)).toEqual(["BR-CL-03 'HRK'", "BR-CL-05 'HRK'"]);
  });

  it('takes payment means from the UNTDID 4461 list, not a range (BR-CL-16)', () => {
    const means = (code: string) =>
      `<cac:PaymentMeans><cbc:PaymentMeansCode>${code}</cbc:PaymentMeansCode></cac:PaymentMeans>`;

    expect(findings(means('98') + means('ZZZ'))).toEqual([]);
    expect(findings(means('71') + means('99'))).toEqual([
      "BR-CL-16 '71'",
      "BR-CL-16 '99'",
    ]);
  });

  it('refuses ISO 6523 codes missing from the ICD list (BR-CL-11, BR-CL-26)', () => {
    const body =
      '<cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity>' +
      '<cbc:CompanyID schemeID="0181">1</cbc:CompanyID>' +
      '</cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>' +
      '<cac:PayeeParty><cac:PartyLegalEntity>' +
      '<cbc:CompanyID schemeID="0240">1</cbc:CompanyID>' +
      '</cac:PartyLegalEntity></cac:PayeeParty>' +
      '<cac:Delivery><cac:DeliveryLocation>' +
      '<cbc:ID schemeID="0092">1</cbc:ID>' +
      '</cac:DeliveryLocation></cac:Delivery>';

    expect(findings(body)).toEqual(["BR-CL-11 '0181'", "BR-CL-26 '0092'"]);
  });

  it('checks coded allowance and charge reasons at every level (BR-CL-19/20)', () => {
    const ac = (charge: string, code: string) =>
      `<cac:AllowanceCharge><cbc:ChargeIndicator>${charge}</cbc:ChargeIndicator>` +
      `<cbc:AllowanceChargeReasonCode>${code}</cbc:AllowanceChargeReasonCode>` +
      '</cac:AllowanceCharge>';
    const body =
      ac('true', 'FC') +
      ac('true', '95') +
      ac('false', 'FC') +
      `<cac:InvoiceLine><cac:Price>${ac(' false ', '95')}</cac:Price>` +
      `${ac('1', 'ZZZ')}</cac:InvoiceLine>`;

    expect(findings(body)).toEqual(["BR-CL-19 'FC'", "BR-CL-20 '95'"]);
  });

  it('accepts VATEX codes in any case and refuses unknown ones (BR-CL-22)', () => {
    const exemption = (code: string) =>
      '<cac:TaxTotal><cac:TaxSubtotal><cac:TaxCategory>' +
      `<cbc:ID>E</cbc:ID><cbc:TaxExemptionReasonCode>${code}</cbc:TaxExemptionReasonCode>` +
      '</cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>';

    expect(findings(exemption('vatex-eu-132-1a'))).toEqual([]);
    expect(findings(exemption('VATEX-HR-1'))).toEqual([
      "BR-CL-22 'VATEX-HR-1'",
    ]);
  });

  it('names the unit code term and path of a line (BR-CL-23)', () => {
    const body =
      '<cac:InvoiceLine><cbc:InvoicedQuantity unitCode="H87">1</cbc:InvoicedQuantity>' +
      '<cac:Price><cbc:BaseQuantity unitCode="PCE">1</cbc:BaseQuantity></cac:Price>' +
      '</cac:InvoiceLine>';
    const [finding, ...rest] = checkRulesXml(invoice(body), {
      rules: codeListRules,
    });

    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      rule: 'BR-CL-23',
      field: 'BT-130',
      path: '/Invoice/cac:InvoiceLine/cac:Price/cbc:BaseQuantity',
    });
    expect(finding?.message).toContain('@unitCode');
  });

  it('checks electronic address schemes against the CEF EAS list (BR-CL-25)', () => {
    const endpoint = (scheme: string) =>
      '<cac:AccountingCustomerParty><cac:Party>' +
      `<cbc:EndpointID schemeID="${scheme}">1</cbc:EndpointID>` +
      '</cac:Party></cac:AccountingCustomerParty>';

    expect(findings(endpoint('9934'))).toEqual([]);
    expect(findings(endpoint('9901'))).toEqual(["BR-CL-25 '9901'"]);
  });
});
