/**
 * `sync` and `sync status`: the catalog keeps itself current (schedules,
 * filesystem watching, webhooks), see `docs/sync.md`. `--json` shapes are in
 * `docs/cli.md`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { getCollection } from "../core/catalog.ts";
import { RetrovueError, toRetrovueError } from "../core/errors.ts";
import { checkIngestAllowed, scopeOf } from "../ingest/mod.ts";
import {
  acquireSyncLock,
  createSyncLoop,
  DEFAULT_DEBOUNCE_MS,
  dueCollections,
  formatInterval,
  type IngestOutcome,
  scheduledCollections,
  sleepUnlessAborted,
  syncLockHolder,
  type SyncLog,
  type SyncLoop,
  type SyncOutcome,
  type SyncRequest,
  syncStatus,
  type SyncStatusEntry,
  type WatchedCollection,
  watchedCollections,
  watchRoots,
  webhookHandler,
} from "../sync/mod.ts";
import { type Command, type CommandContext, parseCommandArgs, parseCount } from "./command.ts";
import { inertLine } from "./inert.ts";
import { exitCodeForStatus, ingestStatus, ingestThroughImporter } from "./ingest_commands.ts";
import { formatTable, writeJson } from "./output.ts";

/** How often the schedule and the list of watched roots are looked at, in milliseconds. */
const _TICK_MS = 1000;

const sync: Command = {
  path: ["sync"],
  summary: "Keep the catalog current: scheduled ingests, watched folders, webhooks",
  help: `Usage: retrovue sync [--once] [--listen HOST:PORT [--listen-any]] [--debounce-ms MS]
       [--json]

Runs in the foreground until stopped (Ctrl-C or SIGTERM: the running ingest
is cancelled, leaving the catalog as it was, and sync exits 0), printing one
line per action with its time:

- Schedules: a full ingest of each sync-enabled collection whose interval
  ('source update S --sync-every 6h', 'collection update C --sync-every …')
  is due; one ingest at a time per source, with jitter. A failed ingest is
  retried with a growing, capped delay; see 'sync status'.
- Watching: the roots of filesystem sources' sync-enabled collections are
  watched; a burst of changes becomes the narrowest targeted ingest (title
  or season) once the root has been quiet for --debounce-ms, or a full one
  when the change cannot be scoped. A root that disappears is waited for;
  nothing is removed (the removal guard applies).
- Webhooks (--listen): Plex, Jellyfin and Emby post their events to
  POST /hooks/<source-id> with the source's secret ('source update S
  --webhook-secret new'); each change becomes a targeted ingest. See
  docs/sync_webhooks.md.

Only one sync runs per catalog; CLI ingests run alongside it.

  --once            run every due scheduled ingest once, then exit (for cron
                    and systemd timers); exit 0 ok, 2 some failed or held
                    back, 1 all failed
  --listen HOST:PORT
                    serve the webhooks; HOST is a loopback address (127.0.0.1,
                    ::1, localhost)
  --listen-any      also allow 0.0.0.0 or :: (every interface), with a warning
  --debounce-ms MS  quiet time before watched changes are ingested
                    (default ${DEFAULT_DEBOUNCE_MS})
  --json            with --once: one document at the end (log lines go to
                    stderr); in the foreground: one JSON object per line
`,
  async run(ctx) {
    const { values } = parseCommandArgs(ctx, {
      once: { type: "boolean" },
      listen: { type: "string" },
      "listen-any": { type: "boolean" },
      "debounce-ms": { type: "string" },
    }, { subcommands: ["status"] });
    const listen = values.listen === undefined
      ? null
      : parseListen(values.listen, values["listen-any"] ?? false);
    if (values["listen-any"] && !listen) {
      throw new RetrovueError("USAGE", "--listen-any goes with --listen HOST:PORT");
    }
    if (values.once && listen) {
      throw new RetrovueError(
        "USAGE",
        "--once runs the due ingests and exits; it does not listen (drop --listen, or --once)",
      );
    }
    const debounceMs = values["debounce-ms"] === undefined
      ? DEFAULT_DEBOUNCE_MS
      : parseCount("--debounce-ms", values["debounce-ms"]);
    const db = ctx.openDb();
    using _lock = acquireSyncLock(ctx.dbPath, { now: () => ctx.now() });
    const stop = _stopSignal(ctx.signal);
    try {
      const log = _logger(ctx, values.once ?? false);
      const outcomes: SyncOutcome[] = [];
      const loop = createSyncLoop(db, {
        runIngest: (request, signal) => _runIngest(ctx, db, request, signal),
        log,
        now: () => ctx.now(),
        onFinished: (o) => outcomes.push(o),
      });
      stop.signal.addEventListener("abort", () => void loop.stop(), { once: true });
      if (values.once) return await _once(ctx, db, loop, { outcomes, stopped: stop.signal });
      await _foreground(ctx, db, loop, { log, debounceMs, listen, signal: stop.signal });
      return 0;
    } finally {
      stop.dispose();
    }
  },
};

