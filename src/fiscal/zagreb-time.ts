const ZAGREB = 'Europe/Zagreb';

const FORMAT = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZAGREB,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

/** The wall-clock fields of an instant in Europe/Zagreb. */
export interface ZagrebParts {
  year: string;
  month: string;
  day: string;
  hour: string;
  minute: string;
  second: string;
}

/**
 * The Europe/Zagreb wall clock of an instant, from the IANA zone data
 * (Intl), never from the machine's own zone. In autumn two instants
 * share one 02:xx; the stored instant stays the source of truth.
 */
export function zagrebParts(instant: Date): ZagrebParts {
  if (Number.isNaN(instant.getTime())) {
    throw new RangeError('zagrebParts: invalid date');
  }
  const parts: Record<string, string> = {};
  for (const part of FORMAT.formatToParts(instant)) {
    parts[part.type] = part.value;
  }
  return {
    year: parts.year ?? '',
    month: parts.month ?? '',
    day: parts.day ?? '',
    hour: parts.hour ?? '',
    minute: parts.minute ?? '',
    second: parts.second ?? '',
  };
}

/** `dd.MM.yyyy HH:mm:ss`: the issue time inside the ZKI signed string. */
export function zagrebZkiTime(instant: Date): string {
  const p = zagrebParts(instant);
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** `dd.MM.yyyyTHH:mm:ss`: the CIS XML date-time (`DatVrijeme`). */
export function zagrebXmlTime(instant: Date): string {
  const p = zagrebParts(instant);
  return `${p.day}.${p.month}.${p.year}T${p.hour}:${p.minute}:${p.second}`;
}

/** `yyyyMMdd_HHmm`: the `datv` parameter of the receipt's QR link. */
export function zagrebQrTime(instant: Date): string {
  const p = zagrebParts(instant);
  return `${p.year}${p.month}${p.day}_${p.hour}${p.minute}`;
}
