/**
 * Identity across re-keying: an asset that went and a new item that is the
 * same media become one asset that keeps its id and takes the new external id.
 *
 * A Plex library deleted and added again gives every item a new `ratingKey`,
 * a server migration gives Jellyfin items new ids, a file renamed on disk has
 * a new relative path; RetroVue's schedules point at asset ids, so the diff's
 * "removed + new" would break them. After classification, this step pairs the
 * assets the run did not see (the removals of a full ingest; for a targeted
 * one, the unseen live assets inside its scope) with the new items, by the
 * strongest evidence first:
 *
 * 1. the same upstream guid (`externalIds.plex`, e.g. `plex://episode/…`);
 * 2. the same provider id (`imdb`, `tmdb`, `tvdb`, …) and, for episodes, the
 *    same season and episode (or air date): a show's ids are shared by all
 *    its episodes;
 * 3. the same upstream file path;
 * 4. only where the marker is a file's own modification time (the filesystem
 *    importer, `byFileStats`): the same size and time (a file renamed on
 *    disk). Other importers' markers can be shared by unrelated items.
 *
 * Kinds must agree, and a pair whose guids, provider ids, or season and
 * episode disagree is never made. A pair is made only when each side is the
 * other's only candidate at that level; otherwise both stay as they were
 * (removed + new), a weaker level may still tell them apart, and a new item
 * left ambiguous is reported (`ambiguous_identity`). Indexes are built only
 * over the two sets, and only when both are non-empty, so a run without new
 * items costs nothing.
 *
 * ```ts
 * import type { DatabaseSync } from "node:sqlite";
 * import type { AssetFilters } from "../core/contract.ts";
 * import type { Classifier } from "./diff.ts";
 * import { rekeyPlan } from "./rekey.ts";
 *
 * declare const db: DatabaseSync, classifier: Classifier, filters: AssetFilters; // the pipeline's
 * const plan = rekeyPlan(db, classifier.finish(), { filters });
 * console.log(plan.stats.rekeyed);
 * ```
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { classifyStaged, type IngestPlan, matchesScope, MAX_ISSUES } from "./diff.ts";
import { normalizeText } from "./normalize.ts";
import { unseenLiveSql } from "./staging.ts";

/** Options for {@link rekeyPlan}. */
export interface RekeyOptions {
  /** The run's targeted scope; empty for a full ingest. */
  filters: AssetFilters;
  /**
   * Also pair by file size and `modified` (level 4): only for importers whose
   * marker is the file's own modification time (the filesystem importer).
   */
  byFileStats?: boolean;
}

/** What identity matching needs to know about one side of a pair. */
interface _Side {
  /** The catalog id (a candidate) or "" (a new item). */
  id: string;
  /** The stage row (a new item) or -1 (a candidate). */
  seq: number;
  externalId: string;
  kind: string;
  season: number | null;
  episode: number | null;
  airDate: string | null;
  /** Provider ids as stored (canonical JSON); parsed on demand into `parsed`. */
  idsJson: string;
  parsed?: Record<string, string>;
  path: string | null;
  parts: string;
  size: number | null;
  modified: string | null;
}

type _Level = "guid" | "provider ids" | "path" | "file size and time";

const _LEVELS: readonly _Level[] = ["guid", "provider ids", "path", "file size and time"];

/**
 * Pairs the gone assets and new items that are the same media: marks each
 * pair in the stage (`rekey_id`), adjusts the counts (`new`, `removed`,
 * `rekeyed`) and reports ambiguous new items. Reads the candidates from the
 * catalog and the new items from the stage, and keeps in memory only the
 * identity fields of the candidates and of the new items that share a key
 * with one of them; a run without new items, or without candidates, reads
 * nothing. Returns `plan` itself, changed in place.
 */
