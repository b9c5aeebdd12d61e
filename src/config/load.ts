import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { type Config, configSchema } from "./schema.ts";

export const DEFAULT_CONFIG_FILE = "capi-sync.yaml";

/** A config problem, naming the file, the key path and the rule, never a value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface LoadedConfig {
  readonly path: string;
  /** Directory relative paths in the config are resolved against. */
  readonly baseDir: string;
  readonly config: Config;
}

export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === "ENOENT" ? " (run `capi-sync init` to write an example)" : "";
    throw new ConfigError(`cannot read config ${absolute}: ${code ?? "unreadable"}${hint}`);
  }
  return { path: absolute, baseDir: dirname(absolute), config: parseConfig(text, env, absolute) };
}

export function parseConfig(text: string, env: NodeJS.ProcessEnv, fileName = DEFAULT_CONFIG_FILE): Config {
  // prettyErrors computes line positions; the library's message itself quotes the text, so it is
  // not used (the text may hold secrets).
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    const first = document.errors[0];
    const position = first?.linePos?.[0];
    const where = position ? ` at line ${position.line}, column ${position.col}` : "";
    const line = position ? (text.split("\n")[position.line - 1] ?? "") : "";
    const hint = /\{[^}]*\$\{/.test(line) ? `: inside { } quote \${VAR} references, e.g. "\${VAR}"` : "";
    throw new ConfigError(`${fileName}: not valid YAML${where} (${first?.code ?? "parse error"})${hint}`);
  }
  const interpolated = interpolate(document.toJS(), env, fileName, []);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) throw new ConfigError(`${fileName}: ${describeIssues(result.error.issues)}`);
  return result.data;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` (and `${VAR:-default}`) in every string from the environment. A value that is
 * only a reference and resolves to "" is dropped, so `app_secret: ${META_APP_SECRET:-}` means "none".
 */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, fileName: string, path: string[]): unknown {
  if (typeof value === "string") {
    const replaced = value.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const resolved = env[name] ?? fallback;
      if (resolved === undefined) {
        throw new ConfigError(`${fileName}: ${path.join(".")} refers to \${${name}}, which is not set`);
      }
      return resolved;
    });
    return replaced === "" && value !== "" ? undefined : replaced;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, fileName, [...path, String(i)]));
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => [k, interpolate(v, env, fileName, [...path, k])]);
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  }
  return value;
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  // zod's messages describe the rule; `input` would carry the value, so it is never printed.
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join(".") || "(top level)"}: ${issue.message}`)
    .join("; ");
}
