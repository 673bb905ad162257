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
  const ms = instant.getTime();
  if (Number.isNaN(ms)) {
    throw new RangeError('zagrebParts: invalid date');
  }
  const offset = hourOffset(ms);
  if (offset !== null) {
    const wall = new Date(ms + offset);
    const year = wall.getUTCFullYear();
    if (year >= 1000 && year <= 9999) {
      return {
        year: String(year),
        month: two(wall.getUTCMonth() + 1),
        day: two(wall.getUTCDate()),
        hour: two(wall.getUTCHours()),
        minute: two(wall.getUTCMinutes()),
        second: two(wall.getUTCSeconds()),
      };
    }
  }
  return formatParts(instant);
}

const HOUR_MS = 3_600_000;

/**
 * Zagreb's offset from UTC (ms) through the UTC hour of `ms`, from the
 * zone data, kept per hour: Intl's formatting costs microseconds per
 * call. null when the offset changes within that hour (then each
 * instant is formatted on its own).
 */
const offsets = new Map<number, number | null>();

function hourOffset(ms: number): number | null {
  const hour = Math.floor(ms / HOUR_MS);
  let offset = offsets.get(hour);
  if (offset === undefined) {
    const start = hour * HOUR_MS;
    const first = offsetAt(start);
    offset = offsetAt(start + HOUR_MS - 1000) === first ? first : null;
    if (offsets.size >= 4096) offsets.clear();
    offsets.set(hour, offset);
  }
  return offset;
}

/** The wall clock minus the instant at a whole second `ms`. */
function offsetAt(ms: number): number {
  const p = formatParts(new Date(ms));
  const wall = Date.UTC(
    Number(p.year),
    Number(p.month) - 1,
    Number(p.day),
    Number(p.hour),
    Number(p.minute),
    Number(p.second),
  );
  return wall - ms;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function formatParts(instant: Date): ZagrebParts {
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
