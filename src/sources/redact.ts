const MASK = "********";
const SECRET_PARAM = /pass|pwd|secret|token|key/i;
/** `scheme://user:password@` anywhere in free text. */
const USERINFO_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]*@/gi;
/** `password=...` in key-value connection strings (libpq, ODBC, DuckDB ATTACH). */
const KEY_VALUE_PASSWORD = /(\b(?:password|pwd)\s*=\s*)('[^']*'|"[^"]*"|[^\s;&'"]+)/gi;

/** The URL with its password and secret-looking query parameters masked; the host stays readable. */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = MASK;
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, MASK);
    }
    return parsed.toString();
  } catch {
    return redactText(url, []);
  }
}

/** The secrets a connection URL carries, raw and percent-decoded, for scrubbing driver messages. */
export function secretsOfUrl(url: string): string[] {
  try {
    const parsed = new URL(url);
    const raw = [
      parsed.password,
      ...[...parsed.searchParams].filter(([k]) => SECRET_PARAM.test(k)).map(([, v]) => v),
    ];
    return [...new Set(raw.flatMap((s) => (s ? [s, safeDecode(s)] : [])))];
  } catch {
    return [];
  }
}

/**
 * Free text (a driver's error message) with the given secrets and any URL or key-value password
 * masked. Every secret is masked whatever its length: a garbled message beats a leaked password.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text.replace(USERINFO_PASSWORD, `$1${MASK}@`).replace(KEY_VALUE_PASSWORD, `$1${MASK}`);
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret) out = out.split(secret).join(MASK);
  }
  return out;
}

/** Quoted literals in a database's data-error message are values from the rows: keep the rule, drop them. */
export function withoutQuotedValues(message: string): string {
  return message.replace(/"[^"]*"|'[^']*'/g, "…");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
