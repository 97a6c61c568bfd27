/**
 * The only step of an ingest that writes: one `BEGIN IMMEDIATE` transaction
 * of set-based statements that copy the run's staging table (`staging.ts`)
 * into the catalog, committed only when every statement succeeded.
 *
 * The plan was computed without any lock, so the transaction first checks
 * that nobody changed the collection's assets in between: cheaply, with
 * `PRAGMA data_version`, and only when that moved, by classifying the stage
 * again and comparing signatures. A collection changed under our feet is a
 * `CONFLICT`, never a silent merge.
 *
 * A new asset's id is derived from its external id (`assetId`); it can only
 * clash with an existing id when an asset re-keyed earlier kept the id a new
 * external id derives, or in a 48-bit collision. Then the insert fails, the
 * transaction is rolled back, the clashing ids are moved aside (`\0n`
 * suffixes, in external id order) and the transaction runs again.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { RetrovueError } from "../core/errors.ts";
import type { AssetFilters } from "../core/contract.ts";
import { classifyStaged, type IngestPlan } from "./diff.ts";
import { recordNewAssets, recordRun } from "./history.ts";
import { assetId } from "./normalize.ts";
import { STAGED_COLUMNS, unseenLiveSql } from "./staging.ts";

/** Options for {@link applyPlan}. */
export interface ApplyOptions {
  /** `PRAGMA data_version` read before the plan was classified. */
  dataVersion: number;
  /** The ingest time written to `first_seen`, `last_seen`, `deleted_at`, `last_ingest_time`. */
  now: string;
  /** The run's scope and filters, recorded in the ingest history (see `history.ts`). */
  run?: { scope: string; filters: AssetFilters };
}

/** Reads `PRAGMA data_version`: it moves whenever another connection commits. */
export function dataVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA data_version").get() as { data_version: number };
  return Number(row.data_version);
}

/**
 * Applies a plan atomically, records it in the ingest history and sets the
 * collection's `last_ingest_time`; returns the run's id in the history.
 * Throws `DB_BUSY` when another writer holds the lock past the busy timeout,
 * `NOT_FOUND` when the collection was removed meanwhile, `CONFLICT` when its
 * assets changed meanwhile; the database is then untouched.
 */
export function applyPlan(db: DatabaseSync, plan: IngestPlan, options: ApplyOptions): number {
  // Registering again replaces it: one function per connection, however many runs.
  db.function(
    _ID_FUNCTION,
    { deterministic: true },
    (collectionId, externalId) => assetId(String(collectionId), String(externalId)),
  );
  const cache = _widenCache(db);
  try {
    return _applyOnce(db, plan, options);
  } catch (error) {
    if (!_isIdClash(error)) throw error;
    _moveClashingIds(db, plan);
    return _applyOnce(db, plan, options);
  } finally {
    cache.restore();
  }
}

/**
 * The catalog's page cache during the apply, in KiB. SQLite's default
 * (2 MiB) is far smaller than the indexes a large ingest inserts into in no
 * particular order (asset ids are hashes): at 1M assets the insert took
 * ~1.5x as long as with this cache (`bench/scale_bench.ts`). The memory is
 * taken only while the apply runs, when the importer's plugin host has
 * already gone (see `onListed` in `pipeline.ts`), and given back after.
 */
export const APPLY_CACHE_KIB = 16 * 1024;

/** Raises the catalog's page cache to {@link APPLY_CACHE_KIB} unless it is larger already. */
function _widenCache(db: DatabaseSync): { restore(): void } {
  const before = _pragma(db, "cache_size");
  // Negative sizes are KiB, positive ones pages.
  const kib = before < 0 ? -before : (before * _pragma(db, "page_size")) / 1024;
  if (kib >= APPLY_CACHE_KIB) return { restore() {} };
  db.exec(`PRAGMA main.cache_size = -${APPLY_CACHE_KIB}`);
  return {
    restore() {
      db.exec(`PRAGMA main.cache_size = ${before}`);
    },
  };
}

/** The SQL function that derives a new asset's id (see `assetId`). */
const _ID_FUNCTION = "rv_asset_id";

