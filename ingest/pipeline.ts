/**
 * The ingest pipeline: stream an importer's assets, validate, normalise and
 * classify them with no lock held, then apply the result in one short write
 * transaction.
 *
 * ```ts
 * import type { DatabaseSync } from "node:sqlite";
 * import { type IngestClient, ingestCollection } from "./mod.ts";
 *
 * declare const db: DatabaseSync, client: IngestClient;
 * const result = await ingestCollection(db, { client, collection: "c-0123456789" });
 * console.log(result.stats.new);
 * ```
 *
 * Any failure (importer error, crash, timeout, malformed stream,
 * cancellation, a busy database) leaves the catalog exactly as it was, and
 * so does a full ingest held back by the removal guard
 * (`./removal_guard.ts`): its result has status `partial` and says why.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { secretForms } from "../core/config.ts";
import type { AssetFilters, CollectionKind, FilterName } from "../core/contract.ts";
import { RetrovueError, toRetrovueError } from "../core/errors.ts";
import type { ImporterClient, PluginNotice } from "../registry/mod.ts";
import { applyPlan, dataVersion, isBusyError } from "./apply.ts";
import { type PlannedChange, plannedChanges } from "./history.ts";
import {
  type Classifier,
  createClassifier,
  type IngestIssue,
  type IngestPlan,
  type IngestStats,
} from "./diff.ts";
import { type IngestCollectionRow, type IngestScope, ingestTarget, scopeOf } from "./scope.ts";
import { normalizeText } from "./text.ts";
import type { PathMapping } from "../core/path_mapping.ts";
import { rekeyPlan } from "./rekey.ts";
import {
  checkRemovalGuard,
  MAX_GUARD_WARNINGS,
  type RemovalGuardVerdict,
} from "./removal_guard.ts";

/** A progress report, sent when the importer starts, after every batch, and at the end. */
export interface IngestProgress {
  /** Items received so far. */
  seen: number;
  /** Milliseconds since the ingest started. */
  elapsedMs: number;
  /**
   * How many items the importer said it will send (`context.total()`), when
   * it said so: a hint for display only.
   */
  total?: number;
  /** `listing` while items stream, `saving` once the stream ended. */
  phase: "listing" | "saving";
}

/** The part of an {@link ImporterClient} the pipeline uses. */
export type IngestClient = Pick<ImporterClient, "manifest" | "fetchAssets">;

/** Options for {@link ingestCollection}. */
export interface IngestOptions {
  /** A live importer client for the collection's source. */
  client: IngestClient;
  /** The collection's id (`c-…`). */
  collection: string;
  /** The targeted scope; omitted or empty for a full ingest. */
  filters?: AssetFilters;
  /** Classify and report, but write nothing. */
  dryRun?: boolean;
  /**
   * Apply a full ingest even when the removal guard trips (`--allow-removal`);
   * the result still carries the verdict, with `held: false`.
   */
  allowRemoval?: boolean;
  /** The clock for stored times; defaults to the system clock. */
  now?: () => Date;
  /** Called after every batch (and once at the end of the stream). */
  onProgress?: (progress: IngestProgress) => void;
  /** Cancels the ingest (Ctrl-C); the catalog is then untouched. */
  signal?: AbortSignal;
  /**
   * Called once the importer's stream has ended, before the assets are
   * classified and applied: a caller that needs the importer no further
   * closes it here, so that its plugin host (tens of MiB) is not resident
   * while the catalog is written. Not called when the stream fails.
   */
  onListed?: () => Promise<void> | void;
  /** Idle deadline between two batches, in milliseconds (the client's default otherwise). */
  timeoutMs?: number;
  /**
   * The source's secret values (`secretValues(manifest.params, config)`): an
   * asset that carries one in any form (plain, case-changed, URL-encoded,
   * base64, hex, reversed) is not stored but reported invalid.
   */
  secrets?: readonly string[];
  /**
   * List up to this many of the changes a dry run would make in
   * {@link IngestResult.plannedChanges} (`--dry-run --verbose`); default none.
   */
  listChanges?: number;
  /**
   * Pair assets that went with new items that are the same media, so they
   * keep their ids (`rekeyed`; see `rekey.ts`). Default true; false only to
   * measure what the matching costs (`bench/ingest_bench.ts`).
   */
  rekey?: boolean;
}

