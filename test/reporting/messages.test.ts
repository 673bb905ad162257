import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { kid, kids, text } from '../../src/einvoice/rules/dom.js';
import { readUblFacts } from '../../src/einvoice/ubl-facts.js';
import { TenantGateError } from '../../src/errors/tenantgate-error.js';
import {
  buildEvidentirajERacun,
  buildEvidentirajIsporuku,
  buildEvidentirajNaplatu,
  buildEvidentirajOdbijanje,
  invoiceReportFromUbl,
  type ERacunDirection,
  type PaymentReport,
  type ReportMessage,
} from '../../src/reporting/messages/index.js';
import { signXades } from '../../src/reporting/xades.js';
import { validateFiskalizacija2Schema } from '../../src/sandbox/fiskalizacija2/schema.js';
import {
  fixtureSigners,
  flatten,
  invoiceFromSample,
  paymentFromSample,
  recordElements,
  rejectionFromSample,
  requestElement,
  sampleXml,
  to2026,
  ublSample,
} from './support.js';

const signer = fixtureSigners().a;
const SENT_AT = new Date('2026-03-02T09:15:00.123Z');

/** Signs (the schema requires ds:Signature) and validates. */
async function schemaCheck(message: ReportMessage) {
  const signed = signXades(message.xml, signer);
  return { signed, result: await validateFiskalizacija2Schema(signed) };
}

function refusal(fn: () => unknown): TenantGateError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TenantGateError) return error;
    throw error;
  }
  throw new Error('expected a TenantGateError');
}

/** Each official EvidentirajERacun sample and its UBL (null: none). */
const ERACUN_SAMPLES: [string, string | null][] = [
  ['signed_EvidentirajEracunZahtjev_PDV25.xml', 'eRacun_PDV25.xml'],
  ['signed_EvidentirajEracunZahtjev_PDV13.xml', 'eRacun_PDV13.xml'],
  ['signed_EvidentirajERacunZahtjev_PDV5.xml', 'eRacun_PDV5.xml'],
  ['signed_EvidentirajERacunZahtjev_PDV0.xml', 'eRacun_PDV0.xml'],
  [
    'signed_EvidentirajEracunZahtjev_PDV25_Obracun_PDV_po_naplati.xml',
    'eRacun_PDV25_Obracun_PDV_po_naplati.xml',
  ],
  [
    'signed_EvidentirajEracunZahtjev_Poslovna_jedinica.xml',
    'eRacun_Poslovna_jedinica.xml',
  ],
  [
    'signed_EvidentirajEracunZahtjev_Racun_za_predujam.xml',
    'Racun_za_predujam.xml',
  ],
  [
    'signed_EvidentirajERacunZahtjev_Finalni_racun_predujam.xml',
    'Finalni_racun_predujam.xml',
  ],
  [
    'signed_EvidentirajEracunZahtjevStorno_racuna_za_predujam_negativni_racun.xml',
    'Storno_racuna_za_predujam_negativni_racun.xml',
  ],
  ['signed_EvidentirajERacunZahtjev_Odobrenje.xml', 'Odobrenje.xml'],
  [
    'signed_EvidentirajERacunZahtjev_NEOP_Povratna_Naknada_Stavka.xml',
    'eRacun_PDV_NEOP_POVRATNA_NAKNADA_stavka.xml',
  ],
  [
    'signed_EvidentirajERacunZahtjev_NEOP_PP_Trosak.xml',
    'eRacun_PDV_NEOP_POVRATNA_NAKNADA_trosak.xml',
  ],
  ['signed_EvidentirajEracunZahtjev_Prijenos_porezne_obveze.xml', null],
];

/** Line `neto` keys: the 2026 schema added them; samples predate it. */
const withoutLineNet = (flat: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(flat).filter(
      ([k]) => !/^\/Stavka\w+\[\d+\]\/neto\[1\]$/.test(k),
    ),
  );

