/**
 * Ingest history: every applied run of a collection, and which assets it
 * added, changed, removed, restored or re-keyed, so that "30 removed" can be
 * followed by the list of those 30 (`ingest history`, `asset list
 * --changed-in`).
 *
 * The apply step records a run inside its own transaction, before it writes
 * (the kind of change depends on the state before the run), with set-based
 * statements over the run's stage; its new assets, once inserted, by their
 * rows ({@link recordNewAssets}), so that no id is derived twice. Unchanged
 * assets are not recorded. Each collection keeps its last
 * {@link HISTORY_RUNS} runs; older ones are pruned with their changes.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import type { IngestPlan, IngestStats } from "./diff.ts";
import { unseenLiveSql } from "./staging.ts";

/** How many runs per collection the history keeps. */
export const HISTORY_RUNS = 50;

/** What a run did to one asset. */
export type AssetChange = "new" | "changed" | "removed" | "restored" | "rekeyed";

/** The kinds of {@link AssetChange}, in display order. */
export const ASSET_CHANGES: readonly AssetChange[] = [
  "new",
  "changed",
  "removed",
  "restored",
  "rekeyed",
];

/** One recorded run. */
export interface IngestRun {
  /** The run's number (grows with every run of any collection). */
  id: number;
  /** The collection ingested. */
  collectionId: string;
  /** Its name now. */
  collectionName: string;
  /** When the run was applied. */
  finishedAt: string;
  /** `collection`, `title`, `season` or `episode`. */
  scope: string;
  /** The filters of a targeted run. */
  filters: AssetFilters;
  /** The run's counts. */
  stats: IngestStats;
}

/** Options for {@link recordRun}. */
export interface RecordRunOptions {
  /** The apply time. */
  now: string;
  /** The run's scope. */
  scope: string;
  /** Its filters. */
  filters: AssetFilters;
}

/**
 * Records a run and its changes to existing assets; call inside the apply
 * transaction, before anything is written, and {@link recordNewAssets} once
 * the new ones are inserted. Returns the run's id.
 */
export function recordRun(db: DatabaseSync, plan: IngestPlan, options: RecordRunOptions): number {
  const c = plan.collectionId;
  const run = Number(
    db.prepare(
      `INSERT INTO ingest_runs (collection_id, finished_at, scope, filters, stats)
       VALUES (?, ?, ?, ?, ?)`,
    ).run(
      c,
      options.now,
      options.scope,
      JSON.stringify(options.filters),
      JSON.stringify(plan.stats),
    )
      .lastInsertRowid,
  );
  for (const part of _changeParts(plan, { withNew: false })) {
    db.prepare(
      `INSERT INTO ingest_changes (run_id, asset_id, change)
       SELECT ?, asset_id, change FROM (${part.sql}) ORDER BY asset_id`,
    ).run(run, ...part.args);
  }
  db.prepare(
    `DELETE FROM ingest_runs WHERE collection_id = ? AND id NOT IN (
       SELECT id FROM ingest_runs WHERE collection_id = ? ORDER BY id DESC LIMIT ?)`,
  ).run(c, c, HISTORY_RUNS);
  return run;
}

/**
 * Records run `runId`'s new assets: the `options.added` rows inserted after
 * the one with rowid `options.afterRowid` (SQLite gives a new row a rowid
 * above every existing one). Call in the apply transaction, after its
 * insert: that transaction is the only writer, and the only rows it inserts
 * are its collection's new assets. Reading the ids back is cheaper than
 * deriving them again, and a first import records every asset it adds.
 */
export function recordNewAssets(
  db: DatabaseSync,
  runId: number,
  options: { afterRowid: number; added: number },
): void {
  // A few new rows are read by rowid and their ids sorted. When they are a
  // large share of the catalog, the ids' own index is walked instead: it
  // holds each rowid in id order, so no asset row is read and nothing is
  // sorted (1M new assets: ~2.3 s -> ~1.4 s), but it costs a walk of every
  // asset's id (~45 ms at 1M, against ~0.1 ms for 10 new rows by rowid).
  const byIndex = options.added * _INDEX_SHARE >= options.afterRowid + options.added;
  db.prepare(
    `INSERT INTO ingest_changes (run_id, asset_id, change)
     SELECT ?, id, 'new' FROM main.assets ${
      byIndex ? `INDEXED BY ${_ASSET_ID_INDEX}` : "NOT INDEXED"
    } WHERE rowid > ?
     ORDER BY id`,
  ).run(runId, options.afterRowid);
}

/**
 * New rows are read through the id index when they are at least 1 in this
 * many of all rows (both ways cost about the same at 100k new in 1M).
 */
