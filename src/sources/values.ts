// The value model shared by the SQL sources (see README.md): integers are numbers while exact and
// decimal strings beyond 2^53, decimals stay exact strings, timestamps are Dates, dates are strings.

/** A 64-bit (or wider) integer as a number when exact, else its decimal string: no silent rounding. */
export function integerFromBigInt(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

/** Same rule for an integer that a driver hands over as text (Postgres int8). */
export function integerFromText(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}
