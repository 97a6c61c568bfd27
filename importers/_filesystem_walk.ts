/**
 * The filesystem importer's walk: reads one root with synchronous Deno fs
 * calls (they block only the sandboxed worker and are much faster than the
 * async ones), turns video files into assets, and prunes folders the filters
 * rule out before reading or stat-ing them.
 *
 * Rules:
 * - files and folders are visited in name order (code-unit order), folder
 *   files first, then subfolders: the same tree always gives the same output;
 * - hidden entries (`.name`), samples and extras (by name or folder) are
 *   skipped and reported through `skipped(item, reason)`;
 * - every symlink's real path must stay under the root's real path, or it is
 *   skipped and reported (Deno follows symlinks inside a granted folder, so
 *   this check is ours); symlinked folders are visited once;
 * - an unreadable folder is reported with `warn` and the walk goes on;
 * - a file is stat-ed only once it passed the filters.
 *
 * @module
 */

import type { AssetFilters, ImportedAsset } from "../core/contract.ts";
import { EXTRA_FOLDERS, humanizeTitle, splitExtension, trimSeparators } from "./_naming_tokens.ts";
import {
  type FolderTitle,
  type MovieName,
  type ParsedMedia,
  parseMediaPath,
  parseMovieName,
  parseSeasonFolder,
  parseSeriesFolder,
} from "./_naming.ts";
import { type NfoInfo, parseNfo } from "./_filesystem_nfo.ts";

/** Everything one walk needs. */
export interface WalkOptions {
  /** The root as the operator wrote it (used for asset `path`s). */
  rootPath: string;
  /** The root's real path (what is read, and what symlinks must stay under). */
  rootReal: string;
  /** The root's display name (fallback show title for loose episodes). */
  rootName: string;
  /** Library kind hint for the parser. */
  hint: "auto" | "movie" | "episode";
  /** Lower-case extensions, without dots, that count as video files. */
  extensions: ReadonlySet<string>;
  /** Also read hidden files and folders. */
  includeHidden: boolean;
  /** The targeted scope. */
  filters: AssetFilters;
  /** Cancels the walk between folders and files. */
  signal: AbortSignal;
  /** Reports a problem the operator should see (an unreadable folder…). */
  warn(message: string): void;
  /** Reports an item deliberately not imported. */
  skipped(item: string, reason: string): void;
  /** Largest batch yielded at once. Default 500. */
  batchSize?: number;
}

/** The show or movie folder directly under the root, with its sidecars. */
interface _TitleFolder {
  series: FolderTitle;
  movie: MovieName;
  tvshowNfo?: NfoInfo;
  movieNfo?: NfoInfo;
}

interface _Dir {
  abs: string;
  rel: string[];
  title: _TitleFolder | null;
  /** Set on folders directly under the root that are not season folders. */
  titleFolderName?: string;
}

interface _Draft {
  rel: string;
  abs: string;
  asset: ImportedAsset;
  part: number | null;
}

interface _State {
  visited: Set<string>;
  batch: ImportedAsset[];
  cache: Map<string, unknown>;
}

const _DEPTH1_CATEGORY_NAMES = new Set(["other", "others", "shorts", "clips", "scenes"]);

function _errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function _same(a: string, b: string): boolean {
  return a.normalize("NFC").trim().toLowerCase() === b.normalize("NFC").trim().toLowerCase();
}

function _readNfo(abs: string, warn: (m: string) => void, rel: string): NfoInfo | undefined {
  try {
    return parseNfo(Deno.readTextFileSync(abs));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) warn(`cannot read '${rel}': ${_errorMessage(e)}`);
    return undefined;
  }
}

function _checkAbort(signal: AbortSignal): void {
  if (signal.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new Error("fetch cancelled");
  }
}

