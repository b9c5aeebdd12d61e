// Who runs a run, and whether that process still exists: how a run left `running` by a crash is
// told from one still going in another process sharing the same ledger file.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";

export interface RunOwner {
  readonly host: string;
  readonly pid: number;
  /** Distinguishes this process from an earlier one that had the same pid (containers restart as pid 1). */
  readonly token: string;
}

export const THIS_PROCESS: RunOwner = { host: hostname(), pid: process.pid, token: randomUUID() };

/**
 * False only when the owner is certainly gone: same host and either its pid no longer exists or is
 * a zombie (exited, not yet reaped by its parent), or the pid is ours but the token is not (an
 * earlier incarnation). On another host nothing can be known.
 */
export function isOwnerAlive(owner: RunOwner, self: RunOwner = THIS_PROCESS): boolean {
  if (owner.host !== self.host) return true;
  if (owner.pid === self.pid) return owner.token === self.token;
  try {
    process.kill(owner.pid, 0);
    return !isZombie(owner.pid);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A process that has exited but whose parent has not reaped it still answers signal 0. Linux says
 * so in /proc/<pid>/stat (state Z, or X while it is being removed); elsewhere nothing is known.
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return false;
  }
  // The command name (in parentheses) may itself hold spaces or parentheses: the state follows the last ")".
  const state = stat.charAt(stat.lastIndexOf(")") + 2);
  return state === "Z" || state === "X";
}
