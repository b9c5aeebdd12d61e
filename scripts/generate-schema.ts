// Writes schema/capi-sync.schema.json from the zod schema (npm run schema).
import { writeFileSync } from "node:fs";
import { configJsonSchema } from "../src/config/schema.ts";

const target = new URL("../schema/capi-sync.schema.json", import.meta.url);
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${target.pathname}\n`);
