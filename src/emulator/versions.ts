// Graph API versions the emulator routes (spec §1.7). CAPI follows the Graph schedule; an expired
// version still routes and is served by the next oldest usable one ("auto-upgrade", docs/apps/versions).

export interface GraphVersion {
  readonly version: string;
  /** Unix ms after which calls to this version are served by a newer one; undefined = no date yet. */
  readonly expiresAt: number | undefined;
}

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);

/** Oldest first. Source: Graph API changelog/versions (de_DE/ja_JP/ko_KR/fr_FR copies), spec §1.7. */
export const GRAPH_VERSIONS: readonly GraphVersion[] = [
  { version: "v18.0", expiresAt: day("2026-01-26") },
  { version: "v19.0", expiresAt: day("2026-05-21") },
  { version: "v20.0", expiresAt: day("2026-09-24") },
  { version: "v21.0", expiresAt: day("2027-01-21") },
  { version: "v22.0", expiresAt: day("2027-05-20") },
  { version: "v23.0", expiresAt: day("2027-10-08") },
  { version: "v24.0", expiresAt: day("2028-02-18") },
  { version: "v25.0", expiresAt: day("2028-07-29") },
  { version: "v26.0", expiresAt: undefined },
];

export const LATEST_VERSION = "v26.0";

/**
 * The version that serves a request for `requested` at time `nowMs`: itself while usable, else the
 * next newer usable one. Undefined when the version is not one Graph knows (→ 2500).
 */
export function servedVersion(requested: string, nowMs: number): string | undefined {
  const index = GRAPH_VERSIONS.findIndex((v) => v.version === requested);
  if (index < 0) return undefined;
  for (let i = index; i < GRAPH_VERSIONS.length; i++) {
    const candidate = GRAPH_VERSIONS[i] as GraphVersion;
    if (candidate.expiresAt === undefined || nowMs < candidate.expiresAt) return candidate.version;
  }
  return LATEST_VERSION;
}