const syncStatusCommand: Command = {
  path: ["sync", "status"],
  summary: "Show what sync ran, when, how it ended, and what is due next",
  help: `Usage: retrovue sync status [--json]

Lists every collection that is scheduled or that sync has ingested: its
interval, when its last ingest started and finished, how it ended (ok,
partial, error) with the error, failures in a row, and when the next full
ingest is due ('now': due as soon as sync starts). Says whether a sync is
running on this catalog, and its pid. Reads only.
`,
  run(ctx) {
    parseCommandArgs(ctx, {});
    const db = ctx.openDb({ readOnly: true });
    const holder = syncLockHolder(ctx.dbPath);
    const entries = syncStatus(db);
    if (ctx.json) {
      writeJson(ctx, {
        status: "ok",
        running: holder,
        collections: entries.map(_statusJson),
      });
      return Promise.resolve(0);
    }
    let out = holder
      ? `A sync is running on this catalog (pid ${holder.pid ?? "unknown"}` +
        `${holder.startedAt ? `, since ${holder.startedAt}` : ""}).\n`
      : "No sync is running on this catalog.\n";
    if (entries.length === 0) {
      out += "No collection is scheduled and sync has run none; schedule one with " +
        "'source update <source> --sync-every 6h'.\n";
    } else {
      out += formatTable(
        ["COLLECTION", "SOURCE", "EVERY", "LAST RESULT", "FINISHED", "FAILURES", "NEXT DUE"],
        entries.map((e) => [
          `${e.collectionName} (${e.collectionId})`,
          e.sourceName,
          e.everySeconds === null ? "-" : formatInterval(e.everySeconds),
          e.lastResult === null
            ? "-"
            : e.lastError
            ? `${e.lastResult}: ${e.lastError}`
            : e.lastResult,
          e.lastFinishedAt ?? (e.lastStartedAt ? "running?" : "-"),
          String(e.failures),
          e.everySeconds === null ? "-" : e.nextDueAt ?? "now",
        ]),
        { width: ctx.width, color: ctx.color, alignRight: [5] },
      );
    }
    ctx.stdout.write(out);
    return Promise.resolve(0);
  },
};

/** The sync commands, for the command table. */
export const commands: Command[] = [sync, syncStatusCommand];

/** Runs every due scheduled ingest once and reports them. */
async function _once(
  ctx: CommandContext,
  db: DatabaseSync,
  loop: SyncLoop,
  run: { outcomes: readonly SyncOutcome[]; stopped: AbortSignal },
): Promise<number> {
  const { outcomes } = run;
  for (const c of dueCollections(db, { now: () => ctx.now() })) {
    loop.enqueue({ collectionId: c.collectionId, filters: {}, reason: "schedule" });
  }
  await loop.idle();
  const results = outcomes.map((o) => o.result);
  const status = results.every((r) => r === "ok")
    ? "ok"
    : results.every((r) => r === "error")
    ? "error"
    : "partial";
  if (ctx.json) {
    writeJson(ctx, { status, ran: outcomes.map(_outcomeJson) });
  } else if (outcomes.length === 0) {
    ctx.stdout.write("Nothing was due.\n");
  }
  // Stopped (Ctrl-C, SIGTERM): what ran is reported, the cancelled ingest wrote nothing.
  return run.stopped.aborted ? 0 : exitCodeForStatus(status);
}

/** Runs the schedule and the watchers until `signal` aborts, then stops the loop. */
async function _foreground(
  ctx: CommandContext,
  db: DatabaseSync,
  loop: SyncLoop,
  options: {
    log: SyncLog;
    debounceMs: number;
    listen: ListenAddress | null;
    signal: AbortSignal;
  },
): Promise<void> {
  const { log, signal } = options;
  const server = options.listen
    ? _serve(ctx, db, loop, { ...options, listen: options.listen })
    : null;
  const watchers = new Map<string, { root: string; controller: AbortController }>();
  const watching: Promise<void>[] = [];
  const rootPollMs = Math.min(5000, Math.max(500, options.debounceMs));
  const refreshWatchers = (collections: readonly WatchedCollection[]) => {
    const wanted = new Map(collections.map((c) => [c.collectionId, c]));
    for (const [id, w] of watchers) {
      if (wanted.get(id)?.root === w.root) continue;
      w.controller.abort();
      watchers.delete(id);
    }
    for (const c of collections) {
      if (watchers.has(c.collectionId)) continue;
      const controller = new AbortController();
      watchers.set(c.collectionId, { root: c.root, controller });
      watching.push(watchRoots(db, [c], {
        enqueue: loop.enqueue,
        log,
        signal: AbortSignal.any([signal, controller.signal]),
        debounceMs: options.debounceMs,
        rootPollMs,
      }));
    }
  };
  const tick = () => {
    try {
      refreshWatchers(watchedCollections(db));
      for (const c of dueCollections(db, { now: () => ctx.now() })) {
        if (!loop.busy(c.collectionId)) {
          loop.enqueue({ collectionId: c.collectionId, filters: {}, reason: "schedule" });
        }
      }
    } catch (error) {
      log(`could not read the schedule: ${toRetrovueError(error).message}`);
    }
  };
  const scheduled = scheduledCollections(db).length;
  log(
    `sync started (pid ${Deno.pid}): ${scheduled} scheduled collection(s), ` +
      `${watchedCollections(db).length} watched root(s)`,
  );
  tick();
  const timer = setInterval(tick, _TICK_MS);
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
  clearInterval(timer);
  log("stopping: cancelling the running ingest, if any");
  await loop.stop();
  await Promise.all(watching);
  await server?.finished;
  log("sync stopped");
}

