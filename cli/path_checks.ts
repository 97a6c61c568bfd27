/**
 * Checks that path mappings can work: a mapping whose external prefix
 * matches none of a collection's upstream paths (a typo, `/media/shows` for
 * `/media/Shows`) is accepted by the catalog but leaves every asset with its
 * upstream path, and a mapping to the wrong local folder points at files that
 * do not exist. Used by `collection update` (warn at once), `collection
 * ingest` (report after the run) and `collection check-paths`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { mapPath, type PathMapping } from "../core/path_mapping.ts";
import { editDistance } from "./suggest.ts";

/** How many asset paths {@link unmatchedMappingWarnings} compares a prefix with. */
const ASSET_PATH_SAMPLE = 2000;

/**
 * Whether a stored asset kept its upstream path as its local path: no
 * mapping matched it, or a mapping maps a prefix onto itself. The same
 * expression as the `assets_live_paths` index's (see `core/db.ts`), so
 * that counting it reads only that index.
 */
const UNMAPPED_PATH_SQL = "local_path IS NULL OR local_path = path";

/** The default number of assets {@link checkLocalPaths} stats. */
export const DEFAULT_PATH_SAMPLE = 20;

/** Whether `prefix` matches `path` at a path-segment boundary (as the ingest maps paths). */
export function prefixMatches(path: string, prefix: string): boolean {
  return mapPath(path, [{ externalPrefix: prefix, localPrefix: "/" }]) !== null;
}

/**
 * One warning per mapping in `options.mappings` whose external prefix matches none of
 * the collection's `locations` nor any of its known asset paths, naming the
 * closest upstream prefix when there is one. Nothing when the collection has
 * neither locations nor assets yet (nothing to compare with).
 */
export function unmatchedMappingWarnings(
  db: DatabaseSync,
  collection: { id: string; locations: readonly string[] },
  options: { mappings: readonly PathMapping[] },
): string[] {
  const { mappings } = options;
  if (mappings.length === 0) return [];
  const paths = db.prepare(
    `SELECT path FROM assets WHERE collection_id = ? AND path IS NOT NULL
     ORDER BY deleted_at IS NOT NULL, id LIMIT ${ASSET_PATH_SAMPLE}`,
  ).all(collection.id).map((r) => String(r.path));
  const known = [...collection.locations, ...paths];
  if (known.length === 0) return [];
  const warnings: string[] = [];
  for (const m of mappings) {
    const p = m.externalPrefix;
    if (known.some((k) => prefixMatches(k, p) || prefixMatches(p, k))) continue;
    const closest = _closestPrefix(p, known);
    const where = collection.locations.length
      ? `the collection's locations (${collection.locations.join(", ")})`
      : "the collection's locations";
    warnings.push(
      `path mapping '${p}' matches none of ${where} or known asset paths, so it changes ` +
        `nothing` + (closest ? `; did you mean '${closest}'?` : ""),
    );
  }
  return warnings;
}

/** Among the prefixes of `known` paths as deep as `prefix`, the closest one (or null). */
function _closestPrefix(prefix: string, known: readonly string[]): string | null {
  const depth = prefix.split("/").length;
  const candidates = new Set(known.map((k) => k.split("/").slice(0, depth).join("/")));
  let best: string | null = null;
  let bestScore = Infinity;
  for (const c of candidates) {
    if (c === "") continue;
    // Case differences cost little: they are the usual mistake.
    const score = c.toLowerCase() === prefix.toLowerCase()
      ? 0
      : editDistance(c.toLowerCase(), prefix.toLowerCase()) + 1;
    if (score < bestScore || (score === bestScore && best !== null && c < best)) {
      best = c;
      bestScore = score;
    }
  }
  // A suggestion that shares little with the prefix only confuses.
  return best !== null && bestScore <= Math.max(3, Math.floor(prefix.length / 3)) ? best : null;
}

/** One sampled asset whose local file is missing. */
export interface MissingLocalFile {
  /** Asset id. */
  assetId: string;
  /** Upstream path. */
  path: string;
  /** The local path that does not exist. */
  localPath: string;
  /** Whether a path mapping produced `localPath` (false: the upstream path as is). */
  mapped: boolean;
}

/** What {@link checkLocalPaths} found. */
export interface LocalPathReport {
  /** Live assets with an upstream path. */
  withPath: number;
  /** Of those, how many no mapping matches while the collection has mappings. */
  unmapped: number;
  /** How many local files were looked at. */
  checked: number;
  /** The looked-at files that do not exist. */
  missing: MissingLocalFile[];
}

