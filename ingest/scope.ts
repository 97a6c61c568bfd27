/**
 * What an ingest covers and whether it may run: the checks of a targeted
 * scope's filters, the scope they describe, and the collection checks made
 * before an importer starts. Kept apart from the pipeline, and free of its
 * heavier dependencies (validation schemas, hashing), so that a command can
 * refuse bad input, and start the plugin host, before those load.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters, CollectionKind } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import { normalizeText } from "./text.ts";

/** Whether a filter set is empty (a full ingest). */
export function isFullScope(filters: AssetFilters): boolean {
  return filters.title === undefined && filters.season === undefined &&
    filters.episode === undefined;
}

/** How wide an ingest is. */
export type IngestScope = "collection" | "title" | "season" | "episode";

/** A collection's row as an ingest reads it. */
export interface IngestCollectionRow {
  id: string;
  name: string;
  kind: CollectionKind;
  external_id: string;
  sync_enabled: number;
  ingestible: number;
  ingestible_reason: string | null;
  last_ingest_time: string | null;
  max_removal_pct: number | null;
}

/**
 * Checks a targeted scope: `season` needs `title`, `episode` needs `season`,
 * numbers are non-negative integers, a title is not blank. Throws `USAGE`
 * naming the problem.
 *
 * @example A season needs its title
 * ```ts
 * import assert from "node:assert/strict";
 * import { validateFilters } from "./mod.ts";
 *
 * validateFilters({ title: "Alpha", season: 2 });
 * assert.throws(() => validateFilters({ season: 2 }), /--season needs --title/);
 * ```
 */
export function validateFilters(filters: AssetFilters): void {
  if (filters.title !== undefined && normalizeText(filters.title) === "") {
    throw new RetrovueError("USAGE", "--title needs a non-empty title");
  }
  if (filters.season !== undefined && filters.title === undefined) {
    throw new RetrovueError("USAGE", "--season needs --title");
  }
  if (filters.episode !== undefined && filters.season === undefined) {
    throw new RetrovueError("USAGE", "--episode needs --season");
  }
  for (const name of ["season", "episode"] as const) {
    const value = filters[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RetrovueError("USAGE", `--${name} must be a non-negative integer`);
    }
  }
}

/**
 * The scope a set of filters describes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { scopeOf } from "./mod.ts";
 *
 * assert.equal(scopeOf({}), "collection");
 * assert.equal(scopeOf({ title: "Alpha", season: 2 }), "season");
 * ```
 */
export function scopeOf(filters: AssetFilters): IngestScope {
  if (filters.episode !== undefined) return "episode";
  if (filters.season !== undefined) return "season";
  if (filters.title !== undefined) return "title";
  return "collection";
}

/**
 * The checks {@link ingestCollection} makes before it streams anything, for
 * callers that want to fail before starting an importer: filters are valid,
 * the collection exists and is ingestible, and a full ingest needs it
 * sync-enabled. Throws `USAGE`, `NOT_FOUND` or `NOT_INGESTIBLE`.
 *
 * @example Refuse before starting an importer
 * ```ts
 * import assert from "node:assert/strict";
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { checkIngestAllowed } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * assert.throws(() => checkIngestAllowed(db, "c-0123456789"), { code: "NOT_FOUND" });
 * ```
 */
export function checkIngestAllowed(
  db: DatabaseSync,
  collectionId: string,
  filters: AssetFilters = {},
): void {
  ingestTarget(db, collectionId, filters);
}

/** What an ingest of a collection covers, once {@link ingestTarget} has checked it. */
export interface IngestTarget {
  /** The collection's row. */
  collection: IngestCollectionRow;
  /** The filters, with only the keys that are set. */
  filters: AssetFilters;
  /** Whether no filter is set: a full ingest. */
  full: boolean;
}

/**
 * Checks an ingest of collection `collectionId` narrowed by `filters`, as
 * {@link checkIngestAllowed} does, and returns what it covers. The one
 * place those checks are made, before an importer starts and again when the
 * ingest runs.
 */
export function ingestTarget(
  db: DatabaseSync,
  collectionId: string,
  filters: AssetFilters,
): IngestTarget {
  const clean = _cleanFilters(filters);
  validateFilters(clean);
  const full = isFullScope(clean);
  const collection = _loadCollection(db, collectionId);
  _checkIngestible(collection, full);
  return { collection, filters: clean, full };
}

function _cleanFilters(filters: AssetFilters): AssetFilters {
  const out: AssetFilters = {};
  if (filters.title !== undefined) out.title = filters.title;
  if (filters.season !== undefined) out.season = filters.season;
  if (filters.episode !== undefined) out.episode = filters.episode;
  return out;
}

function _loadCollection(db: DatabaseSync, id: string): IngestCollectionRow {
  const row = db.prepare(
    `SELECT id, name, kind, external_id, sync_enabled, ingestible, ingestible_reason,
            last_ingest_time, max_removal_pct
     FROM collections WHERE id = ?`,
  ).get(id) as IngestCollectionRow | undefined;
  if (!row) throw new RetrovueError("NOT_FOUND", `no collection with id '${id}'`);
  return row;
}

function _checkIngestible(c: IngestCollectionRow, full: boolean): void {
  if (!c.ingestible) {
    const why = c.ingestible_reason ? `: ${c.ingestible_reason}` : "";
    throw new RetrovueError("NOT_INGESTIBLE", `collection '${c.name}' is not ingestible${why}`);
  }
  if (full && !c.sync_enabled) {
    throw new RetrovueError(
      "NOT_INGESTIBLE",
      `collection '${c.name}' is not sync-enabled; run 'collection update ${c.id} ` +
        "--sync-enable', or target part of it with --title",
    );
  }
}
