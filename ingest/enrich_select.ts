/**
 * The enrichment runner's SQL: which assets of a collection need
 * enrichment (read a page at a time, so memory stays bounded however large
 * the collection), and how a result or a failure is written back.
 *
 * An asset needs enrichment exactly when `enriched_file_fingerprint IS NOT
 * file_fingerprint`: the last result (or failure) was for another file, or
 * there was none. Every write is one short statement of its own, guarded by
 * `file_fingerprint = ?`, so a result for a file that changed meanwhile (an
 * ingest ran during the probe) is discarded rather than stored against the
 * new file. Only the enrichment columns are written, never the ingest's.
 *
 * @module
 */

import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { EnrichableKind } from "../core/enricher_contract.ts";
import type { ValidTechnicalMetadata } from "../core/schemas.ts";

/** The scope of an enrichment run. */
export interface EnrichScope {
  /** Series title (episodes) or movie title, matched case-insensitively. */
  title?: string;
  /** Season number (with `title`). */
  season?: number;
  /** Select every live asset with a local path, enriched or not. */
  force?: boolean;
}

/** One asset the runner may enrich. */
export interface EnrichCandidate {
  /** Asset id. */
  id: string;
  /** Movie or episode. */
  kind: EnrichableKind;
  /** Title for messages (`Show S01E02` or the movie title). */
  label: string;
  /** Upstream path of the first part. */
  path: string;
  /** Upstream paths of every part (empty: just `path`). */
  parts: string[];
  /** The importer's duration. */
  durationMs: number | null;
  /** The file this candidate's result must be for. */
  fileFingerprint: string;
}

/** Rows per page read. */
export const PAGE_SIZE = 500;

/**
 * Yields the candidates of a collection in id order, a page at a time (no
 * read cursor stays open while results are written).
 */
export function* selectCandidates(
  db: DatabaseSync,
  collectionId: string,
  scope: EnrichScope = {},
): Generator<EnrichCandidate> {
  const { where, params } = _where(collectionId, scope);
  const statement = db.prepare(
    `SELECT id, kind, title, series_title, season, episode, path, parts, duration_ms,
       file_fingerprint FROM assets WHERE ${where} AND id > ? ORDER BY id LIMIT ${PAGE_SIZE}`,
  );
  let after = "";
  while (true) {
    const rows = statement.all(...params, after);
    for (const r of rows) {
      let parts: string[] = [];
      try {
        const value = JSON.parse(String(r.parts));
        if (Array.isArray(value)) parts = value.filter((p) => typeof p === "string");
      } catch {
        // Stored by the ingest as JSON; treat anything else as one part.
      }
      yield {
        id: String(r.id),
        kind: r.kind === "episode" ? "episode" : "movie",
        label: _label(r),
        path: String(r.path),
        parts,
        durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
        fileFingerprint: String(r.file_fingerprint),
      };
    }
    if (rows.length < PAGE_SIZE) return;
    after = String(rows[rows.length - 1].id);
  }
}

/** How many assets {@link selectCandidates} would yield. */
export function countCandidates(
  db: DatabaseSync,
  collectionId: string,
  scope: EnrichScope = {},
): number {
  const { where, params } = _where(collectionId, scope);
  const row = db.prepare(`SELECT count(*) AS n FROM assets WHERE ${where}`).get(...params);
  return Number(row?.n ?? 0);
}

/** A successful enrichment of one asset. */
export interface EnrichSuccess {
  /** Technical fields (validated). */
  tech: ValidTechnicalMetadata;
  /** The measured duration, if any. */
  durationMs: number | null;
  /** The enricher type id(s) that produced it, `+`-joined. */
  source: string;
}

/**
 * Stores a result; returns false when the asset's file changed since it was
 * selected (the result is discarded).
 */
export function writeSuccess(
  db: DatabaseSync,
  asset: Pick<EnrichCandidate, "id" | "fileFingerprint">,
  result: EnrichSuccess & { now: string },
): boolean {
  const changes = db.prepare(
    `UPDATE assets SET tech = ?, tech_source = ?, probed_duration_ms = ?,
       enriched_file_fingerprint = file_fingerprint, enrichment_error = NULL, enriched_at = ?
     WHERE id = ? AND file_fingerprint = ?`,
  ).run(
    JSON.stringify(result.tech),
    result.source,
    result.durationMs === null ? null : Math.round(result.durationMs),
    result.now,
    asset.id,
    asset.fileFingerprint,
  ).changes;
  return Number(changes) > 0;
}

/**
 * Records why enriching the current file failed, so it is not tried again
 * until the file changes (or `--force`); returns false when the file
 * changed meanwhile.
 */
export function writeFailure(
  db: DatabaseSync,
  asset: Pick<EnrichCandidate, "id" | "fileFingerprint">,
  failure: { reason: string; now: string },
): boolean {
  const changes = db.prepare(
    `UPDATE assets SET enrichment_error = ?, enriched_file_fingerprint = file_fingerprint,
       enriched_at = ?
     WHERE id = ? AND file_fingerprint = ?`,
  ).run(failure.reason.slice(0, 1000), failure.now, asset.id, asset.fileFingerprint).changes;
  return Number(changes) > 0;
}

function _where(
  collectionId: string,
  scope: EnrichScope,
): { where: string; params: SQLInputValue[] } {
  const clauses = ["collection_id = ?", "deleted_at IS NULL", "path IS NOT NULL"];
  const params: SQLInputValue[] = [collectionId];
  if (!scope.force) clauses.push("enriched_file_fingerprint IS NOT file_fingerprint");
  if (scope.title !== undefined) {
    clauses.push(
      "((kind = 'episode' AND series_title = ? COLLATE NOCASE) OR " +
        "(kind = 'movie' AND title = ? COLLATE NOCASE))",
    );
    params.push(scope.title, scope.title);
  }
  if (scope.season !== undefined) {
    clauses.push("season = ?");
    params.push(scope.season);
  }
  return { where: clauses.join(" AND "), params };
}

function _label(r: Record<string, SQLInputValue>): string {
  if (r.kind !== "episode") return String(r.title);
  const pad = (n: SQLInputValue) => String(n ?? "?").padStart(2, "0");
  return `${r.series_title} S${pad(r.season)}E${pad(r.episode)}`;
}