const _INDEX_SHARE = 10;

/** The index SQLite keeps for `assets.id`, the table's primary key. */
const _ASSET_ID_INDEX = "sqlite_autoindex_assets_1";

/** Options for {@link listRuns}. */
export interface ListRunsOptions {
  /** Only this collection's runs. */
  collectionId?: string;
  /** Only the runs of this source's collections. */
  sourceId?: string;
  /** Only the run with this id. */
  id?: number;
  /** The most runs to list, newest first (default 20). */
  limit?: number;
}

/**
 * The recorded runs, newest first.
 *
 * @example The last five runs of one collection
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { listRuns } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * for (const run of listRuns(db, { collectionId: "c-0123456789", limit: 5 })) {
 *   console.log(`run ${run.id} (${run.scope}): ${run.stats.new} new, ${run.stats.removed} gone`);
 * }
 * ```
 */
export function listRuns(db: DatabaseSync, options: ListRunsOptions = {}): IngestRun[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (options.collectionId !== undefined) {
    where.push("r.collection_id = ?");
    args.push(options.collectionId);
  }
  if (options.sourceId !== undefined) {
    where.push("c.source_id = ?");
    args.push(options.sourceId);
  }
  if (options.id !== undefined) {
    where.push("r.id = ?");
    args.push(options.id);
  }
  const rows = db.prepare(
    `SELECT r.id, r.collection_id, c.name, r.finished_at, r.scope, r.filters, r.stats
     FROM ingest_runs r JOIN collections c ON c.id = r.collection_id
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY r.id DESC LIMIT ?`,
  ).all(...args, options.limit ?? 20);
  return rows.map((r) => ({
    id: Number(r.id),
    collectionId: String(r.collection_id),
    collectionName: String(r.name),
    finishedAt: String(r.finished_at),
    scope: String(r.scope),
    filters: JSON.parse(String(r.filters)) as AssetFilters,
    stats: JSON.parse(String(r.stats)) as IngestStats,
  }));
}

/**
 * The run `spec` names: `last` (the newest run, of `options.collectionId`
 * when given) or a run number. Throws `USAGE` for anything else and `NOT_FOUND` when no
 * such run is recorded.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { resolveRun } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * assert.throws(() => resolveRun(db, "yesterday"), { code: "USAGE" });
 * assert.throws(() => resolveRun(db, "last"), { code: "NOT_FOUND" }); // nothing ingested yet
 * ```
 */
export function resolveRun(
  db: DatabaseSync,
  spec: string,
  options: { collectionId?: string } = {},
): IngestRun {
  const { collectionId } = options;
  if (spec !== "last" && !/^[1-9]\d{0,15}$/.test(spec)) {
    throw new RetrovueError("USAGE", `--changed-in takes 'last' or a run number, not '${spec}'`);
  }
  if (spec === "last") {
    const [run] = listRuns(db, { collectionId, limit: 1 });
    if (!run) {
      throw new RetrovueError(
        "NOT_FOUND",
        collectionId === undefined
          ? "no ingest has been recorded yet"
          : "no ingest of this collection has been recorded yet",
      );
    }
    return run;
  }
  const [found] = listRuns(db, { collectionId, id: Number(spec), limit: 1 });
  if (!found) {
    throw new RetrovueError(
      "NOT_FOUND",
      `no ingest run ${spec}${collectionId === undefined ? "" : " of this collection"} ` +
        `is recorded (each collection keeps its last ${HISTORY_RUNS}); see 'ingest history'`,
    );
  }
  return found;
}

/**
 * What run `runId` did to each of `options.assetIds` (those it did not touch are absent).
 *
 * @example Mark what the last run did to a page of assets
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { assetLabel, changesOf, listAssets, resolveRun } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const run = resolveRun(db, "last", { collectionId: "c-0123456789" });
 * const { assets } = listAssets(db, { collectionId: "c-0123456789", limit: 20 });
 * const changes = changesOf(db, run.id, { assetIds: assets.map((a) => a.id) });
 * for (const a of assets) console.log(`${assetLabel(a)}: ${changes.get(a.id) ?? "unchanged"}`);
 * ```
 */
export function changesOf(
  db: DatabaseSync,
  runId: number,
  options: { assetIds: readonly string[] },
): Map<string, AssetChange> {
  const { assetIds } = options;
  const rows = db.prepare(
    `SELECT asset_id, change FROM ingest_changes
     WHERE run_id = ? AND asset_id IN (SELECT value FROM json_each(?))`,
  ).all(runId, JSON.stringify(assetIds));
  return new Map(rows.map((r) => [String(r.asset_id), String(r.change) as AssetChange]));
}

