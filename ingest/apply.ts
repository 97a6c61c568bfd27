/**
 * The only step of an ingest that writes: one `BEGIN IMMEDIATE` transaction
 * with prepared statements, committed only when every statement succeeded.
 *
 * The plan was computed without any lock, so the transaction first checks
 * that nobody changed the collection's assets in between (cheaply, with
 * `PRAGMA data_version`, and only when that moved, by reloading and
 * comparing). A collection changed under our feet is a `CONFLICT`, never a
 * silent merge.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import { RetrovueError } from "../core/errors.ts";
import { type IngestPlan, loadExistingAssets, sameExisting } from "./diff.ts";
import type { ExistingAssets } from "./diff.ts";
import type { NormalizedAsset } from "./normalize.ts";

/** Options for {@link applyPlan}. */
export interface ApplyOptions {
  /** The collection ingested. */
  collectionId: string;
  /** The catalog state the plan was computed against. */
  existing: ExistingAssets;
  /** `PRAGMA data_version` read just before `existing` was loaded. */
  dataVersion: number;
  /** The ingest time written to `first_seen`, `last_seen`, `deleted_at`, `last_ingest_time`. */
  now: string;
}

/** Reads `PRAGMA data_version`: it moves whenever another connection commits. */
export function dataVersion(db: DatabaseSync): number {
  const row = db.prepare("PRAGMA data_version").get() as { data_version: number };
  return Number(row.data_version);
}

/**
 * Applies a plan atomically and sets the collection's `last_ingest_time`.
 * Throws `DB_BUSY` when another writer holds the lock past the busy timeout,
 * `NOT_FOUND` when the collection was removed meanwhile, `CONFLICT` when its
 * assets changed meanwhile; the database is then untouched.
 */
export function applyPlan(db: DatabaseSync, plan: IngestPlan, options: ApplyOptions): void {
  _begin(db);
  let done = false;
  try {
    _checkUnchanged(db, options);
    const now = options.now;
    if (plan.inserts.length) {
      const insert = db.prepare(
        `INSERT INTO assets (id, collection_id, external_id, kind, title, series_title, season,
          episode, episode_end, year, air_date, duration_ms, external_ids, path, parts, local_path,
          size, modified, fingerprint, file_fingerprint, state, first_seen, last_seen, updated_at,
          deleted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, NULL)`,
      );
      for (const { id, asset: a } of plan.inserts) {
        insert.run(id, options.collectionId, a.externalId, ..._fields(a), now, now, now);
      }
    }
    if (plan.updates.length) {
      const update = db.prepare(
        `UPDATE assets SET kind = ?, title = ?, series_title = ?, season = ?, episode = ?,
          episode_end = ?, year = ?, air_date = ?, duration_ms = ?, external_ids = ?, path = ?,
          parts = ?, local_path = ?, size = ?, modified = ?, fingerprint = ?,
          file_fingerprint = ?, state = CASE WHEN ? THEN 'new' ELSE state END,
          last_seen = ?, updated_at = ?, deleted_at = NULL
         WHERE id = ?`,
      );
      for (const u of plan.updates) {
        update.run(..._fields(u.asset), u.fileChanged ? 1 : 0, now, now, u.id);
      }
    }
    if (plan.rekeys.length) {
      // The new external ids were unknown in this collection (else no rekey), so no clash.
      const rekey = db.prepare(
        `UPDATE assets SET external_id = ?, kind = ?, title = ?, series_title = ?, season = ?,
          episode = ?, episode_end = ?, year = ?, air_date = ?, duration_ms = ?, external_ids = ?,
          path = ?, parts = ?, local_path = ?, size = ?, modified = ?, fingerprint = ?,
          file_fingerprint = ?, state = CASE WHEN ? THEN 'new' ELSE state END,
          last_seen = ?, updated_at = ?, deleted_at = NULL
         WHERE id = ?`,
      );
      for (const r of plan.rekeys) {
        rekey.run(r.asset.externalId, ..._fields(r.asset), r.fileChanged ? 1 : 0, now, now, r.id);
      }
    }
    if (plan.removals.length) {
      const remove = db.prepare("UPDATE assets SET deleted_at = ?, updated_at = ? WHERE id = ?");
      for (const id of plan.removals) remove.run(now, now, id);
    }
    _touch(db, plan, options);
    const changed = db.prepare("UPDATE collections SET last_ingest_time = ? WHERE id = ?")
      .run(now, options.collectionId);
    if (Number(changed.changes) !== 1) {
      throw new RetrovueError("NOT_FOUND", "the collection was removed while it was ingested");
    }
    db.exec("COMMIT");
    done = true;
  } finally {
    if (!done) _rollback(db);
  }
}

function _touch(db: DatabaseSync, plan: IngestPlan, options: ApplyOptions): void {
  if (plan.full) {
    // Every live asset of the collection was seen (the rest were just removed).
    if (plan.stats.unchanged > 0) {
      db.prepare(
        `UPDATE assets INDEXED BY assets_external SET last_seen = ?
         WHERE collection_id = ? AND deleted_at IS NULL
           AND id NOT IN (SELECT value FROM json_each(?))`,
      ).run(options.now, options.collectionId, JSON.stringify(plan.kept));
    }
    return;
  }
  if (plan.touches.length === 0) return;
  const touch: StatementSync = db.prepare("UPDATE assets SET last_seen = ? WHERE id = ?");
  for (const id of plan.touches) touch.run(options.now, id);
}

function _fields(a: NormalizedAsset): (string | number | null)[] {
  return [
    a.kind,
    a.title,
    a.seriesTitle,
    a.season,
    a.episode,
    a.episodeEnd,
    a.year,
    a.airDate,
    a.durationMs,
    a.externalIds,
    a.path,
    a.parts,
    a.localPath,
    a.size,
    a.modified,
    a.fingerprint,
    a.fileFingerprint,
  ];
}

function _checkUnchanged(db: DatabaseSync, options: ApplyOptions): void {
  if (dataVersion(db) === options.dataVersion) return;
  const exists = db.prepare("SELECT 1 FROM collections WHERE id = ?").get(options.collectionId);
  if (!exists) {
    throw new RetrovueError("NOT_FOUND", "the collection was removed while it was ingested");
  }
  if (!sameExisting(options.existing, loadExistingAssets(db, options.collectionId))) {
    throw new RetrovueError(
      "CONFLICT",
      "the collection's assets were changed by another ingest while this one ran; run it again",
      { retryable: true },
    );
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
