// Dates of birth → `YYYYMMDD` (spec §3.1 `db`: year 1900 to the current year, a real date).
import { REJECTIONS, type Rejection } from "./rejections.ts";

type DateParts = readonly [year: number, month: number, day: number];

interface DateFormat {
  /** Matches the trimmed text (case-insensitive); a trailing time part (`T…`, ` 0:00`) is ignored. */
  readonly pattern: RegExp;
  readonly parts: (match: RegExpExecArray) => DateParts | undefined;
}

const MONTHS: ReadonlyMap<string, number> = new Map(
  [
    ["january", "jan"],
    ["february", "feb"],
    ["march", "mar"],
    ["april", "apr"],
    ["may", "may"],
    ["june", "jun"],
    ["july", "jul"],
    ["august", "aug"],
    ["september", "sep", "sept"],
    ["october", "oct"],
    ["november", "nov"],
    ["december", "dec"],
  ].flatMap((names, index) => names.map((name): [string, number] => [name, index + 1])),
);

const n = (text: string | undefined): number => Number(text);

function withMonthName(year: string | undefined, name: string | undefined, day: string | undefined) {
  const month = MONTHS.get(name?.toLowerCase() ?? "");
  return month === undefined ? undefined : ([n(year), month, n(day)] as const);
}

/** Tried in order; the first pattern that matches decides (even when the date it reads is invalid). */
const DATE_FORMATS: readonly DateFormat[] = [
  // 19970216
  { pattern: /^(\d{4})(\d{2})(\d{2})$/, parts: (m) => [n(m[1]), n(m[2]), n(m[3])] },
  // 1997-02-16, 1997/2/16, 1997.02.16, 1997-02-16T00:00:00Z
  { pattern: /^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[Tt\s].*)?$/, parts: (m) => [n(m[1]), n(m[3]), n(m[4])] },
  // 16.02.1997: European day.month.year
  { pattern: /^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s.*)?$/, parts: (m) => [n(m[3]), n(m[2]), n(m[1])] },
  // 2/16/1997, 02-16-1997: US month/day/year, unless the first part cannot be a month (16/2/1997)
  {
    pattern: /^(\d{1,2})([-/])(\d{1,2})\2(\d{4})(?:\s.*)?$/,
    parts: (m) => (n(m[1]) > 12 ? [n(m[4]), n(m[3]), n(m[1])] : [n(m[4]), n(m[1]), n(m[3])]),
  },
  // 16 Feb 1997, 16-feb-1997, 16th February, 1997
  {
    pattern: /^(\d{1,2})(?:st|nd|rd|th)?[\s.-]+([a-z]+)\.?,?[\s.-]+(\d{4})$/i,
    parts: (m) => withMonthName(m[3], m[2], m[1]),
  },
  // February 16, 1997; Feb. 16 1997
  {
    pattern: /^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/i,
    parts: (m) => withMonthName(m[3], m[1], m[2]),
  },
];

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

const twoDigits = (value: number): string => (value < 10 ? `0${value}` : String(value));

/** `YYYYMMDD`, or why not. Two-digit years are refused: their century would be a guess. */
export function parseDateOfBirth(trimmed: string, currentYear: number): string | Rejection {
  for (const format of DATE_FORMATS) {
    const match = format.pattern.exec(trimmed);
    if (match === null) continue;
    const parts = format.parts(match);
    if (parts === undefined) return REJECTIONS.unparseableDate;
    const [year, month, day] = parts;
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return REJECTIONS.invalidDate;
    if (year < 1900 || year > currentYear) return REJECTIONS.dateOutOfRange;
    return String(year) + twoDigits(month) + twoDigits(day);
  }
  return REJECTIONS.unparseableDate;
}
