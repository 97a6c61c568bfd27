/**
 * Read-only queries over the asset catalog, for `asset list` and `asset show`.
 *
 * Plain reads: in WAL mode they never wait on a running ingest.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { TechnicalMetadata } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import { lastSeenSql } from "../core/db_assets.ts";
import { type Readiness, readinessReason, readinessSql } from "./readiness.ts";

/** One asset as stored, with its collection and source names. */
export interface AssetRecord {
  /** Stable id (`a-` + 12 hex). */
  id: string;
  /** Owning collection id. */
  collectionId: string;
  /** Owning collection name. */
  collectionName: string;
  /** Owning source id. */
  sourceId: string;
  /** Owning source name. */
  sourceName: string;
  /** The importer's stable id within the collection. */
  externalId: string;
  /** `movie` or `episode`. */
  kind: "movie" | "episode";
  /** Movie title, or the episode's own title. */
  title: string;
  /** Show title (episodes). */
  seriesTitle: string | null;
  /** Season number. */
  season: number | null;
  /** Episode number. */
  episode: number | null;
  /** Last episode of a multi-episode file. */
  episodeEnd: number | null;
  /** Release year. */
  year: number | null;
  /** Air date `YYYY-MM-DD`. */
  airDate: string | null;
  /** Duration in milliseconds. */
  durationMs: number | null;
  /** Provider ids (`imdb`, `tmdb`, `tvdb`, …). */
  externalIds: Record<string, string>;
  /** Upstream path. */
  path: string | null;
  /** Upstream paths of every part. */
  parts: string[];
  /** Local path through the collection's path mappings. */
  localPath: string | null;
  /** Size in bytes. */
  size: number | null;
  /** Upstream change marker. */
  modified: string | null;
  /** Change-detection fingerprint. */
  fingerprint: string;
  /** File fingerprint (paths, size, marker). */
  fileFingerprint: string;
  /** Readiness (see `readiness.ts`): `ready`, or what the asset lacks. */
  state: Readiness;
  /** Why it is not ready (`enrichment_failed`, `missing_file`), else null. */
  stateReason: string | null;
  /** Duration an enricher measured, in milliseconds (used when the importer gave none). */
  probedDurationMs: number | null;
  /** Technical fields (container, streams…), or null when none are known. */
  tech: TechnicalMetadata | null;
  /** Where `tech` came from: `server` (the importer) or an enricher's type id. */
  techSource: string | null;
  /** First ingest that saw it (ISO-8601 UTC). */
  firstSeen: string;
  /** Last ingest that saw it. */
  lastSeen: string;
  /** Last time its content changed. */
  updatedAt: string;
  /** When an ingest found it gone upstream (soft delete), else null. */
  deletedAt: string | null;
}

/** Filters for {@link listAssets}. */
export interface AssetQuery {
  /** Only this source's assets. */
  sourceId?: string;
  /** Only this collection's assets. */
  collectionId?: string;
  /** Series title (episodes) or title (movies), exact, case-insensitive. */
  title?: string;
  /** Season number. */
  season?: number;
  /** Readiness state (see `readiness.ts`). */
  state?: Readiness;
  /** Include soft-deleted assets. */
  includeDeleted?: boolean;
  /**
   * Only the assets this ingest run added, changed, removed, restored or
   * re-keyed (see `history.ts`); removed ones are listed without
   * `includeDeleted`.
   */
  changedIn?: number;
  /** At most this many (0 or undefined: all). */
  limit?: number;
}

/** What {@link listAssets} returns. */
export interface AssetList {
  /** How many match (ignoring the limit). */
  total: number;
  /** The matching assets, in a stable order, at most `limit`. */
  assets: AssetRecord[];
}

const SELECT = `SELECT a.*, ${readinessSql("a")} AS readiness, ${lastSeenSql("a", "c")} AS seen,
  c.name AS collection_name, s.id AS source_id, s.name AS source_name
  FROM assets a JOIN collections c ON c.id = a.collection_id JOIN sources s ON s.id = c.source_id`;

const ORDER = `ORDER BY s.name COLLATE NOCASE, s.id, c.name COLLATE NOCASE, c.id,
  COALESCE(a.series_title, a.title) COLLATE NOCASE, a.season, a.episode, a.title COLLATE NOCASE,
  a.external_id`;

/**
 * Lists assets in a stable order: source, collection, series (or movie)
 * title, season, episode, title, external id.
 *
 * @example Season 1 of a show, waiting for an enricher
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { assetLabel, listAssets } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const { total, assets } = listAssets(db, {
 *   title: "Alpha",
 *   season: 1,
 *   state: "needs_enrichment",
 *   limit: 10,
 * });
 * for (const asset of assets) console.log(assetLabel(asset));
 * console.log(`${total} in all`);
 * ```
 */