/** Whether an asset falls inside the filters. */
export function matchesFilters(asset: ImportedAsset, filters: AssetFilters): boolean {
  if (filters.title !== undefined) {
    const title = asset.kind === "episode" ? asset.seriesTitle ?? "" : asset.title;
    if (!_same(title, filters.title)) return false;
  }
  if (filters.season !== undefined) {
    if (asset.kind !== "episode" || asset.season !== filters.season) return false;
  }
  if (filters.episode !== undefined) {
    const first = asset.episode;
    if (first === null || first === undefined) return false;
    const last = asset.episodeEnd ?? first;
    if (filters.episode < first || filters.episode > last) return false;
  }
  return true;
}

function _titleFolderMatches(abs: string, name: string, title: string): boolean {
  if (_same(parseSeriesFolder(name).title, title) || _same(parseMovieName(name).title, title)) {
    return true;
  }
  for (const sidecar of ["tvshow.nfo", "movie.nfo"]) {
    try {
      const nfo = parseNfo(Deno.readTextFileSync(`${abs}/${sidecar}`));
      if (nfo.title !== undefined && _same(nfo.title, title)) return true;
    } catch {
      // No sidecar (or unreadable): the folder name decides.
    }
  }
  return false;
}

function _prefixIds(ids: Record<string, string>, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ids)) out[`${prefix}${k}`] = v;
  return out;
}

/**
 * Walks one root and yields its assets in batches, in a stable order.
 * Throws only when cancelled; everything else is reported and skipped.
 */
export function* walkAssets(options: WalkOptions): Generator<ImportedAsset[]> {
  const state = {
    visited: new Set<string>([options.rootReal]),
    batch: [] as ImportedAsset[],
    cache: new Map<string, unknown>(),
  };
  const batchSize = options.batchSize ?? 500;
  const stack: _Dir[] = [{ abs: options.rootReal, rel: [], title: null }];
  while (stack.length) {
    const dir = stack.pop()!;
    _checkAbort(options.signal);
    const subdirs = _visitDir(dir, options, state);
    while (state.batch.length >= batchSize) yield state.batch.splice(0, batchSize);
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
  if (state.batch.length) yield state.batch.splice(0);
}

function _inside(real: string, rootReal: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith("/") ? rootReal : `${rootReal}/`);
}

function _visitDir(
  dir: _Dir,
  options: WalkOptions,
  state: _State,
): _Dir[] {
  const relDir = dir.rel.join("/");
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir.abs)];
  } catch (e) {
    options.warn(`cannot read folder '${relDir || "."}': ${_errorMessage(e)}`);
    return [];
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Set(entries.map((e) => e.name));
  if (dir.titleFolderName !== undefined) {
    dir.title = _titleFolder(dir, dir.titleFolderName, names, options);
  }

  const files: string[] = [];
  const subdirs: Array<{ name: string; abs: string }> = [];
  for (const entry of entries) {
    const name = entry.name;
    const abs = `${dir.abs}/${name}`;
    const rel = relDir ? `${relDir}/${name}` : name;
    let isDir = entry.isDirectory;
    let isFile = entry.isFile;
    const isVideoName = options.extensions.has(name.slice(name.lastIndexOf(".") + 1).toLowerCase());
    if (name.startsWith(".") && !options.includeHidden) {
      if (isDir || isVideoName || entry.isSymlink) options.skipped(rel, "hidden");
      continue;
    }
    if (entry.isSymlink) {
      let real: string;
      try {
        real = Deno.realPathSync(abs);
      } catch (e) {
        options.skipped(
          rel,
          e instanceof Deno.errors.NotFound ? "broken symlink" : "symlink leaves the root",
        );
        continue;
      }
      if (!_inside(real, options.rootReal)) {
        options.skipped(rel, "symlink leaves the root");
        continue;
      }
      try {
        const st = Deno.statSync(abs);
        isDir = st.isDirectory;
        isFile = st.isFile;
      } catch (e) {
        options.warn(`cannot read '${rel}': ${_errorMessage(e)}`);
        continue;
      }
      if (isDir) {
        if (state.visited.has(real)) {
          options.skipped(rel, "symlink loop");
          continue;
        }
        state.visited.add(real);
      }
    }
    if (isDir) subdirs.push({ name, abs });
    else if (isFile && isVideoName) files.push(name);
  }

  _collectFiles(dir, files, names, options, state);

  const out: _Dir[] = [];
  const f = options.filters;
  for (const sub of subdirs) {
    const rel = [...dir.rel, sub.name];
    const relStr = rel.join("/");
    const lower = sub.name.toLowerCase();
    const extra = EXTRA_FOLDERS[lower];
    if (extra && !(dir.rel.length === 0 && _DEPTH1_CATEGORY_NAMES.has(lower))) {
      options.skipped(`${relStr}/`, extra === "sample" ? "sample folder" : "extras folder");
      continue;
    }
    const season = parseSeasonFolder(sub.name, {
      parentName: dir.rel.at(-1),
      numericFolders: dir.rel.length > 0,
    });
    if (dir.rel.length === 0 && season === null) {
      if (f.title !== undefined && !_titleFolderMatches(sub.abs, sub.name, f.title)) continue;
      out.push({ abs: sub.abs, rel, title: null, titleFolderName: sub.name });
      continue;
    }
    if (f.season !== undefined && season !== null && season !== f.season) continue;
    out.push({ abs: sub.abs, rel, title: dir.title });
  }
  return out;
}

