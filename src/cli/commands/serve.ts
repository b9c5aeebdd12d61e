import { LedgerError } from "../../ledger/index.ts";
import { collectorRunner } from "../../service/collector-runner.ts";
import {
  assertSafeExposure,
  configSecrets,
  createServiceLogger,
  readServiceConfig,
  ScheduleError,
  type ServiceConfig,
  ServiceConfigError,
  startService,
} from "../../service/index.ts";
import { parseCommandArgs, parseInteger } from "../args.ts";
import { type Command, EXIT, UsageError } from "../command.ts";
import { CONFIG_OPTION, loadFromArgs, openConfiguredLedger } from "../context.ts";

/** Exit code when the grace period ended with runs still in flight. */
const EXIT_GRACE_OVER = 1;

export const serveCommand: Command = {
  name: "serve",
  usage: `Usage: capi-sync serve [--config FILE] [--host H] [--port P]

Runs until SIGTERM or SIGINT: each connection with a \`schedule:\` (cron) runs at its times, never
twice at once (fire times that pass during a run become one follow-up run when it ends); a fire time
missed while the service was down runs once at start-up. On SIGTERM/SIGINT no new run starts, runs
in flight stop reading their source and finish their current batches within
service.grace_period_ms (default 25 s; a second signal ends the wait), then the process exits. Rows
not yet sent stay pending in the ledger for the next run.

HTTP (default 127.0.0.1:4200): GET /healthz (the process is up), GET /readyz (ledger reachable and
no connection halted by Meta refusing its token or configuration; 503 otherwise, naming them),
GET /metrics (Prometheus). With service.admin_token set, /readyz and /metrics require
"Authorization: Bearer <token>"; it is required when binding to a non-loopback address.
Logs: JSON lines on stdout, with tokens, secrets and customer data redacted.

Options:
  -c, --config FILE  config file (default capi-sync.yaml)
  --host H           bind address (overrides service.host)
  --port P           port, 0 for any free one (overrides service.port)

Exit: 0 after a clean shutdown, 1 when the grace period ended with runs still in flight,
3 when the config or the service settings are unusable.`,

  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      ...CONFIG_OPTION,
      host: { type: "string" },
      port: { type: "string" },
    });
    const port = parseInteger(values.port, "--port");
    if (port !== undefined && port > 65_535) throw new UsageError("--port takes 0..65535");
    const loaded = await loadFromArgs(io, values.config);

    let service: ServiceConfig;
    try {
      service = {
        ...readServiceConfig(loaded.config),
        ...(values.host !== undefined && { host: values.host }),
        ...(port !== undefined && { port }),
      };
      assertSafeExposure(service);
    } catch (error) {
      if (!(error instanceof ServiceConfigError)) throw error;
      io.stderr.write(`capi-sync serve: ${error.message}\n`);
      return EXIT.stopped;
    }

    const logger = createServiceLogger({
      level: service.log_level,
      destination: io.stdout,
      secrets: [...configSecrets(loaded.config), service.admin_token],
      ...(service.log_redact && { redactPaths: service.log_redact }),
    });

    let ledger: Awaited<ReturnType<typeof openConfiguredLedger>>;
    try {
      ledger = await openConfiguredLedger(loaded);
    } catch (error) {
      if (!(error instanceof LedgerError)) throw error;
      logger.fatal({ code: error.code }, `cannot open the ledger: ${error.message}`);
      return EXIT.stopped;
    }
    for (const run of ledger.recoveredRuns) {
      logger.warn(
        { connection: run.connection, run_id: run.id },
        "a run left running by a process that died is now marked interrupted; the next run sends its rows without an outcome",
      );
    }

    // Listening from here on: a signal during start-up shuts down as soon as the service is up.
    const signals = listenForSignals();
    let running: Awaited<ReturnType<typeof startService>>;
    try {
      running = await startService({ loaded, service, ledger, logger, attachCollector: collectorRunner() });
    } catch (error) {
      signals.dispose();
      await ledger.close();
      if (error instanceof ScheduleError || error instanceof ServiceConfigError) {
        logger.fatal(error.message);
        return EXIT.stopped;
      }
      logger.fatal(
        { err: error instanceof Error ? `${error.name}: ${error.message}` : "unknown error" },
        "cannot start the service",
      );
      return EXIT.invalidInput;
    }

    await signals.first;
    const { clean } = await running.shutdown({ force: signals.force }).finally(signals.dispose);
    await ledger.close();
    if (clean) return EXIT.ok;
    // Abandoned runs still hold sockets and timers; they must not keep the process past its grace.
    setTimeout(() => process.exit(EXIT_GRACE_OVER), 200).unref();
    return EXIT_GRACE_OVER;
  },
};

interface Signals {
  /** Resolves on the first SIGTERM or SIGINT. */
  readonly first: Promise<void>;
  /** Aborted by a second one: the grace period ends at once. */
  readonly force: AbortSignal;
  dispose(): void;
}

function listenForSignals(): Signals {
  const force = new AbortController();
  let received = false;
  let resolveFirst: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    resolveFirst = resolve;
  });
  const onSignal = (): void => {
    if (received) force.abort();
    received = true;
    resolveFirst();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    first,
    force: force.signal,
    dispose: () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}
