/**
 * `collection ingest` and `source ingest`: run the ingest pipeline against a
 * source's sandboxed importer. `--json` shapes are in `docs/cli.md`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { getCollection, getPathMappings, getSource } from "../core/catalog.ts";
import { secretValues } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import type {
  IngestIssue,
  IngestNotices,
  IngestOptions,
  IngestProgress,
  IngestResult,
  RemovalGuardVerdict,
  SourceIngestResult,
} from "../ingest/mod.ts";
import { checkIngestAllowed, validateFilters } from "../ingest/scope.ts";
import { formatPercent } from "../ingest/removal_guard.ts";
import type { ImporterClient } from "../registry/mod.ts";
import { type Command, type CommandContext, parseCommandArgs, parseCount } from "./command.ts";
import { inertLine } from "./inert.ts";
import { writeJson } from "./output.ts";
import { checkLocalPaths, type LocalPathReport } from "./path_checks.ts";
import { findCollection, findSource } from "./lookup.ts";
import { requireImporter, withClient } from "./views.ts";

/** The most changes `--dry-run --verbose` lists (the counts stay complete). */
export const MAX_PLANNED_CHANGES = 1000;

/** Issues printed in the human output; `--json` lists up to 1000. */
const MAX_PRINTED_ISSUES = 20;