/** The result of one collection ingest (see `docs/cli.md` for its JSON form). */
export interface IngestResult {
  /**
   * `ok`, or `partial` when the removal guard held the ingest back (nothing
   * was written; `stats` say what it would have done). Failures throw.
   */
  status: "ok" | "partial";
  /** How wide the ingest was. */
  scope: IngestScope;
  /** The collection's id. */
  collectionId: string;
  /** The collection's name. */
  collectionName: string;
  /** The filters of a targeted ingest. */
  filters: AssetFilters;
  /** Whether nothing was written. */
  dryRun: boolean;
  /** Counts. */
  stats: IngestStats;
  /** Invalid items, duplicates and other issues, in a stable order. */
  errors: IngestIssue[];
  /** The collection's `last_ingest_time` after this run (unchanged by a dry run or a held one). */
  lastIngestTime: string | null;
  /**
   * The removal guard's verdict when it tripped (`held` true: not applied;
   * false: let through by `allowRemoval`), else null.
   */
  removalGuard: RemovalGuardVerdict | null;
  /** What the importer reported during the run: warnings and skipped upstream items. */
  notices: IngestNotices;
  /**
   * The run's number in the ingest history (`ingest history`, `asset list
   * --changed-in RUN`); null when nothing was written (dry run, held back).
   */
  runId: number | null;
  /**
   * The changes a dry run would make, when asked for (`listChanges`): at
   * most that many, by kind then external id; null otherwise.
   */
  plannedChanges: PlannedChange[] | null;
}

/**
 * The importer's warnings and skipped items of one run (`context.warn()`,
 * `context.skipped()`), kept so the operator sees them after an ingest as
 * after a discovery. Bounded: the first {@link MAX_NOTICE_WARNINGS} distinct
 * warnings and {@link MAX_SKIPPED_SAMPLE} skipped items are kept; the
 * counts stay complete.
 */
export interface IngestNotices {
  /** Distinct warnings, in the order they came. */
  warnings: string[];
  /** Every warning received, repeats included. */
  warningsTotal: number;
  /** Skipped upstream items, in all. */
  skipped: number;
  /** Skipped items counted by reason (e.g. `sample`, `extra`, `link`). */
  skippedByReason: Record<string, number>;
  /** The first skipped items, for examples. */
  skippedSample: { item: string; reason: string }[];
}

/** The most distinct warnings an {@link IngestResult} keeps. */
export const MAX_NOTICE_WARNINGS = 20;

/** The most skipped items an {@link IngestResult} keeps as examples. */
export const MAX_SKIPPED_SAMPLE = 10;

/** The most distinct skip reasons counted; the rest count under `other`. */
const _MAX_SKIP_REASONS = 50;

/** Collects a run's notices into {@link IngestNotices}. */
function _noticeCollector(): { add(notice: PluginNotice): void; notices: IngestNotices } {
  const notices: IngestNotices = {
    warnings: [],
    warningsTotal: 0,
    skipped: 0,
    skippedByReason: {},
    skippedSample: [],
  };
  const seen = new Set<string>();
  return {
    notices,
    add(notice) {
      if (notice.kind === "warn") {
        notices.warningsTotal++;
        const message = _clip(notice.message, 1000);
        if (notices.warnings.length < MAX_NOTICE_WARNINGS && !seen.has(message)) {
          seen.add(message);
          notices.warnings.push(message);
        }
        return;
      }
      if (notice.kind !== "skipped") return;
      notices.skipped++;
      const byReason = notices.skippedByReason;
      const given = _clip(notice.reason, 100);
      const known = Object.hasOwn(byReason, given);
      const reason = known || Object.keys(byReason).length < _MAX_SKIP_REASONS ? given : "other";
      byReason[reason] = (Object.hasOwn(byReason, reason) ? byReason[reason] : 0) + 1;
      if (notices.skippedSample.length < MAX_SKIPPED_SAMPLE) {
        notices.skippedSample.push({ item: _clip(notice.item, 1000), reason: given });
      }
    },
  };
}