function _applyOnce(db: DatabaseSync, plan: IngestPlan, options: ApplyOptions): number {
  _begin(db);
  let done = false;
  try {
    _checkUnchanged(db, plan, options);
    const run = recordRun(db, plan, {
      now: options.now,
      scope: options.run?.scope ?? (plan.full ? "collection" : "title"),
      filters: options.run?.filters ?? {},
    });
    // New rows get rowids above every existing one: that is how the history finds them.
    const lastRowid = plan.stats.new > 0 ? _lastRowid(db) : 0;
    _write(db, plan, options.now);
    if (plan.stats.new > 0) {
      recordNewAssets(db, run, { afterRowid: lastRowid, added: plan.stats.new });
    }
    const changed = db.prepare("UPDATE collections SET last_ingest_time = ? WHERE id = ?")
      .run(options.now, plan.collectionId);
    if (Number(changed.changes) !== 1) {
      throw new RetrovueError("NOT_FOUND", "the collection was removed while it was ingested");
    }
    db.exec("COMMIT");
    done = true;
    return run;
  } finally {
    if (!done) _rollback(db);
  }
}

/** The largest rowid of the catalog's assets (0 when it has none). */
function _lastRowid(db: DatabaseSync): number {
  const row = db.prepare("SELECT coalesce(max(rowid), 0) AS n FROM main.assets").get() as {
    n: number;
  };
  return Number(row.n);
}

/** The statements, in an order where each sees the previous ones' rows. */
function _write(db: DatabaseSync, plan: IngestPlan, now: string): void {
  const stage = plan.stage.table;
  const c = plan.collectionId;
  const set = STAGED_COLUMNS.filter((col) => col !== "tech").map((col) => `${col} = s.${col}`)
    .join(", ") + `, ${_SERVER_TECH_SET}`;
  const s = STAGED_COLUMNS.map((col) => `s.${col}`).join(", ");
  const st = plan.stats;
  if (st.changed + st.restored + plan.quiet > 0) {
    // Changed and restored rows, and rows whose marker only gained file ids
    // (stored quietly: their state stays). The file changed: back to `new`.
    db.prepare(
      `UPDATE main.assets SET ${set},
         state = CASE WHEN assets.file_fingerprint != s.file_fingerprint
           AND (assets.deleted_at IS NOT NULL OR s.quiet_fingerprint IS NULL
                OR s.quiet_fingerprint != assets.fingerprint)
           THEN 'new' ELSE assets.state END,
         last_seen = ?, seen_held = 0, updated_at = ?, deleted_at = NULL
       FROM ${stage} s
       WHERE ${_staged(stage, "AND (a.fingerprint != x.fingerprint OR a.deleted_at IS NOT NULL)")}
         AND s.external_id = assets.external_id`,
    ).run(now, now, now, c);
  }
  if (st.rekeyed > 0) {
    // The new external ids were unknown in this collection (else no rekey), so no clash.
    db.prepare(
      `UPDATE main.assets SET external_id = s.external_id, ${set},
         state = CASE WHEN assets.path IS NOT s.path OR assets.parts != s.parts
           OR assets.size IS NOT s.size THEN 'new' ELSE assets.state END,
         last_seen = ?, seen_held = 0, updated_at = ?, deleted_at = NULL
       FROM ${stage} s WHERE s.rekey_id = assets.id`,
    ).run(now, now, now);
  }
  if (st.new > 0) {
    // A staged row with no catalog row under its external id is new. When no
    // staged row had one (a first import), none is looked up: at 1M assets
    // the lookups were ~1.2 s of the insert's ~10 s. The counts hold here, or
    // `_checkUnchanged` has thrown CONFLICT: a catalog row that appeared
    // meanwhile changes them.
    const known = st.unchanged + st.changed + st.restored > 0
      ? `AND NOT EXISTS (
         SELECT 1 FROM main.assets a INDEXED BY assets_external
         WHERE a.collection_id = ? AND a.external_id = s.external_id)`
      : "";
    db.prepare(
      `INSERT INTO main.assets (id, collection_id, external_id, ${STAGED_COLUMNS.join(", ")},
         tech_source, enriched_file_fingerprint, enriched_at,
         state, first_seen, last_seen, updated_at, deleted_at)
       SELECT coalesce(s.new_id, ${_ID_FUNCTION}(?, s.external_id)), ?, s.external_id, ${s},
         iif(s.tech IS NULL, NULL, 'server'),
         iif(${_SERVER_COMPLETE}, s.file_fingerprint, NULL),
         iif(s.tech IS NULL, NULL, ?),
         'new', ?, ?, ?, NULL
       FROM ${stage} s
       WHERE s.rekey_id IS NULL ${known}
       ORDER BY s.external_id`,
    ).run(c, c, now, now, now, now, ...(known ? [c] : []));
  }
  if (plan.full) {
    // When assets were last seen is stored lazily (see `lastSeenSql`): the
    // collection's stamp stands for every live asset this run saw. Rows that
    // stop following it get the stamp copied in first, so their time stays
    // exact: removed ones, and those named only by invalid items (kept, but
    // not seen: held). Every other live row was seen; held ones are let go.
    const stamp = _seenAt(db, c);
    const exact = "last_seen = CASE WHEN seen_held = 0 AND ? > last_seen THEN ? ELSE last_seen END";
    if (st.removed > 0) {
      db.prepare(
        `UPDATE main.assets INDEXED BY assets_external SET ${exact}, deleted_at = ?, updated_at = ?
         WHERE ${unseenLiveSql(plan.stage, "assets")}`,
      ).run(stamp, stamp, now, now, c);
    }
    db.prepare(
      `UPDATE main.assets SET ${exact}, seen_held = 1
       WHERE rowid IN (SELECT a.rowid FROM ${plan.stage.invalid} i
         CROSS JOIN main.assets a INDEXED BY assets_external
         WHERE a.collection_id = ? AND a.external_id = i.external_id
           AND a.deleted_at IS NULL AND a.seen_held = 0)`,
    ).run(stamp, stamp, c);
    db.prepare(
      `UPDATE main.assets INDEXED BY assets_held SET seen_held = 0, last_seen = ?
       WHERE collection_id = ? AND seen_held = 1 AND deleted_at IS NULL AND NOT EXISTS (
         SELECT 1 FROM ${plan.stage.invalid} i WHERE i.external_id = assets.external_id)`,
    ).run(now, c);
    db.prepare("UPDATE collections SET seen_at = ? WHERE id = ?").run(now, c);
  } else if (plan.inScope > 0) {
    db.prepare(`UPDATE main.assets SET last_seen = ?, seen_held = 0 WHERE ${_staged(stage, "")}`)
      .run(now, c);
  }
}