const collectionIngest: Command = {
  path: ["collection", "ingest"],
  summary: "Ingest a collection's assets (whole, or one title/season/episode)",
  help: `Usage: retrovue collection ingest <collection> [--source SOURCE]
       [--title T [--season N [--episode N]]] [--allow-removal] [--dry-run [--verbose]]
       [--json]

Streams the collection's assets from its importer, validates and classifies
them (new, changed, unchanged, removed, rekeyed, restored, invalid) and
applies the result in one transaction: on any failure the catalog is left as
it was. An asset that comes back under a new external id (same guid, provider
ids and episode, path, or file size and time) keeps its id: "rekeyed".

  --title T        only this show (episodes) or movie title, exact, case-insensitive
  --season N       only this season of --title (0 is specials)
  --episode N      only this episode of --season
  --allow-removal  apply a full ingest even when the removal guard holds it back
  --dry-run        classify and report, write nothing (not even the ingest time)
  --verbose        with --dry-run: list what would be new, changed, removed,
                   restored or re-keyed (the first ${MAX_PLANNED_CHANGES} in --json)
  --source S       narrow a collection name to one source

A full ingest needs the collection sync-enabled and ingestible; a targeted
one (--title…) only ingestible. Assets outside a targeted scope are never
touched, and removals are only detected by a full ingest. A scope that
matches nothing is an error (SCOPE_EMPTY, exit 1) and ingests nothing.

Exit: 0 ok; 2 partial (held back by the removal guard, or every item the
importer sent was invalid); 1 error; 3 upstream unreachable; 130 interrupted.

Removal guard: a full ingest that would remove more than 50% (the
collection's --max-removal, see 'collection update') and more than 20 of the
collection's active assets, or whose listing is empty while the collection is
not, is not applied: it exits 2 (REMOVAL_GUARD), names a sample of what would
go and writes nothing. --allow-removal lets it through; --dry-run shows the
same verdict.
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      source: { type: "string" },
      title: { type: "string" },
      season: { type: "string" },
      episode: { type: "string" },
      "allow-removal": { type: "boolean" },
      "dry-run": { type: "boolean" },
      verbose: { type: "boolean" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: "a <collection> (id or name)" });
    if (values.verbose && !values["dry-run"]) {
      throw new RetrovueError(
        "USAGE",
        "--verbose lists what a --dry-run would change; after an ingest, list what it changed " +
          "with 'asset list --changed-in last'",
      );
    }
    const filters: AssetFilters = {};
    if (values.title !== undefined) filters.title = values.title;
    if (values.season !== undefined) filters.season = parseCount("--season", values.season);
    if (values.episode !== undefined) filters.episode = parseCount("--episode", values.episode);
    validateFilters(filters);
    const dryRun = values["dry-run"] ?? false;

    // A dry run stages in SQLite's temp schema only: the catalog is opened read-only.
    const db = ctx.openDb({ readOnly: dryRun, dryRun });
    const scope = values.source === undefined ? undefined : findSource(db, values.source);
    const collection = findCollection(db, positionals[0], { sourceId: scope?.id });
    checkIngestAllowed(db, collection.id, filters);
    const progress = progressReporter(ctx, collection.name);
    let result: IngestResult;
    try {
      result = await ingestThroughImporter(ctx, db, {
        sourceId: collection.sourceId,
        collection: collection.id,
        filters,
        dryRun,
        listChanges: values.verbose ? MAX_PLANNED_CHANGES : undefined,
        allowRemoval: values["allow-removal"] ?? false,
        onProgress: progress.update,
        signal: ctx.signal,
      });
    } finally {
      progress.clear();
    }
    const paths = await localPathReport(ctx, result);
    // New and changed assets go through the collection's enrichers (ffprobe…) next.
    const enrich = result.dryRun || result.status !== "ok"
      ? undefined
      : await import("./enrich_commands.ts");
    const enriched = await enrich?.enrichAfterIngest(ctx, db, {
      collectionId: result.collectionId,
    });
    const report = enriched?.report;
    if (ctx.json) {
      writeJson(ctx, {
        ...ingestJson(result, paths),
        ...(report ? { enrichment: enrich!.enrichJson(report, collection) } : {}),
      });
    } else {
      ctx.stdout.write(formatIngestResult(result, paths));
      if (report) ctx.stdout.write(enrich!.formatEnrichReport(report, collection.name));
    }
    if (enriched?.unavailable) {
      ctx.stderr.write(`Warning: enrichment skipped: ${inertLine(enriched.unavailable)}\n`);
    }
    return exitCodeForStatus(ingestStatus(result));
  },
};

const sourceIngest: Command = {
  path: ["source", "ingest"],
  summary: "Ingest every sync-enabled, ingestible collection of a source",
  help: `Usage: retrovue source ingest <source> [--allow-removal] [--dry-run] [--json]

Runs a full ingest of each sync-enabled, ingestible collection of the source
(by name), each in its own transaction: one collection failing leaves the
others' results in place. A collection the removal guard holds back (see
'collection ingest --help') is reported and left unchanged; the others still
ingest. Exit 0 when all succeed, 2 when some fail or are held back (status
"partial"), 1 when all fail. To ingest one title, season or episode, use
'collection ingest <collection> --title …'.

  --allow-removal  apply every collection even when the removal guard trips
  --dry-run        classify and report, write nothing
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      "allow-removal": { type: "boolean" },
      "dry-run": { type: "boolean" },
      title: { type: "string" },
      season: { type: "string" },
      episode: { type: "string" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: "a <source> (id or name)" });
    for (const flag of ["title", "season", "episode"] as const) {
      if (values[flag] !== undefined) {
        throw new RetrovueError(
          "USAGE",
          `'source ingest' ingests whole collections and takes no --${flag}; use ` +
            `'collection ingest <collection> --${flag} …' for a targeted ingest`,
        );
      }
    }
    const dryRun = values["dry-run"] ?? false;
    const db = ctx.openDb({ readOnly: dryRun, dryRun });
    const source = findSource(db, positionals[0]);
    const eligible = db.prepare(
      "SELECT COUNT(*) AS n FROM collections WHERE source_id = ? AND sync_enabled = 1 AND ingestible = 1",
    ).get(source.id) as { n: number };
    if (Number(eligible.n) === 0) {
      if (ctx.json) {
        writeJson(ctx, {
          status: "ok",
          sourceId: source.id,
          sourceName: source.name,
          dryRun,
          collections: [],
        });
      } else {
        ctx.stdout.write(
          `Source '${
            inertLine(source.name)
          }' has no sync-enabled, ingestible collections; enable one ` +
            "with 'collection update <collection> --sync-enable'.\n",
        );
      }
      return 0;
    }
    const registry = await ctx.loadRegistry();
    const info = requireImporter(registry, source);
    const progress = progressReporter(ctx, source.name);
    const pipeline = _pipelineLoader();
    const ingest = async (client: ImporterClient) =>
      (await pipeline.load()).ingestSource(db, {
        client,
        source: source.id,
        dryRun,
        allowRemoval: values["allow-removal"] ?? false,
        now: () => ctx.now(),
        onProgress: progress.update,
        signal: ctx.signal,
        secrets: secretValues(info.manifest.params, source.config),
      });
    const target = { registry, info, config: source.config, onStarted: pipeline.start };
    const result = await withClient(ctx, ingest, target).finally(progress.clear);
    const paths = new Map<string, LocalPathReport | null>();
    for (const c of result.collections) {
      if (c.status !== "error") paths.set(c.collectionId, await localPathReport(ctx, c));
    }
    // Each collection ingested goes through its enrichers, as after 'collection ingest'.
    const enrich = dryRun ? undefined : await import("./enrich_commands.ts");
    const enriched = new Map<string, string>();
    const unavailable = new Set<string>();
    const enrichJson = new Map<string, unknown>();
    for (const c of result.collections) {
      if (!enrich || c.status !== "ok") continue;
      const done = await enrich.enrichAfterIngest(ctx, db, { collectionId: c.collectionId });
      if (done.unavailable) unavailable.add(done.unavailable);
      const collection = done.report ? getCollection(db, c.collectionId) : undefined;
      if (!done.report || !collection) continue;
      enrichJson.set(c.collectionId, enrich.enrichJson(done.report, collection));
      enriched.set(c.collectionId, enrich.formatEnrichReport(done.report, collection.name));
    }
    for (const reason of unavailable) {
      ctx.stderr.write(`Warning: enrichment skipped: ${inertLine(reason)}\n`);
    }
    if (ctx.json) {
      const document = sourceIngestJson(result, paths);
      document.collections = (document.collections as Record<string, unknown>[]).map((c) => {
        const report = enrichJson.get(String(c.collectionId));
        return report ? { ...c, enrichment: report } : c;
      });
      writeJson(ctx, document);
    } else {
      let out = "";
      for (const c of result.collections) {
        out += c.status === "error"
          ? `Failed collection '${inertLine(c.collectionName)}' (${c.collectionId}): ` +
            `${inertLine(c.error.message)} ` +
            `[${c.error.code}]\n`
          : formatIngestResult(c, paths.get(c.collectionId) ?? null) +
            (enriched.get(c.collectionId) ?? "");
      }
      const failed = result.collections.filter((c) => c.status === "error").length;
      const held = result.collections.filter((c) => c.status === "partial").length;
      const invalid = result.collections.filter((c) =>
        c.status === "ok" && ingestStatus(c) === "partial"
      ).length;
      const done = result.collections.length - failed - held - invalid;
      out += `Source '${inertLine(result.sourceName)}': ${done} of ` +
        `${result.collections.length} collection(s) ingested${dryRun ? " (dry run)" : ""}` +
        (held ? `, ${held} held back by the removal guard` : "") +
        (invalid ? `, ${invalid} with no valid item` : "") +
        (failed ? `, ${failed} failed.\n` : ".\n");
      ctx.stdout.write(out);
    }
    const status = sourceIngestStatus(result);
    const codes = result.collections.map((c) => c.status === "error" ? c.error.code : "");
    return exitCodeForStatus(status, codes.every((c) => c === "UNREACHABLE") ? 3 : 1);
  },
};

