/**
 * `collection enrich` and `enricher list-types`, and the enrichment that runs
 * after each successful ingest.
 *
 * @module
 */

import { resolve } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { type CollectionRecord, getCollection, getSource } from "../core/catalog.ts";
import { RetrovueError, toRetrovueError } from "../core/errors.ts";
import type { ParamSpec } from "../core/contract.ts";
import { type RawValue, validateConfig } from "../core/config.ts";
import type { EnricherConfig } from "../core/enricher_contract.ts";
import {
  attachEnricher,
  detachEnricher,
  enrichCollection,
  type EnrichReport,
  listAttachedEnrichers,
} from "../ingest/mod.ts";
import { deriveSandbox, isolationModeFromEnv, pluginDirsFromEnv } from "../registry/mod.ts";
import { type EnricherRegistry, loadEnricherRegistry } from "../registry/mod.ts";
import { limitsFromEnv } from "../registry/mod.ts";
import { DEFAULT_SEARCH_PATH } from "../registry/mod.ts";
import { type Command, type CommandContext, parseCommandArgs, parseCount } from "./command.ts";
import { catalogPaths, registryCacheDir } from "./context.ts";
import { inertLine } from "./inert.ts";
import { didYouMean } from "./suggest.ts";
import { formatTable, writeJson } from "./output.ts";
import { findCollection, findSource } from "./lookup.ts";

/**
 * Loads the enricher registry (built-in `enrichers/` and
 * `RETROVUE_PLUGIN_PATH`): it starts a plugin host to read the manifests.
 */
export async function loadEnrichers(
  ctx: Pick<CommandContext, "env" | "isolation" | "dbPath" | "cwd">,
): Promise<EnricherRegistry> {
  const protectedPaths = catalogPaths(() => ctx.dbPath);
  // A bad RETROVUE_ISOLATION fails here, as for importers, whether or not a plugin host starts
  // (with every manifest cached, none does).
  isolationModeFromEnv(ctx.env.RETROVUE_ISOLATION);
  return await loadEnricherRegistry({
    // Relative folders mean the operator's folder, as for importers (see cli/context.ts).
    pluginDirs: pluginDirsFromEnv(ctx.env.RETROVUE_PLUGIN_PATH).map((d) => resolve(ctx.cwd, d)),
    searchPath: ctx.env.PATH ?? DEFAULT_SEARCH_PATH,
    isolation: () => ctx.isolation(),
    limits: limitsFromEnv(ctx.env),
    protectedPaths,
    cacheDir: registryCacheDir(ctx.env),
  });
}

/** Options for {@link runEnrichment}: the collection, and how to enrich it. */
export interface RunEnrichmentOptions {
  /** The collection whose attached enrichers run. */
  collection: CollectionRecord;
  /** Series or movie title. */
  title?: string;
  /** Season (with `title`). */
  season?: number;
  /** Re-enrich assets already enriched for their current file. */
  force?: boolean;
  /** Count only. */
  dryRun?: boolean;
  /** Calls at once per enricher. */
  jobs?: number;
}

/**
 * Runs the collection's attached enrichers (see `ingest/enrich.ts`), with
 * a progress line on a terminal. Returns null when none is attached.
 */
export async function runEnrichment(
  ctx: CommandContext,
  db: DatabaseSync,
  options: RunEnrichmentOptions,
): Promise<EnrichReport | null> {
  const { collection, ...enrichOptions } = options;
  const attached = listAttachedEnrichers(db, collection.id);
  if (attached.length === 0) return null;
  const registry = await loadEnrichers(ctx);
  if (!options.dryRun) ctx.warnIsolation(await ctx.isolation());
  const grantedRoots = options.dryRun ? [] : await _sourceReadGrants(ctx, db, collection);
  const live = !ctx.json && !options.dryRun && Deno.stderr.isTerminal();
  const name = inertLine(collection.name);
  let last = 0;
  try {
    return await enrichCollection(db, collection, {
      ...enrichOptions,
      registry,
      attached,
      grantedRoots,
      now: () => ctx.now(),
      signal: ctx.signal,
      onProgress: live
        ? (done, total) => {
          if (Date.now() - last < 200 && done < total) return;
          last = Date.now();
          ctx.rawStderr.write(`\r\x1b[KEnriching '${name}': ${done} of ${total}`);
        }
        : undefined,
    });
  } finally {
    if (live && last > 0) ctx.rawStderr.write("\r\x1b[K");
  }
}

/**
 * What the operator granted the collection's source to read: the read
 * grants of its config, derived as the registry derives them for its
 * importer. None when the importer is not installed: then only the path
 * mappings grant enrichers anything.
 */
