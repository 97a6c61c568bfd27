/**
 * The catalog's repository functions: sources, collections and path mappings.
 *
 * Every function takes the database first and, when it writes, the clock in
 * its options. Rows come back as plain camelCase objects with JSON columns
 * parsed. Selectors (`resolveSource`, `resolveCollection`) accept an id or an
 * exact, case-insensitive name; a selector matching several rows throws
 * `AMBIGUOUS` listing every candidate with its id.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { CollectionKind, ImporterConfig } from "./contract.ts";
import { RetrovueError } from "./errors.ts";
import { transaction } from "./db.ts";
import { sha256Hex } from "./sha256.ts";
import type { PathMapping } from "./path_mapping.ts";

/** A stored source. `config` holds secrets: mask it before printing. */
export interface SourceRecord {
  /** `<type>-<8 hex>`, never changes. */
  id: string;
  /** Unique name (case-insensitive). */
  name: string;
  /** The importer type; never changes. */
  typeId: string;
  /** The validated config, secrets included. */
  config: ImporterConfig;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
}

/** A stored collection with its path mappings. */
export interface CollectionRecord {
  /** `c-` + 10 hex, derived from source id and external id. */
  id: string;
  /** Owning source. */
  sourceId: string;
  /** The upstream's id for it. */
  externalId: string;
  /** Name, refreshed on each discovery. */
  name: string;
  /** What it holds. */
  kind: CollectionKind;
  /** Upstream folder locations. */
  locations: string[];
  /** Operator intent: ingest this collection. Never set by discovery. */
  syncEnabled: boolean;
  /** System eligibility. */
  ingestible: boolean;
  /** Why it is not ingestible (null when it is). */
  ingestibleReason: string | null;
  /** The last discovery no longer saw it upstream. */
  missingUpstream: boolean;
  /** When an ingest last completed (ISO-8601 UTC), or null. */
  lastIngestTime: string | null;
  /**
   * The removal guard's limit for this collection: the percentage of its
   * active assets a full ingest may remove (0–100), or null for the default.
   */
  maxRemovalPercent: number | null;
  /** ISO-8601 UTC. */
  createdAt: string;
  /** ISO-8601 UTC. */
  updatedAt: string;
  /** Path mappings, sorted by external prefix. */
  pathMappings: PathMapping[];
}

/** Options for functions that write: the clock. */
export interface WriteOptions {
  /** The clock; defaults to the system clock. */
  now?: () => Date;
}

/** Source type ids, as in manifests. */
const TYPE_ID = /^[a-z][a-z0-9_-]{0,39}$/;

