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
 * const plan = rekeyPlan(db, classifier.finish(), { collectionId, filters });
 * console.log(plan.stats.rekeyed);
 * ```
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { type AssetRekey, type IngestPlan, matchesScope, MAX_ISSUES } from "./diff.ts";
import type { NormalizedAsset } from "./normalize.ts";

/** Options for {@link rekeyPlan}. */
export interface RekeyOptions {
  /** The collection ingested. */
  collectionId: string;
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
  id: string;
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
 * Moves the pairs of (gone asset, new item) that are the same media from
 * `plan.removals` and `plan.inserts` to `plan.rekeys`, adjusts the counts
 * (`new`, `removed`, `rekeyed`) and reports ambiguous new items. Reads the
 * candidates' stored fields from `db`; returns `plan` itself, changed in place.
 */
export function rekeyPlan(db: DatabaseSync, plan: IngestPlan, options: RekeyOptions): IngestPlan {
  if (plan.inserts.length === 0 || plan.rekeyCandidates.length === 0) return plan;
  const olds = _loadCandidates(db, plan.rekeyCandidates, options);
  if (olds.length === 0) return plan;
  const news = plan.inserts.map(({ id, asset }) => _side(id, asset));

  const oldMatch = new Int32Array(olds.length).fill(-1);
  const newMatch = new Int32Array(news.length).fill(-1);
  const ambiguous = new Map<number, { level: _Level; olds: Set<number> }>();
  for (const level of _LEVELS) {
    if (level === "file size and time" && !options.byFileStats) continue;
    _matchLevel(level, { olds, news, oldMatch, newMatch, ambiguous });
  }

  const rekeys: AssetRekey[] = [];
  const gone = new Set<string>();
  const inserts: IngestPlan["inserts"] = [];
  for (let n = 0; n < news.length; n++) {
    const o = newMatch[n];
    const insert = plan.inserts[n];
    if (o < 0) {
      inserts.push(insert);
      continue;
    }
    const old = olds[o];
    gone.add(old.id);
    const a = insert.asset;
    rekeys.push({
      id: old.id,
      previousExternalId: old.externalId,
      asset: a,
      fileChanged: old.path !== a.path || old.parts !== a.parts || old.size !== a.size,
    });
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
  if (rekeys.length === 0) {
    _sortIssues(plan);
    return plan;
  }
  plan.inserts = inserts;
  plan.rekeys = rekeys;
  if (plan.full) {
    plan.removals = plan.removals.filter((id) => !gone.has(id));
    plan.stats.removed = plan.removals.length;
  }
  plan.stats.new -= rekeys.length;
  plan.stats.rekeyed = rekeys.length;
  _sortIssues(plan);
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

function _side(id: string, a: NormalizedAsset): _Side {
  return {
    id,
    externalId: a.externalId,
    kind: a.kind,
    season: a.season,
    episode: a.episode,
    airDate: a.airDate,
    idsJson: a.externalIds,
    path: a.path,
    parts: a.parts,
    size: a.size,
    modified: a.modified,
  };
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

/** Up to this many candidates are read by id; more, by one scan of the collection. */
const _BY_ID_LIMIT = 10_000;

/** The stored fields of the candidates; for a targeted run, only those inside its scope. */
function _loadCandidates(db: DatabaseSync, ids: string[], options: RekeyOptions): _Side[] {
  const columns = `id, external_id, kind, title, series_title, season, episode, episode_end,
    air_date, external_ids, path, parts, size, modified`;
  const byId = ids.length <= _BY_ID_LIMIT;
  const stmt = byId
    ? db.prepare(`SELECT ${columns} FROM assets WHERE id IN (SELECT value FROM json_each(?))`)
    : db.prepare(
      `SELECT ${columns} FROM assets INDEXED BY assets_external
       WHERE collection_id = ? AND deleted_at IS NULL`,
    );
  (stmt as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  const wanted = byId ? null : new Set(ids);
  const targeted = options.filters.title !== undefined;
  const num = (v: unknown) => (v === null ? null : Number(v));
  const out: _Side[] = [];
  const found = stmt.all(byId ? JSON.stringify(ids) : options.collectionId);
  for (const r of found as unknown as (string | number | null)[][]) {
    const id = r[0] as string;
    if (wanted && !wanted.has(id)) continue;
    const kind = r[2] as "movie" | "episode";
    if (
      targeted && !matchesScope({
        kind,
        title: r[3] as string,
        seriesTitle: r[4] as string | null,
        season: num(r[5]),
        episode: num(r[6]),
        episodeEnd: num(r[7]),
      } as NormalizedAsset, options.filters)
    ) continue;
    out.push({
      id,
      externalId: r[1] as string,
      kind,
      season: num(r[5]),
      episode: num(r[6]),
      airDate: r[8] as string | null,
      idsJson: r[9] as string,
      path: r[10] as string | null,
      parts: r[11] as string,
      size: num(r[12]),
      modified: r[13] as string | null,
    });
  }
  // Stream order of the ingest (external id order) keeps the outcome deterministic.
  out.sort((a, b) => (a.externalId < b.externalId ? -1 : a.externalId > b.externalId ? 1 : 0));
  return out;
}

function _sortIssues(plan: IngestPlan): void {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  plan.issues.sort((a, b) =>
    cmp(a.externalId ?? "", b.externalId ?? "") || cmp(a.kind, b.kind) ||
    cmp(a.message, b.message)
  );
}