/** The ingest commands, for the command table. */
export const commands: Command[] = [collectionIngest, sourceIngest];

/** What {@link ingestThroughImporter} needs: the ingest's options but the client, clock and secrets. */
export type ImporterIngestOptions =
  & Omit<IngestOptions, "client" | "now" | "secrets" | "onListed">
  & {
    /** The collection's source, whose importer runs the ingest. */
    sourceId: string;
  };

/**
 * Runs one collection ingest through its source's sandboxed importer, with
 * the CLI's clock and the source's secrets scrubbed from what is stored: the
 * one path `collection ingest` and `sync` share.
 */
export async function ingestThroughImporter(
  ctx: CommandContext,
  db: DatabaseSync,
  options: ImporterIngestOptions,
): Promise<IngestResult> {
  const { sourceId, ...ingest } = options;
  const source = getSource(db, sourceId)!;
  const registry = await ctx.loadRegistry();
  const info = requireImporter(registry, source);
  const pipeline = _pipelineLoader();
  return await withClient(ctx, async (client) =>
    (await pipeline.load()).ingestCollection(db, {
      ...ingest,
      client,
      now: () => ctx.now(),
      secrets: secretValues(info.manifest.params, source.config),
      // Its plugin host is done once the listing ended: not resident while the catalog is written.
      onListed: () => client.close(),
    }), { registry, info, config: source.config, onStarted: pipeline.start });
}

