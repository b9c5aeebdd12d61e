// The one message a run ends with when Meta refuses the token or the configuration: what is wrong
// and what to do. Built from Meta's code and subcode only, never from the request.
import type { GraphErrorBody } from "./error-classes.ts";

/** Meta's Graph error-handling subcode table for code 190 (spec §6.3). */
export const TOKEN_SUBCODES: Readonly<Record<number, string>> = {
  458: "the app is not installed for the token's user",
  459: "the token's user is checkpointed",
  460: "the token's user changed their password",
  463: "expired",
  464: "the token's user is unconfirmed",
  467: "invalid access token",
  492: "invalid session",
};

const NEW_TOKEN =
  "Generate a new system-user token in Events Manager (Settings → Conversions API) or Business Settings → System users, and update META_ACCESS_TOKEN.";

export interface StopContext {
  readonly datasetId: string;
  readonly apiVersion: string;
}

interface StopRule {
  readonly matches: (error: GraphErrorBody | undefined, status: number) => boolean;
  readonly describe: (error: GraphErrorBody | undefined, context: StopContext) => string;
}

/** First match wins; the last rule catches every other auth or config refusal. */
const STOP_RULES: readonly StopRule[] = [
  {
    matches: (e) => e?.code === 190,
    describe: (e) => {
      const what =
        e?.error_subcode === undefined
          ? "invalid or unreadable"
          : (TOKEN_SUBCODES[e.error_subcode] ?? "invalid");
      return `Meta rejected the access token (${codeText(e)}: ${what}). ${NEW_TOKEN}`;
    },
  },
  {
    matches: (e, status) => e?.code === 102 || (status === 401 && e?.code === undefined),
    describe: (e) => `Meta did not accept the session of the access token (${codeText(e)}). ${NEW_TOKEN}`,
  },
  {
    matches: (e) => e?.code === 100 && e.error_subcode === 33,
    describe: (e, c) =>
      `Meta says dataset ${c.datasetId} does not exist or the access token cannot use it (${codeText(e)}). ` +
      "Check the dataset (pixel) ID, and in Business Settings assign that dataset to the system user that owns the token.",
  },
  {
    matches: (e) => e?.code === 100 && (e.message ?? "").includes("appsecret_proof"),
    describe: (e) =>
      `Meta requires a valid appsecret_proof for this app (${codeText(e)}). ` +
      "Set META_APP_SECRET to the secret of the app that issued the token (App Dashboard → Settings → Basic).",
  },
  {
    matches: (e) => e?.code === 2500,
    describe: (e, c) =>
      `Meta does not recognise the request path or API version ${c.apiVersion} (${codeText(e)}). ` +
      "Set the Graph API version to a current one (e.g. v26.0) and check the dataset ID.",
  },
  {
    matches: (e) => e?.code === 3 || e?.code === 294,
    describe: (e) =>
      `Meta says the app lacks the capability to send events (${codeText(e)}). ` +
      "Use a token from an app with the Conversions API use case and ads_management permission.",
  },
  {
    matches: (e) => e?.code === 10 || (e?.code !== undefined && e.code >= 200 && e.code <= 299),
    describe: (e, c) =>
      `Meta denied permission to send events to dataset ${c.datasetId} (${codeText(e)}). ` +
      "Give the token's system user the ads_management permission and full control of the dataset.",
  },
  {
    matches: () => true,
    describe: (e, c) =>
      `Meta refused the configuration for dataset ${c.datasetId} (${codeText(e)}). ` +
      "Check the access token, dataset ID and app settings in Events Manager.",
  },
];

function codeText(error: GraphErrorBody | undefined): string {
  if (error?.code === undefined) return "HTTP 401";
  return error.error_subcode === undefined
    ? `code ${error.code}`
    : `code ${error.code}/${error.error_subcode}`;
}

/** The message of a stopped run, for a refusal classified `auth` or `config`. */
export function describeStop(
  error: GraphErrorBody | undefined,
  status: number,
  context: StopContext,
): string {
  const rule = STOP_RULES.find((r) => r.matches(error, status)) as StopRule;
  const trace = error?.fbtrace_id === undefined ? "" : ` (fbtrace_id ${error.fbtrace_id})`;
  return rule.describe(error, context) + trace;
}