async function _sourceReadGrants(
  ctx: CommandContext,
  db: DatabaseSync,
  collection: CollectionRecord,
): Promise<string[]> {
  const source = getSource(db, collection.sourceId);
  if (!source) return [];
  const params = (await ctx.loadRegistry()).get(source.typeId)?.manifest.params;
  return (params && deriveSandbox(params, source.config).permissions.read) || [];
}

/**
 * The enrichment after a successful, non-dry-run ingest: the assets that
 * are new or whose file changed. An enricher that cannot run (ffprobe
 * missing) never fails the ingest: its reason comes back as `unavailable`.
 */
export async function enrichAfterIngest(
  ctx: CommandContext,
  db: DatabaseSync,
  options: { collectionId: string },
): Promise<{ report: EnrichReport | null; unavailable?: string }> {
  const collection = getCollection(db, options.collectionId);
  if (!collection) return { report: null };
  try {
    return { report: await runEnrichment(ctx, db, { collection }) };
  } catch (error) {
    // The ingest is written whatever happens here: an enrichment that cannot run (a missing
    // tool, a refused grant, no OS isolation where it is required), that is stopped (Ctrl-C,
    // SIGTERM), or that cannot write its results (the catalog busy or its disk full) is a
    // warning beside the ingest's result, never the command's failure: a script told the
    // ingest failed would run it again for nothing.
    if (error instanceof RetrovueError) return { report: null, unavailable: error.message };
    const why = toRetrovueError(error).message;
    return {
      report: null,
      unavailable: `${why} ('collection enrich ${collection.id}' probes what is left)`,
    };
  }
}

/** The `--json` form of an enrichment report: the report's counts, named. */
export type EnrichJson = Omit<EnrichReport, "collectionId"> & {
  /** `partial` when some asset failed. */
  status: "ok" | "partial";
  /** Collection id. */
  collectionId: string;
  /** Collection name. */
  collectionName: string;
};

/** The `--json` form of an enrichment report (camelCase keys). */
export function enrichJson(report: EnrichReport, collection: CollectionRecord): EnrichJson {
  return {
    status: report.failed > 0 ? "partial" : "ok",
    collectionId: collection.id,
    collectionName: collection.name,
    dryRun: report.dryRun,
    enrichers: report.enrichers,
    selected: report.selected,
    probed: report.probed,
    enriched: report.enriched,
    failed: report.failed,
    discarded: report.discarded,
    skipped: report.skipped,
    failures: report.failures,
  };
}

/** The text form of an enrichment report: one summary line, then the failures. */
export function formatEnrichReport(report: EnrichReport, name: string): string {
  const head = report.dryRun
    ? `Dry run: would enrich ${report.selected} asset(s) of '${inertLine(name)}' with ` +
      `${report.enrichers.join(", ")}. Nothing was written.\n`
    : `Enriched '${inertLine(name)}' with ${report.enrichers.join(", ")}: ` +
      `${report.probed} probed, ${report.enriched} enriched, ${report.failed} failed` +
      (report.discarded ? `, ${report.discarded} discarded (file changed meanwhile)` : "") +
      (report.skipped ? `, ${report.skipped} skipped (no enricher applies)` : "") + ".\n";
  if (report.failures.length === 0) return head;
  const more = report.failed - report.failures.length;
  return head + formatTable(
    ["asset", "title", "code", "reason"],
    report.failures.map((f) => [f.assetId, f.label, f.code, f.message]),
  ) + (more > 0 ? `… and ${more} more (see 'asset list --state enrichment_failed').\n` : "");
}

