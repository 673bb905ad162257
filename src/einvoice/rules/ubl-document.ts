import { Decimal } from 'decimal.js';
import { all, at, kid, kids, text, textAt, type UblElement } from './dom.js';

/**
 * A parsed UBL Invoice or CreditNote with the parts most rules need,
 * found once. Names follow EN 16931 (BG-/BT- terms in the comments).
 */
export class UblDocument {
  readonly isCreditNote: boolean;
  /** `InvoiceLine` or `CreditNoteLine` (BG-25). */
  readonly lineName: string;
  /** `InvoicedQuantity` or `CreditedQuantity` (BT-129). */
  readonly quantityName: string;
  readonly lines: UblElement[];
  /** Document level allowances (BG-20) and charges (BG-21). */
  readonly allowances: UblElement[];
  readonly charges: UblElement[];
  readonly taxTotals: UblElement[];
  /** VAT breakdown (BG-23): TaxSubtotal of every TaxTotal. */
  readonly subtotals: UblElement[];
  readonly seller: UblElement | undefined;
  readonly buyer: UblElement | undefined;
  readonly totals: UblElement | undefined;

  constructor(readonly root: UblElement) {
    this.isCreditNote = root.localName === 'CreditNote';
    this.lineName = this.isCreditNote ? 'CreditNoteLine' : 'InvoiceLine';
    this.quantityName = this.isCreditNote
      ? 'CreditedQuantity'
      : 'InvoicedQuantity';
    this.lines = kids(root, this.lineName);
    const allowanceCharges = kids(root, 'AllowanceCharge');
    this.allowances = allowanceCharges.filter((el) => !isCharge(el));
    this.charges = allowanceCharges.filter((el) => isCharge(el));
    this.taxTotals = kids(root, 'TaxTotal');
    this.subtotals = this.taxTotals.flatMap((t) => kids(t, 'TaxSubtotal'));
    this.seller = at(root, 'AccountingSupplierParty/Party');
    this.buyer = at(root, 'AccountingCustomerParty/Party');
    this.totals = kid(root, 'LegalMonetaryTotal');
  }

  /** The seller's VAT identifier (BT-31), if any. */
  sellerVatId(): string | undefined {
    return vatId(this.seller);
  }

  /** The seller's tax registration identifier (BT-32), if any. */
  sellerTaxRegistrationId(): string | undefined {
    const scheme = kids(this.seller, 'PartyTaxScheme').find(
      (s) => !isVatScheme(s),
    );
    return nonBlank(textAt(scheme, 'CompanyID'));
  }

  /** The buyer's VAT identifier (BT-48), if any. */
  buyerVatId(): string | undefined {
    return vatId(this.buyer);
  }

  /** The seller tax representative's VAT identifier (BT-63), if any. */
  taxRepresentativeVatId(): string | undefined {
    return vatId(kid(this.root, 'TaxRepresentativeParty'));
  }

  #lineCategories: UblElement[] | undefined;
  #elements: UblElement[] | undefined;

  /** Line VAT categories (BG-30): ClassifiedTaxCategory of each item. */
  lineCategories(): UblElement[] {
    this.#lineCategories ??= this.lines.flatMap((l) =>
      all(l, 'Item/ClassifiedTaxCategory'),
    );
    return this.#lineCategories;
  }

  #memo = new Map<string, unknown>();

  /** Computes a derived view once per document (rules share it). */
  memo<T>(key: string, compute: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = compute();
    this.#memo.set(key, value);
    return value;
  }

  /** The VAT category codes used anywhere: lines, allowances, charges,
   * breakdown. */
  categoryCodes(): ReadonlySet<string> {
    return this.memo('categoryCodes', () => {
      const categories = [
        ...this.lineCategories(),
        ...[...this.allowances, ...this.charges].flatMap((a) =>
          kids(a, 'TaxCategory'),
        ),
        ...this.subtotals.flatMap((s) => kids(s, 'TaxCategory')),
      ];
      return new Set(categories.map((c) => textAt(c, 'ID') ?? ''));
    });
  }

  /** Every element of the document in document order, found once. */
  elements(): UblElement[] {
    if (this.#elements) return this.#elements;
    const out: UblElement[] = [];
    const walk = (el: UblElement): void => {
      for (const child of el.children) {
        out.push(child);
        walk(child);
      }
    };
    walk(this.root);
    this.#elements = out;
    return out;
  }
}

/** True for an AllowanceCharge whose ChargeIndicator says charge. */
export function isCharge(el: UblElement): boolean {
  const value = textAt(el, 'ChargeIndicator');
  return value === 'true' || value === '1';
}

/** True when a tax scheme or category's TaxScheme/ID is VAT. */
export function isVatScheme(el: UblElement | undefined): boolean {
  return textAt(el, 'TaxScheme/ID')?.toUpperCase() === 'VAT';
}

function vatId(party: UblElement | undefined): string | undefined {
  const scheme = kids(party, 'PartyTaxScheme').find(isVatScheme);
  return nonBlank(textAt(scheme, 'CompanyID'));
}

function nonBlank(value: string | undefined): string | undefined {
  return value === '' ? undefined : value;
}

/** A category's code (BT-118/BT-151/BT-95/BT-102), e.g. `S`. */
export function categoryCode(el: UblElement | undefined): string | undefined {
  return textAt(el, 'ID');
}

/**
 * The decimal value of an element, undefined when absent; NaN when it
 * is not a number (a rule comparing it then fails, as in Schematron).
 */
export function num(el: UblElement | undefined): Decimal | undefined {
  const value = text(el);
  if (value === undefined) return undefined;
  try {
    return new Decimal(value);
  } catch {
    return new Decimal(NaN);
  }
}

/** The decimal at a path below `el` (see `num`). */
export function numAt(
  el: UblElement | undefined,
  path: string,
): Decimal | undefined {
  return num(at(el, path));
}

/** Sums the decimals at `path` below each element (absent counts 0). */
export function sumAt(els: UblElement[], path: string): Decimal {
  return els.reduce(
    (sum, el) => sum.plus(numAt(el, path) ?? 0),
    new Decimal(0),
  );
}

/**
 * Rounds to two decimals as EN 16931 validators do: XPath `round()`
 * goes half up towards +∞, an implementation may round half away from
 * zero; an amount matching either is accepted by `equalsRounded`.
 */
export function round2(value: Decimal): Decimal {
  return value.toDecimalPlaces(2, Decimal.ROUND_HALF_UP);
}

/** True when `amount` equals `value` rounded to two decimals. */
export function equalsRounded(amount: Decimal, value: Decimal): boolean {
  if (amount.isNaN() || value.isNaN()) return false;
  if (amount.equals(round2(value))) return true;
  return amount.equals(value.toDecimalPlaces(2, Decimal.ROUND_HALF_CEIL));
}
