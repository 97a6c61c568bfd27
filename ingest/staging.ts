/**
 * The staging area of one ingest run: temporary tables that hold what the
 * importer listed, so that only one batch lives in memory and the diff
 * against the catalog is a few set-based queries.
 *
 * The tables live in SQLite's `temp` schema of the catalog's connection:
 * private to this connection, spilled to a temporary file rather than held
 * in memory, never part of the catalog file, and written without taking the
 * catalog's write lock (so readers and other writers are not held up while
 * the importer streams). {@link Stage.drop} removes them; a crashed process
 * loses them with its connection.
 *
 * - `<stage>`: one row per accepted asset (its normalised fields and
 *   fingerprints), unique by external id, so a repeated id is seen at once;
 *   `rekey_id` is set when the asset turned out to be an existing one under a
 *   new external id (`rekey.ts`); `new_id` is the id a new asset gets when
 *   it is known before the apply: derived while staging a first import
 *   (every asset is new), or moved aside from a clash (see `apply.ts`).
 *   An asset whose live catalog row has its fingerprint is staged narrow
 *   ({@link Stage.putUnchanged}): its external id, fingerprint and
 *   `unchanged_at` (the row's `updated_at`) only, as no statement of the
 *   apply reads more of an unchanged asset. At 100k Plex episodes, staging
 *   them whole cost ~1 s of a ~1.8 s classification.
 * - `<invalid>`: external ids that came only as invalid items: their stored
 *   assets are kept, neither removed nor touched.
 *
 * @module
 */

import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { NormalizedAsset } from "./normalize.ts";

/** The stored columns of an asset that a staged row carries, in order. */
export const STAGED_COLUMNS: readonly string[] = [
  "kind",
  "title",
  "series_title",
  "season",
  "episode",
  "episode_end",
  "year",
  "air_date",
  "duration_ms",
  "external_ids",
  "path",
  "parts",
  "local_path",
  "size",
  "modified",
  "fingerprint",
  "file_fingerprint",
  // Technical fields the importer reported (canonical JSON, or NULL). Unlike
  // the others, an update writes it only by the rules of `apply.ts`, so an
  // enricher's result is not wiped by an importer that reports none.
  "tech",
];

/** One run's staging tables and the statements that fill them. */
export interface Stage {
  /** The staged assets' table, schema-qualified (`temp.…`). */
  readonly table: string;
  /** The table of external ids seen only as invalid items, schema-qualified. */
  readonly invalid: string;
  /**
   * Stages one asset. `extra.quietFingerprint` is what its fingerprint would
   * be without the file ids its marker gained (see `withoutFileIds`), or
   * null; `extra.newId` its id if it is new and that is known already, or
   * null. Returns false, staging nothing, when its external id is already
   * staged.
   */
  put(
    asset: NormalizedAsset,
    extra: { quietFingerprint: string | null; newId: string | null },
  ): boolean;
  /**
   * Stages, narrow, each of `assets` (external id and fingerprint) whose live
   * row in collection `collectionId` has that fingerprint and whose external
   * id is not staged yet, in one statement. Returns the external ids it
   * staged; the others are for {@link Stage.put}.
   */
  putUnchanged(
    collectionId: string,
    assets: readonly { externalId: string; fingerprint: string }[],
  ): Set<string>;
  /** Records an external id that came as an invalid item. */
  markInvalid(externalId: string): void;
  /**
   * Records, like invalid items, every live asset of `collectionId` whose
   * external id starts with `prefix` (what the importer could not list:
   * `CallContext.unlisted`), or with `exact` the one whose external id is
   * `prefix`. Returns how many.
   */
  markUnlisted(collectionId: string, prefix: string, options?: { exact?: boolean }): number;
  /** Drops the tables. Safe to call more than once. */
  drop(): void;
}

/**
 * Creates the staging tables of one run on `db`'s connection. Names carry a
 * random suffix, so runs on the same connection never share tables.
 */
