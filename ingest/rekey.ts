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
 * left ambiguous is reported (`ambiguous_identity`, naming at most ten of its
 * candidates). No candidate list is kept: a side's second candidate is enough
 * to know it is not alone, so memory stays linear however many sides share a
 * key, and time too while they are compatible. Indexes are built only
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

  const s = _state(olds, news);
  levels.forEach((level, l) => _matchLevel(level, l, s));
  const rekeyed = _markPairs(db, plan, s);
  _reportAmbiguous(plan, levels, s);
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

/** At most this many candidates are named in an `ambiguous_identity` message. */
const _LISTED = 10;

/**
 * The matching's state: one number per side, never a list of candidates, so
 * that memory stays linear however many sides share a key.
 */
interface _State {
  olds: _Side[];
  news: _Side[];
  /** For each gone asset, the new item it is paired with, or -1. */
  oldMatch: Int32Array;
  /** For each new item, the gone asset it is paired with, or -1. */
  newMatch: Int32Array;
  /** For each paired gone asset, the level (its index in the levels in use) it was paired at. */
  oldLevel: Int8Array;
  /** For each new item, the first level at which it was left ambiguous, or -1. */
  ambiguousAt: Int8Array;
}

/** The state before any level: nothing paired, nothing ambiguous. */
function _state(olds: _Side[], news: _Side[]): _State {
  return {
    olds,
    news,
    oldMatch: new Int32Array(olds.length).fill(-1),
    newMatch: new Int32Array(news.length).fill(-1),
    oldLevel: new Int8Array(olds.length).fill(-1),
    ambiguousAt: new Int8Array(news.length).fill(-1),
  };
}

/**
 * Pairs, at one level (`l`, its index), every unmatched new item and gone
 * asset that are each other's only candidate; marks the other new items with
 * a candidate as ambiguous (from their first such level).
 */
function _matchLevel(level: _Level, l: number, s: _State): void {
  const index = _index(level, s.olds, (o) => s.oldMatch[o] < 0);
  if (index.size === 0) return;
  const sole = _soleCandidates(level, index, s);
  for (const n of _pairsAt(level, l, s, sole)) {
    const o = sole[n];
    s.newMatch[n] = o;
    s.oldMatch[o] = n;
    s.oldLevel[o] = l;
  }
}

/**
 * Each unmatched new item's only candidate in `index`: -2 when it has
 * several, -1 when none. Looks at no more than two candidates per item.
 */
function _soleCandidates(
  level: _Level,
  index: ReadonlyMap<string, readonly number[]>,
  s: _State,
): Int32Array {
  const sole = new Int32Array(s.news.length).fill(-1);
  for (let n = 0; n < s.news.length; n++) {
    if (s.newMatch[n] >= 0) continue;
    const found = _candidates(level, index, s.olds, s.news[n], 2);
    if (found.length > 0) sole[n] = found.length === 1 ? found[0] : -2;
  }
  return sole;
}

/**
 * The new items whose only candidate (`sole`) is claimed by no other new
 * item, in order; marks the others that have a candidate as ambiguous at `l`.
 * A gone asset is also another's when it is among the candidates of an item
 * with several; that is looked up only for a gone asset that is exactly one
 * item's only candidate.
 */
function _pairsAt(level: _Level, l: number, s: _State, sole: Int32Array): number[] {
  // Each gone asset's one new item that has it as only candidate; -2 when several do.
  const soleOf = new Int32Array(s.olds.length).fill(-1);
  for (let n = 0; n < sole.length; n++) {
    const o = sole[n];
    if (o >= 0) soleOf[o] = soleOf[o] === -1 ? n : -2;
  }
  const pairs: number[] = [];
  let several: Map<string, number[]> | undefined; // new items with several candidates, by key
  for (let n = 0; n < s.news.length; n++) {
    const o = sole[n];
    if (o === -1) continue;
    if (o >= 0 && soleOf[o] === n) {
      several ??= _index(level, s.news, (x) => sole[x] === -2);
      if (!_claimedByAnother(level, several, s, o)) {
        pairs.push(n);
        continue;
      }
    }
    if (s.ambiguousAt[n] < 0) s.ambiguousAt[n] = l;
  }
  return pairs;
}