/** Plugin text is untrusted: long lines are cut so notices stay bounded. */
function _clip(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + "…";
}

/**
 * The filters to push down to an importer: the longest prefix of
 * title → season → episode that its manifest declares for this kind of
 * collection. The host applies every filter itself as well.
 */
export function pushedFilters(
  client: IngestClient,
  kind: CollectionKind,
  filters: AssetFilters,
): AssetFilters {
  const declared = new Set<FilterName>(client.manifest.capabilities.filters[kind] ?? []);
  const out: AssetFilters = {};
  if (filters.title === undefined || !declared.has("title")) return out;
  out.title = filters.title;
  if (filters.season === undefined || !declared.has("season")) return out;
  out.season = filters.season;
  if (filters.episode === undefined || !declared.has("episode")) return out;
  out.episode = filters.episode;
  return out;
}

/**
 * Ingests one collection. Throws `NOT_FOUND`, `NOT_INGESTIBLE` (not ingestible,
 * or a full ingest of a collection that is not sync-enabled — a dry run is
 * checked the same way), `USAGE` (bad filters), `SCOPE_EMPTY` (a targeted
 * scope matched nothing), the importer's or runtime's codes, `CANCELLED`,
 * `DB_BUSY` or `CONFLICT`. Only a successful, non-dry run writes, and only
 * when the removal guard does not hold it back (see {@link IngestResult}).
 *
 * @example Ingest one season of a Plex library
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { loadRegistry } from "../registry/mod.ts";
 * import { ingestCollection } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const registry = await loadRegistry();
 * try {
 *   const client = await registry.open("plex", {
 *     base_url: "http://127.0.0.1:32400",
 *     token: "plex-token",
 *   });
 *   const result = await ingestCollection(db, {
 *     client,
 *     collection: "c-0123456789",
 *     filters: { title: "Alpha", season: 2 },
 *   });
 *   console.log(`${result.stats.new} new, ${result.stats.changed} changed`);
 * } finally {
 *   await registry.close();
 * }
 * ```
 */
export async function ingestCollection(
  db: DatabaseSync,
  options: IngestOptions,
): Promise<IngestResult> {
  const { collection, filters, full } = ingestTarget(db, options.collection, options.filters ?? {});
  const mappings = _loadMappings(db, collection.id);

  // Counted from here on, before the classifier looks at the catalog (it
  // tells a first import from the collection's rows): the apply step
  // re-checks the plan against a catalog that moved since.
  const version = dataVersion(db);
  const classifier = createClassifier(db, {
    collectionId: collection.id,
    mappings,
    filters,
    secrets: secretForms(options.secrets ?? []),
  });
  try {
    return await _run(db, { options, collection, filters, full, classifier, version });
  } finally {
    classifier.close();
  }
}

