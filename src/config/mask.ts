import { z } from "zod";
import { configSchema } from "./schema.ts";

const MASK = "********";

/**
 * A copy of a config value with every secret masked, for `config show` and logs. Secrets are the
 * schema's `writeOnly` strings; in URLs only the password is masked, so the host stays readable.
 */
export function maskSecrets(value: unknown, schema: z.ZodType = configSchema): unknown {
  if (value === undefined || value === null) return value;
  const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case "optional":
    case "default":
    case "nullable":
    case "prefault":
      return maskSecrets(value, def.innerType as z.ZodType);
    case "pipe":
      return maskSecrets(value, def.in as z.ZodType);
    case "object": {
      if (typeof value !== "object") return value;
      const shape = def.shape as Record<string, z.ZodType>;
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, shape[k] ? maskSecrets(v, shape[k]) : v]),
      );
    }
    case "record": {
      if (typeof value !== "object") return value;
      const valueType = def.valueType as z.ZodType;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, valueType)]));
    }
    case "union": {
      const options = def.options as z.ZodType[];
      const match = options.find((option) => option.safeParse(value).success) ?? options[0];
      return match ? maskSecrets(value, match) : value;
    }
    case "string":
      return z.globalRegistry.get(schema)?.writeOnly ? maskString(value) : value;
    default:
      return value;
  }
}

function maskString(value: unknown): string {
  if (typeof value !== "string") return MASK;
  try {
    const url = new URL(value);
    if (url.host !== "" && url.protocol !== "http:" && url.protocol !== "https:") {
      if (url.password) url.password = MASK;
      return url.toString();
    }
  } catch {
    // not a URL: mask whole
  }
  return MASK;
}
