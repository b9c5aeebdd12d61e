import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { LATE_FLAGS, SHEBANG_FLAGS } from "../../src/cli/heap-flags.ts";
import { sha256 } from "../../src/meta/hash.ts";
import { jsonLines, runCli } from "../helpers/cli.ts";

const NOW = 1_790_000_000;
const RAW_EMAIL = "Canary.Person+cli@Example.org";

describe("capi-sync normalize", () => {
  it("writes one user_data line per input line, in order, hashed as Meta specifies", async () => {
    const input = [
      { em: " John_Smith@gmail.com ", ph: "(650)555-1212", country: "United States" },
      { fn: ["Mary", "MARY", "Valéry"] },
      { em: RAW_EMAIL },
    ]
      .map((l) => JSON.stringify(l))
      .join("\n");
    const { code, stdout, stderr } = await runCli(["normalize", "--default-country", "us"], { stdin: input });
    assert.equal(code, 0, stderr);
    const lines = jsonLines(stdout) as Record<string, unknown>[];
    assert.equal(lines.length, 3);
    assert.equal(lines[0]?.em, "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f");
    assert.equal(lines[0]?.ph, "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176");
    assert.equal(lines[0]?.country, "79adb2a2fce5c6ba215fe5f27f532d4e7edbac4b6a5e09e1ef3a08084a904621");
    assert.deepEqual(lines[1]?.fn, [sha256("mary"), sha256("valéry")]);
    assert.equal(lines[2]?.em, sha256(RAW_EMAIL.toLowerCase()));
    assert.ok(!stdout.includes(RAW_EMAIL) && !stdout.toLowerCase().includes(RAW_EMAIL.toLowerCase()));
  });

  it("reports a malformed line in place, carries on, exits 1, and never echoes values", async () => {
    const input = `{"em":"a@b.co"}\n{"em": "${RAW_EMAIL}" oops\n["not an object"]\n{"em":"not-an-email-${RAW_EMAIL.replace("@", "")}"}\n`;
    const { code, stdout, stderr } = await runCli(["normalize"], { stdin: input });
    assert.equal(code, 1);
    const lines = jsonLines(stdout) as Array<Record<string, unknown>>;
    assert.equal(lines.length, 4);
    assert.equal(lines[0]?.em, sha256("a@b.co"));
    assert.deepEqual(lines[1], { error: { line: 2, code: "input.malformed", message: "not valid JSON" } });
    assert.equal((lines[2] as { error: { line: number } }).error.line, 3);
    assert.deepEqual(lines[3], {});
    const warnings = jsonLines(stderr) as Array<Record<string, unknown>>;
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.line, 4);
    assert.equal(warnings[0]?.path, "user_data.em");
    const everything = stdout + stderr;
    assert.ok(!everything.includes("Canary"), "no raw value in any output");
  });

  it("with --hashed-only hashes nothing and drops raw values", async () => {
    const hashed = sha256("x@y.z").toUpperCase();
    const input = JSON.stringify({ em: [hashed, "raw@example.com"] });
    const { code, stdout, stderr } = await runCli(["normalize", "--hashed-only"], { stdin: input });
    assert.equal(code, 0);
    assert.deepEqual(jsonLines(stdout), [{ em: hashed.toLowerCase() }]);
    assert.match(stderr, /not_hashed/);
  });

  it("rejects bad options with exit 2", async () => {
    assert.equal((await runCli(["normalize", "--default-country", "USA"])).code, 2);
    assert.equal((await runCli(["normalize", "--frobnicate"])).code, 2);
  });
});

describe("capi-sync validate", () => {
  const base = {
    event_name: "Purchase",
    event_time: NOW - 3600,
    action_source: "website",
    event_id: "order-1",
    event_source_url: "https://shop.example.com/checkout",
    user_data: {
      em: "buyer@example.com",
      client_user_agent: "Mozilla/5.0",
      client_ip_address: "203.0.113.9",
    },
    custom_data: { value: 12.5, currency: "USD" },
  };

  it("normalizes raw user_data before judging, one verdict per line", async () => {
    const events = [
      base,
      { ...base, custom_data: { currency: "USD" } },
      { ...base, event_time: NOW - 8 * 86400 },
      { ...base, user_data: { ge: "female", ct: "Paris", country: "FR" } },
    ];
    const { code, stdout } = await runCli(["validate", "--now", String(NOW)], {
      stdin: events.map((e) => JSON.stringify(e)).join("\n"),
    });
    assert.equal(code, 1);
    const verdicts = jsonLines(stdout) as Array<{
      valid: boolean;
      errors: Array<{ code: string; path: string }>;
    }>;
    assert.equal(verdicts.length, 4);
    assert.equal(verdicts[0]?.valid, true, JSON.stringify(verdicts[0]));
    assert.equal(verdicts[1]?.valid, false);
    assert.ok(verdicts[1]?.errors.some((e) => e.path === "custom_data.value"));
    assert.ok(verdicts[2]?.errors.some((e) => e.path === "event_time"));
    assert.ok(verdicts[3]?.errors.some((e) => e.path === "user_data"));
  });

  it("--as-is judges the payload verbatim: raw PII is an error, and the value is never quoted", async () => {
    const { code, stdout } = await runCli(["validate", "--as-is", "--now", String(NOW)], {
      stdin: JSON.stringify({ ...base, user_data: { em: RAW_EMAIL } }),
    });
    assert.equal(code, 1);
    const [verdict] = jsonLines(stdout) as Array<{ valid: boolean; errors: Array<{ path: string }> }>;
    assert.equal(verdict?.valid, false);
    assert.ok(verdict?.errors.some((e) => e.path.startsWith("user_data.em")));
    assert.ok(!stdout.includes(RAW_EMAIL));
  });

  it("exits 0 when every event is valid", async () => {
    const { code } = await runCli(["validate", "--now", String(NOW)], { stdin: JSON.stringify(base) });
    assert.equal(code, 0);
  });
});

