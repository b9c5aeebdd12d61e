// The database servers the integration tests talk to. In CI (CI=true) a missing server fails the test
// loudly; on a developer machine without it the test is skipped with the reason.
import type { TestContext } from "node:test";
import mysql from "mysql2/promise";
import pg from "pg";

export const POSTGRES_URL =
  process.env.CAPI_SYNC_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";
export const MYSQL_URL = process.env.CAPI_SYNC_TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

const PROBE_TIMEOUT_MS = 3000;
const probes = new Map<string, Promise<string | undefined>>();

/** The Postgres URL, or undefined after skipping `t` (never in CI: there it throws). */
export function requirePostgres(t: TestContext): Promise<string | undefined> {
  return requireService(t, "postgres", POSTGRES_URL, probePostgres);
}

/** The MySQL/MariaDB URL, or undefined after skipping `t` (never in CI: there it throws). */
export function requireMysql(t: TestContext): Promise<string | undefined> {
  return requireService(t, "mysql", MYSQL_URL, probeMysql);
}

let counter = 0;
/** A table name no other test run on this machine uses at the same time. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}_${process.pid}_${counter}`;
}

async function requireService(
  t: TestContext,
  name: string,
  url: string,
  probe: (url: string) => Promise<void>,
): Promise<string | undefined> {
  let failure = probes.get(url);
  if (!failure) {
    failure = probe(url).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    probes.set(url, failure);
  }
  const reason = await failure;
  if (reason === undefined) return url;
  const where = new URL(url).host;
  if (process.env.CI === "true")
    throw new Error(`${name} not reachable on ${where} (CI needs it): ${reason}`);
  t.skip(`${name} not reachable on ${where}: ${reason}`);
  return undefined;
}

async function probePostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeMysql(url: string): Promise<void> {
  const connection = await mysql.createConnection({ uri: url, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    await connection.query("SELECT 1");
  } finally {
    connection.destroy();
  }
}
