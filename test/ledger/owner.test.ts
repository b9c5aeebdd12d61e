// Whether a run's owner still exists: a live process, a gone one, a zombie (exited, not reaped).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isOwnerAlive, THIS_PROCESS } from "../../src/ledger/owner.ts";

const onLinux = existsSync("/proc/self/stat");

describe("isOwnerAlive", () => {
  it("knows this process, an earlier incarnation of it, and another host", () => {
    assert.equal(isOwnerAlive(THIS_PROCESS), true);
    assert.equal(isOwnerAlive({ ...THIS_PROCESS, token: "earlier" }), false);
    assert.equal(isOwnerAlive({ host: "elsewhere", pid: 1, token: "t" }), true);
  });

  it("counts a running process as alive and one that exited as gone", async () => {
    const child = spawn("sleep", ["5"]);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const owner = { host: THIS_PROCESS.host, pid: child.pid as number, token: "t" };
    try {
      assert.equal(isOwnerAlive(owner), true);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    assert.equal(isOwnerAlive(owner), false);
  });

  it("counts a zombie (exited, not reaped by its parent) as gone", {
    skip: !onLinux && "needs /proc",
  }, async () => {
    // `sleep 0.05` exits first; its parent, exec'd into `sleep 5`, never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0.05 & echo $!; exec sleep 5"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        parent.stdout.once("data", (chunk: Buffer) => resolve(Number.parseInt(chunk.toString(), 10)));
        parent.once("error", reject);
      });
      const owner = { host: THIS_PROCESS.host, pid, token: "t" };
      const state = () => {
        const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
        return stat.charAt(stat.lastIndexOf(")") + 2);
      };
      for (let waited = 0; state() !== "Z"; waited += 10) {
        assert.ok(waited < 3000, "the child became a zombie");
        await sleep(10);
      }
      process.kill(pid, 0); // the zombie still answers signal 0
      assert.equal(isOwnerAlive(owner), false);
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
