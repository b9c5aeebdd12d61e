import assert from "node:assert/strict";
import { test } from "node:test";
import { openSource, SOURCE_KINDS, type SourceConfig, type SourceKind } from "../../src/sources/index.ts";
import { maskUrl, redactText, secretsOfUrl, withoutQuotedValues } from "../../src/sources/redact.ts";
import { integerFromBigInt, integerFromText } from "../../src/sources/values.ts";

test("maskUrl masks the password and secret-looking parameters, keeps the rest readable", () => {
  const cases: Array<[string, string]> = [
    ["postgres://app:hunter2@db.internal:5432/shop", "postgres://app:********@db.internal:5432/shop"],
    ["mysql://root@127.0.0.1:3306/test", "mysql://root@127.0.0.1:3306/test"],
    [
      "postgres://app@db/shop?sslmode=require&password=hunter2&sslkey=k.pem",
      "postgres://app@db/shop?sslmode=require&password=********&sslkey=********",
    ],
    ["postgres://app:p%40ss%2Fw@db/shop", "postgres://app:********@db/shop"],
    ["not a url://app:hunter2@db", "not a url://app:********@db"],
  ];
  for (const [url, masked] of cases) assert.equal(maskUrl(url), masked);
});

test("secretsOfUrl finds the password raw and decoded; redactText removes them and inline passwords", () => {
  const url = "postgres://app:p%40ss%2Fword@db/shop?application_name=x&sslpassword=topsecret";
  assert.deepEqual(secretsOfUrl(url).sort(), ["p%40ss%2Fword", "p@ss/word", "topsecret"].sort());
  const message =
    "auth failed for p@ss/word at postgres://app:p%40ss%2Fword@db/shop, key topsecret, conn 'host=db password=abc123 user=x'";
  const redacted = redactText(message, secretsOfUrl(url));
  for (const secret of ["p@ss/word", "p%40ss%2Fword", "topsecret", "abc123"])
    assert.ok(!redacted.includes(secret), secret);
  assert.match(redacted, /host=db password=\*{8} user=x/);
});

test("withoutQuotedValues keeps a data error's rule and drops the quoted values", () => {
  assert.equal(
    withoutQuotedValues(`invalid input syntax for type integer: "jane@example.com"`),
    "invalid input syntax for type integer: …",
  );
  assert.equal(
    withoutQuotedValues("Could not convert string 'x@y.z' to INT32"),
    "Could not convert string … to INT32",
  );
});

test("integers are numbers while exact, decimal strings beyond", () => {
  const cases: Array<[bigint, number | string]> = [
    [0n, 0],
    [9007199254740991n, 9007199254740991],
    [-9007199254740991n, -9007199254740991],
    [9007199254740992n, "9007199254740992"],
    [-9007199254740993n, "-9007199254740993"],
    [18446744073709551615n, "18446744073709551615"],
  ];
  for (const [value, expected] of cases) {
    assert.equal(integerFromBigInt(value), expected);
    assert.equal(integerFromText(value.toString()), expected);
  }
});

/** A config for each kind from its field table: proves the table and the openers agree. */
function sampleConfig(kind: SourceKind): SourceConfig {
  const fields = SOURCE_KINDS[kind].fields as Record<
    string,
    { required: boolean; secret?: boolean; type: string }
  >;
  const config: Record<string, unknown> = { kind };
  for (const [name, field] of Object.entries(fields)) {
    if (!field.required) continue;
    config[name] = field.secret
      ? `${kind}://user:Pa55-w0rd@db.example:1234/shop`
      : field.type === "integer"
        ? 1
        : "x.data";
  }
  return config as unknown as SourceConfig;
}

test("SOURCE_KINDS describes every kind; each opens lazily and describes itself without secrets", () => {
  const kinds = Object.keys(SOURCE_KINDS) as SourceKind[];
  assert.deepEqual(kinds.sort(), ["csv", "duckdb", "mysql", "ndjson", "parquet", "postgres", "sqlite"]);
  for (const kind of kinds) {
    const spec = SOURCE_KINDS[kind];
    assert.ok(spec.summary.length > 10, kind);
    for (const [name, field] of Object.entries(spec.fields))
      assert.ok(field.description.length > 10, `${kind}.${name}`);
    const source = openSource(sampleConfig(kind), { cwd: "/nonexistent" }); // opening touches nothing
    assert.equal(source.kind, kind);
    assert.ok(source.describe().startsWith(`${kind} `), source.describe());
    assert.doesNotMatch(source.describe(), /Pa55-w0rd/);
  }
});
