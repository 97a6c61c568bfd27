/**
 * DDL for the asset catalog, part of schema version 1 (see `db.ts`).
 *
 * Assets are keyed by (collection, the importer's stable external id) and are
 * never hard-deleted by ingest: a removed asset gets `deleted_at`.
 *
 * @module
 */

/**
 * Statements creating the `assets` table and its indexes.
 *
 * `assets_external` enforces one asset per (collection, external id); the
 * ingest reads and touches a collection through it by name, so its scans
 * follow insertion order (the ingest inserts in external id order).
 */
export const ASSETS_DDL = `
CREATE TABLE assets (
  id              TEXT PRIMARY KEY,            -- 'a-' + 12 hex, stable
  collection_id   TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  external_id     TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('movie', 'episode')),
  title           TEXT NOT NULL,
  series_title    TEXT,
  season          INTEGER,
  episode         INTEGER,
  episode_end     INTEGER,
  year            INTEGER,
  air_date        TEXT,
  duration_ms     INTEGER,
  external_ids    TEXT NOT NULL DEFAULT '{}',  -- JSON object
  path            TEXT,                        -- upstream path
  parts           TEXT NOT NULL DEFAULT '[]',  -- JSON array of upstream paths
  local_path      TEXT,                        -- via the collection's path mappings
  size            INTEGER,
  modified        TEXT,                        -- upstream change marker
  fingerprint     TEXT NOT NULL,
  file_fingerprint TEXT NOT NULL,
  state           TEXT NOT NULL DEFAULT 'new',
  first_seen      TEXT NOT NULL,
  last_seen       TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  deleted_at      TEXT
);
-- The ingest names this index (INDEXED BY) to read a collection in external id order.
CREATE UNIQUE INDEX assets_external ON assets (collection_id, external_id);
CREATE INDEX assets_series ON assets (collection_id, series_title COLLATE NOCASE, season, episode);
CREATE INDEX assets_title ON assets (collection_id, title COLLATE NOCASE);
`;

/**
 * When an asset was last seen, as an SQL expression over an `assets` row
 * (`asset`, its alias) and its collection's row (`collection`).
 *
 * Stored lazily, so that an unchanged re-ingest writes nothing per asset: a
 * full ingest stamps only its collection (`collections.seen_at`), which
 * stands for every live asset it saw. An asset's own `last_seen` holds the
 * time it was written or last seen by a targeted ingest; it is made exact
 * (the stamp copied in) before the asset stops following the stamp: when it
 * is removed, or held (`seen_held`) because the ingest named it only by
 * invalid items, whose stored asset is kept but was not seen.
 */
export function lastSeenSql(asset: string, collection: string): string {
  return `CASE WHEN ${asset}.deleted_at IS NULL AND ${asset}.seen_held = 0
    AND ${collection}.seen_at > ${asset}.last_seen
    THEN ${collection}.seen_at ELSE ${asset}.last_seen END`;
}