/**
 * Counts a collection's live assets that no path mapping matches (only when
 * it has mappings: without any, upstream paths are meant to be used as they
 * are) and looks on disk for up to `sample` local files, spread evenly over
 * the assets in the order the query's index reads them (ordering them by
 * row sorted every row of the collection first). Runs after every ingest,
 * so it reads counts in
 * SQL and only the sampled rows into memory, whatever the collection's size:
 * an asset no mapping matched was stored with its upstream path as its local
 * path (see `mapPath`), unless a mapping maps a prefix onto itself, which is
 * then checked row by row. With `scope` (a targeted ingest's filters) only
 * that title, season or episode is looked at, through the title indexes, so
 * a one-season ingest costs the same in any collection (titles compare
 * case-insensitively in ASCII here).
 */
export async function checkLocalPaths(
  db: DatabaseSync,
  collectionId: string,
  options: { mappings: readonly PathMapping[]; sample?: number; scope?: AssetFilters },
): Promise<LocalPathReport> {
  const { where: scoped, args: scopeArgs, from: scopedFrom } = _scopeSql(
    collectionId,
    options.scope ?? {},
  );
  // A whole collection is read through its narrow index of live paths
  // (`assets_live_paths`, a few bytes a row) rather than its rows (a
  // kilobyte or more each): this runs after every ingest.
  const from = scoped === "" ? "assets INDEXED BY assets_live_paths" : scopedFrom;
  const live = `collection_id = ? AND deleted_at IS NULL AND path IS NOT NULL ${scoped}`;
  const args = [collectionId, ...scopeArgs];
  const counts = db.prepare(
    `SELECT count(*) AS n, coalesce(sum(${UNMAPPED_PATH_SQL}), 0) AS same
     FROM ${from} WHERE ${live}`,
  ).get(...args) as { n: number; same: number };
  const withPath = Number(counts.n);
  const mapped = (path: string) => mapPath(path, options.mappings) !== null;
  let unmapped = 0;
  if (options.mappings.length > 0) {
    if (options.mappings.some((m) => m.externalPrefix === m.localPrefix)) {
      const rows = db.prepare(`SELECT path FROM assets WHERE ${live}`);
      for (const r of rows.iterate(...args)) if (!mapped(String(r.path))) unmapped++;
    } else {
      unmapped = Number(counts.same);
    }
  }
  const sample = Math.min(options.sample ?? DEFAULT_PATH_SAMPLE, withPath);
  const step = sample === 0 ? 1 : Math.max(1, Math.floor(withPath / sample));
  const rowids = sample === 0 ? [] : db.prepare(
    `SELECT rowid AS r FROM (
       SELECT rowid, row_number() OVER () - 1 AS n FROM ${from} WHERE ${live})
     WHERE n % ? = 0 LIMIT ?`,
  ).all(...args, step, sample).map((row) => Number(row.r));
  const one = db.prepare("SELECT id, path, local_path FROM assets WHERE rowid = ?");
  const picked = rowids.map((rowid) => one.get(rowid)!);
  const missing: MissingLocalFile[] = [];
  for (const r of picked) {
    const path = String(r.path);
    const localPath = r.local_path === null ? path : String(r.local_path);
    if (await _exists(localPath)) continue;
    missing.push({ assetId: String(r.id), path, localPath, mapped: mapped(path) });
  }
  return { withPath, unmapped, checked: picked.length, missing };
}

/**
 * The SQL narrowing to a targeted scope (episodes by series, movies by
 * title), and the table expression to read it from. A title alone is two
 * index lookups whose rows are then read by rowid: written as one `OR`,
 * SQLite walked the whole collection instead (~130 ms at 100k assets).
 */
function _scopeSql(
  collectionId: string,
  f: AssetFilters,
): { where: string; args: (string | number)[]; from: string } {
  if (f.title === undefined) return { where: "", args: [], from: "assets" };
  const title = f.title.trim();
  if (f.season === undefined) {
    return {
      where: `AND rowid IN (
        SELECT rowid FROM assets INDEXED BY assets_series
        WHERE collection_id = ? AND series_title = ? COLLATE NOCASE AND kind = 'episode'
        UNION ALL
        SELECT rowid FROM assets INDEXED BY assets_title
        WHERE collection_id = ? AND title = ? COLLATE NOCASE AND kind = 'movie')`,
      args: [collectionId, title, collectionId, title],
      from: "assets NOT INDEXED",
    };
  }
  const episode = f.episode === undefined
    ? ""
    : "AND episode <= ? AND coalesce(episode_end, episode) >= ?";
  return {
    where: `AND kind = 'episode' AND series_title = ? COLLATE NOCASE AND season = ? ${episode}`,
    args: [title, f.season, ...(f.episode === undefined ? [] : [f.episode, f.episode])],
    from: "assets",
  };
}

async function _exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