export function createStage(db: DatabaseSync): Stage {
  const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 12);
  const table = `temp.rv_stage_${suffix}`;
  const invalid = `temp.rv_invalid_${suffix}`;
  db.exec(`
    CREATE TABLE ${table} (
      seq INTEGER PRIMARY KEY,
      external_id TEXT NOT NULL UNIQUE,
      ${STAGED_COLUMNS.join(", ")},
      quiet_fingerprint TEXT,
      rekey_id TEXT,
      new_id TEXT,
      unchanged_at TEXT
    );
    CREATE INDEX ${table}_rekey ON rv_stage_${suffix} (rekey_id) WHERE rekey_id IS NOT NULL;
    CREATE TABLE ${invalid} (external_id TEXT PRIMARY KEY) WITHOUT ROWID;
  `);
  const insert: StatementSync = db.prepare(
    `INSERT OR IGNORE INTO ${table} (external_id, ${STAGED_COLUMNS.join(", ")},
       quiet_fingerprint, new_id)
     VALUES (?${", ?".repeat(STAGED_COLUMNS.length + 2)})`,
  );
  const mark: StatementSync = db.prepare(`INSERT OR IGNORE INTO ${invalid} VALUES (?)`);
  // The pairs come as one JSON text: looked up and staged without a call per asset.
  const unchanged: StatementSync = db.prepare(
    `INSERT OR IGNORE INTO ${table} (external_id, fingerprint, unchanged_at)
     SELECT a.external_id, a.fingerprint, a.updated_at
     FROM json_each(?) j CROSS JOIN main.assets a INDEXED BY assets_external
     WHERE a.collection_id = ? AND a.external_id = j.value ->> 0
       AND a.fingerprint = j.value ->> 1 AND a.deleted_at IS NULL
     RETURNING external_id`,
  );
  let dropped = false;
  return {
    table,
    invalid,
    put(a, extra) {
      const done = insert.run(
        a.externalId,
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
        a.tech,
        extra.quietFingerprint,
        extra.newId,
      );
      return Number(done.changes) === 1;
    },
    putUnchanged(collectionId, assets) {
      const pairs = JSON.stringify(assets.map((a) => [a.externalId, a.fingerprint]));
      const rows = unchanged.all(pairs, collectionId) as { external_id: string }[];
      return new Set(rows.map((r) => r.external_id));
    },
    markInvalid(externalId) {
      mark.run(externalId);
    },
    markUnlisted(collectionId, prefix, options) {
      if (options?.exact) {
        return Number(
          db.prepare(
            `INSERT OR IGNORE INTO ${invalid}
             SELECT external_id FROM main.assets INDEXED BY assets_external
             WHERE collection_id = ? AND external_id = ? AND deleted_at IS NULL`,
          ).run(collectionId, prefix).changes,
        );
      }
      // The range lets the index find the rows; substr keeps only true prefixes.
      const done = db.prepare(
        `INSERT OR IGNORE INTO ${invalid}
         SELECT external_id FROM main.assets INDEXED BY assets_external
         WHERE collection_id = ? AND external_id >= ? AND external_id < ?
           AND substr(external_id, 1, length(?)) = ? AND deleted_at IS NULL`,
      ).run(collectionId, prefix, prefix + "\u{10FFFF}", prefix, prefix);
      return Number(done.changes);
    },
    drop() {
      if (dropped) return;
      dropped = true;
      db.exec(`DROP TABLE IF EXISTS ${table}; DROP TABLE IF EXISTS ${invalid};`);
    },
  };
}

/**
 * The SQL condition that a catalog row `alias` of the collection (bound as
 * the one `?` it contains) is a live asset this run did not see: not staged,
 * not named by an invalid item, not taken over by a re-keyed item. These are
 * a full ingest's removals, and the re-key candidates.
 */
export function unseenLiveSql(stage: Stage, alias: string): string {
  return `${alias}.collection_id = ? AND ${alias}.deleted_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM ${stage.table} s WHERE s.external_id = ${alias}.external_id)
    AND NOT EXISTS (SELECT 1 FROM ${stage.invalid} i WHERE i.external_id = ${alias}.external_id)
    AND NOT EXISTS (SELECT 1 FROM ${stage.table} r WHERE r.rekey_id = ${alias}.id)`;
}