/** The collection's seen stamp (see `lastSeenSql`), or null before its first full ingest. */
function _seenAt(db: DatabaseSync, collectionId: string): string | null {
  const row = db.prepare("SELECT seen_at FROM collections WHERE id = ?").get(collectionId) as
    | { seen_at: string | null }
    | undefined;
  return row?.seen_at ?? null;
}

/**
 * Whether the importer reported technical fields and a duration: such an
 * asset needs no enricher, so it counts as enriched for its current file.
 */
const _SERVER_COMPLETE = "s.tech IS NOT NULL AND s.duration_ms > 0";

/**
 * Whether the staged `tech` replaces the stored one: the importer reported
 * some, and the stored result is not an enricher's for this very file (a
 * probe of the current file knows more than a listing and is kept).
 */
const _SERVER_TAKES = `s.tech IS NOT NULL AND (assets.tech_source IS NULL
  OR assets.tech_source = 'server' OR assets.enriched_file_fingerprint IS NOT s.file_fingerprint)`;

/** Stored technical fields that came from the importer, which stopped reporting them. */
const _SERVER_GONE = "s.tech IS NULL AND assets.tech_source = 'server'";

/**
 * The enrichment columns an update writes (its first `?` is the ingest
 * time). Only server-reported technical fields are touched: taken when
 * {@link _SERVER_TAKES}, cleared (the asset needs enrichment again) when
 * {@link _SERVER_GONE}; an enricher's own results are otherwise left alone,
 * as the ingest must never wipe them.
 */
const _SERVER_TECH_SET = `
  tech = CASE WHEN ${_SERVER_TAKES} THEN s.tech WHEN ${_SERVER_GONE} THEN NULL ELSE assets.tech END,
  tech_source = CASE WHEN ${_SERVER_TAKES} THEN 'server' WHEN ${_SERVER_GONE} THEN NULL
    ELSE assets.tech_source END,
  enriched_file_fingerprint = CASE
    WHEN ${_SERVER_TAKES} AND ${_SERVER_COMPLETE} THEN s.file_fingerprint
    WHEN ${_SERVER_TAKES} OR ${_SERVER_GONE} THEN NULL
    ELSE assets.enriched_file_fingerprint END,
  enrichment_error = CASE WHEN ${_SERVER_TAKES} AND ${_SERVER_COMPLETE} THEN NULL
    ELSE assets.enrichment_error END,
  enriched_at = CASE WHEN ${_SERVER_TAKES} THEN ? WHEN ${_SERVER_GONE} THEN NULL
    ELSE assets.enriched_at END`;

