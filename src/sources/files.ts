import { glob, stat } from "node:fs/promises";
import { isAbsolute, join, relative, resolve } from "node:path";
import { SourceError } from "./types.ts";

const GLOB_MAGIC = /[*?[\]{}]/;

export interface SourceFile {
  readonly absolute: string;
  /** As reports show it: relative to the config's directory when inside it. */
  readonly display: string;
}

/**
 * The files a `path` names: one file, or every file a glob matches, in code-point order of their
 * paths so that runs read rows in the same order. Fails when nothing matches: an empty glob is far
 * more often a wrong path than an empty drop folder.
 */
export async function resolveFiles(pattern: string, cwd: string, source: string): Promise<SourceFile[]> {
  if (!GLOB_MAGIC.test(pattern)) {
    const absolute = resolve(cwd, pattern);
    await assertReadableFile(absolute, pattern, source);
    return [{ absolute, display: displayPath(absolute, cwd) }];
  }
  const found: string[] = [];
  for await (const entry of glob(pattern, { cwd, withFileTypes: true })) {
    if (!entry.isDirectory()) found.push(resolve(cwd, join(entry.parentPath, entry.name)));
  }
  if (found.length === 0) throw new SourceError(source, "not_found", `no files match ${pattern}`);
  return [...new Set(found)]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((absolute) => ({ absolute, display: displayPath(absolute, cwd) }));
}

async function assertReadableFile(absolute: string, shown: string, source: string): Promise<void> {
  try {
    if ((await stat(absolute)).isDirectory()) {
      throw new SourceError(
        source,
        "not_found",
        `${shown} is a directory, not a file (use a glob such as dir/*.csv)`,
      );
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw fileError(source, shown, error);
  }
}

/** A file-system error as a SourceError that names the file and the reason. */
export function fileError(source: string, file: string, error: unknown): SourceError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const known = code === undefined ? undefined : FILE_ERRORS[code];
  if (known) return new SourceError(source, known.code, `${file}: ${known.reason}`, code);
  return new SourceError(source, "read", `${file}: ${code ?? "read failed"}`, code);
}

const FILE_ERRORS: Readonly<Record<string, { code: SourceError["code"]; reason: string }>> = {
  ENOENT: { code: "not_found", reason: "file not found" },
  ENOTDIR: { code: "not_found", reason: "file not found (a parent is not a directory)" },
  EACCES: { code: "auth", reason: "permission denied" },
  EPERM: { code: "auth", reason: "permission denied" },
  EISDIR: { code: "not_found", reason: "is a directory, not a file" },
  EMFILE: { code: "read", reason: "too many open files" },
};

function displayPath(absolute: string, cwd: string): string {
  const rel = relative(cwd, absolute);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? absolute : rel;
}