export function rekeyPlan(db: DatabaseSync, plan: IngestPlan, options: RekeyOptions): IngestPlan {
  if (plan.unmatched === 0 || (plan.full && plan.stats.removed === 0)) return plan;
  const levels = _LEVELS.filter((l) => l !== "file size and time" || options.byFileStats);
  const olds = _loadCandidates(db, plan, options);
  if (olds.length === 0) return plan;
  const news = _loadNewItems(db, plan, _keySet(olds, levels), levels);
  if (news.length === 0) return plan;

  const oldMatch = new Int32Array(olds.length).fill(-1);
  const newMatch = new Int32Array(news.length).fill(-1);
  const ambiguous = new Map<number, { level: _Level; olds: Set<number> }>();
  for (const level of levels) _matchLevel(level, { olds, news, oldMatch, newMatch, ambiguous });

  const mark = db.prepare(`UPDATE ${plan.stage.table} SET rekey_id = ? WHERE seq = ?`);
  let rekeyed = 0;
  for (let n = 0; n < news.length; n++) {
    const o = newMatch[n];
    if (o < 0) continue;
    mark.run(olds[o].id, news[n].seq);
    rekeyed++;
  }
  for (const [n, { level, olds: candidates }] of ambiguous) {
    if (newMatch[n] >= 0 || plan.issues.length >= MAX_ISSUES) continue;
    const ids = [...candidates].map((o) => olds[o].id).sort();
    plan.issues.push({
      kind: "ambiguous_identity",
      externalId: news[n].externalId,
      message: `may be the same media as ${ids.join(", ")} (same ${level}), but not alone; ` +
        "added as a new asset, and no asset took its identity",
    });
  }
  _sortIssues(plan);
  if (rekeyed === 0) return plan;
  if (plan.full) plan.stats.removed -= rekeyed;
  plan.stats.new -= rekeyed;
  plan.stats.rekeyed = rekeyed;
  // The apply step compares this against the catalog; re-keyed assets are no longer "gone".
  plan.signature = classifyStaged(db, plan.stage, {
    collectionId: plan.collectionId,
    full: plan.full,
  }).signature;
  return plan;
}

interface _State {
  olds: _Side[];
  news: _Side[];
  oldMatch: Int32Array;
  newMatch: Int32Array;
  ambiguous: Map<number, { level: _Level; olds: Set<number> }>;
}

/** Pairs, at one level, every unmatched new item and gone asset that are each other's only candidate. */
function _matchLevel(level: _Level, s: _State): void {
  const index = new Map<string, number[]>();
  for (let o = 0; o < s.olds.length; o++) {
    if (s.oldMatch[o] >= 0) continue;
    for (const key of _keys(level, s.olds[o])) {
      const list = index.get(key);
      if (list) list.push(o);
      else index.set(key, [o]);
    }
  }
  if (index.size === 0) return;
  // For each gone asset, the new items that point at it at this level.
  const claims = new Map<number, number[]>();
  const found: Set<number>[] = [];
  for (let n = 0; n < s.news.length; n++) {
    if (s.newMatch[n] >= 0) continue;
    let candidates: Set<number> | undefined;
    for (const key of _keys(level, s.news[n])) {
      for (const o of index.get(key) ?? []) {
        if (!_compatible(s.olds[o], s.news[n])) continue;
        (candidates ??= new Set()).add(o);
      }
    }
    if (!candidates) continue;
    found[n] = candidates;
    for (const o of candidates) {
      const list = claims.get(o);
      if (list) list.push(n);
      else claims.set(o, [n]);
    }
  }
  for (let n = 0; n < s.news.length; n++) {
    const candidates = found[n];
    if (!candidates) continue;
    const [o] = candidates;
    if (candidates.size === 1 && claims.get(o)!.length === 1) {
      s.newMatch[n] = o;
      s.oldMatch[o] = n;
      continue;
    }
    const olds = new Set(candidates);
    // Two new items for one gone asset: name it for each of them.
    if (!s.ambiguous.has(n)) s.ambiguous.set(n, { level, olds });
  }
}