/** Streams, classifies, guards and applies; the caller drops the stage. */
async function _run(
  db: DatabaseSync,
  run: {
    options: IngestOptions;
    collection: IngestCollectionRow;
    filters: AssetFilters;
    full: boolean;
    classifier: Classifier;
    /** `PRAGMA data_version` read before the classifier was created. */
    version: number;
  },
): Promise<IngestResult> {
  const { options, collection, filters, full, classifier, version } = run;
  const pushed = pushedFilters(options.client, collection.kind, filters);
  const hostFiltered = scopeOf(pushed) !== scopeOf(filters);
  const started = performance.now();
  let total: number | undefined;
  const progress = (phase: IngestProgress["phase"] = "listing") =>
    options.onProgress?.({
      seen: classifier.seen,
      elapsedMs: performance.now() - started,
      phase,
      ...(total === undefined ? {} : { total }),
    });

  // Shown after the run; the warnings also explain a listing the removal guard holds back.
  const collector = _noticeCollector();
  // Stored assets kept as they were (`unlisted`): told once, after the listing.
  let held = 0;
  const onNotice = (notice: PluginNotice) => {
    if (notice.kind === "total") total = notice.count;
    else if (notice.kind === "unlisted") {
      held += classifier.holdUnlisted(notice.prefix, { exact: notice.exact });
    } else collector.add(notice);
  };

  // Track how far a host-filtered scope got, to name what was not found.
  const levels = { title: 0, season: 0 };
  const observe = hostFiltered && !full ? (raw: unknown) => _observe(raw, filters, levels) : null;

  try {
    const stream = options.client.fetchAssets(
      {
        collection: {
          externalId: collection.external_id,
          kind: collection.kind,
          name: collection.name,
        },
        filters: pushed,
      },
      { signal: options.signal, timeoutMs: options.timeoutMs, onNotice },
    );
    progress();
    for await (const batch of stream) {
      options.signal?.throwIfAborted();
      if (!Array.isArray(batch)) {
        throw new RetrovueError(
          "MALFORMED_RESPONSE",
          "the importer sent a batch that is not a list",
        );
      }
      classifier.addBatch(batch, observe ?? undefined);
      progress();
    }
    options.signal?.throwIfAborted();
  } catch (error) {
    throw _streamError(error, options.signal);
  }
  if (held > 0) {
    collector.add({
      kind: "warn",
      // The prefixes are plugin text that no scrubber saw: the importer's own warnings name them.
      message:
        `kept ${held} stored asset(s) as they were: the importer could not list or read them`,
    });
  }
  progress("saving");
  await options.onListed?.();

  const classified = classifier.finish();
  const plan = options.rekey === false ? classified : rekeyPlan(db, classified, {
    filters,
    // Only the filesystem importer's marker is a file's own modification time.
    byFileStats: options.client.manifest.typeId === "filesystem",
  });
  if (!full && plan.inScope === 0 && (hostFiltered || plan.stats.invalid === 0)) {
    throw _scopeEmpty(collection.name, filters, hostFiltered ? levels : null);
  }
  if (!hostFiltered && plan.outOfScope > 0) {
    plan.issues.push({
      kind: "out_of_scope",
      externalId: null,
      message: `the importer returned ${plan.outOfScope} asset(s) outside the requested scope; ` +
        "they were ignored",
    });
  }

  const guard = checkRemovalGuard(db, plan, {
    collectionId: collection.id,
    collectionName: collection.name,
    maxRemovalPercent: collection.max_removal_pct,
    allowRemoval: options.allowRemoval,
    warnings: collector.notices.warnings.slice(0, MAX_GUARD_WARNINGS),
  });
  let lastIngestTime = collection.last_ingest_time;
  let runId: number | null = null;
  if (!options.dryRun && !guard?.held) {
    const now = (options.now ?? (() => new Date()))().toISOString();
    try {
      runId = applyPlan(db, plan, {
        dataVersion: version,
        now,
        run: { scope: scopeOf(filters), filters },
      });
    } catch (error) {
      throw _dbError(error);
    }
    lastIngestTime = now;
  }
  return _result(collection, {
    filters,
    plan,
    dryRun: options.dryRun ?? false,
    lastIngestTime,
    guard,
    notices: collector.notices,
    runId,
    plannedChanges: options.dryRun && options.listChanges
      ? plannedChanges(db, plan, { limit: options.listChanges })
      : null,
  });
}