/**
 * Whether a new item with several candidates (indexed in `several`) has the
 * gone asset `o` among them: then `o` is not one new item's alone.
 */
function _claimedByAnother(
  level: _Level,
  several: ReadonlyMap<string, readonly number[]>,
  s: _State,
  o: number,
): boolean {
  for (const key of _keys(level, s.olds[o])) {
    for (const n of several.get(key) ?? []) {
      if (_compatible(s.olds[o], s.news[n])) return true;
    }
  }
  return false;
}

/** The sides that `keep` accepts, by their keys at one level, in order. */
function _index(
  level: _Level,
  sides: readonly _Side[],
  keep: (i: number) => boolean,
): Map<string, number[]> {
  const index = new Map<string, number[]>();
  for (let i = 0; i < sides.length; i++) {
    if (!keep(i)) continue;
    for (const key of _keys(level, sides[i])) {
      const list = index.get(key);
      if (list) list.push(i);
      else index.set(key, [i]);
    }
  }
  return index;
}

/**
 * The first `limit` distinct gone assets in `index` that share a key with a
 * new item and are compatible with it; stops there, however many there are.
 */
function _candidates(
  level: _Level,
  index: ReadonlyMap<string, readonly number[]>,
  olds: readonly _Side[],
  side: _Side,
  limit: number,
): number[] {
  const out: number[] = [];
  for (const key of _keys(level, side)) {
    for (const o of index.get(key) ?? []) {
      if (out.includes(o) || !_compatible(olds[o], side)) continue;
      out.push(o);
      if (out.length === limit) return out;
    }
  }
  return out;
}

/** Marks each pair in the stage (`rekey_id`); returns how many there are. */
function _markPairs(db: DatabaseSync, plan: IngestPlan, s: _State): number {
  const mark = db.prepare(`UPDATE ${plan.stage.table} SET rekey_id = ? WHERE seq = ?`);
  let rekeyed = 0;
  for (let n = 0; n < s.news.length; n++) {
    const o = s.newMatch[n];
    if (o < 0) continue;
    mark.run(s.olds[o].id, s.news[n].seq);
    rekeyed++;
  }
  return rekeyed;
}

/**
 * Reports the new items left ambiguous and unpaired, by level then in order,
 * while the issues have room. Each names the candidates it had at its level
 * (those then unpaired), at most {@link _LISTED} of them: they are looked up
 * again here, for the reported items only, one level's index at a time.
 */
function _reportAmbiguous(plan: IngestPlan, levels: readonly _Level[], s: _State): void {
  let room = MAX_ISSUES - plan.issues.length;
  for (let l = 0; l < levels.length && room > 0; l++) {
    const reported: number[] = [];
    for (let n = 0; n < s.news.length && room > 0; n++) {
      if (s.ambiguousAt[n] !== l || s.newMatch[n] >= 0) continue;
      reported.push(n);
      room--;
    }
    if (reported.length === 0) continue;
    const index = _index(levels[l], s.olds, (o) => s.oldMatch[o] < 0 || s.oldLevel[o] >= l);
    for (const n of reported) {
      const found = _candidates(levels[l], index, s.olds, s.news[n], _LISTED + 1);
      const ids = found.slice(0, _LISTED).map((o) => s.olds[o].id).sort();
      plan.issues.push({
        kind: "ambiguous_identity",
        externalId: s.news[n].externalId,
        message: _ambiguityMessage(ids, found.length > _LISTED, levels[l]),
      });
    }
  }
}

/** An `ambiguous_identity` message; `more` when there were more candidates than `ids`. */
function _ambiguityMessage(ids: readonly string[], more: boolean, level: _Level): string {
  const names = more ? `${ids.join(", ")} and others` : ids.join(", ");
  return `may be the same media as ${names} (same ${level}), but not alone; ` +
    "added as a new asset, and no asset took its identity";
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