/** Where `--listen` serves. */
export interface ListenAddress {
  /** The address to bind: loopback, or `0.0.0.0` / `::` with `--listen-any`. */
  hostname: string;
  /** The port (0: any free one, named in the log). */
  port: number;
  /** Whether it reaches beyond this machine. */
  beyondLoopback: boolean;
}

const _LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
const _ANY = new Set(["0.0.0.0", "::"]);

/**
 * Parses `--listen HOST:PORT` (`[::1]:PORT` for IPv6). HOST must be a
 * loopback address, or with `listenAny` the any-address (every interface):
 * the CLI's network permission (`deno.json`) covers only these. Throws
 * `USAGE` naming what is wrong.
 */
export function parseListen(text: string, listenAny: boolean): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new RetrovueError(
      "USAGE",
      `--listen takes HOST:PORT, e.g. 127.0.0.1:8765 or [::1]:8765, not '${inertLine(text)}'`,
    );
  }
  const hostname = (m[1] ?? m[2]).toLowerCase();
  if (_LOOPBACK.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname)) {
    return { hostname, port, beyondLoopback: false };
  }
  if (!_ANY.has(hostname)) {
    throw new RetrovueError(
      "USAGE",
      `--listen ${inertLine(hostname)}: sync listens on loopback (127.0.0.1, ::1, localhost), or ` +
        "with --listen-any on every interface (0.0.0.0 or ::)",
    );
  }
  if (!listenAny) {
    throw new RetrovueError(
      "USAGE",
      `--listen ${hostname} reaches beyond this machine; add --listen-any if that is meant ` +
        "(and put a TLS reverse proxy in front: see docs/sync_webhooks.md)",
    );
  }
  return { hostname, port, beyondLoopback: true };
}

/** How long the webhook listener waits before it listens again after it failed. */
const _RELISTEN_MS = 5_000;

/**
 * Serves the webhooks until `signal` aborts; `finished` resolves once the
 * server closed, and never rejects. A listener that fails while serving (out
 * of file descriptors under a flood of idle connections) is said in the log
 * and listens again after a pause: schedules and folder watching go on, and
 * the process does not die of it.
 */
function _serve(
  ctx: CommandContext,
  db: DatabaseSync,
  loop: SyncLoop,
  options: { log: SyncLog; listen: ListenAddress; signal: AbortSignal },
): { finished: Promise<void> } {
  const { listen, log, signal } = options;
  const handler = webhookHandler(db, { enqueue: loop.enqueue, log });
  let warned = false;
  // Listening again takes the port first bound (`--listen host:0` picks one).
  let port = listen.port;
  const start = () =>
    Deno.serve({
      hostname: listen.hostname,
      port,
      signal,
      onListen: (addr) => {
        port = addr.port;
        const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
        log(`webhooks: listening on http://${host}:${addr.port}/hooks/<source-id>`);
        if (listen.beyondLoopback && !warned) {
          warned = true;
          ctx.stderr.write(
            `Warning: sync listens on every interface (${host}:${addr.port}): anyone who can ` +
              "reach this machine can post to it; only the per-source secret keeps them out. " +
              "Prefer 127.0.0.1 behind a TLS reverse proxy.\n",
          );
        }
      },
      onError: (error) => {
        log(`webhooks: ${toRetrovueError(error).message}`);
        return new Response("internal error\n", { status: 500 });
      },
    }, (request, info) => handler(request, info));
  let server: Deno.HttpServer;
  try {
    server = start();
  } catch (error) {
    const why = error instanceof Deno.errors.AddrInUse
      ? "the address is in use (another sync, or another program)"
      : toRetrovueError(error).message;
    throw new RetrovueError("USAGE", `cannot listen on ${listen.hostname}:${listen.port}: ${why}`);
  }
  const finished = (async () => {
    while (true) {
      try {
        await server.finished;
        return; // Closed by the signal.
      } catch (error) {
        if (signal.aborted) return;
        log(
          `webhooks: the listener failed (${toRetrovueError(error).message}); it listens ` +
            `again in ${_RELISTEN_MS / 1000} s`,
        );
      }
      for (;;) {
        await sleepUnlessAborted(_RELISTEN_MS, signal);
        if (signal.aborted) return;
        try {
          server = start();
          break;
        } catch (error) {
          log(`webhooks: cannot listen again yet: ${toRetrovueError(error).message}`);
        }
      }
    }
  })();
  return { finished };
}