/** Options for {@link ingestSource}. */
export interface SourceIngestOptions
  extends Omit<IngestOptions, "collection" | "filters" | "onListed"> {
  /** The source's id. */
  source: string;
}

/** One collection's outcome inside a source ingest. */
export type SourceCollectionOutcome =
  | IngestResult
  | {
    /** This collection failed; the others are unaffected. */
    status: "error";
    /** The collection's id. */
    collectionId: string;
    /** The collection's name. */
    collectionName: string;
    /** Why. */
    error: { code: string; message: string };
  };

/** The result of {@link ingestSource}. */
export interface SourceIngestResult {
  /**
   * `ok` (all succeeded, or none to do), `partial` (some failed or were held
   * back by the removal guard, not all failed), `error` (all failed).
   */
  status: "ok" | "partial" | "error";
  /** The source's id. */
  sourceId: string;
  /** The source's name. */
  sourceName: string;
  /** Whether nothing was written. */
  dryRun: boolean;
  /** One entry per sync-enabled, ingestible collection, by name. */
  collections: SourceCollectionOutcome[];
}

/**
 * Ingests every sync-enabled, ingestible collection of a source, each in its
 * own transaction. A failing collection, or one the removal guard holds
 * back, is reported and the next one runs; cancellation stops the run and is
 * rethrown (finished collections stay).
 *
 * @example A dry run over every collection of a source
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { loadRegistry } from "../registry/mod.ts";
 * import { ingestSource } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const registry = await loadRegistry();
 * try {
 *   const client = await registry.open("filesystem", { root: ["/media/tv"] });
 *   const result = await ingestSource(db, { client, source: "filesystem-0a1b2c3d", dryRun: true });
 *   for (const c of result.collections) console.log(`${c.collectionName}: ${c.status}`);
 * } finally {
 *   await registry.close();
 * }
 * ```
 */
export async function ingestSource(
  db: DatabaseSync,
  options: SourceIngestOptions,
): Promise<SourceIngestResult> {
  const source = db.prepare("SELECT id, name FROM sources WHERE id = ?").get(options.source) as
    | { id: string; name: string }
    | undefined;
  if (!source) throw new RetrovueError("NOT_FOUND", `no source with id '${options.source}'`);
  const rows = db.prepare(
    `SELECT id, name FROM collections
     WHERE source_id = ? AND sync_enabled = 1 AND ingestible = 1
     ORDER BY name COLLATE NOCASE, name, external_id`,
  ).all(source.id) as unknown as { id: string; name: string }[];
  const collections: SourceCollectionOutcome[] = [];
  for (const row of rows) {
    try {
      collections.push(await ingestCollection(db, { ...options, collection: row.id, filters: {} }));
    } catch (error) {
      const e = toRetrovueError(error);
      if (e.code === "CANCELLED") {
        throw _cancelledAfter(e, { collection: row, before: collections });
      }
      collections.push({
        status: "error",
        collectionId: row.id,
        collectionName: row.name,
        error: { code: e.code, message: e.message },
      });
    }
  }
  const failed = collections.filter((c) => c.status === "error").length;
  const held = collections.filter((c) => c.status === "partial").length;
  const status = failed + held === 0 ? "ok" : failed === collections.length ? "error" : "partial";
  return {
    status,
    sourceId: source.id,
    sourceName: source.name,
    dryRun: options.dryRun ?? false,
    collections,
  };
}

/**
 * A source ingest's cancel during `collection`: each collection ingested
 * before it stays written (each has its own transaction), and the error says
 * which (`details.ingested`), so the operator is not told nothing happened.
 */