describe('EvidentirajERacunZahtjev from each official sample’s own data', () => {
  it.each(ERACUN_SAMPLES.map(([s]) => s))(
    '%s: schema-valid and every field equal to the sample',
    async (name) => {
      const sample = sampleXml(name);
      const element = recordElements(sample, 'ERacun')[0]!;
      const direction = text(
        kid(kid(requestElement(sample), 'Zaglavlje'), 'vrstaERacuna'),
      ) as ERacunDirection;
      const record = invoiceFromSample(element);
      record.issueDate = to2026(record.issueDate);

      const message = buildEvidentirajERacun([record], {
        direction,
        sentAt: SENT_AT,
      });
      const { signed, result } = await schemaCheck(message);

      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
      const ours = recordElements(signed, 'ERacun')[0]!;
      expect(withoutLineNet(flatten(ours))).toEqual({
        ...flatten(element),
        '/datumIzdavanja[1]': to2026(text(kid(element, 'datumIzdavanja'))!),
      });
      expect(
        text(kid(kid(requestElement(signed), 'Zaglavlje'), 'vrstaERacuna')),
      ).toBe(direction);
    },
  );
});

describe('EvidentirajERacunZahtjev built from the stored UBL', () => {
  const withUbl = ERACUN_SAMPLES.filter(
    (pair): pair is [string, string] => pair[1] !== null,
  );

  it.each(withUbl)(
    '%s from %s: schema-valid, the UBL’s values, the sample’s key fields',
    async (name, ublName) => {
      const ubl = ublSample(ublName);
      const record = invoiceReportFromUbl(ubl);
      record.issueDate = to2026(record.issueDate);

      const message = buildEvidentirajERacun([record], {
        direction: 'I',
        sentAt: SENT_AT,
      });
      const { signed, result } = await schemaCheck(message);

      expect(result.errors).toEqual([]);
      const ours = recordElements(signed, 'ERacun')[0]!;
      const get = (path: string) => text(kid(ours, path));
      const totals = kid(ours, 'DokumentUkupanIznos');
      const facts = readUblFacts(ubl);
      expect(get('brojDokumenta')).toBe(facts.number);
      expect(get('valutaERacuna')).toBe(facts.currency);
      expect(text(kid(kid(ours, 'Izdavatelj'), 'oibPorezniBroj'))).toBe(
        facts.sellerOib,
      );
      expect(text(kid(kid(ours, 'Primatelj'), 'oibPorezniBroj'))).toBe(
        facts.buyerOib,
      );
      expect(text(kid(totals, 'iznosBezPdv'))).toBe(facts.netAmount);
      expect(text(kid(totals, 'pdv'))).toBe(facts.vatAmount);
      expect(text(kid(totals, 'iznosKojiDospijevaZaPlacanje'))).toBe(
        facts.totalAmount,
      );
      const kpd = [...ubl.matchAll(/listID="CG">([^<]+)</g)].map((m) => m[1]);
      expect(
        kids(ours, 'StavkaERacuna').flatMap((l) =>
          kids(l, 'ArtiklIdentifikatorKlasifikacija').map((c) =>
            text(kid(c, 'identifikatorKlasifikacije')),
          ),
        ),
      ).toEqual(kpd);

      // The two official publications use different invoices; these
      // fields are the ones they share.
      const sample = recordElements(sampleXml(name), 'ERacun')[0]!;
      expect(keyFields(ours)).toEqual({
        ...keyFields(sample),
        ...(ublName === 'Odobrenje.xml' ? { documentType: '381' } : {}),
      });
    },
  );
});

describe('the official UBL samples without a Fiskalizacija 2.0 twin', () => {
  it.each([
    'Neoporezivi_racun.xml',
    'eRacun_Nije_u_sustavu_PDV.xml',
    'eRacun_Oslobodjeno_PDV.xml',
    'eRacun_PDV25_i_Neoporeziva_naknada_trosak.xml',
  ])('%s makes a schema-valid incoming (U) report', async (ublName) => {
    const ubl = ublSample(ublName);
    const record = invoiceReportFromUbl(ubl);
    record.issueDate = to2026(record.issueDate);

    const message = buildEvidentirajERacun([record], {
      direction: 'U',
      sentAt: SENT_AT,
    });
    const { signed, result } = await schemaCheck(message);

    expect(result.errors).toEqual([]);
    const ours = recordElements(signed, 'ERacun')[0]!;
    expect(kids(ours, 'StavkaERacuna')).toHaveLength(
      (ubl.match(/<cac:InvoiceLine>/g) ?? []).length,
    );
    expect(text(kid(kid(ours, 'DokumentUkupanIznos'), 'pdv'))).toBe(
      readUblFacts(ubl).vatAmount,
    );
  });
});

