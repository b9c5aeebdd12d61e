// Logging for the client. Log fields are built from codes, counts and ids, never from a request; as a
// second line of defence every string that reaches the logger or an error passes through a scrubber
// that masks the secrets the client knows (access token, app secret, appsecret_proof).

/** The subset of pino's interface the client uses: `logger.warn({ ...fields }, "message")`. */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

export type LogFields = Record<string, string | number | boolean | undefined>;

const MASK = "[REDACTED]";

export class Scrubber {
  readonly #secrets: string[];

  constructor(secrets: ReadonlyArray<string | undefined>) {
    this.#secrets = secrets.filter((s): s is string => typeof s === "string" && s.length > 0);
  }

  text(value: string): string {
    let out = value;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
    return out;
  }

  fields(fields: LogFields): LogFields {
    const out: LogFields = {};
    for (const [key, value] of Object.entries(fields))
      out[key] = typeof value === "string" ? this.text(value) : value;
    return out;
  }
}

export class SafeLog {
  readonly #logger: Logger | undefined;
  readonly #scrub: Scrubber;

  constructor(logger: Logger | undefined, scrubber: Scrubber) {
    this.#logger = logger;
    this.#scrub = scrubber;
  }

  debug(message: string, fields: LogFields = {}): void {
    this.#logger?.debug(this.#scrub.fields(fields), this.#scrub.text(message));
  }

  info(message: string, fields: LogFields = {}): void {
    this.#logger?.info(this.#scrub.fields(fields), this.#scrub.text(message));
  }

  warn(message: string, fields: LogFields = {}): void {
    this.#logger?.warn(this.#scrub.fields(fields), this.#scrub.text(message));
  }

  error(message: string, fields: LogFields = {}): void {
    this.#logger?.error(this.#scrub.fields(fields), this.#scrub.text(message));
  }
}
