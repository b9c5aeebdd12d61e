// Why a value was dropped: the last segment of its warning code and words that never quote it.

export interface Rejection {
  /** Last segment of the warning code: `user_data.<key>.<reason>`. */
  readonly reason: string;
  /** Why, and what happened to the value, in words that never include it. */
  readonly message: string;
}

export function isRejection(result: string | Rejection): result is Rejection {
  return typeof result !== "string";
}

const rejection = (reason: string, message: string): Rejection => Object.freeze({ reason, message });

export const REJECTIONS = {
  invalidEmail: rejection("invalid_email", "is not an email address; dropped"),
  unparseablePhone: rejection(
    "unparseable",
    "is not a possible phone number for its country (row country, default country or its own calling code); dropped",
  ),
  unknownCountry: rejection(
    "unknown_country",
    "is not an ISO 3166-1 country code or a known country name; dropped",
  ),
  unparseableDate: rejection("unparseable", "is not a date in a recognised format; dropped"),
  invalidDate: rejection("invalid_date", "is not a real calendar date; dropped"),
  dateOutOfRange: rejection("out_of_range", "has a year outside 1900 to the current year; dropped"),
  unknownGender: rejection("unrecognized", "is not a gender Meta accepts (f or m); dropped"),
  // Raised by normalizeUserData around the normalizers:
  emptyAfterNormalization: rejection(
    "empty_after_normalization",
    "has nothing left after normalization; dropped",
  ),
  notHashed: rejection("not_hashed", "must already be a SHA-256 hex digest when hashedOnly is set; dropped"),
  invalidType: rejection("invalid_type", "must be a string or a number; dropped"),
  multipleValues: rejection("multiple_values", "takes one value; the first non-empty one was kept"),
  unknownKey: rejection("unknown_key", "is not a user_data key Meta documents; dropped"),
  unreadable: rejection("unreadable", "could not be read; dropped"),
} as const;