function _titleFolder(
  dir: _Dir,
  name: string,
  names: ReadonlySet<string>,
  options: WalkOptions,
): _TitleFolder {
  const folder: _TitleFolder = { series: parseSeriesFolder(name), movie: parseMovieName(name) };
  if (names.has("tvshow.nfo")) {
    folder.tvshowNfo = _readNfo(`${dir.abs}/tvshow.nfo`, options.warn, `${name}/tvshow.nfo`);
  }
  if (names.has("movie.nfo")) {
    folder.movieNfo = _readNfo(`${dir.abs}/movie.nfo`, options.warn, `${name}/movie.nfo`);
  }
  return folder;
}

function _collectFiles(
  dir: _Dir,
  files: string[],
  names: ReadonlySet<string>,
  options: WalkOptions,
  state: _State,
): void {
  if (files.length === 0) return;
  const relDir = dir.rel.join("/");
  let dirMovieNfo: NfoInfo | undefined | null = null;
  const drafts: _Draft[] = [];
  for (let i = 0; i < files.length; i++) {
    if (i % 1000 === 999) _checkAbort(options.signal);
    const name = files[i];
    const rel = relDir ? `${relDir}/${name}` : name;
    const parsed = parseMediaPath(rel, { hint: options.hint, cache: state.cache });
    if (parsed.sample) {
      options.skipped(rel, "sample");
      continue;
    }
    if (parsed.extraType !== null) {
      options.skipped(rel, `extra (${parsed.extraType.replaceAll("_", " ")})`);
      continue;
    }
    const stem = splitExtension(name).stem;
    const nfoName = [`${stem}.nfo`, `${stem}.NFO`].find((n) => names.has(n));
    const nfo = nfoName
      ? _readNfo(`${dir.abs}/${nfoName}`, options.warn, relDir ? `${relDir}/${nfoName}` : nfoName)
      : undefined;
    let asset: ImportedAsset;
    if (parsed.kind === "episode") {
      asset = _episode(parsed, rel, dir, nfo, options);
    } else {
      if (dirMovieNfo === null) {
        dirMovieNfo = names.has("movie.nfo") && dir.rel.length > 1
          ? _readNfo(`${dir.abs}/movie.nfo`, options.warn, `${relDir}/movie.nfo`)
          : dir.rel.length === 1
          ? dir.title?.movieNfo
          : undefined;
      }
      asset = _movie(parsed, rel, nfo ?? dirMovieNfo, options);
    }
    if (!matchesFilters(asset, options.filters)) continue;
    drafts.push({ rel, abs: `${dir.abs}/${name}`, asset, part: parsed.part });
  }
  for (const asset of _statAndGroup(drafts, options)) state.batch.push(asset);
}