/** Currency, VAT categories and rates, and each line's shape. */
function keyFields(el: ReturnType<typeof recordElements>[number]) {
  const num = (v: string | undefined) =>
    v === undefined ? null : new Decimal(v).toString();
  return {
    documentType: text(kid(el, 'vrstaDokumenta')),
    currency: text(kid(el, 'valutaERacuna')),
    vat: kids(el, 'RaspodjelaPdv').map((v) => [
      text(kid(v, 'kategorijaPdv')),
      num(text(kid(v, 'stopa'))),
    ]),
    lines: kids(el, 'StavkaERacuna').map((l) => [
      num(text(kid(l, 'kolicina'))),
      text(kid(l, 'jedinicaMjere')),
      text(kid(l, 'artiklKategorijaPdv')),
      num(text(kid(l, 'artiklStopaPdv'))),
    ]),
  };
}

describe('eIzvještavanje messages from the samples’ data', () => {
  it.each(['EvidentirajNaplatu.xml', 'EvidentirajNaplatu_vise_racuna.xml'])(
    '%s: schema-valid and equal to the sample',
    async (name) => {
      const sample = sampleXml(name);
      const elements = recordElements(sample, 'Naplata');
      const records = elements.map(paymentFromSample).map((r) => ({
        ...r,
        issueDate: to2026(r.issueDate),
      }));

      const message = buildEvidentirajNaplatu(records, { sentAt: SENT_AT });
      const { signed, result } = await schemaCheck(message);

      expect(result.errors).toEqual([]);
      expect(message.recordCount).toBe(elements.length);
      expect(recordElements(signed, 'Naplata').map((e) => flatten(e))).toEqual(
        elements.map((e) => ({
          ...flatten(e),
          '/datumIzdavanja[1]': to2026(text(kid(e, 'datumIzdavanja'))!),
        })),
      );
    },
  );

  it.each(['EvidentirajOdbijanje.xml', 'EvidentirajOdbijanje_vise_racuna.xml'])(
    '%s: schema-valid and equal to the sample',
    async (name) => {
      const sample = sampleXml(name);
      const elements = recordElements(sample, 'Odbijanje');
      const records = elements.map(rejectionFromSample).map((r) => ({
        ...r,
        issueDate: to2026(r.issueDate),
      }));

      const message = buildEvidentirajOdbijanje(records, { sentAt: SENT_AT });
      const { signed, result } = await schemaCheck(message);

      expect(result.errors).toEqual([]);
      expect(
        recordElements(signed, 'Odbijanje').map((e) => flatten(e)),
      ).toEqual(
        elements.map((e) => ({
          ...flatten(e),
          '/datumIzdavanja[1]': to2026(text(kid(e, 'datumIzdavanja'))!),
        })),
      );
    },
  );

  it('EvidentirajIsporukuZaKojuNijeIzdanERacun.xml: schema-valid, vrstaRacuna IR, equal to the sample', async () => {
    const sample = sampleXml('EvidentirajIsporukuZaKojuNijeIzdanERacun.xml');
    const element = recordElements(sample, 'Racun')[0]!;
    const record = invoiceFromSample(element, '18683136487');
    record.issueDate = to2026(record.issueDate);

    const message = buildEvidentirajIsporuku([record], { sentAt: SENT_AT });
    const { signed, result } = await schemaCheck(message);

    expect(result.errors).toEqual([]);
    const ours = recordElements(signed, 'Racun')[0]!;
    expect(withoutLineNet(flatten(ours))).toEqual({
      ...flatten(element),
      '/datumIzdavanja[1]': to2026(text(kid(element, 'datumIzdavanja'))!),
      // Required since the 2026-01-17 schema; the sample predates it.
      '/Izdavatelj[1]/oibOperatera[1]': '18683136487',
    });
    expect(text(kid(kid(ours, 'StavkaRacuna'), 'neto'))).toBe('1000.00');
    expect(
      text(kid(kid(requestElement(signed), 'Zaglavlje'), 'vrstaRacuna')),
    ).toBe('IR');
  });
});