const enrich: Command = {
  path: ["collection", "enrich"],
  summary: "Probe a collection's local files with its enrichers (durations, streams)",
  help: `Usage: retrovue collection enrich <collection> [--source SOURCE]
       [--title TITLE [--season N]] [--force] [--jobs N] [--dry-run] [--json]

Runs the enrichers attached to the collection ('collection update C
--add-enricher ffprobe') over its assets that need them: new assets, and
assets whose file changed since they were last enriched. Unchanged files are
never probed again (a failure is remembered too), unless --force.

  --title TITLE   only this show or movie (case-insensitive, exact)
  --season N      only this season of --title
  --force         probe every asset with a path again
  --jobs N        probes at once (default: the enricher's, one per core for ffprobe)
  --dry-run       count what would be probed; probe and write nothing

Each result is written on its own; one failed file (missing, corrupt,
truncated, timed out) is recorded on that asset and the rest go on. Exit 0
when all succeeded, 2 when some failed ("partial"), 1 when an enricher cannot
run at all (e.g. "install ffmpeg or pass --ffprobe PATH").
`,
  async run(ctx) {
    const { values, positionals } = parseCommandArgs(ctx, {
      source: { type: "string" },
      title: { type: "string" },
      season: { type: "string" },
      force: { type: "boolean" },
      jobs: { type: "string" },
      "dry-run": { type: "boolean" },
    }, { minPositionals: 1, maxPositionals: 1, positionalName: "a <collection> (id or name)" });
    const season = values.season === undefined ? undefined : parseCount("--season", values.season);
    if (season !== undefined && values.title === undefined) {
      throw new RetrovueError("USAGE", "--season needs --title");
    }
    const jobs = values.jobs === undefined ? undefined : parseCount("--jobs", values.jobs);
    if (jobs === 0) throw new RetrovueError("USAGE", "--jobs must be at least 1");
    const dryRun = values["dry-run"] ?? false;
    const db = ctx.openDb({ readOnly: dryRun, dryRun });
    const scope = values.source === undefined ? undefined : findSource(db, values.source);
    const collection = findCollection(db, positionals[0], { sourceId: scope?.id });
    const report = await runEnrichment(ctx, db, {
      collection,
      title: values.title,
      season,
      force: values.force ?? false,
      dryRun,
      jobs,
    });
    if (!report) {
      throw new RetrovueError(
        "USAGE",
        `collection '${collection.name}' has no enrichers; attach one with ` +
          `'collection update ${collection.id} --add-enricher ffprobe'`,
      );
    }
    if (ctx.json) writeJson(ctx, enrichJson(report, collection));
    else ctx.stdout.write(formatEnrichReport(report, collection.name));
    return report.failed > 0 ? 2 : 0;
  },
};

const listTypes: Command = {
  path: ["enricher", "list-types"],
  summary: "List enricher types: status, what they apply to, and options",
  help: `Usage: retrovue enricher list-types [--json]

Lists the enrichers found in the built-in enrichers/ folder and in the folders
of RETROVUE_PLUGIN_PATH, with their status: available, unavailable (an
executable they run is missing, with what to do) or broken (with why).
`,
  async run(ctx) {
    parseCommandArgs(ctx, {});
    const registry = await loadEnrichers(ctx);
    const rows = registry.types.map((t) => ({
      typeId: t.typeId ?? null,
      status: t.status,
      displayName: t.status === "broken" ? null : t.manifest.displayName,
      appliesTo: t.status === "broken" ? [] : t.manifest.appliesTo,
      builtin: registry.isBuiltin(t.file),
      file: t.file,
      reason: t.status === "available" ? null : t.reason,
      options: t.status === "broken" ? [] : t.manifest.params.map((p) => ({
        flag: p.flag,
        name: p.name,
        kind: p.kind,
        description: p.description,
        ...(p.default === undefined ? {} : { default: p.default }),
        ...(p.grants === undefined ? {} : { grants: p.grants }),
      })),
    }));
    if (ctx.json) {
      writeJson(ctx, { status: "ok", enricherTypes: rows });
      return 0;
    }
    if (rows.length === 0) {
      ctx.stdout.write("No enrichers found.\n");
      return 0;
    }
    ctx.stdout.write(formatTable(
      ["type", "status", "name", "applies to", "options", "note"],
      rows.map((r) => [
        r.typeId ?? "?",
        r.status,
        r.displayName ?? "-",
        r.appliesTo.join(", ") || "-",
        r.options.map((o) => o.flag).join(" ") || "-",
        r.reason ?? (r.builtin ? "built-in" : r.file),
      ]),
      { color: ctx.color, width: ctx.width },
    ));
    return 0;
  },
};

/** The enrichment commands, for the command table. */
export const commands: Command[] = [enrich, listTypes];

/** What `collection update` was asked to change about enrichers, checked. */
export interface EnricherChangePlan {
  /**
   * Enrichers to attach (or update), with their config and the programs
   * their `run` grants start here (real paths), shown so the operator sees
   * what an enricher may run.
   */
  add: { typeId: string; priority?: number; config?: EnricherConfig; runs?: string[] }[];
  /** Type ids to detach. */
  remove: string[];
  /** Warnings to print (an enricher that cannot run here yet). */
  warnings: string[];
}

/**
 * The params of the one enricher `--add-enricher TYPE` names in `args`, so
 * that `collection update` can parse that enricher's own flags (e.g.
 * `--ffprobe PATH`); undefined when no single type is named. Loads the
 * enricher registry; an unknown type is `NOT_FOUND`.
 */
