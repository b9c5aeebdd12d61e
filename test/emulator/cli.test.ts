import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import v8 from "node:v8";
import { UsageError } from "../../src/cli/command.ts";
import { emulatorCommand, emulatorOptionsFrom, runEmulator } from "../../src/cli/commands/emulator.ts";
import { EMULATOR_FLAGS } from "../../src/cli/heap-flags.ts";
import { purchase } from "./fixtures.ts";

function io() {
  const stdout = new PassThrough();
  let written = "";
  stdout.on("data", (chunk) => {
    written += String(chunk);
  });
  return {
    io: { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, cwd: process.cwd() },
    output: () => written,
  };
}

describe("capi-sync emulator: arguments", () => {
  it("pairs each --token with the --dataset before it", () => {
    const options = emulatorOptionsFrom([
      "--dataset",
      "111",
      "--token",
      "a",
      "--token",
      "b",
      "--dataset",
      "222",
      "--token",
      "c",
    ]);
    assert.deepEqual(options.datasets, [
      { id: "111", tokens: ["a", "b"] },
      { id: "222", tokens: ["c"] },
    ]);
  });

  it("defaults to dataset 1234567890 with token test-token, port 4100, faithful mode", () => {
    const options = emulatorOptionsFrom([]);
    assert.deepEqual(options.datasets, [{ id: "1234567890", tokens: ["test-token"] }]);
    assert.equal(options.port, 4100);
    assert.equal(options.strict, false);
  });

  it("reads faults, seed, latency, strict and app secret", () => {
    const options = emulatorOptionsFrom([
      "--fault-5xx=0.1",
      "--fault-transient=0.05",
      "--fault-throttle=0.02",
      "--fault-timeout=0.01",
      "--fault-drop=0.01",
      "--fault-lost-response=0.03",
      "--seed=42",
      "--latency-ms=25",
      "--strict",
      "--app-secret=s3",
      "--record-events=count",
    ]);
    assert.deepEqual(options.faults, {
      seed: 42,
      serverError: 0.1,
      transient: 0.05,
      throttle: 0.02,
      timeout: 0.01,
      drop: 0.01,
      lostResponse: 0.03,
    });
    assert.equal(options.latencyMs, 25);
    assert.equal(options.strict, true);
    assert.equal(options.appSecret, "s3");
    assert.equal(options.recordEvents, "count");
  });

  const bad: string[][] = [
    ["--token", "orphan"],
    ["--dataset", "111"],
    ["--dataset", "abc", "--token", "t"],
    ["--dataset", "1", "--token", "t", "--dataset", "1", "--token", "u"],
    ["--port", "70000"],
    ["--port", "http"],
    ["--fault-5xx", "2"],
    ["--fault-drop", "-0.1"],
    ["--latency-ms", "1.5"],
    ["--record-events", "some"],
    ["--unknown-flag"],
    ["positional"],
  ];
  for (const argv of bad) {
    it(`rejects ${argv.join(" ")} with a UsageError`, () => {
      assert.throws(() => emulatorOptionsFrom(argv), UsageError);
    });
  }

  it("turns fault rates that add up past 1 into a UsageError", async () => {
    const { io: streams } = io();
    await assert.rejects(
      runEmulator(["--port=0", "--fault-5xx=0.7", "--fault-drop=0.7"], streams, AbortSignal.abort()),
      UsageError,
    );
  });
});

describe("capi-sync emulator: running", () => {
  it("prints the URL and datasets but never a token, serves, and stops on the signal", async () => {
    const { io: streams, output } = io();
    const controller = new AbortController();
    const running = runEmulator(
      ["--port=0", "--dataset=555", "--token=very-secret-token", "--app-secret=shh"],
      streams,
      controller.signal,
    );
    let url: string | undefined;
    for (let i = 0; i < 100 && url === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      url = /listening on (http:\/\/\S+)/.exec(output())?.[1];
    }
    assert.ok(url, output());
    assert.match(output(), /dataset 555 \(1 token\)/);
    assert.ok(!output().includes("very-secret-token"));
    assert.ok(!output().includes("shh"));
    const response = await fetch(`${url}/v24.0/555/events`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer very-secret-token" },
      body: JSON.stringify({ data: [purchase()] }),
    });
    assert.equal(response.status, 400); // no appsecret_proof
    controller.abort();
    assert.equal(await running, 0);
    assert.match(output(), /stopped/);
  });

  it("sizes its process's heap for request bodies before it reads its options", async (t) => {
    const set: string[] = [];
    // Recorded, not applied: V8's flags are process-wide, and this is the test runner's process.
    t.mock.method(v8, "setFlagsFromString", (flag: string) => set.push(flag));
    await assert.rejects(emulatorCommand.run(["--port=not-a-port"], io().io), UsageError);
    assert.deepEqual(set, [...EMULATOR_FLAGS]);
    assert.ok(EMULATOR_FLAGS.every((flag) => /^--heap-growing-percent=\d+$/.test(flag)));
  });

  it("describes itself for capi-sync help", () => {
    assert.equal(emulatorCommand.name, "emulator");
    for (const flag of [
      "--port",
      "--dataset",
      "--token",
      "--app-secret",
      "--strict",
      "--latency-ms",
      "--fault-5xx",
      "--seed",
    ]) {
      assert.ok(emulatorCommand.usage.includes(flag), flag);
    }
  });
});