/** A new random source id `<type>-<8 hex>`. */
export function newSourceId(typeId: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return `${typeId}-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The deterministic collection id: `c-` + first 10 hex of sha-256(source id, NUL, external id). */
export function collectionIdFor(sourceId: string, externalId: string): string {
  return "c-" + sha256Hex(`${sourceId}\0${externalId}`).slice(0, 10);
}

/** Checks a source name: non-empty, one line, at most 200 characters. Throws `USAGE`. */
export function checkSourceName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === "") throw new RetrovueError("USAGE", "a source name must not be empty");
  if (trimmed.length > 200) {
    throw new RetrovueError("USAGE", "a source name must be at most 200 characters");
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new RetrovueError("USAGE", "a source name must not contain control characters");
  }
  return trimmed;
}

// ---------------------------------------------------------------- sources

/** What {@link insertSource} needs. */
export interface NewSource {
  /** Unique name. */
  name: string;
  /** Importer type id. */
  typeId: string;
  /** Validated config. */
  config: ImporterConfig;
  /** A fixed id (tests); a random one otherwise. */
  id?: string;
}

/** Inserts a source. Throws `CONFLICT` when the name is taken (case-insensitive). */
export function insertSource(
  db: DatabaseSync,
  source: NewSource,
  options: WriteOptions = {},
): SourceRecord {
  const name = checkSourceName(source.name);
  if (!TYPE_ID.test(source.typeId)) {
    throw new RetrovueError("USAGE", `invalid source type '${source.typeId}'`);
  }
  _assertNameFree(db, name);
  const now = (options.now ?? (() => new Date()))().toISOString();
  let id = source.id ?? newSourceId(source.typeId);
  while (!source.id && db.prepare("SELECT 1 FROM sources WHERE id = ?").get(id)) {
    id = newSourceId(source.typeId);
  }
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
  ).run(id, name, source.typeId, JSON.stringify(source.config), now, now);
  return getSource(db, id)!;
}

/** The source with this id, or undefined. */
export function getSource(db: DatabaseSync, id: string): SourceRecord | undefined {
  const row = db.prepare("SELECT * FROM sources WHERE id = ?").get(id);
  return row ? _source(row) : undefined;
}

/** Options for {@link listSources}. */
export interface ListSourcesOptions {
  /** Only this importer type. */
  typeId?: string;
}

/** Every source, sorted by name (case-insensitive) then id. */
export function listSources(db: DatabaseSync, options: ListSourcesOptions = {}): SourceRecord[] {
  const where = options.typeId === undefined ? "" : "WHERE type_id = ?";
  const params: SQLInputValue[] = options.typeId === undefined ? [] : [options.typeId];
  return db.prepare(
    `SELECT * FROM sources ${where} ORDER BY name COLLATE NOCASE, name, id`,
  ).all(...params).map(_source);
}

/**
 * Finds one source by id or exact name (case-insensitive). Throws
 * `NOT_FOUND`, or `AMBIGUOUS` listing the candidates with their ids.
 */
export function resolveSource(db: DatabaseSync, selector: string): SourceRecord {
  const rows = db.prepare(
    "SELECT * FROM sources WHERE id = ? OR name = ? COLLATE NOCASE ORDER BY name COLLATE NOCASE, id",
  ).all(selector, selector.trim()).map(_source);
  if (rows.length === 0) {
    throw new RetrovueError(
      "NOT_FOUND",
      `no source '${selector}'; run 'source list' to see the sources`,
    );
  }
  if (rows.length > 1) {
    throw new RetrovueError(
      "AMBIGUOUS",
      `'${selector}' matches several sources: ${
        rows.map((s) => `${s.name} (${s.id})`).join(", ")
      }; use an id`,
      { details: { candidates: rows.map((s) => ({ id: s.id, name: s.name })) } },
    );
  }
  return rows[0];
}

/** Changes to a source; id and type never change. */
export interface SourceChanges {
  /** A new unique name. */
  name?: string;
  /** A new validated config. */
  config?: ImporterConfig;
}

/** Options of {@link updateSource}: the changes and the clock. */
export type UpdateSourceOptions = SourceChanges & WriteOptions;

/**
 * Updates a source's name and/or config. Throws `NOT_FOUND` or `CONFLICT`.
 * Returns the updated record (unchanged, with the same `updatedAt`, when nothing differs).
 */
export function updateSource(
  db: DatabaseSync,
  id: string,
  options: UpdateSourceOptions,
): SourceRecord {
  const current = getSource(db, id);
  if (!current) throw new RetrovueError("NOT_FOUND", `no source '${id}'`);
  const name = options.name === undefined ? current.name : checkSourceName(options.name);
  const config = options.config ?? current.config;
  if (name.toLowerCase() !== current.name.toLowerCase()) _assertNameFree(db, name);
  if (name === current.name && JSON.stringify(config) === JSON.stringify(current.config)) {
    return current;
  }
  const now = (options.now ?? (() => new Date()))().toISOString();
  db.prepare("UPDATE sources SET name = ?, config = ?, updated_at = ? WHERE id = ?")
    .run(name, JSON.stringify(config), now, id);
  return getSource(db, id)!;
}

/** Deletes a source and (by cascade) its collections, path mappings and assets. */
export function deleteSource(db: DatabaseSync, id: string): boolean {
  return Number(db.prepare("DELETE FROM sources WHERE id = ?").run(id).changes) > 0;
}

/** Per-source collection counts. */
export interface CollectionCounts {
  /** Collections with sync enabled. */
  enabled: number;
  /** All collections. */
  total: number;
}

/** Enabled/total collection counts per source id (sources without collections are absent). */
export function collectionCounts(db: DatabaseSync): Map<string, CollectionCounts> {
  const rows = db.prepare(
    "SELECT source_id, SUM(sync_enabled) AS enabled, COUNT(*) AS total FROM collections GROUP BY source_id",
  ).all() as { source_id: string; enabled: number; total: number }[];
  return new Map(
    rows.map((r) => [r.source_id, { enabled: Number(r.enabled), total: Number(r.total) }]),
  );
}

/**
 * Live (not deleted) assets of a source, per collection id (collections
 * without any are absent). Reads the narrow `assets_live` index, not the rows.
 */
export function liveAssetCounts(db: DatabaseSync, sourceId: string): Map<string, number> {
  const rows = db.prepare(
    `SELECT a.collection_id AS id, COUNT(*) AS n FROM assets a INDEXED BY assets_live
     JOIN collections c ON c.id = a.collection_id
     WHERE c.source_id = ? AND a.deleted_at IS NULL GROUP BY a.collection_id`,
  ).all(sourceId) as { id: string; n: number }[];
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

/**
 * How many live (not soft-deleted) assets a collection has. Reads only the
 * `assets_live` index (migration 9), a few bytes an asset, so it takes
 * milliseconds at 100k assets where counting the rows took ~80 ms.
 *
 * @example
 * ```ts
 * import { openMemoryDatabase } from "./db.ts";
 * import { liveAssetCount } from "./catalog.ts";
 *
 * const db = openMemoryDatabase();
 * console.log(liveAssetCount(db, "c-0123456789")); // 0
 * ```
 */
export function liveAssetCount(db: DatabaseSync, collectionId: string): number {
  const row = db.prepare(
    `SELECT count(*) AS n FROM main.assets INDEXED BY assets_live
     WHERE collection_id = ? AND deleted_at IS NULL`,
  ).get(collectionId) as { n: number | bigint };
  return Number(row.n);
}

// ------------------------------------------------------------ collections

/** Options for {@link listCollections}. */
export interface ListCollectionsOptions {
  /** Only this source's collections. */
  sourceId?: string;
}

/** Collections sorted by source name, then collection name, then id. */
export function listCollections(
  db: DatabaseSync,
  options: ListCollectionsOptions = {},
): CollectionRecord[] {
  const where = options.sourceId === undefined ? "" : "WHERE c.source_id = ?";
  const params: SQLInputValue[] = options.sourceId === undefined ? [] : [options.sourceId];
  const rows = db.prepare(
    `SELECT c.* FROM collections c JOIN sources s ON s.id = c.source_id ${where}
     ORDER BY s.name COLLATE NOCASE, s.id, c.name COLLATE NOCASE, c.name, c.id`,
  ).all(...params);
  const mappings = _mappingsByCollection(db, options.sourceId);
  return rows.map((r) => _collection(r, mappings.get(String(r.id)) ?? []));
}

/** The collection with this id, or undefined. */
export function getCollection(db: DatabaseSync, id: string): CollectionRecord | undefined {
  const row = db.prepare("SELECT * FROM collections WHERE id = ?").get(id);
  return row ? _collection(row, getPathMappings(db, id)) : undefined;
}

/** Options for {@link resolveCollection}. */
export interface ResolveCollectionOptions {
  /** Only look among this source's collections. */
  sourceId?: string;
}

/**
 * Finds one collection by id or exact name (case-insensitive). Names are
 * unique only per source, so a name may be `AMBIGUOUS`; the error lists
 * each candidate with its source and id.
 */
export function resolveCollection(
  db: DatabaseSync,
  selector: string,
  options: ResolveCollectionOptions = {},
): CollectionRecord {
  const scope = options.sourceId === undefined ? "" : "AND c.source_id = ?";
  const params: SQLInputValue[] = [selector, selector.trim()];
  if (options.sourceId !== undefined) params.push(options.sourceId);
  const rows = db.prepare(
    `SELECT c.*, s.name AS source_name FROM collections c JOIN sources s ON s.id = c.source_id
     WHERE (c.id = ? OR c.name = ? COLLATE NOCASE) ${scope}
     ORDER BY s.name COLLATE NOCASE, c.name COLLATE NOCASE, c.id`,
  ).all(...params);
  if (rows.length === 0) {
    throw new RetrovueError(
      "NOT_FOUND",
      `no collection '${selector}'; run 'collection list' to see the collections`,
    );
  }
  if (rows.length > 1) {
    const candidates = rows.map((r) => ({
      id: String(r.id),
      name: String(r.name),
      source: String(r.source_name),
    }));
    throw new RetrovueError(
      "AMBIGUOUS",
      `'${selector}' matches several collections: ${
        candidates.map((c) => `${c.name} in ${c.source} (${c.id})`).join(", ")
      }; use an id`,
      { details: { candidates } },
    );
  }
  return getCollection(db, String(rows[0].id))!;
}

/** One collection as discovery reports it (already validated by the host). */
export interface DiscoveredCollection {
  /** Upstream id. */
  externalId: string;
  /** Name. */
  name: string;
  /** Kind. */
  kind: CollectionKind;
  /** Upstream locations. */
  locations?: string[];
  /** Defaults to true. */
  ingestible?: boolean;
  /** Why not ingestible. */
  reason?: string;
}

/** What one discovery changed, each list sorted by name then id. */
export interface DiscoveryResult {
  /** Collections seen for the first time. */
  added: CollectionRecord[];
  /** Known collections whose name, kind, locations or eligibility changed, or that came back. */
  updated: CollectionRecord[];
  /** Known collections not seen this time (marked `missingUpstream`; never deleted). */
  missing: CollectionRecord[];
  /** Known collections seen again with nothing changed. */
  unchanged: CollectionRecord[];
  /**
   * Known collections that came back under a new external id (a library
   * deleted and re-added upstream): same kind and same locations (or, without
   * locations, the same name), one to one. They keep their id, settings and
   * assets; they are also listed in `updated`.
   */
  rekeyed: CollectionRecord[];
}

/** Options of {@link upsertDiscoveredCollections}: what discovery found, and the clock. */
export interface UpsertDiscoveredOptions extends WriteOptions {
  /** Every collection the upstream reported, in its order. */
  found: readonly DiscoveredCollection[];
}

/**
 * Upserts discovered collections by external id: new ones are added with
 * sync disabled, known ones get their name, kind, locations and eligibility
 * refreshed (sync intent and path mappings untouched), and known ones not in
 * `found` are marked missing upstream. A known collection that comes back
 * under a new external id (a library deleted and re-added upstream) keeps
 * its id, settings and assets (see `rekeyed`). Runs in one transaction (a
 * savepoint when already inside one).
 */
export function upsertDiscoveredCollections(
  db: DatabaseSync,
  sourceId: string,
  options: UpsertDiscoveredOptions,
): DiscoveryResult {
  const { found } = options;
  const now = (options.now ?? (() => new Date()))().toISOString();
  return transaction(db, () => {
    if (!getSource(db, sourceId)) throw new RetrovueError("NOT_FOUND", `no source '${sourceId}'`);
    const existing = new Map(
      listCollections(db, { sourceId }).map((c) => [c.externalId, c]),
    );
    const seen = new Set<string>();
    const rekeys = _matchRekeyed(existing, found);
    const rekeyed: string[] = [];
    const added: string[] = [];
    const updated: string[] = [];
    const unchanged: string[] = [];
    const missing: string[] = [];
    for (const info of found) {
      if (seen.has(info.externalId)) {
        throw new RetrovueError(
          "MALFORMED_RESPONSE",
          `discovery returned collection '${info.externalId}' twice`,
        );
      }
      seen.add(info.externalId);
      const ingestible = info.ingestible ?? true;
      const reason = ingestible ? null : (info.reason ?? "not ingestible");
      const locations = JSON.stringify(info.locations ?? []);
      const before = existing.get(info.externalId) ?? rekeys.get(info.externalId);
      if (before && before.externalId !== info.externalId) {
        db.prepare(
          `UPDATE collections SET external_id = ?, name = ?, kind = ?, locations = ?, ingestible = ?,
             ingestible_reason = ?, missing_upstream = 0, updated_at = ? WHERE id = ?`,
        ).run(
          info.externalId,
          info.name,
          info.kind,
          locations,
          ingestible ? 1 : 0,
          reason,
          now,
          before.id,
        );
        seen.add(before.externalId);
        rekeyed.push(before.id);
        updated.push(before.id);
        continue;
      }
      if (!before) {
        const id = _freshCollectionId(db, sourceId, info.externalId);
        db.prepare(
          `INSERT INTO collections (id, source_id, external_id, name, kind, locations, sync_enabled,
             ingestible, ingestible_reason, missing_upstream, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, 0, ?, ?)`,
        ).run(
          id,
          sourceId,
          info.externalId,
          info.name,
          info.kind,
          locations,
          ingestible ? 1 : 0,
          reason,
          now,
          now,
        );
        added.push(id);
        continue;
      }
      const changed = before.name !== info.name || before.kind !== info.kind ||
        JSON.stringify(before.locations) !== locations || before.ingestible !== ingestible ||
        before.ingestibleReason !== reason || before.missingUpstream;
      if (!changed) {
        unchanged.push(before.id);
        continue;
      }
      db.prepare(
        `UPDATE collections SET name = ?, kind = ?, locations = ?, ingestible = ?,
           ingestible_reason = ?, missing_upstream = 0, updated_at = ? WHERE id = ?`,
      ).run(info.name, info.kind, locations, ingestible ? 1 : 0, reason, now, before.id);
      updated.push(before.id);
    }
    for (const [externalId, before] of existing) {
      if (seen.has(externalId)) continue;
      if (!before.missingUpstream) {
        db.prepare("UPDATE collections SET missing_upstream = 1, updated_at = ? WHERE id = ?")
          .run(now, before.id);
      }
      missing.push(before.id);
    }
    const load = (ids: string[]) =>
      ids.map((id) => getCollection(db, id)!).sort((a, b) =>
        a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.id.localeCompare(b.id)
      );
    return {
      added: load(added),
      updated: load(updated),
      missing: load(missing),
      unchanged: load(unchanged),
      rekeyed: load(rekeyed),
    };
  });
}

/** Options of {@link setSyncEnabled}: the new intent, and the clock. */
export interface SetSyncEnabledOptions extends WriteOptions {
  /** Whether the collection should be ingested. */
  enabled: boolean;
}

/**
 * Sets a collection's sync intent. Enabling a collection that is not
 * ingestible throws `NOT_INGESTIBLE` with the reason. Returns whether
 * anything changed (setting the current value is a quiet no-op).
 */
export function setSyncEnabled(
  db: DatabaseSync,
  collectionId: string,
  options: SetSyncEnabledOptions,
): boolean {
  const { enabled } = options;
  const current = getCollection(db, collectionId);
  if (!current) throw new RetrovueError("NOT_FOUND", `no collection '${collectionId}'`);
  if (current.syncEnabled === enabled) return false;
  if (enabled && !current.ingestible) {
    throw new RetrovueError(
      "NOT_INGESTIBLE",
      `collection '${current.name}' (${current.id}) cannot be synced: ${
        current.ingestibleReason ?? "not ingestible"
      }`,
    );
  }
  const now = (options.now ?? (() => new Date()))().toISOString();
  db.prepare("UPDATE collections SET sync_enabled = ?, updated_at = ? WHERE id = ?")
    .run(enabled ? 1 : 0, now, collectionId);
  return true;
}

/** Options of {@link setMaxRemovalPercent}: the new limit, and the clock. */
export interface SetMaxRemovalPercentOptions extends WriteOptions {
  /** A whole number 0–100, or null for the default. */
  percent: number | null;
}

/**
 * Sets the removal guard's limit of a collection: the percentage (a whole
 * number, 0–100) of its active assets a full ingest may remove; null goes
 * back to the default. Throws `USAGE` for a value out of range, `NOT_FOUND`
 * for an unknown collection. Returns whether anything changed.
 */
export function setMaxRemovalPercent(
  db: DatabaseSync,
  collectionId: string,
  options: SetMaxRemovalPercentOptions,
): boolean {
  const { percent } = options;
  if (percent !== null && (!Number.isInteger(percent) || percent < 0 || percent > 100)) {
    throw new RetrovueError("USAGE", `the removal limit must be 0–100 percent, not ${percent}`);
  }
  const current = getCollection(db, collectionId);
  if (!current) throw new RetrovueError("NOT_FOUND", `no collection '${collectionId}'`);
  if (current.maxRemovalPercent === percent) return false;
  const now = (options.now ?? (() => new Date()))().toISOString();
  db.prepare("UPDATE collections SET max_removal_pct = ?, updated_at = ? WHERE id = ?")
    .run(percent, now, collectionId);
  return true;
}

/** Records that an ingest of a collection completed now (by `options.now`). */
export function setLastIngestTime(
  db: DatabaseSync,
  collectionId: string,
  options: WriteOptions = {},
): void {
  const now = (options.now ?? (() => new Date()))().toISOString();
  db.prepare("UPDATE collections SET last_ingest_time = ? WHERE id = ?").run(now, collectionId);
}

// ---------------------------------------------------------- path mappings

/**
 * Parses `EXTERNAL=LOCAL` from `--path-mapping`. The local side must be an
 * absolute path; the split is at the first `=` followed by `/`, so the
 * external side may itself contain `=`. Trailing slashes are dropped.
 * Throws `USAGE` naming what is wrong.
 */
export function parsePathMapping(text: string): PathMapping {
  const at = text.indexOf("=/");
  if (at < 0) {
    throw new RetrovueError(
      "USAGE",
      `invalid path mapping '${text}': expected EXTERNAL=LOCAL with an absolute LOCAL path`,
    );
  }
  const externalPrefix = normalizePrefix(text.slice(0, at));
  const localPrefix = normalizePrefix(text.slice(at + 1));
  if (externalPrefix === "") {
    throw new RetrovueError(
      "USAGE",
      `invalid path mapping '${text}': the external prefix must not be empty`,
    );
  }
  return { externalPrefix, localPrefix };
}

/** Drops trailing slashes (keeping a lone `/`) and surrounding whitespace. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.trim();
  if (/^[/\\]+$/.test(trimmed)) return trimmed[0];
  return trimmed.replace(/[/\\]+$/, "");
}

/** A collection's path mappings, sorted by external prefix. */
export function getPathMappings(db: DatabaseSync, collectionId: string): PathMapping[] {
  return db.prepare(
    `SELECT external_prefix, local_prefix FROM path_mappings WHERE collection_id = ?
     ORDER BY external_prefix`,
  ).all(collectionId).map((r) => ({
    externalPrefix: String(r.external_prefix),
    localPrefix: String(r.local_prefix),
  }));
}

/** Options of {@link setPathMapping}: the mapping, and the clock. */
export type SetPathMappingOptions = PathMapping & WriteOptions;

/**
 * Adds or replaces the mapping for `options.externalPrefix`. Returns whether
 * anything changed (the same mapping again is a quiet no-op).
 */
export function setPathMapping(
  db: DatabaseSync,
  collectionId: string,
  options: SetPathMappingOptions,
): boolean {
  const { externalPrefix, localPrefix } = options;
  const current = db.prepare(
    "SELECT local_prefix FROM path_mappings WHERE collection_id = ? AND external_prefix = ?",
  ).get(collectionId, externalPrefix);
  if (current && current.local_prefix === localPrefix) return false;
  db.prepare(
    `INSERT INTO path_mappings (collection_id, external_prefix, local_prefix) VALUES (?, ?, ?)
     ON CONFLICT (collection_id, external_prefix) DO UPDATE SET local_prefix = excluded.local_prefix`,
  ).run(collectionId, externalPrefix, localPrefix);
  _touchCollection(db, collectionId, options);
  return true;
}

/** Options of {@link removePathMapping}: which mapping, and the clock. */
export interface RemovePathMappingOptions extends WriteOptions {
  /** The external prefix of the mapping to remove (trailing slashes ignored). */
  externalPrefix: string;
}

/** Removes the mapping for an external prefix; returns whether one existed. */
export function removePathMapping(
  db: DatabaseSync,
  collectionId: string,
  options: RemovePathMappingOptions,
): boolean {
  const result = db.prepare(
    "DELETE FROM path_mappings WHERE collection_id = ? AND external_prefix = ?",
  ).run(collectionId, normalizePrefix(options.externalPrefix));
  if (Number(result.changes) === 0) return false;
  _touchCollection(db, collectionId, options);
  return true;
}

// --------------------------------------------------------------- helpers

function _assertNameFree(db: DatabaseSync, name: string): void {
  const taken = db.prepare("SELECT id, name FROM sources WHERE name = ? COLLATE NOCASE").get(
    name,
  );
  if (taken) {
    throw new RetrovueError(
      "CONFLICT",
      `a source named '${taken.name}' already exists (${taken.id})`,
      { details: { id: String(taken.id) } },
    );
  }
}

function _touchCollection(db: DatabaseSync, id: string, options: WriteOptions): void {
  const now = (options.now ?? (() => new Date()))().toISOString();
  db.prepare("UPDATE collections SET updated_at = ? WHERE id = ?").run(now, id);
}

function _mappingsByCollection(
  db: DatabaseSync,
  sourceId: string | undefined,
): Map<string, PathMapping[]> {
  const where = sourceId === undefined
    ? ""
    : "WHERE collection_id IN (SELECT id FROM collections WHERE source_id = ?)";
  const params: SQLInputValue[] = sourceId === undefined ? [] : [sourceId];
  const out = new Map<string, PathMapping[]>();
  for (
    const r of db.prepare(
      `SELECT * FROM path_mappings ${where} ORDER BY collection_id, external_prefix`,
    ).all(...params)
  ) {
    const list = out.get(String(r.collection_id)) ?? [];
    list.push({ externalPrefix: String(r.external_prefix), localPrefix: String(r.local_prefix) });
    out.set(String(r.collection_id), list);
  }
  return out;
}

function _source(row: Record<string, SQLOutputValue>): SourceRecord {
  return {
    id: String(row.id),
    name: String(row.name),
    typeId: String(row.type_id),
    config: JSON.parse(String(row.config)) as ImporterConfig,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
  };
}

function _collection(
  row: Record<string, SQLOutputValue>,
  pathMappings: PathMapping[],
): CollectionRecord {
  return {
    id: String(row.id),
    sourceId: String(row.source_id),
    externalId: String(row.external_id),
    name: String(row.name),
    kind: String(row.kind) as CollectionKind,
    locations: JSON.parse(String(row.locations)) as string[],
    syncEnabled: Number(row.sync_enabled) === 1,
    ingestible: Number(row.ingestible) === 1,
    ingestibleReason: row.ingestible_reason === null ? null : String(row.ingestible_reason),
    missingUpstream: Number(row.missing_upstream) === 1,
    lastIngestTime: row.last_ingest_time === null ? null : String(row.last_ingest_time),
    // Absent from a catalog opened read-only before its migration to version 2.
    maxRemovalPercent: row.max_removal_pct === null || row.max_removal_pct === undefined
      ? null
      : Number(row.max_removal_pct),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    pathMappings,
  };
}

type SQLOutputValue = null | number | bigint | string | Uint8Array;

/**
 * Pairs each discovered collection with no known external id to a known
 * collection no longer listed, when they are the same library: the same kind
 * and the same locations (or, when neither lists locations, the same name),
 * and each is the other's only candidate. Keyed by the new external id.
 */
function _matchRekeyed(
  existing: ReadonlyMap<string, CollectionRecord>,
  found: readonly DiscoveredCollection[],
): Map<string, CollectionRecord> {
  const listed = new Set(found.map((f) => f.externalId));
  const gone = [...existing.values()].filter((c) => !listed.has(c.externalId));
  const fresh = found.filter((f) => !existing.has(f.externalId));
  const out = new Map<string, CollectionRecord>();
  if (gone.length === 0 || fresh.length === 0) return out;
  const keyOf = (kind: string, name: string, locations: readonly string[]) =>
    locations.length
      ? `${kind}\0loc\0${JSON.stringify([...locations].sort())}`
      : `${kind}\0name\0${name.toLowerCase()}`;
  const byKey = new Map<string, CollectionRecord[]>();
  for (const c of gone) {
    const key = keyOf(c.kind, c.name, c.locations);
    const list = byKey.get(key);
    if (list) list.push(c);
    else byKey.set(key, [c]);
  }
  const freshCount = new Map<string, number>();
  const freshKey = (f: DiscoveredCollection) => keyOf(f.kind, f.name, f.locations ?? []);
  for (const f of fresh) freshCount.set(freshKey(f), (freshCount.get(freshKey(f)) ?? 0) + 1);
  for (const f of fresh) {
    const key = freshKey(f);
    const candidates = byKey.get(key) ?? [];
    if (candidates.length === 1 && freshCount.get(key) === 1) out.set(f.externalId, candidates[0]);
  }
  return out;
}

/**
 * The id for a new collection: derived from its external id, unless a
 * collection re-keyed earlier already holds that id.
 */
function _freshCollectionId(db: DatabaseSync, sourceId: string, externalId: string): string {
  let id = collectionIdFor(sourceId, externalId);
  for (let n = 1; getCollection(db, id); n++) id = collectionIdFor(sourceId, `${externalId}\0${n}`);
  return id;
}