export async function addedEnricherParams(
  ctx: CommandContext,
): Promise<ParamSpec[] | undefined> {
  const named: string[] = [];
  ctx.args.forEach((arg, i) => {
    const m = /^--add-enricher(?:=(.*))?$/s.exec(arg);
    if (m) named.push(m[1] ?? ctx.args[i + 1] ?? "");
  });
  if (named.length !== 1) return undefined;
  const registry = await loadEnrichers(ctx);
  return _installed(registry, named[0]).manifest.params as ParamSpec[];
}

/**
 * Checks `collection update`'s `--add-enricher TYPE [--priority N]` with
 * that enricher's own flags (`raw`, keyed by param name, validated against
 * its params: paths absolute, run paths executable) and `--remove-enricher
 * TYPE`. An enricher that cannot run here yet is attached with a warning.
 */
export async function planEnricherChanges(
  ctx: CommandContext,
  values: { add?: string[]; remove?: string[]; priority?: string; raw: Record<string, RawValue> },
): Promise<EnricherChangePlan> {
  const add = values.add ?? [];
  const remove = values.remove ?? [];
  const given = Object.keys(values.raw).length > 0;
  if ((values.priority !== undefined || given) && add.length !== 1) {
    throw new RetrovueError(
      "USAGE",
      "--priority and an enricher's options go with exactly one --add-enricher",
    );
  }
  const plan: EnricherChangePlan = { add: [], remove, warnings: [] };
  if (add.length === 0) return plan;
  const priority = values.priority === undefined ? undefined : _priority(values.priority);
  const registry = await loadEnrichers(ctx);
  for (const typeId of add) {
    const info = _installed(registry, typeId);
    const config = validateConfig(info.manifest.params as ParamSpec[], values.raw, {
      cwd: ctx.cwd,
      applyDefaults: false,
    });
    let runs: string[] | undefined;
    try {
      const resolved = registry.resolveConfig(typeId, config);
      runs = info.manifest.params.filter((p) => p.grants === "run").map((p) =>
        String(resolved[p.name])
      );
    } catch (error) {
      // A path the operator typed must work now; only a failed PATH lookup may wait.
      const typedRun = info.manifest.params.some((p) => p.grants === "run" && p.name in values.raw);
      if (!(error instanceof RetrovueError) || error.code !== "ENRICHER_UNAVAILABLE" || typedRun) {
        throw error;
      }
      plan.warnings.push(`enricher '${typeId}' cannot run here yet: ${error.message}`);
    }
    plan.add.push({
      typeId,
      priority,
      ...(given ? { config } : {}),
      ...(runs?.length ? { runs } : {}),
    });
  }
  return plan;
}

function _installed(registry: EnricherRegistry, typeId: string) {
  const info = registry.get(typeId);
  if (!info) {
    const known = registry.types.flatMap((t) => t.typeId === undefined ? [] : [t.typeId]);
    throw new RetrovueError(
      "NOT_FOUND",
      `no enricher type '${inertLine(typeId)}'${
        didYouMean(typeId, known)
      }; run 'enricher list-types' to see what is installed`,
      { details: { typeId } },
    );
  }
  return info;
}

/** What {@link applyEnricherChanges} applies, and the clock. */
export interface ApplyEnricherChangesOptions {
  /** A plan checked by {@link planEnricherChanges}. */
  plan: EnricherChangePlan;
  /** The clock for the attachments' times. */
  now: () => Date;
}

/** Applies a checked plan; returns one phrase per change. */
export function applyEnricherChanges(
  db: DatabaseSync,
  collectionId: string,
  options: ApplyEnricherChangesOptions,
): string[] {
  const { plan, now } = options;
  const changes: string[] = [];
  for (const typeId of plan.remove) {
    detachEnricher(db, { collectionId, typeId });
    changes.push(`removed enricher ${typeId}`);
  }
  for (const a of plan.add) {
    const added = attachEnricher(db, { collectionId, typeId: a.typeId }, {
      priority: a.priority,
      config: a.config,
      now,
    });
    changes.push(
      `${added ? "added" : "updated"} enricher ${a.typeId}` +
        (a.priority === undefined ? "" : ` (priority ${a.priority})`) +
        (a.runs ? `, which runs ${a.runs.map(inertLine).join(", ")}` : ""),
    );
  }
  return changes;
}

function _priority(text: string): number {
  if (!/^-?\d{1,6}$/.test(text.trim())) {
    throw new RetrovueError("USAGE", `--priority must be a whole number, not '${inertLine(text)}'`);
  }
  return Number(text.trim());
}