describe("bin/capi-sync.js", () => {
  it("runs as a real process: help lists the commands, unknown commands exit 2", () => {
    const bin = new URL("../../bin/capi-sync.js", import.meta.url).pathname;
    const help = spawnSync(process.execPath, [bin, "help"], { encoding: "utf8" });
    assert.equal(help.status, 0);
    for (const name of ["normalize", "validate", "init", "config"])
      assert.match(help.stdout, new RegExp(name));
    const unknown = spawnSync(process.execPath, [bin, "frobnicate"], { encoding: "utf8" });
    assert.equal(unknown.status, 2);
    const piped = spawnSync(process.execPath, [bin, "normalize"], {
      input: '{"em":"a@b.co"}\n',
      encoding: "utf8",
    });
    assert.equal(piped.status, 0);
    assert.equal(JSON.parse(piped.stdout).em, sha256("a@b.co"));
  });

  it("starts Node with the heap flags, and sets the rest first, when run as an executable", () => {
    const bin = new URL("../../bin/capi-sync.js", import.meta.url).pathname;
    const text = readFileSync(bin, "utf8");
    const shebang = text.split("\n")[0] as string;
    assert.equal(shebang, `#!/usr/bin/env -S node ${SHEBANG_FLAGS.join(" ")}`);
    // Linux before 5.1 reads 127 characters of it; a flag cut short would stop Node.
    assert.ok(shebang.length <= 127, `the shebang line is ${shebang.length} characters`);
    const late = [...text.matchAll(/v8\.setFlagsFromString\("([^"]*)"\)/g)].map((match) => match[1]);
    assert.deepEqual(late, [...LATE_FLAGS]);
    // Executed directly, as npm's bin links run it: the shebang's `node` is the one on PATH.
    const path = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;
    const help = spawnSync(bin, ["help"], { encoding: "utf8", env: { ...process.env, PATH: path } });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /normalize/);
  });

  it("keeps the stripped sources in the user's own compile cache, unless the user turns it off", () => {
    const bin = new URL("../../bin/capi-sync.js", import.meta.url).pathname;
    const tmp = mkdtempSync(join(tmpdir(), "capi-sync-cache-"));
    try {
      const { NODE_COMPILE_CACHE: _, NODE_DISABLE_COMPILE_CACHE: __, ...env } = process.env;
      const run = (extra: Record<string, string> = {}) =>
        spawnSync(process.execPath, [bin, "help"], {
          encoding: "utf8",
          env: { ...env, XDG_CACHE_HOME: join(tmp, "home-cache"), TMPDIR: join(tmp, "shared"), ...extra },
        });
      const cache = join(tmp, "home-cache", "capi-sync", "compile-cache");
      const entries = () => readdirSync(cache, { recursive: true }).length;

      assert.equal(run({ NODE_DISABLE_COMPILE_CACHE: "1" }).status, 0);
      assert.deepEqual(readdirSync(tmp), []);
      assert.equal(run().status, 0);
      assert.deepEqual(readdirSync(tmp), ["home-cache"], "nothing under the shared temporary folder");
      const first = entries();
      assert.ok(first > 20, `${first} cache entries`);
      const second = run({ NODE_DEBUG_NATIVE: "COMPILE_CACHE" });
      assert.equal(second.status, 0);
      assert.equal(entries(), first, "a second run strips nothing again");
      // The TypeScript itself comes from the cache, stripped: no thread loads the type stripper.
      // (Node's own debug text, as Node 24 words it.)
      assert.match(
        second.stderr,
        /transpile cache for StrippedTypeScript \S+\/src\/cli\/main\.ts\.\.\.success/,
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
