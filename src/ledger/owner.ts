// Who runs a run, and whether that process still exists: how a run left `running` by a crash is
// told from one still going in another process sharing the same ledger file.
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";

export interface RunOwner {
  readonly host: string;
  readonly pid: number;
  /** Distinguishes this process from an earlier one that had the same pid (containers restart as pid 1). */
  readonly token: string;
}

export const THIS_PROCESS: RunOwner = { host: hostname(), pid: process.pid, token: randomUUID() };

/**
 * False only when the owner is certainly gone: same host and either its pid no longer exists, or the
 * pid is ours but the token is not (an earlier incarnation). On another host nothing can be known.
 */
export function isOwnerAlive(owner: RunOwner, self: RunOwner = THIS_PROCESS): boolean {
  if (owner.host !== self.host) return true;
  if (owner.pid === self.pid) return owner.token === self.token;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