/**
 * Loads the ingest pipeline (`ingest/mod.ts`) once: `start` when the plugin
 * host has been started, so that its modules (validation schemas, hashing:
 * ~60 ms here) load while the host starts (~0.2 s) rather than before it;
 * `load` resolves to it, starting the load if nothing did.
 */
function _pipelineLoader(): {
  start(): void;
  load(): Promise<typeof import("../ingest/mod.ts")>;
} {
  let loading: Promise<typeof import("../ingest/mod.ts")> | undefined;
  const load = () => loading ??= import("../ingest/mod.ts");
  return {
    start: () => void load().catch(() => {}), // Its failure is load()'s to report.
    load,
  };
}

/**
 * The status a collection ingest reports: `partial` when the removal guard
 * held it back or when every item it discovered was invalid (nothing could
 * be ingested: a script must not take that for success), else `ok`.
 */
export function ingestStatus(r: IngestResult): "ok" | "partial" {
  if (r.status === "partial") return "partial";
  return r.stats.invalid > 0 && r.stats.invalid === r.stats.discovered ? "partial" : "ok";
}

/**
 * The status of a source ingest from its collections' ({@link ingestStatus}):
 * `ok` when all are ok (or there are none), `error` when all failed, else
 * `partial`.
 */
export function sourceIngestStatus(r: SourceIngestResult): "ok" | "partial" | "error" {
  const each = r.collections.map((c) => c.status === "error" ? "error" : ingestStatus(c));
  if (each.every((s) => s === "ok")) return "ok";
  if (each.every((s) => s === "error")) return "error";
  return "partial";
}

/**
 * The exit status that goes with a document's `status` (the table in
 * `docs/cli.md`): `ok` 0, `partial` 2, `error` `errorCode` (1, or 3 when
 * upstream was unreachable).
 */
export function exitCodeForStatus(status: "ok" | "partial" | "error", errorCode = 1): number {
  return status === "ok" ? 0 : status === "partial" ? 2 : errorCode;
}

/**
 * After an ingest that wrote (not a dry run, not held back): how many of the
 * collection's assets (of its scope, for a targeted one) no path mapping matches and which sampled local files
 * are missing (see `checkLocalPaths`); null otherwise.
 */
export async function localPathReport(
  ctx: CommandContext,
  r: IngestResult,
): Promise<LocalPathReport | null> {
  if (r.dryRun || r.status !== "ok") return null;
  const db = ctx.openDb();
  return await checkLocalPaths(db, r.collectionId, {
    mappings: getPathMappings(db, r.collectionId),
    scope: r.filters,
  });
}

/**
 * The `--json` document of one collection ingest (`IngestResult` in
 * `docs/cli.md`): camelCase keys like every other command, in a fixed order;
 * `localPaths` is {@link localPathReport}'s.
 */