export function listAssets(db: DatabaseSync, query: AssetQuery = {}): AssetList {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (query.sourceId !== undefined) {
    where.push("c.source_id = ?");
    params.push(query.sourceId);
  }
  if (query.collectionId !== undefined) {
    where.push("a.collection_id = ?");
    params.push(query.collectionId);
  }
  if (query.title !== undefined) {
    where.push(
      "((a.kind = 'episode' AND a.series_title = ? COLLATE NOCASE) OR " +
        "(a.kind = 'movie' AND a.title = ? COLLATE NOCASE))",
    );
    params.push(query.title.trim(), query.title.trim());
  }
  if (query.season !== undefined) {
    where.push("a.season = ?");
    params.push(query.season);
  }
  if (query.state !== undefined) {
    where.push(`${readinessSql("a")} = ?`);
    params.push(query.state);
  }
  if (query.changedIn !== undefined) {
    where.push("a.id IN (SELECT asset_id FROM ingest_changes WHERE run_id = ?)");
    params.push(query.changedIn);
  } else if (!query.includeDeleted) where.push("a.deleted_at IS NULL");
  const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
  const total = Number(
    (db.prepare(
      `SELECT COUNT(*) AS n FROM assets a JOIN collections c ON c.id = a.collection_id ${clause}`,
    ).get(...params) as { n: number }).n,
  );
  const limit = query.limit && query.limit > 0 ? query.limit : -1;
  const rows = db.prepare(`${SELECT} ${clause} ${ORDER} LIMIT ?`).all(...params, limit);
  return { total, assets: rows.map(_record) };
}

/** The asset with this id, or undefined. */
export function getAsset(db: DatabaseSync, id: string): AssetRecord | undefined {
  const row = db.prepare(`${SELECT} WHERE a.id = ?`).get(id);
  return row ? _record(row) : undefined;
}

/**
 * Finds one asset by id, or by external id (optionally within one
 * collection). Throws `NOT_FOUND`, or `AMBIGUOUS` listing the candidates.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { resolveAsset } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * assert.throws(() => resolveAsset(db, "tt0111161"), { code: "NOT_FOUND" });
 * ```
 */
export function resolveAsset(
  db: DatabaseSync,
  selector: string,
  options: { collectionId?: string } = {},
): AssetRecord {
  const byId = getAsset(db, selector);
  if (byId && (options.collectionId === undefined || byId.collectionId === options.collectionId)) {
    return byId;
  }
  const scope = options.collectionId === undefined ? "" : "AND a.collection_id = ?";
  const params: SQLInputValue[] = [selector];
  if (options.collectionId !== undefined) params.push(options.collectionId);
  const rows = db.prepare(`${SELECT} WHERE a.external_id = ? ${scope} ${ORDER}`).all(...params)
    .map(_record);
  if (rows.length === 0) {
    throw new RetrovueError(
      "NOT_FOUND",
      `no asset '${selector}'; give an asset id (see 'asset list') or an external id`,
    );
  }
  if (rows.length > 1) {
    throw new RetrovueError(
      "AMBIGUOUS",
      `external id '${selector}' is in several collections: ${
        rows.map((r) => `${r.collectionName} (${r.id})`).join(", ")
      }; use an asset id or --collection`,
      { details: { candidates: rows.map((r) => ({ id: r.id, collection: r.collectionId })) } },
    );
  }
  return rows[0];
}

/**
 * A one-line label: `Show S01E02-E03 · Title` for episodes, `Title (1999)` for movies.
 *
 * @example
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { assetLabel, resolveAsset } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const asset = resolveAsset(db, "a-0123456789ab");
 * console.log(assetLabel(asset)); // e.g. "Alpha S01E02 · Pilot"
 * ```
 */
export function assetLabel(a: AssetRecord): string {
  if (a.kind === "movie") return a.year === null ? a.title : `${a.title} (${a.year})`;
  const pad = (n: number) => String(n).padStart(2, "0");
  let code = "";
  if (a.season !== null) code += `S${pad(a.season)}`;
  if (a.episode !== null) code += `E${pad(a.episode)}`;
  if (a.episodeEnd !== null && a.episodeEnd !== a.episode) code += `-E${pad(a.episodeEnd)}`;
  const parts = [a.seriesTitle ?? "", code].filter((p) => p !== "").join(" ");
  return a.title ? `${parts} · ${a.title}` : parts;
}

function _record(row: Record<string, unknown>): AssetRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: String(row.id),
    collectionId: String(row.collection_id),
    collectionName: String(row.collection_name),
    sourceId: String(row.source_id),
    sourceName: String(row.source_name),
    externalId: String(row.external_id),
    kind: row.kind === "movie" ? "movie" : "episode",
    title: String(row.title),
    seriesTitle: str(row.series_title),
    season: num(row.season),
    episode: num(row.episode),
    episodeEnd: num(row.episode_end),
    year: num(row.year),
    airDate: str(row.air_date),
    durationMs: num(row.duration_ms),
    externalIds: _json(row.external_ids, {}) as Record<string, string>,
    path: str(row.path),
    parts: _json(row.parts, []) as string[],
    localPath: str(row.local_path),
    size: num(row.size),
    modified: str(row.modified),
    fingerprint: String(row.fingerprint),
    fileFingerprint: String(row.file_fingerprint),
    state: row.readiness as Readiness,
    stateReason: readinessReason(row.readiness as Readiness, {
      path: str(row.path),
      enrichmentError: str(row.enrichment_error),
    }),
    probedDurationMs: num(row.probed_duration_ms),
    tech: row.tech === null || row.tech === undefined
      ? null
      : _json(row.tech, null) as TechnicalMetadata | null,
    techSource: str(row.tech_source),
    firstSeen: String(row.first_seen),
    lastSeen: String(row.seen),
    updatedAt: String(row.updated_at),
    deletedAt: str(row.deleted_at),
  };
}

function _json(text: unknown, fallback: unknown): unknown {
  try {
    return JSON.parse(String(text));
  } catch {
    return fallback;
  }
}
