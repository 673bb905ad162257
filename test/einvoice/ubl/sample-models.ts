import type {
  InvoiceModel,
  LineModel,
} from '../../../src/einvoice/ubl/model.js';

/** Valid OIBs (check digit correct), unlike the samples' dummy ones. */
export const SELLER_OIB = '12345678903';
export const BUYER_OIB = '11111111119';

const line = (over: Partial<LineModel> = {}): LineModel => ({
  name: 'Proizvod',
  quantity: '1.000',
  unitCode: 'H87',
  price: '100.000000',
  baseQuantity: '1.000',
  kpd: '62.20.20',
  vat: { category: 'S', rate: '25' },
  ...over,
});

/** An invoice as the official samples have it, dated 2026. */
export function baseModel(over: Partial<InvoiceModel> = {}): InvoiceModel {
  return {
    kind: 'INVOICE',
    number: '1-P1-1',
    issueDate: '2026-02-01',
    issueTime: '12:00:00',
    dueDate: '2026-02-28',
    process: 'P1',
    seller: {
      name: 'TVRTKA A d.o.o.',
      oib: SELLER_OIB,
      address: {
        street: 'Ulica 1',
        city: 'ZAGREB',
        postalCode: '10000',
        country: 'HR',
      },
    },
    buyer: {
      name: 'Tvrtka B d.o.o.',
      oib: BUYER_OIB,
      address: {
        street: 'Ulica 2',
        city: 'RIJEKA',
        postalCode: '51000',
        country: 'HR',
      },
    },
    operator: { name: 'Operater1', oib: SELLER_OIB },
    deliveryDate: '2026-01-25',
    paymentMeans: [
      {
        code: '30',
        accountId: 'HR1210010051863000160',
        paymentId: 'HR00 123456',
        note: 'Opis plaćanja',
      },
    ],
    lines: [line()],
    ...over,
  };
}

const exempt = {
  category: 'E' as const,
  rate: '0',
  exemptionReason: 'Oslobođeno PDV čl. 39.',
};

/** One model per official sample, keyed by the sample's file name. */
export const SAMPLE_MODELS: Record<string, InvoiceModel> = {
  'eRacun_PDV25.xml': baseModel(),
  'eRacun_PDV13.xml': baseModel({
    lines: [line({ vat: { category: 'S', rate: '13' } })],
  }),
  'eRacun_PDV5.xml': baseModel({
    lines: [line({ vat: { category: 'S', rate: '5' } })],
  }),
  'eRacun_PDV0.xml': baseModel({
    lines: [line({ vat: { category: 'Z', rate: '0' } })],
  }),
  'eRacun_Poslovna_jedinica.xml': baseModel(),
  'eRacun_PDV25_Obracun_PDV_po_naplati.xml': baseModel(),
  'eRacun_Oslobodjeno_PDV.xml': baseModel({ lines: [line({ vat: exempt })] }),
  'eRacun_Nije_u_sustavu_PDV.xml': baseModel({
    lines: [line({ vat: exempt })],
  }),
  'Neoporezivi_racun.xml': baseModel({
    seller: { ...baseModel().seller, vatRegistered: false },
    buyer: { ...baseModel().buyer, vatRegistered: false },
    lines: [line({ vat: { category: 'O', exemptionReason: 'Neoporezivo' } })],
  }),
  'eRacun_PDV_NEOP_POVRATNA_NAKNADA_stavka.xml': baseModel({
    lines: [
      line(),
      line({
        name: 'Povratna naknada',
        price: '5.000000',
        kpd: '22.22.19',
        vat: {
          ...exempt,
          label: 'HR:POVNAK',
          exemptionReason: 'Povratna naknada',
        },
      }),
    ],
  }),
  'eRacun_PDV_NEOP_POVRATNA_NAKNADA_trosak.xml': baseModel({
    charges: [
      {
        amount: '5.00',
        reason: '#HR:POVNAK#Povratna naknada',
        vat: {
          ...exempt,
          label: 'HR:POVNAK',
          exemptionReason: 'Povratna naknada',
        },
      },
    ],
  }),
  'eRacun_PDV25_i_Neoporeziva_naknada_trosak.xml': baseModel({
    charges: [
      {
        amount: '10.00',
        reason: 'Neoporeziva naknada',
        vat: {
          ...exempt,
          label: 'HR:N',
          exemptionReason: 'Neoporeziva naknada',
        },
      },
    ],
  }),
  'Odobrenje.xml': baseModel({
    kind: 'CREDIT_NOTE',
    billingReferences: [{ number: '18-1-1', issueDate: '2026-01-15' }],
  }),
  'Racun_za_predujam.xml': baseModel({
    typeCode: '386',
    prepaidAmount: '500.00',
    lines: [line({ price: '400', kpd: undefined })],
  }),
  'Finalni_racun_predujam.xml': baseModel({
    prepaidAmount: '500.00',
    billingReferences: [{ number: '18-1-1', issueDate: '2026-01-15' }],
    lines: [line({ price: '1200' })],
  }),
  'Storno_racuna_za_predujam_negativni_racun.xml': baseModel({
    typeCode: '384',
    prepaidAmount: '-500.00',
    billingReferences: [{ number: '18-1-1', issueDate: '2026-01-15' }],
    lines: [line({ quantity: '-1', price: '400' })],
  }),
};
