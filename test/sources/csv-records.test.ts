import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type CastingContext, parse } from "csv-parse/sync";
import fc from "fast-check";
import { type CsvItem, CsvRecordReader, MAX_RECORD_CHARS } from "../../src/sources/csv-records.ts";

function readAll(text: string, chunks: readonly number[] = [], delimiter = ","): CsvItem[] {
  const reader = new CsvRecordReader(delimiter);
  const out: CsvItem[] = [];
  let at = 0;
  for (const cut of [...chunks].sort((a, b) => a - b)) {
    out.push(...reader.read(text.slice(at, cut)));
    at = cut;
  }
  out.push(...reader.read(text.slice(at), true));
  return out;
}

/** Records as field lists, errors as "error@line". */
function shape(items: readonly CsvItem[]): Array<(string | null)[] | string> {
  return items.map((item) => ("error" in item ? `${item.error}@${item.line}` : item.fields));
}

describe("CsvRecordReader: the dialect", () => {
  const cases: Array<[string, string, Array<(string | null)[] | string>]> = [
    [
      "LF and CRLF mixed",
      "a,b\r\n1,2\n3,4\r\n",
      [
        ["a", "b"],
        ["1", "2"],
        ["3", "4"],
      ],
    ],
    [
      "no final line break",
      "a,b\n1,2",
      [
        ["a", "b"],
        ["1", "2"],
      ],
    ],
    [
      "empty lines skipped",
      "a,b\n\n1,2\r\n\r\n\n3,4\n",
      [
        ["a", "b"],
        ["1", "2"],
        ["3", "4"],
      ],
    ],
    [
      "unquoted empty is null, quoted empty is ''",
      'a,b,c\n,"",\n',
      [
        ["a", "b", "c"],
        [null, "", null],
      ],
    ],
    [
      "header fields are never null",
      ",b\n1,2\n",
      [
        ["", "b"],
        ["1", "2"],
      ],
    ],
    [
      "quoted delimiter and line breaks",
      'a,b\n"x,y","line1\nline2\r\nline3"\n',
      [
        ["a", "b"],
        ["x,y", "line1\nline2\r\nline3"],
      ],
    ],
    ["doubled quotes", 'a\n"say ""hi"""\n', [["a"], ['say "hi"']]],
    [
      "a quote inside an unquoted field is data",
      'a,b\n5" screen,x"y\n',
      [
        ["a", "b"],
        ['5" screen', 'x"y'],
      ],
    ],
    [
      "a lone CR is data",
      "a,b\nx\ry,z\n",
      [
        ["a", "b"],
        ["x\ry", "z"],
      ],
    ],
    [
      "quoted last field then CRLF",
      'a,b\n1,"2"\r\n3,4\n',
      [
        ["a", "b"],
        ["1", "2"],
        ["3", "4"],
      ],
    ],
    [
      "wrong field count, reading goes on",
      "a,b\n1\n2,3,4\n5,6\n",
      [["a", "b"], "field_count@2", "field_count@3", ["5", "6"]],
    ],
    ["text after a closing quote", 'a,b\n"x"y,1\n2,3\n', [["a", "b"], "invalid_quote@2", ["2", "3"]]],
    [
      "an unclosed quote takes the rest",
      'a,b\n1,ok\n2,"open\n3,lost\n',
      [["a", "b"], ["1", "ok"], "quote_not_closed@3"],
    ],
    ["lines counted through quoted breaks", 'a\n"1\n2\n3"\nx,y\n', [["a"], ["1\n2\n3"], "field_count@5"]],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.deepEqual(shape(readAll(input)), expected));
  }

  it("another delimiter", () => {
    assert.deepEqual(shape(readAll('a;b\n1,5;"x;y"\n', [], ";")), [
      ["a", "b"],
      ["1,5", "x;y"],
    ]);
    assert.throws(() => new CsvRecordReader('"'), /one character/);
    assert.throws(() => new CsvRecordReader(";;"), /one character/);
  });

  it("a record longer than the limit is reported and skipped to the next line break", () => {
    const huge = `"${"x".repeat(MAX_RECORD_CHARS + 2_000_000)}",z`;
    const text = `a,b\n1,2\n${huge}\n3,4\n`;
    const chunks = Array.from({ length: 40 }, (_, i) => Math.floor(((i + 1) * text.length) / 41));
    const items = shape(readAll(text, chunks));
    assert.deepEqual(items[0], ["a", "b"]);
    assert.deepEqual(items[1], ["1", "2"]);
    assert.equal(items[2], "record_too_large@3");
    assert.deepEqual(items.at(-1), ["3", "4"]);
  });
});

// Documents built from fields that exercise every rule, quoted when they must be (or at random).
const field = fc.oneof(
  fc.constantFrom(
    "",
    "a",
    "12.50",
    "x,y",
    'say "hi"',
    "line\nbreak",
    "crlf\r\nbreak",
    "ZOË",
    "김",
    " padded ",
  ),
  fc.string({ unit: fc.constantFrom("a", "b", ",", '"', "\n", "\r", " ", "é", "😀"), maxLength: 8 }),
);
const needsQuotes = (value: string) => /[",\n\r]/.test(value) || value.startsWith('"');
const csvDocument = fc
  .integer({ min: 1, max: 5 })
  .chain((width) =>
    fc.array(fc.array(fc.tuple(field, fc.boolean()), { minLength: width, maxLength: width }), {
      minLength: 1,
      maxLength: 12,
    }),
  )
  .chain((rows) =>
    fc.tuple(
      fc.constant(rows),
      fc.array(fc.constantFrom("\n", "\r\n"), { minLength: rows.length, maxLength: rows.length }),
    ),
  )
  .map(([rows, breaks]) => ({
    // The header: named columns, as a real file has.
    text: [
      rows[0]?.map((_, i) => `c${i}`).join(","),
      ...rows.map((cells) =>
        cells
          .map(([value, quote]) => (quote || needsQuotes(value) ? `"${value.replaceAll('"', '""')}"` : value))
          .join(","),
      ),
    ]
      .map((line, i) => line + (breaks[i] ?? "\n"))
      .join(""),
  }));

describe("CsvRecordReader: properties", () => {
  it("agrees with csv-parse on well-formed files", () => {
    fc.assert(
      fc.property(csvDocument, ({ text }) => {
        const expected = parse(text, {
          record_delimiter: ["\r\n", "\n"],
          skip_empty_lines: true,
          relax_quotes: true,
          relax_column_count: true,
          cast: (value: string, context: CastingContext) =>
            value === "" && !context.quoting && !context.header && context.lines > 1 ? null : value,
        }) as (string | null)[][];
        // csv-parse reads the header like any record; ours keeps "" there.
        const header = expected[0]?.map((value) => value ?? "");
        const ours = readAll(text).map((item) => ("error" in item ? item.error : item.fields));
        assert.deepEqual(ours, header ? [header, ...expected.slice(1)] : expected);
      }),
      { numRuns: 400 },
    );
  });

  it("gives the same items however the text is cut into chunks, malformed text included", () => {
    const anyText = fc.string({
      unit: fc.constantFrom("a", ",", '"', "\n", "\r", "x", "é", "😀"),
      maxLength: 60,
    });
    fc.assert(
      fc.property(
        fc.oneof(
          csvDocument.map((doc) => doc.text),
          anyText,
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        (text, cuts) => {
          const chunks = cuts.map((cut) => cut % (text.length + 1));
          assert.deepEqual(readAll(text, chunks), readAll(text));
        },
      ),
      { numRuns: 1000 },
    );
  });
});