export function ingestJson(
  r: IngestResult,
  localPaths: LocalPathReport | null = null,
): Record<string, unknown> {
  const guard = r.removalGuard;
  return {
    status: ingestStatus(r),
    scope: r.scope,
    collectionId: r.collectionId,
    collectionName: r.collectionName,
    filters: {
      title: r.filters.title ?? null,
      season: r.filters.season ?? null,
      episode: r.filters.episode ?? null,
    },
    dryRun: r.dryRun,
    stats: { ...r.stats },
    errors: r.errors.map((e) => ({ kind: e.kind, externalId: e.externalId, message: e.message })),
    lastIngestTime: r.lastIngestTime,
    runId: r.runId,
    plannedChanges: r.plannedChanges?.map((c) => ({ ...c })) ?? null,
    removalGuard: guard === null ? null : {
      code: guard.code,
      held: guard.held,
      reason: guard.reason,
      message: guard.message,
      wouldRemove: guard.wouldRemove,
      active: guard.active,
      maxRemovalPercent: guard.maxRemovalPercent,
      sample: guard.sample.map((a) => ({ ...a })),
      warnings: [...guard.warnings],
    },
    warnings: [...r.notices.warnings],
    skipped: {
      total: r.notices.skipped,
      byReason: { ...r.notices.skippedByReason },
      sample: r.notices.skippedSample.map((x) => ({ ...x })),
    },
    localPaths,
  };
}

/** The `--json` document of `source ingest` (`SourceIngestResult` in `docs/cli.md`). */
export function sourceIngestJson(
  r: SourceIngestResult,
  localPaths: ReadonlyMap<string, LocalPathReport | null> = new Map(),
): Record<string, unknown> {
  return {
    status: sourceIngestStatus(r),
    sourceId: r.sourceId,
    sourceName: r.sourceName,
    dryRun: r.dryRun,
    collections: r.collections.map((c) =>
      c.status === "error"
        ? {
          status: "error",
          collectionId: c.collectionId,
          collectionName: c.collectionName,
          error: { code: c.error.code, message: c.error.message },
        }
        : ingestJson(c, localPaths.get(c.collectionId) ?? null)
    ),
  };
}

/** The human summary of one collection ingest (with its local-path report, when there is one). */
export function formatIngestResult(
  r: IngestResult,
  localPaths: LocalPathReport | null = null,
): string {
  const s = r.stats;
  const what = r.scope === "collection" ? "" : ` [${r.scope}: ${
    [
      `'${inertLine(r.filters.title ?? "")}'`,
      r.filters.season === undefined ? "" : `season ${r.filters.season}`,
      r.filters.episode === undefined ? "" : `episode ${r.filters.episode}`,
    ].filter(Boolean).join(" ")
  }]`;
  const name = inertLine(r.collectionName);
  const held = r.removalGuard?.held ?? false;
  const verb = r.dryRun ? "Dry run of" : held ? "Held back" : "Ingested";
  let out = `${verb} collection '${name}' (${r.collectionId})` +
    `${what}: ${s.discovered} discovered, ${s.new} new, ${s.changed} changed, ` +
    `${s.unchanged} unchanged, ${s.removed} removed, ${s.rekeyed} rekeyed, ${s.restored} restored, ` +
    `${s.invalid} invalid.\n`;
  if (r.removalGuard) out += _guardLines(r.removalGuard, r.dryRun, r.collectionId);
  if (!held && ingestStatus(r) === "partial") {
    out += `No valid item: all ${s.invalid} item(s) the importer sent are invalid (partial, ` +
      `exit 2).\n`;
  }
  for (const issue of r.errors.slice(0, MAX_PRINTED_ISSUES)) out += `  ${_issueLine(issue)}\n`;
  if (r.errors.length > MAX_PRINTED_ISSUES) {
    out += `  … and ${r.errors.length - MAX_PRINTED_ISSUES} more (see --json)\n`;
  }
  out += _noticeLines(r.notices);
  out += _plannedLines(r);
  if (localPaths) out += _localPathLines(localPaths, r.collectionId);
  out += r.dryRun || held
    ? "Nothing was written.\n"
    : `Last ingest time: ${r.lastIngestTime ?? "never"}\n`;
  if (r.runId !== null && s.new + s.changed + s.removed + s.restored + s.rekeyed > 0) {
    out += `Recorded as ingest run ${r.runId}; list its changes with ` +
      `'asset list --changed-in ${r.runId}'.\n`;
  }
  return out;
}

/** The most of them the text output prints. */
const _PRINTED_CHANGES = 50;