describe('batches of 1 to 100 records', () => {
  const payment = (i: number): PaymentReport => ({
    number: `R-${i}`,
    issueDate: '2026-02-01',
    issuerOib: '12345678903',
    recipientOib: '98765432198',
    paidOn: '2026-02-10',
    amount: '10.50',
    method: 'T',
  });

  it('100 records make one schema-valid request', async () => {
    const records = Array.from({ length: 100 }, (_, i) => payment(i + 1));

    const message = buildEvidentirajNaplatu(records, { sentAt: SENT_AT });
    const { signed, result } = await schemaCheck(message);

    expect(result.valid).toBe(true);
    expect(recordElements(signed, 'Naplata')).toHaveLength(100);
  });

  it('101 records are refused naming the record element', () => {
    const records = Array.from({ length: 101 }, (_, i) => payment(i + 1));

    const error = refusal(() => buildEvidentirajNaplatu(records));

    expect(error.code).toBe('INVALID_INPUT');
    expect(error.details).toMatchObject({
      field: 'Naplata',
      rule: 'batch-size',
      count: 101,
      max: 100,
    });
  });

  it('an empty batch is refused', () => {
    const error = refusal(() => buildEvidentirajERacun([], { direction: 'I' }));
    expect(error.details).toMatchObject({ field: 'ERacun', count: 0 });
  });
});

describe('invalid records are refused before anything is signed', () => {
  const ubl = ublSample('eRacun_PDV25.xml');
  const valid = () => {
    const r = invoiceReportFromUbl(ubl);
    r.issueDate = '2026-02-01';
    return r;
  };

  it.each([
    [
      'an issue date before 2026',
      () => ({ ...valid(), issueDate: '2025-12-31' }),
      'ERacun[2].issueDate',
      'date-range',
    ],
    [
      'an amount with three decimals',
      () => ({ ...valid(), totals: { ...valid().totals, vat: '25.001' } }),
      'ERacun[2].totals.vat',
      'decimal-places',
    ],
    [
      'a ten-digit issuer OIB',
      () => ({ ...valid(), issuer: { ...valid().issuer, oib: '1234567890' } }),
      'ERacun[2].issuer.oib',
      'oib',
    ],
    [
      'an unknown VAT category',
      () => ({
        ...valid(),
        vatBreakdown: [{ ...valid().vatBreakdown[0]!, category: 'X' }],
      }),
      'ERacun[2].vatBreakdown[0].category',
      'code-list',
    ],
  ])('%s names the field of the record', (_name, make, field, rule) => {
    const error = refusal(() =>
      buildEvidentirajERacun([valid(), make()], { direction: 'I' }),
    );
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.details).toMatchObject({ field, rule });
  });

  it('a UBL without an operator (HR-BT-5) needs one from the caller', () => {
    const noOperator = ubl.replace(
      /<cac:SellerContact>[\s\S]*?<\/cac:SellerContact>/,
      '',
    );

    const error = refusal(() => invoiceReportFromUbl(noOperator));
    const record = invoiceReportFromUbl(noOperator, {
      operatorOib: '24715430428',
    });

    expect(error.details).toMatchObject({
      field: 'AccountingSupplierParty/SellerContact/cbc:ID',
      rule: 'required',
    });
    expect(record.issuer.operatorOib).toBe('24715430428');
  });
});

describe('datumVrijemeSlanja', () => {
  it('is the Zagreb wall clock with four decimals and no zone', () => {
    const summer = buildEvidentirajNaplatu(
      [
        {
          number: '1',
          issueDate: '2026-07-01',
          issuerOib: '12345678903',
          recipientOib: '98765432198',
          paidOn: '2026-07-01',
          amount: '1.00',
          method: 'T',
        },
      ],
      { sentAt: new Date('2026-07-01T10:00:00.123Z') },
    );
    expect(summer.sentAt).toBe('2026-07-01T12:00:00.1230');
    expect(summer.xml).toContain(
      '<eizv:datumVrijemeSlanja>2026-07-01T12:00:00.1230<',
    );
  });
});