/** The keys a side is indexed under at one level; equal keys mean "maybe the same media". */
function _keys(level: _Level, x: _Side): string[] {
  switch (level) {
    case "guid": {
      const guid = _guid(x);
      return guid === undefined ? [] : [`${x.kind}\0${guid}`];
    }
    case "provider ids": {
      let where = "";
      if (x.kind === "episode") {
        if (x.season !== null && x.episode !== null) where = `\0${x.season}\0${x.episode}`;
        else if (x.airDate !== null) where = `\0${x.airDate}`;
        else return [];
      }
      const ids = _ids(x);
      const out: string[] = [];
      for (const k in ids) if (k !== "plex") out.push(`${x.kind}\0${k}\0${ids[k]}${where}`);
      return out;
    }
    case "path":
      return x.path === null ? [] : [`${x.kind}\0${x.path}`];
    case "file size and time":
      return x.size === null || x.size <= 0 || x.modified === null
        ? []
        : [`${x.kind}\0${x.size}\0${x.modified}`];
  }
}

/** False when two sides cannot be the same media: their guids, provider ids or episode disagree. */
function _compatible(a: _Side, b: _Side): boolean {
  if (a.kind !== b.kind) return false;
  if (a.idsJson !== b.idsJson) {
    const x = _ids(a);
    const y = _ids(b);
    for (const k in x) {
      if (y[k] !== undefined && y[k] !== x[k]) return false;
    }
  }
  if (a.kind === "episode") {
    if (a.season !== null && b.season !== null && a.season !== b.season) return false;
    if (a.episode !== null && b.episode !== null && a.episode !== b.episode) return false;
  }
  return true;
}

function _ids(x: _Side): Record<string, string> {
  if (x.parsed) return x.parsed;
  let ids: Record<string, string> = {};
  if (x.idsJson !== "{}") {
    try {
      const parsed = JSON.parse(x.idsJson);
      if (typeof parsed === "object" && parsed !== null) ids = parsed;
    } catch {
      // Stored by this code as canonical JSON; a broken value just matches nothing.
    }
  }
  return (x.parsed = ids);
}

const _PLEX_GUID = /"plex":"([^"\\]*)"/;

/** The upstream guid, read without parsing the whole JSON when it has no escapes. */
function _guid(x: _Side): string | undefined {
  if (x.parsed) return x.parsed.plex;
  if (!x.idsJson.includes('"plex":')) return undefined;
  const m = _PLEX_GUID.exec(x.idsJson);
  return m ? m[1] : _ids(x).plex;
}

/**
 * The live assets the run did not see: a full ingest's removals; for a
 * targeted one, those inside its scope (the season narrowed in SQL, the
 * title, which compares Unicode case-insensitively, in code). In external id
 * order, which keeps the outcome deterministic.
 */
