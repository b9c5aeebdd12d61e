// event_time arrives in whatever form a warehouse or a tracker keeps time; Meta wants integer unix
// seconds (GMT). Every reading is explicit: no Date.parse, whose handling of zone-less strings
// depends on the machine's time zone.

/** Epoch numbers by magnitude: seconds until the year 5138, then ms, µs, ns (13 digits = ms). */
const EPOCH_UNITS: readonly { readonly below: number; readonly perSecond: number }[] = [
  { below: 1e11, perSecond: 1 },
  { below: 1e14, perSecond: 1e3 },
  { below: 1e17, perSecond: 1e6 },
  { below: 1e20, perSecond: 1e9 },
];

const EPOCH_DIGITS = /^\d+(\.\d+)?$/;

/**
 * ISO 8601 and the text form of database timestamps: `2026-11-20T14:03:00Z`,
 * `2026-11-20 14:03:00`, `2026-11-20 14:03:00.123456+05:30`, `2026-11-20 14:03:00 UTC`,
 * `2026-11-20`. No zone means UTC.
 */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Integer unix seconds, or undefined when the value is no timestamp this reader knows. */
export function toUnixSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return fromEpochNumber(value);
  if (typeof value === "bigint") return fromEpochNumber(Number(value));
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
  }
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  if (EPOCH_DIGITS.test(text)) return fromEpochNumber(Number(text));
  return fromDateTimeText(text);
}

function fromEpochNumber(value: number): number | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  const unit = EPOCH_UNITS.find((u) => value < u.below);
  return unit ? Math.floor(value / unit.perSecond) : undefined;
}

function fromDateTimeText(text: string): number | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour = "0", minute = "0", second = "0", fraction = "", zone] = match;
  const parts = [Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)];
  const ms = Date.UTC(
    parts[0] as number,
    parts[1] as number,
    parts[2] as number,
    parts[3],
    parts[4],
    parts[5],
  );
  // Date.UTC rolls 2026-02-30 over into March; a calendar that does not round-trip is no date.
  const check = new Date(ms);
  const roundTrip = [
    check.getUTCFullYear(),
    check.getUTCMonth(),
    check.getUTCDate(),
    check.getUTCHours(),
    check.getUTCMinutes(),
    check.getUTCSeconds(),
  ];
  if (roundTrip.some((part, i) => part !== parts[i])) return undefined;
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return Math.floor((ms + fractionMs) / 1000) - zoneOffsetSeconds(zone);
}

function zoneOffsetSeconds(zone: string | undefined): number {
  if (!zone || /^(z|utc|gmt)$/i.test(zone)) return 0;
  const sign = zone.startsWith("-") ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  return sign * (hours * 3600 + minutes * 60);
}