/** What a `--dry-run --verbose` would change, one line each. */
function _plannedLines(r: IngestResult): string {
  const planned = r.plannedChanges;
  if (planned === null) return "";
  if (planned.length === 0) return "It would change nothing.\n";
  const s = r.stats;
  const all = s.new + s.changed + s.removed + s.restored + s.rekeyed;
  let out = "It would:\n";
  for (const c of planned.slice(0, _PRINTED_CHANGES)) {
    const asset = c.assetId === null ? "" : ` (${c.assetId})`;
    out += `  ${c.change.padEnd(8)} '${inertLine(c.externalId)}'${asset}\n`;
  }
  if (all > _PRINTED_CHANGES) {
    out += `  … and ${all - _PRINTED_CHANGES} more` +
      (planned.length < all ? "" : " (see --json)") + "\n";
  }
  return out;
}

/** The importer's warnings and skipped items, as after a discovery. */
function _noticeLines(n: IngestNotices): string {
  let out = "";
  for (const w of n.warnings) out += `warning: ${inertLine(w)}\n`;
  const more = n.warningsTotal - n.warnings.length;
  if (more > 0) out += `  … and ${more} more warning(s), repeats included\n`;
  if (n.skipped > 0) {
    const reasons = Object.entries(n.skippedByReason).sort((a, b) => b[1] - a[1])
      .map(([reason, count]) => `${count} ${inertLine(reason)}`).join(", ");
    const first = n.skippedSample[0];
    out += `Skipped ${n.skipped} upstream item(s): ${reasons}` +
      (first ? ` (e.g. ${inertLine(first.item)})` : "") + ".\n";
  }
  return out;
}

function _localPathLines(p: LocalPathReport, collectionId: string): string {
  let out = "";
  if (p.unmapped > 0) {
    out += `Local paths: ${p.unmapped} of ${p.withPath} asset(s) match no path mapping and keep ` +
      `their upstream path.\n`;
  }
  if (p.missing.length > 0) {
    out += `Local files: ${p.missing.length} of ${p.checked} checked do not exist (e.g. ` +
      `${inertLine(p.missing[0].localPath)}); see 'collection check-paths ${collectionId}'.\n`;
  }
  return out;
}

/** The removal guard's part of {@link formatIngestResult}. */
function _guardLines(v: RemovalGuardVerdict, dryRun: boolean, collectionId: string): string {
  const share = `${v.wouldRemove} of ${v.active} active asset(s) ` +
    `(${formatPercent(v.wouldRemove, v.active)}%)`;
  const why = v.reason === "empty_listing"
    ? ": the listing was empty (an unmounted drive or an upstream fault looks like this)"
    : `, more than the limit of ${v.maxRemovalPercent}%`;
  if (!v.held) {
    return `Removal guard overridden (--allow-removal): ${dryRun ? "would remove" : "removed"} ` +
      `${share}${why}.\n`;
  }
  let out = `Removal guard [${v.code}]: ${dryRun ? "would hold" : "held"} this ingest back: it ` +
    `would remove ${share}${why}.\n`;
  out += "  would remove:\n";
  for (const a of v.sample) out += `    ${_sampleLine(a)}\n`;
  if (v.wouldRemove > v.sample.length) {
    out += `    … and ${v.wouldRemove - v.sample.length} more\n`;
  }
  for (const w of v.warnings) out += `  importer warning: ${inertLine(w)}\n`;
  out += "  If the removal is real, run the ingest again with --allow-removal" +
    (v.reason === "threshold"
      ? `, or raise the limit with 'collection update ${collectionId} --max-removal PCT'.\n`
      : ".\n");
  return out;
}

function _sampleLine(a: RemovalGuardVerdict["sample"][number]): string {
  const pad = (n: number | null) => n === null ? "" : String(n).padStart(2, "0");
  const where = a.seriesTitle === null
    ? `'${a.title}'`
    : `'${a.seriesTitle}'${a.season === null ? "" : ` S${pad(a.season)}`}` +
      `${a.episode === null ? "" : `E${pad(a.episode)}`} '${a.title}'`;
  return inertLine(`${a.id} ${where} (external id '${a.externalId}')`);
}