function _cancelledAfter(
  error: RetrovueError,
  options: { collection: { id: string; name: string }; before: SourceCollectionOutcome[] },
): RetrovueError {
  const written = options.before.filter((c) => c.status === "ok" && !c.dryRun);
  if (written.length === 0) return error;
  const names = written.map((c) => `'${c.collectionName}'`).join(", ");
  return new RetrovueError(
    "CANCELLED",
    `the ingest was cancelled during collection '${options.collection.name}', which was not ` +
      `written; ${names} had been ingested before it and ${
        written.length === 1 ? "is" : "are"
      } written (see 'ingest history')`,
    {
      cause: error,
      details: {
        ingested: written.map((c) => ({
          collectionId: c.collectionId,
          collectionName: c.collectionName,
        })),
      },
    },
  );
}

function _loadMappings(db: DatabaseSync, collectionId: string): PathMapping[] {
  const rows = db.prepare(
    `SELECT external_prefix, local_prefix FROM path_mappings WHERE collection_id = ?
     ORDER BY external_prefix`,
  ).all(collectionId) as unknown as { external_prefix: string; local_prefix: string }[];
  return rows.map((r) => ({ externalPrefix: r.external_prefix, localPrefix: r.local_prefix }));
}

function _observe(
  raw: unknown,
  filters: AssetFilters,
  levels: { title: number; season: number },
): void {
  if (typeof raw !== "object" || raw === null) return;
  const a = raw as Record<string, unknown>;
  const own = a.kind === "episode" ? a.seriesTitle : a.title;
  if (typeof own !== "string" || filters.title === undefined) return;
  if (normalizeText(own).toLowerCase() !== normalizeText(filters.title).toLowerCase()) return;
  levels.title++;
  if (filters.season !== undefined && a.season === filters.season) levels.season++;
}

function _scopeEmpty(
  collectionName: string,
  filters: AssetFilters,
  levels: { title: number; season: number } | null,
): RetrovueError {
  const title = `'${filters.title}'`;
  let what: string;
  if (filters.season === undefined || (levels && levels.title === 0)) {
    what = `title ${title}`;
  } else if (filters.episode === undefined || (levels && levels.season === 0)) {
    what = `season ${filters.season} of ${title}`;
  } else {
    what = `episode ${filters.episode} of ${title} season ${filters.season}`;
  }
  return new RetrovueError(
    "SCOPE_EMPTY",
    `${what} not found in collection '${collectionName}'; nothing was ingested`,
    { details: { title: filters.title, season: filters.season, episode: filters.episode } },
  );
}

function _streamError(error: unknown, signal: AbortSignal | undefined): RetrovueError {
  // A cancel says what it means for the catalog, whoever noticed it first (the client's words
  // name the call it stopped).
  if (error instanceof RetrovueError && error.code !== "CANCELLED") return error;
  if (signal?.aborted || error instanceof RetrovueError) {
    return new RetrovueError("CANCELLED", "the ingest was cancelled; nothing was written", {
      cause: error,
    });
  }
  return toRetrovueError(error);
}

function _dbError(error: unknown): RetrovueError {
  if (error instanceof RetrovueError) return error;
  if (isBusyError(error)) {
    return new RetrovueError(
      "DB_BUSY",
      "the catalog is locked by another ingest or update; try again when it has finished",
      { retryable: true, cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RetrovueError("DB_ERROR", `the ingest could not be saved: ${message}`, {
    cause: error,
  });
}

function _result(
  c: IngestCollectionRow,
  o: {
    filters: AssetFilters;
    plan: IngestPlan;
    dryRun: boolean;
    lastIngestTime: string | null;
    guard: RemovalGuardVerdict | null;
    notices: IngestNotices;
    runId: number | null;
    plannedChanges: PlannedChange[] | null;
  },
): IngestResult {
  return {
    status: o.guard?.held ? "partial" : "ok",
    scope: scopeOf(o.filters),
    collectionId: c.id,
    collectionName: c.name,
    filters: o.filters,
    dryRun: o.dryRun,
    stats: o.plan.stats,
    errors: o.plan.issues,
    lastIngestTime: o.lastIngestTime,
    removalGuard: o.guard,
    notices: o.notices,
    runId: o.runId,
    plannedChanges: o.plannedChanges,
  };
}