/**
 * How many assets each kind of change touched in run `runId`.
 *
 * @example
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { changeCounts, resolveRun } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const counts = changeCounts(db, resolveRun(db, "last").id);
 * console.log(`${counts.new} new, ${counts.rekeyed} re-keyed, ${counts.removed} removed`);
 * ```
 */
export function changeCounts(db: DatabaseSync, runId: number): Record<AssetChange, number> {
  const out = Object.fromEntries(ASSET_CHANGES.map((c) => [c, 0])) as Record<AssetChange, number>;
  const rows = db.prepare(
    "SELECT change, count(*) AS n FROM ingest_changes WHERE run_id = ? GROUP BY change",
  ).all(runId);
  for (const r of rows) out[String(r.change) as AssetChange] = Number(r.n);
  return out;
}

/** One change a dry run would make (see {@link plannedChanges}). */
export interface PlannedChange {
  /** What would happen. */
  change: AssetChange;
  /** The external id it concerns (for a re-keyed asset: its new one). */
  externalId: string;
  /** The existing asset's id, or null for a new one. */
  assetId: string | null;
}

/**
 * The changes a classified plan would make, in external id order per kind,
 * at most `options.limit` in all: what `collection ingest --dry-run --verbose` lists.
 * Reads the stage and the catalog; writes nothing.
 */
export function plannedChanges(
  db: DatabaseSync,
  plan: IngestPlan,
  options: { limit: number },
): PlannedChange[] {
  const { limit } = options;
  const out: PlannedChange[] = [];
  for (const part of _changeParts(plan, { withNew: true })) {
    if (out.length >= limit) break;
    const rows = db.prepare(
      `SELECT change, external_id, asset_id FROM (${part.sql}) ORDER BY external_id LIMIT ?`,
    ).all(...part.args, limit - out.length);
    for (const r of rows) {
      out.push({
        change: String(r.change) as AssetChange,
        externalId: String(r.external_id),
        assetId: r.asset_id === null ? null : String(r.asset_id),
      });
    }
  }
  return out;
}

/**
 * The changes a plan makes, one query per kind that occurs (new, changed and
 * restored, removed, rekeyed), each selecting `change`, `external_id` and
 * `asset_id` from the stage and the catalog as they are before the apply:
 * what {@link recordRun} records and {@link plannedChanges} lists, so the
 * two cannot disagree. New assets (`withNew`) have no id yet (null): the
 * apply records them once inserted ({@link recordNewAssets}).
 */
function _changeParts(
  plan: IngestPlan,
  options: { withNew: boolean },
): { sql: string; args: string[] }[] {
  const c = plan.collectionId;
  const stage = plan.stage.table;
  const st = plan.stats;
  const parts: { sql: string; args: string[] }[] = [];
  if (st.new > 0 && options.withNew) {
    parts.push({
      sql: `SELECT 'new' AS change, s.external_id AS external_id, NULL AS asset_id
            FROM ${stage} s
            WHERE s.rekey_id IS NULL AND NOT EXISTS (
              SELECT 1 FROM main.assets a INDEXED BY assets_external
              WHERE a.collection_id = ? AND a.external_id = s.external_id)`,
      args: [c],
    });
  }
  if (st.changed + st.restored > 0) {
    // A marker that only gained file ids is unchanged.
    parts.push({
      sql: `SELECT iif(a.deleted_at IS NULL, 'changed', 'restored') AS change,
              x.external_id AS external_id, a.id AS asset_id
            FROM ${stage} x CROSS JOIN main.assets a INDEXED BY assets_external
            WHERE a.collection_id = ? AND a.external_id = x.external_id
              AND (a.deleted_at IS NOT NULL OR (a.fingerprint != x.fingerprint
                   AND (x.quiet_fingerprint IS NULL OR x.quiet_fingerprint != a.fingerprint)))`,
      args: [c],
    });
  }
  if (plan.full && st.removed > 0) {
    parts.push({
      sql: `SELECT 'removed' AS change, a.external_id AS external_id, a.id AS asset_id
            FROM main.assets a INDEXED BY assets_external WHERE ${unseenLiveSql(plan.stage, "a")}`,
      args: [c],
    });
  }
  if (st.rekeyed > 0) {
    parts.push({
      sql: `SELECT 'rekeyed' AS change, s.external_id AS external_id, s.rekey_id AS asset_id
            FROM ${stage} s WHERE s.rekey_id IS NOT NULL`,
      args: [],
    });
  }
  return parts;
}