function _loadCandidates(db: DatabaseSync, plan: IngestPlan, options: RekeyOptions): _Side[] {
  const { sql, args } = _candidateQuery(plan, options.filters);
  const stmt = db.prepare(sql);
  (stmt as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  const out: _Side[] = [];
  for (const r of stmt.iterate(...args) as Iterable<(string | number | null)[]>) {
    const kind = r[2] as "movie" | "episode";
    if (
      !plan.full && !matchesScope({
        kind,
        title: r[3] as string,
        seriesTitle: r[4] as string | null,
        season: _num(r[5]),
        episode: _num(r[6]),
        episodeEnd: _num(r[7]),
      }, options.filters)
    ) continue;
    out.push(_row(r[0] as string, -1, r));
  }
  out.sort((x, y) => (x.externalId < y.externalId ? -1 : x.externalId > y.externalId ? 1 : 0));
  return out;
}

/**
 * The candidates' query. A full ingest walks the collection. A targeted one
 * with an ASCII title reads it through the title indexes (episodes by series
 * title, movies by title); NOCASE folds ASCII only, so any other title
 * walks the collection and is narrowed in code. A season narrows in SQL.
 */
function _candidateQuery(
  plan: IngestPlan,
  f: AssetFilters,
): { sql: string; args: (string | number)[] } {
  const columns = `a.id, a.external_id, a.kind, a.title, a.series_title, a.season, a.episode,
    a.episode_end, a.air_date, a.external_ids, a.path, a.parts, a.size, a.modified`;
  const unseen = unseenLiveSql(plan.stage, "a");
  const c = plan.collectionId;
  const season = f.season === undefined ? "" : "AND a.season = ?";
  const seasonArgs = f.season === undefined ? [] : [f.season];
  if (plan.full || f.title === undefined || !/^[\x20-\x7e]*$/.test(f.title)) {
    return {
      sql: `SELECT ${columns} FROM main.assets a INDEXED BY assets_external
            WHERE ${unseen} ${plan.full ? "" : season}`,
      args: [c, ...(plan.full ? [] : seasonArgs)],
    };
  }
  const title = normalizeText(f.title);
  const episodes = `SELECT ${columns} FROM main.assets a INDEXED BY assets_series
    WHERE a.collection_id = ? AND a.series_title = ? COLLATE NOCASE AND a.kind = 'episode'
      AND ${unseen} ${season}`;
  if (f.season !== undefined) return { sql: episodes, args: [c, title, c, ...seasonArgs] };
  const movies = `SELECT ${columns} FROM main.assets a INDEXED BY assets_title
    WHERE a.collection_id = ? AND a.title = ? COLLATE NOCASE AND a.kind = 'movie' AND ${unseen}`;
  return { sql: `${episodes} UNION ALL ${movies}`, args: [c, title, c, c, title, c] };
}

/**
 * The staged items with no catalog row that share at least one key with a
 * candidate (the others cannot take part in any pair), in external id order.
 */
function _loadNewItems(
  db: DatabaseSync,
  plan: IngestPlan,
  keys: Set<string>,
  levels: readonly _Level[],
): _Side[] {
  if (keys.size === 0) return [];
  const stmt = db.prepare(
    `SELECT s.seq, s.external_id, s.kind, s.title, s.series_title, s.season, s.episode,
       s.episode_end, s.air_date, s.external_ids, s.path, s.parts, s.size, s.modified
     FROM ${plan.stage.table} s
     WHERE NOT EXISTS (SELECT 1 FROM main.assets a INDEXED BY assets_external
                       WHERE a.collection_id = ? AND a.external_id = s.external_id)
     ORDER BY s.external_id`,
  );
  (stmt as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  const out: _Side[] = [];
  for (const r of stmt.iterate(plan.collectionId) as Iterable<(string | number | null)[]>) {
    const side = _row("", Number(r[0]), r);
    if (levels.some((level) => _keys(level, side).some((k) => keys.has(k)))) out.push(side);
  }
  return out;
}

/** Every key the candidates are indexed under, at every level in use. */
function _keySet(olds: readonly _Side[], levels: readonly _Level[]): Set<string> {
  const keys = new Set<string>();
  for (const old of olds) {
    for (const level of levels) for (const k of _keys(level, old)) keys.add(k);
  }
  return keys;
}

/** A side from a row of the columns both loaders select, in their order. */
function _row(id: string, seq: number, r: (string | number | null)[]): _Side {
  return {
    id,
    seq,
    externalId: r[1] as string,
    kind: r[2] as string,
    season: _num(r[5]),
    episode: _num(r[6]),
    airDate: r[8] as string | null,
    idsJson: r[9] as string,
    path: r[10] as string | null,
    parts: r[11] as string,
    size: _num(r[12]),
    modified: r[13] as string | null,
  };
}

function _num(v: unknown): number | null {
  return v === null ? null : Number(v);
}

function _sortIssues(plan: IngestPlan): void {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  plan.issues.sort((a, b) =>
    cmp(a.externalId ?? "", b.externalId ?? "") || cmp(a.kind, b.kind) ||
    cmp(a.message, b.message)
  );
}