function _episode(
  parsed: ParsedMedia,
  rel: string,
  dir: _Dir,
  nfo: NfoInfo | undefined,
  options: WalkOptions,
): ImportedAsset {
  const title = dir.title;
  let seriesTitle = parsed.title;
  let year = parsed.year;
  let seriesIds: Record<string, string> = parsed.seriesIds;
  if (title) {
    seriesTitle = title.tvshowNfo?.title ?? title.series.title;
    year = title.tvshowNfo?.year ?? title.series.year ?? parsed.year;
    seriesIds = { ...title.series.ids, ...(title.tvshowNfo?.ids ?? {}) };
  }
  if (trimSeparators(seriesTitle) === "") seriesTitle = humanizeTitle(options.rootName);
  const ids = { ..._prefixIds(seriesIds, "series_"), ...parsed.ids, ...(nfo?.ids ?? {}) };
  return {
    externalId: rel.normalize("NFC"),
    kind: "episode",
    title: nfo?.title ?? parsed.episodeTitle ?? "",
    seriesTitle,
    season: nfo?.season ?? parsed.season,
    episode: nfo?.episode ?? parsed.episode,
    episodeEnd: nfo?.episode !== undefined && parsed.episodeEnd !== null &&
        parsed.episodeEnd < nfo.episode
      ? null
      : parsed.episodeEnd,
    year,
    airDate: nfo?.airDate ?? parsed.airDate,
    externalIds: ids,
    path: `${options.rootPath}/${rel}`,
  };
}

function _movie(
  parsed: ParsedMedia,
  rel: string,
  nfo: NfoInfo | undefined,
  options: WalkOptions,
): ImportedAsset {
  const fallback = splitExtension(rel.slice(rel.lastIndexOf("/") + 1)).stem;
  return {
    externalId: rel.normalize("NFC"),
    kind: "movie",
    title: nfo?.title ?? (parsed.title || fallback),
    year: nfo?.year ?? parsed.year,
    externalIds: { ...parsed.ids, ...(nfo?.ids ?? {}) },
    path: `${options.rootPath}/${rel}`,
  };
}

function _stat(draft: _Draft, options: WalkOptions): Deno.FileInfo | null {
  try {
    return Deno.statSync(draft.abs);
  } catch (e) {
    options.warn(`cannot read '${draft.rel}': ${_errorMessage(e)}`);
    return null;
  }
}

function _statAndGroup(drafts: _Draft[], options: WalkOptions): ImportedAsset[] {
  const out: ImportedAsset[] = [];
  const groups = new Map<
    string,
    { at: number; parts: Array<{ draft: _Draft; info: Deno.FileInfo }> }
  >();
  for (const draft of drafts) {
    const info = _stat(draft, options);
    if (!info) continue;
    if (draft.asset.kind === "movie" && draft.part !== null) {
      const key = `${draft.asset.title.toLowerCase()}\u0000${draft.asset.year ?? ""}`;
      const group = groups.get(key);
      if (group) {
        group.parts.push({ draft, info });
        continue;
      }
      groups.set(key, { at: out.length, parts: [{ draft, info }] });
    }
    out.push({
      ...draft.asset,
      size: info.size,
      modified: info.mtime ? info.mtime.toISOString() : null,
    });
  }
  for (const { at, parts } of groups.values()) {
    if (parts.length < 2) continue;
    parts.sort((a, b) => (a.draft.part ?? 0) - (b.draft.part ?? 0));
    const mtimes = parts.map((p) => p.info.mtime?.toISOString() ?? "").sort();
    out[at] = {
      ...parts[0].draft.asset,
      parts: parts.map((p) => p.draft.asset.path ?? ""),
      size: parts.reduce((sum, p) => sum + p.info.size, 0),
      modified: mtimes.at(-1) || null,
    };
  }
  return out;
}