function _issueLine(issue: IngestIssue): string {
  const id = issue.externalId === null ? "" : ` '${issue.externalId}'`;
  return inertLine(`${issue.kind}${id}: ${issue.message}`);
}

/** A live progress line on stderr, only on a terminal and never with `--json`. */
export interface ProgressReporter {
  /** Takes the latest progress; the line is drawn at once, then redrawn every 100 ms. */
  update(progress: IngestProgress): void;
  /** Stops redrawing and erases the line. */
  clear(): void;
}

/** How often the progress line is redrawn, in milliseconds. */
export const PROGRESS_REDRAW_MS = 100;

/**
 * A {@link ProgressReporter} for `ctx`: a no-op unless stderr is a terminal
 * and `--json` is off. The line is drawn on the first update (before the
 * importer has sent anything: `connecting…`), on updates at most every
 * {@link PROGRESS_REDRAW_MS}, and on a timer in between, so the elapsed time
 * moves even while an upstream is slow; it shows the importer's
 * total and an estimate of the time left when the importer gave one
 * (`context.total()`), and is cut to the terminal's width so it never wraps
 * into rows it cannot erase. It redraws through `ctx.rawStderr` (the inert
 * filter of `ctx.stderr` would show its `\r\x1b[K`), so `label` (an
 * upstream name) is made inert here.
 */
export function progressReporter(ctx: CommandContext, label: string): ProgressReporter {
  const live = !ctx.json && Deno.stderr.isTerminal();
  const name = inertLine(label);
  let shown = false;
  let latest: { progress: IngestProgress; at: number } | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  let drawnAt = -Infinity;
  let drawnPhase = "";
  let drawnSeen = 0;
  const draw = () => {
    if (!latest) return;
    drawnAt = performance.now();
    drawnPhase = latest.progress.phase;
    drawnSeen = latest.progress.seen;
    const elapsed = latest.progress.elapsedMs + (performance.now() - latest.at);
    const line = progressLine(name, { ...latest.progress, elapsedMs: elapsed });
    const width = _terminalColumns();
    ctx.rawStderr.write(`\r\x1b[K${line.length < width ? line : line.slice(0, width - 2) + "…"}`);
    shown = true;
  };
  return {
    update(p: IngestProgress) {
      if (!live) return;
      latest = { progress: p, at: performance.now() };
      // New news draws at once (throttled); the timer keeps the clock moving in between.
      const news = p.phase !== drawnPhase || (drawnSeen === 0 && p.seen > 0);
      if (news || latest.at - drawnAt >= PROGRESS_REDRAW_MS) draw();
      if (timer === undefined) {
        const t = setInterval(draw, PROGRESS_REDRAW_MS);
        Deno.unrefTimer(t);
        timer = t;
      }
    },
    clear() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (shown) ctx.rawStderr.write("\r\x1b[K");
      shown = false;
    },
  };
}

/**
 * The text of the progress line (without the redraw codes), e.g.
 * `Ingesting 'TV': 4200 assets seen of 10000 (42%), 2100/s, 2.0s, about 3s left`.
 */
export function progressLine(name: string, p: IngestProgress): string {
  const seconds = p.elapsedMs / 1000;
  const head = `Ingesting '${name}': `;
  if (p.seen === 0 && p.phase === "listing") return `${head}connecting… ${seconds.toFixed(1)}s`;
  const rate = seconds > 0 ? Math.round(p.seen / seconds) : 0;
  if (p.phase === "saving") return `${head}${p.seen} assets seen; saving… ${seconds.toFixed(1)}s`;
  let out = `${head}${p.seen} assets seen`;
  const total = p.total !== undefined && p.total >= p.seen ? p.total : undefined;
  if (total !== undefined && total > 0) {
    out += ` of ${total} (${Math.floor((p.seen * 100) / total)}%)`;
  }
  out += `, ${rate}/s, ${seconds.toFixed(1)}s`;
  if (total !== undefined && rate > 0 && p.seen > 0) {
    out += `, about ${_duration((total - p.seen) / rate)} left`;
  }
  return out;
}

function _duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}

/** The terminal's columns for stderr (the progress line's terminal), 80 when unknown. */
function _terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