/** Runs one ingest of the loop, as `collection ingest` does, and its enrichment. */
async function _runIngest(
  ctx: CommandContext,
  db: DatabaseSync,
  request: SyncRequest,
  signal: AbortSignal,
): Promise<IngestOutcome> {
  const collection = getCollection(db, request.collectionId);
  if (!collection) {
    throw new RetrovueError("NOT_FOUND", `no collection with id '${request.collectionId}'`);
  }
  checkIngestAllowed(db, collection.id, request.filters);
  const result = await ingestThroughImporter(ctx, db, {
    sourceId: collection.sourceId,
    collection: collection.id,
    filters: request.filters,
    signal,
  });
  const s = result.stats;
  let summary = `${s.discovered} discovered, ${s.new} new, ${s.changed} changed, ` +
    `${s.removed} removed, ${s.restored} restored, ${s.rekeyed} rekeyed, ${s.invalid} invalid`;
  if (result.removalGuard?.held) {
    summary += `; held back by the removal guard: ${result.removalGuard.message}`;
  }
  const status = ingestStatus(result);
  if (status === "ok" && !signal.aborted) {
    try {
      const enrich = await import("./enrich_commands.ts");
      const done = await enrich.enrichAfterIngest(ctx, db, { collectionId: collection.id });
      if (done.report && done.report.selected > 0) {
        summary += `; enriched ${done.report.enriched} of ${done.report.selected}` +
          (done.report.failed > 0 ? `, ${done.report.failed} failed` : "");
      }
      if (done.unavailable) summary += `; enrichment skipped: ${done.unavailable}`;
    } catch (error) {
      summary += `; enrichment failed: ${toRetrovueError(error).message}`;
    }
  }
  return { status, runId: result.runId, summary };
}

/**
 * The log: one line per action with its time, on stdout (stderr when
 * `--once --json` keeps stdout for the document); in the foreground with
 * `--json`, one JSON object per line.
 */
function _logger(ctx: CommandContext, once: boolean): SyncLog {
  return (line: string) => {
    const at = ctx.now().toISOString();
    if (ctx.json && once) ctx.stderr.write(`${at} ${inertLine(line)}\n`);
    else if (ctx.json) ctx.stdout.write(JSON.stringify({ at, message: line }) + "\n");
    else ctx.stdout.write(`${at} ${inertLine(line)}\n`);
  };
}

/**
 * A signal that aborts on the context's (Ctrl-C) and on SIGTERM, so that
 * `systemctl stop` ends a sync as cleanly as Ctrl-C does.
 */
function _stopSignal(ctxSignal: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onTerm = () => controller.abort(new RetrovueError("CANCELLED", "terminated"));
  let listening = false;
  try {
    Deno.addSignalListener("SIGTERM", onTerm);
    listening = true;
  } catch {
    // No signals on this platform: only Ctrl-C stops sync.
  }
  return {
    signal: AbortSignal.any([ctxSignal, controller.signal]),
    dispose() {
      if (listening) Deno.removeSignalListener("SIGTERM", onTerm);
    },
  };
}

function _outcomeJson(o: SyncOutcome): Record<string, unknown> {
  return {
    collectionId: o.collectionId,
    collectionName: o.collectionName,
    sourceId: o.sourceId,
    scope: scopeOf(o.filters),
    filters: {
      title: o.filters.title ?? null,
      season: o.filters.season ?? null,
      episode: o.filters.episode ?? null,
    },
    reasons: [...o.reasons],
    result: o.result,
    runId: o.runId,
    error: o.error,
    startedAt: o.startedAt,
    finishedAt: o.finishedAt,
  };
}

function _statusJson(e: SyncStatusEntry): Record<string, unknown> {
  return {
    collectionId: e.collectionId,
    collectionName: e.collectionName,
    sourceId: e.sourceId,
    sourceName: e.sourceName,
    syncEnabled: e.syncEnabled,
    everySeconds: e.everySeconds,
    lastStartedAt: e.lastStartedAt,
    lastFinishedAt: e.lastFinishedAt,
    lastResult: e.lastResult,
    lastError: e.lastError,
    lastRunId: e.lastRunId,
    failures: e.failures,
    nextDueAt: e.nextDueAt,
  };
}