/**
 * The condition "this catalog row is a staged asset's (and `extra` holds)",
 * written so that SQLite walks the stage and looks each asset up by external
 * id: without table statistics it would rather scan the whole collection and
 * probe the stage, which makes a one-season ingest cost as much as the
 * collection is large. `x` is the staged row, `a` the catalog row; the one
 * `?` is the collection id.
 */
function _staged(stage: string, extra: string): string {
  return `assets.rowid IN (
    SELECT a.rowid FROM ${stage} x CROSS JOIN main.assets a INDEXED BY assets_external
    WHERE a.collection_id = ? AND a.external_id = x.external_id ${extra})`;
}

function _checkUnchanged(db: DatabaseSync, plan: IngestPlan, options: ApplyOptions): void {
  if (dataVersion(db) === options.dataVersion) return;
  const exists = db.prepare("SELECT 1 FROM collections WHERE id = ?").get(plan.collectionId);
  if (!exists) {
    throw new RetrovueError("NOT_FOUND", "the collection was removed while it was ingested");
  }
  const now = classifyStaged(db, plan.stage, {
    collectionId: plan.collectionId,
    full: plan.full,
  });
  if (now.signature !== plan.signature) {
    throw new RetrovueError(
      "CONFLICT",
      "the collection's assets were changed by another ingest while this one ran; run it again",
      { retryable: true },
    );
  }
}

/** A numeric pragma of the catalog (`main`). */
function _pragma(db: DatabaseSync, name: "cache_size" | "page_size"): number {
  const row = db.prepare(`PRAGMA main.${name}`).get() as Record<string, number>;
  return Number(row[name]);
}

/** Whether an insert failed because a derived id is taken. */
function _isIdClash(error: unknown): boolean {
  const message = error instanceof Error ? error.message : "";
  return /UNIQUE constraint failed: assets\.id/.test(message);
}

/**
 * Gives every new staged asset whose derived id is taken (by a catalog row
 * or by an earlier new asset) the first free `\0n` variant, in external id
 * order, as the ingest always did.
 */
function _moveClashingIds(db: DatabaseSync, plan: IngestPlan): void {
  const taken = db.prepare("SELECT 1 FROM main.assets WHERE id = ?");
  const setId = db.prepare(`UPDATE ${plan.stage.table} SET new_id = ? WHERE seq = ?`);
  const rows = db.prepare(
    `SELECT s.seq, s.external_id FROM ${plan.stage.table} s
     WHERE s.rekey_id IS NULL AND NOT EXISTS (
       SELECT 1 FROM main.assets a INDEXED BY assets_external
       WHERE a.collection_id = ? AND a.external_id = s.external_id)
     ORDER BY s.external_id`,
  );
  const used = new Set<string>();
  for (const r of rows.iterate(plan.collectionId) as Iterable<Record<string, unknown>>) {
    const externalId = String(r.external_id);
    let id = assetId(plan.collectionId, externalId);
    for (let n = 1; used.has(id) || taken.get(id); n++) {
      id = assetId(plan.collectionId, `${externalId}\0${n}`);
    }
    used.add(id);
    setId.run(id, Number(r.seq));
  }
}

function _begin(db: DatabaseSync): void {
  try {
    db.exec("BEGIN IMMEDIATE");
  } catch (error) {
    if (isBusyError(error)) {
      throw new RetrovueError(
        "DB_BUSY",
        "the catalog is locked by another ingest or update; try again when it has finished",
        { retryable: true, cause: error },
      );
    }
    throw new RetrovueError("DB_ERROR", `cannot start the ingest transaction: ${_msg(error)}`, {
      cause: error,
    });
  }
}

function _rollback(db: DatabaseSync): void {
  try {
    if (db.isTransaction) db.exec("ROLLBACK");
  } catch {
    // The transaction is already gone (SQLite rolls back on some errors).
  }
}

/** Whether an error from node:sqlite means "database is locked/busy". */
export function isBusyError(error: unknown): boolean {
  const e = error as { errcode?: number; message?: string } | null;
  if (!e) return false;
  const primary = typeof e.errcode === "number" ? e.errcode & 0xff : undefined;
  return primary === 5 || primary === 6 || /database is (locked|busy)/i.test(e.message ?? "");
}

function _msg(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
