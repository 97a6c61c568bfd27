/**
 * The filesystem importer's walk: turns one root's video files into assets,
 * and prunes folders the filters rule out before reading or stat-ing them.
 *
 * Disk reads go through `scanFolder` (`_scan.ts`), with
 * synchronous Deno fs calls: they block only the sandboxed worker and are
 * much faster than the async ones.
 *
 * Rules:
 * - files and folders are visited in name order (code-unit order), folder
 *   files first, then subfolders: the same tree always gives the same output;
 * - hidden entries (`.name`), samples and extras (by name or folder) are
 *   skipped and reported through `skipped(item, reason)`;
 * - every symlink's real path must stay under the root's real path, or it is
 *   skipped and reported (Deno follows symlinks inside a granted folder, so
 *   this check is ours); a link back to a folder on the way down is a loop;
 * - the versions of one movie in its folder (`Heat (1995) - 1080p.mkv`,
 *   `- 720p.mkv`), or of one episode in a folder (two `S01E01` files), are one
 *   asset, the others reported skipped (`_versions.ts`);
 * - an unreadable folder is reported with `warn` and the walk goes on;
 * - a file is stat-ed only once it passed the filters.
 *
 * @module
 */

import type { AssetFilters, ImportedAsset } from "../../core/contract.ts";
import {
  extraFromFileName,
  extraFromFolder,
  type ExtraType,
  humanizeTitle,
  partFolder,
  splitExtension,
  STACK_PART_WORDS,
  trimSeparators,
  withoutStackParts,
} from "../shared/naming/mod.ts";
import {
  type FolderTitle,
  type MovieName,
  type ParsedMedia,
  parseMovieName,
  parseSeasonFolder,
  parseSeriesFolder,
} from "../shared/naming/mod.ts";
import { parseFolderFiles } from "../shared/naming/mod.ts";
import { type NfoInfo, parseNfo } from "./_nfo.ts";
import { scanFolder, type ScannedFolder, type ScanOptions, subfolderChain } from "./_scan.ts";
import { bestVersion, pickVersion } from "./_versions.ts";

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
  /**
   * Reports an external-id prefix that exists but could not be read (an
   * unreadable folder `Show/Season 02/`, a file whose size could not be
   * read): the host keeps the stored assets under it (`CallContext.unlisted`).
   */
  unlisted?(prefix: string): void;
  /** Largest batch yielded at once. Default 500. */
  batchSize?: number;
}

/** The show or movie folder directly under the root, with its sidecars. */
interface _TitleFolder {
  series: FolderTitle;
  movie: MovieName;
  tvshowNfo?: NfoInfo;
  movieNfo?: NfoInfo;
  /** The show's ids (folder name, then `tvshow.nfo`), keys prefixed `series_`. */
  seriesIds: Record<string, string>;
}

interface _Dir {
  abs: string;
  /** Path relative to the root, `""` for the root. */
  relPath: string;
  /** Folder names from the root down. */
  rel: string[];
  /** Position among its parent's scanned subfolders. */
  index: number;
  title: _TitleFolder | null;
  /** Set on folders directly under the root that are not season folders. */
  titleFolderName?: string;
}

interface _Draft {
  rel: string;
  /** Index of the file in its scanned folder. */
  index: number;
  asset: ImportedAsset;
  part: number | null;
  /**
   * Files of one disc folder (`VIDEO_TS`, `BDMV/STREAM`) share a key and become one asset (of
   * its main title's files, see `_mainTitle`): the disc's kind, or null.
   */
  disc: "dvd" | "bluray" | null;
  /** What the file's own name says (not its `.nfo`): versions are told by names. */
  named: { title: string; year: number | null; episodeTitle: string | null };
  /** The key of a stack found across the folder's names (see `_namedStacks`), if any. */
  stack?: string;
  /** The scanned folder the file is in, when not the one it is grouped in (a part folder's). */
  folder?: ScannedFolder;
}

interface _State {
  batch: ImportedAsset[];
  /** The parser's folder cache. */
  cache: Map<string, unknown>;
  /** Formatted dates by day number, for {@link isoTime}. */
  days: Map<number, string>;
  /** Files read as episodes although the library hint said movies, and the first of them. */
  overridden: number;
  firstOverridden: string | null;
}

const _NO_NAMES: ReadonlySet<string> = new Set();

function _errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function _same(a: string, b: string): boolean {
  return a.normalize("NFC").trim().toLowerCase() === b.normalize("NFC").trim().toLowerCase();
}

/**
 * The largest `.nfo` read (1 MiB). Kodi's sidecars are a few KiB; a larger
 * file of that name is something else, and a regular-file check first keeps
 * a FIFO of that name from blocking the walk on its open.
 */
const _MAX_NFO_BYTES = 1 << 20;

function _readNfo(abs: string, warn: (m: string) => void, rel: string): NfoInfo | undefined {
  try {
    const info = Deno.statSync(abs);
    if (!info.isFile || info.size > _MAX_NFO_BYTES) {
      warn(
        `'${rel}' not read: ` +
          (info.isFile ? `${info.size} bytes, over the 1 MiB an .nfo may have` : "not a file"),
      );
      return undefined;
    }
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
  const state: _State = {
    batch: [],
    cache: new Map(),
    days: new Map(),
    overridden: 0,
    firstOverridden: null,
  };
  const batchSize = options.batchSize ?? 500;
  const scanOptions = _scanOptions(options);
  const root: _Dir = { abs: options.rootReal, relPath: "", rel: [], index: 0, title: null };
  const stack: Array<{ dir: _Dir; chain: string[] }> = [{ dir: root, chain: [options.rootReal] }];
  while (stack.length) {
    const { dir, chain } = stack.pop()!;
    _checkAbort(options.signal);
    const scanned = scanFolder({ abs: dir.abs, rel: dir.relPath, chain }, scanOptions);
    const subdirs = _visitDir(dir, scanned, options, state);
    for (const batch of _takeBatches(state, batchSize)) {
      _checkAbort(options.signal);
      yield batch;
    }
    for (let i = subdirs.length - 1; i >= 0; i--) {
      const sub = subdirs[i];
      stack.push({ dir: sub, chain: subfolderChain(scanned, sub.index) });
    }
  }
  if (state.batch.length) yield state.batch.splice(0);
  if (state.overridden > 0) {
    options.warn(
      `${state.overridden} file(s) named like episodes (S01E02) were stored as episodes although ` +
        `--kind movies was given, e.g. '${state.firstOverridden}'`,
    );
  }
}

/** Takes the whole batches off the front of `state.batch`, leaving the rest. */
function _takeBatches(state: _State, batchSize: number): ImportedAsset[][] {
  const out: ImportedAsset[][] = [];
  let at = 0;
  for (; at + batchSize <= state.batch.length; at += batchSize) {
    out.push(state.batch.slice(at, at + batchSize));
  }
  if (at > 0) state.batch = state.batch.slice(at);
  return out;
}

function _scanOptions(options: WalkOptions): ScanOptions {
  return {
    rootReal: options.rootReal,
    extensions: options.extensions,
    includeHidden: options.includeHidden,
  };
}

/**
 * Turns one scanned folder into assets (appended to `state.batch`) and
 * returns the subfolders to visit, pruned by the filters.
 */
function _visitDir(
  dir: _Dir,
  scanned: ScannedFolder,
  options: WalkOptions,
  state: _State,
): _Dir[] {
  if (scanned.error !== undefined) {
    options.warn(`cannot read folder '${dir.relPath || "."}': ${scanned.error}`);
    // Its assets are not gone: the host keeps them as they are (the root's: every one).
    options.unlisted?.(dir.relPath === "" ? "" : `${dir.relPath}/`.normalize("NFC"));
    return [];
  }
  for (const [item, reason] of scanned.skipped ?? []) options.skipped(item, reason);
  for (const warning of scanned.warnings ?? []) options.warn(warning);
  for (const rel of scanned.unreadable ?? []) options.unlisted?.(rel.normalize("NFC"));
  const nfos: ReadonlySet<string> = scanned.nfos ? new Set(scanned.nfos) : _NO_NAMES;
  if (dir.titleFolderName !== undefined) {
    dir.title = _titleFolder(dir, dir.titleFolderName, nfos, options);
  }
  _collectFiles(dir, scanned, nfos, options, state);
  const taken = scanned.folders.length > 1 && dir.rel.length > 0
    ? _partFolders(dir, { scanned, nfos }, options, state)
    : _NO_INDICES;

  const out: _Dir[] = [];
  const f = options.filters;
  for (let index = 0; index < scanned.folders.length; index++) {
    if (taken.has(index)) continue;
    const name = scanned.folders[index];
    const abs = `${dir.abs}/${name}`;
    const rel = [...dir.rel, name];
    const relPath = dir.relPath === "" ? name : `${dir.relPath}/${name}`;
    const season = parseSeasonFolder(name, {
      parentName: dir.rel.at(-1),
      numericFolders: dir.rel.length > 0,
    });
    if (dir.rel.length === 0 && season === null) {
      if (f.title !== undefined && !_titleFolderMatches(abs, name, f.title)) continue;
      out.push({ abs, relPath, rel, index, title: null, titleFolderName: name });
      continue;
    }
    if (f.season !== undefined && season !== null && season !== f.season) continue;
    out.push({ abs, relPath, rel, index, title: dir.title });
  }
  return out;
}

const _NO_INDICES: ReadonlySet<number> = new Set();

/**
 * Kodi's folder stacking: a movie split into part folders
 * (`Movie (1999)/CD1/movie.avi`, `CD2/movie.avi`), numbered 1 to n after
 * one word, each holding one video file and no folder, is one stacked movie,
 * named by the folder above them (see the name parser's `partFolder`). Adds
 * it to the batch and returns the indices of the folders it took, which the
 * walk does not enter. Part folders that do not all qualify are walked like
 * any other (a show's `Disc 1` of several episodes, a `CD1/VIDEO_TS`).
 */
function _partFolders(
  dir: _Dir,
  here: { scanned: ScannedFolder; nfos: ReadonlySet<string> },
  options: WalkOptions,
  state: _State,
): ReadonlySet<number> {
  const { scanned } = here;
  const groups = new Map<string, Array<{ index: number; part: number }>>();
  for (let index = 0; index < scanned.folders.length; index++) {
    const found = partFolder(scanned.folders[index]);
    if (found === null) continue;
    const group = groups.get(found.word);
    if (group) group.push({ index, part: found.part });
    else groups.set(found.word, [{ index, part: found.part }]);
  }
  let taken: Set<number> | undefined;
  for (const [word, group] of groups) {
    if (group.length < 2 || !_oneToN(group.map((g) => g.part))) continue;
    const drafts = _partFolderDrafts(dir, { ...here, group, word }, options, state);
    if (drafts === null) continue;
    taken ??= new Set();
    for (const { index } of group) taken.add(index);
    for (const asset of _statAndGroup(drafts, scanned, options, state)) state.batch.push(asset);
  }
  return taken ?? _NO_INDICES;
}

/**
 * The drafts of one group of part folders (see {@link _partFolders}), one
 * per folder, stacked under one key; null when a folder does not hold just
 * one movie file (or cannot be read whole). Empty when the movie does not
 * match the filters.
 */
function _partFolderDrafts(
  dir: _Dir,
  at: {
    scanned: ScannedFolder;
    nfos: ReadonlySet<string>;
    group: Array<{ index: number; part: number }>;
    word: string;
  },
  options: WalkOptions,
  state: _State,
): _Draft[] | null {
  const { scanned, group } = at;
  const drafts: _Draft[] = [];
  const stack = `m\u0000folders\u0000${at.word}`;
  const subs: ScannedFolder[] = [];
  let nfo: NfoInfo | undefined | null = null; // read once, for the first part
  for (const { index, part } of group) {
    const name = scanned.folders[index];
    const relPath = dir.relPath === "" ? name : `${dir.relPath}/${name}`;
    const sub = scanFolder(
      { abs: `${dir.abs}/${name}`, rel: relPath, chain: subfolderChain(scanned, index) },
      _scanOptions(options),
    );
    if (
      sub.error !== undefined || sub.folders.length > 0 || sub.files.length !== 1 ||
      sub.warnings?.length || sub.unreadable?.length
    ) return null;
    const [parsed] = parseFolderFiles(relPath, sub.files, {
      hint: options.hint,
      cache: state.cache,
    });
    if (
      parsed.kind !== "movie" || parsed.extraType !== null || parsed.sample || parsed.disc !== null
    ) return null;
    const rel = `${relPath}/${sub.files[0]}`;
    if (nfo === null) nfo = _folderMovieNfo(dir, at.nfos, options);
    drafts.push({
      rel,
      index: 0,
      asset: _movie(parsed, rel, nfo, options),
      part,
      disc: null,
      named: { title: parsed.title, year: parsed.year, episodeTitle: parsed.episodeTitle },
      stack,
      folder: sub,
    });
    subs.push(sub);
  }
  for (const sub of subs) {
    for (const [item, reason] of sub.skipped ?? []) options.skipped(item, reason);
  }
  return matchesFilters(drafts[0].asset, options.filters) ? drafts : [];
}

/**
 * The `movie.nfo` that names the movies of `dir`: the title folder's, read
 * with the folder, or the one in a folder below it.
 */
function _folderMovieNfo(
  dir: _Dir,
  nfos: ReadonlySet<string>,
  options: WalkOptions,
): NfoInfo | undefined {
  if (dir.rel.length === 1) return dir.title?.movieNfo;
  return nfos.has("movie.nfo") && dir.rel.length > 1
    ? _readNfo(`${dir.abs}/movie.nfo`, options.warn, `${dir.relPath}/movie.nfo`)
    : undefined;
}

/** Whether `parts` are 1 to n, each once (`DVD5` and `DVD9` are no parts 5 and 9). */
function _oneToN(parts: readonly number[]): boolean {
  const seen = new Set(parts);
  return seen.size === parts.length && parts.every((p) => p >= 1 && p <= parts.length);
}

function _titleFolder(
  dir: _Dir,
  name: string,
  nfos: ReadonlySet<string>,
  options: WalkOptions,
): _TitleFolder {
  const series = parseSeriesFolder(name);
  const tvshowNfo = nfos.has("tvshow.nfo")
    ? _readNfo(`${dir.abs}/tvshow.nfo`, options.warn, `${name}/tvshow.nfo`)
    : undefined;
  const movieNfo = nfos.has("movie.nfo")
    ? _readNfo(`${dir.abs}/movie.nfo`, options.warn, `${name}/movie.nfo`)
    : undefined;
  return {
    series,
    movie: parseMovieName(name),
    tvshowNfo,
    movieNfo,
    seriesIds: _prefixIds({ ...series.ids, ...(tvshowNfo?.ids ?? {}) }, "series_"),
  };
}

function _collectFiles(
  dir: _Dir,
  scanned: ScannedFolder,
  nfos: ReadonlySet<string>,
  options: WalkOptions,
  state: _State,
): void {
  const files = scanned.files;
  if (files.length === 0) return;
  const relDir = dir.relPath;
  let dirMovieNfo: NfoInfo | undefined | null = null;
  const drafts: _Draft[] = [];
  const all = parseFolderFiles(relDir, files, { hint: options.hint, cache: state.cache });
  for (let i = 0; i < files.length; i++) {
    if (i % 1000 === 999) _checkAbort(options.signal);
    const name = files[i];
    const rel = relDir ? `${relDir}/${name}` : name;
    const parsed = all[i];
    if (parsed.hintOverridden && state.overridden++ === 0) state.firstOverridden = rel;
    if (parsed.sample) {
      options.skipped(rel, "sample");
      continue;
    }
    if (parsed.extraType !== null) {
      options.skipped(rel, `extra (${parsed.extraType.replaceAll("_", " ")})`);
      continue;
    }
    let nfo: NfoInfo | undefined;
    if (nfos.size > 0) {
      const stem = splitExtension(name).stem;
      const nfoName = nfos.has(`${stem}.nfo`)
        ? `${stem}.nfo`
        : nfos.has(`${stem}.NFO`)
        ? `${stem}.NFO`
        : undefined;
      if (nfoName !== undefined) {
        const nfoRel = relDir ? `${relDir}/${nfoName}` : nfoName;
        nfo = _readNfo(`${dir.abs}/${nfoName}`, options.warn, nfoRel);
      }
    }
    let asset: ImportedAsset;
    if (parsed.kind === "episode") {
      asset = _episode(parsed, rel, dir, nfo, options);
    } else {
      if (dirMovieNfo === null) dirMovieNfo = _folderMovieNfo(dir, nfos, options);
      asset = _movie(parsed, rel, nfo ?? dirMovieNfo, options);
    }
    if (!matchesFilters(asset, options.filters)) continue;
    drafts.push({
      rel,
      index: i,
      asset,
      part: parsed.part,
      disc: parsed.disc,
      named: { title: parsed.title, year: parsed.year, episodeTitle: parsed.episodeTitle },
    });
  }
  const folder = dir.rel.length ? dir.rel[dir.rel.length - 1] : null;
  if (drafts.length > 1) _namedStacks(drafts);
  const kept = drafts.length < 2 ? drafts : _oneVersionEach(drafts, { folder, scanned, options });
  for (const asset of _statAndGroup(kept, scanned, options, state)) state.batch.push(asset);
}

/**
 * A part word and number in a movie file's name, as Kodi stacks them: the
 * text before (ending in a separator), the word, the number (1–99, or a
 * letter `a`–`d`), and the text after (`Heat.1995.DVDRip.CD1-GRP`,
 * `heat-cd1-xvid`, `Heat (1995)-partA`).
 */
const _NAMED_PART_RE = new RegExp(
  `^(.*?[ ._-])(${STACK_PART_WORDS})[ ._-]?(\\d{1,2}|[a-d])(?![0-9a-z])(.*)$`,
  "i",
);

/**
 * Marks as one stack the movie files of a folder that the name parser did
 * not read as parts, but whose names differ only in a part's number, the
 * way Kodi stacks them: the same text before and after, the same extension,
 * and numbers 1 to n (or letters from `a`), each once. Inside a name (text
 * after it) only a disc's word counts (`CD1`, `Disc2`, `DVD1`): `Part.1`
 * there is a title's (`Deathly.Hallows.Part.1.1080p`), and `DVD5`/`DVD9` a
 * disc's size, not its number. Letters count at the end only (`-partA`).
 */
function _namedStacks(drafts: _Draft[]): void {
  const groups = new Map<string, Array<{ draft: _Draft; part: number }>>();
  for (const draft of drafts) {
    if (draft.asset.kind !== "movie" || draft.part !== null || draft.disc) continue;
    const { stem, ext } = _nameOf(draft);
    const m = _NAMED_PART_RE.exec(stem.normalize("NFC"));
    if (!m) continue;
    const [, before, word, number, after] = m;
    const letter = /^[a-d]$/i.test(number);
    const inside = after !== "";
    if (inside && (letter || /^p(?:ar)?t$/i.test(word))) continue;
    const part = letter ? number.toLowerCase().charCodeAt(0) - 96 : Number(number);
    const key =
      `m\u0000named\u0000${before.toLowerCase()}\u0000${after.toLowerCase()}\u0000${ext}\u0000${letter}`;
    const group = groups.get(key);
    if (group) group.push({ draft, part });
    else groups.set(key, [{ draft, part }]);
  }
  for (const [key, group] of groups) {
    if (group.length < 2 || !_oneToN(group.map((g) => g.part))) continue;
    for (const { draft, part } of group) {
      draft.part = part;
      draft.stack = key;
    }
  }
}

/**
 * The extra a draft's name says it is when read without its episode's
 * numbers: a last extras word (`- Featurette`, `.Interview`), or an episode
 * title that names an extras folder (`- Deleted Scenes`); else null.
 */
function _extraWord(draft: _Draft): ExtraType | null {
  const { stem, ext } = _nameOf(draft);
  return extraFromFileName(stem, ext) ?? extraFromFolder(draft.named.episodeTitle ?? "", ext);
}

/** A draft's file name, split into stem and extension. */
function _nameOf(draft: _Draft): { stem: string; ext: string | null } {
  return splitExtension(draft.rel.slice(draft.rel.lastIndexOf("/") + 1));
}

/** A draft's file name without its extension. */
function _stem(draft: _Draft): string {
  return _nameOf(draft).stem;
}

/**
 * The drafts of a folder with one version of each movie or episode, the
 * others reported skipped (see `_versions.ts`): a movie's when every file of
 * its folder (`folder`, null at the root) is a version of it; an episode's
 * when files in the folder are the same episode of the same show by their
 * names (show, year, season and episode both known, the same last episode,
 * and no two different episode titles; stacked parts and discs apart).
 */
function _oneVersionEach(
  drafts: _Draft[],
  at: { folder: string | null; scanned: ScannedFolder; options: WalkOptions },
): _Draft[] {
  const { folder, scanned, options } = at;
  const since = (d: _Draft) => _since(d, { scanned, options });
  const loose = (d: _Draft) => d.part === null && !d.disc;
  if (folder !== null && drafts.every((d) => d.asset.kind === "movie" && loose(d))) {
    const choice = pickVersion(
      folder,
      drafts.map((d) => ({
        stem: _stem(d),
        title: d.named.title,
        year: d.named.year,
        since: () => since(d),
      })),
    );
    if (!choice) return drafts;
    for (const i of choice.others) options.skipped(drafts[i].rel, "another version of a movie");
    return [drafts[choice.primary]];
  }
  // Most folders number each episode once: the names are compared only where a number repeats.
  const numbered = new Map<number, number>();
  const numberOf = (d: _Draft): number | null => {
    const a = d.asset;
    if (a.kind !== "episode" || !loose(d) || a.season == null || a.episode == null) return null;
    return (a.season * 100_000 + a.episode) * 100_000 + (a.episodeEnd ?? 0);
  };
  for (const d of drafts) {
    const n = numberOf(d);
    if (n !== null) numbered.set(n, (numbered.get(n) ?? 0) + 1);
  }
  const episodes = new Map<string, number[]>();
  drafts.forEach((d, i) => {
    const n = numberOf(d);
    if (n === null || numbered.get(n)! < 2) return;
    const a = d.asset;
    const key = [
      (a.seriesTitle ?? "").normalize("NFC").toLowerCase(),
      d.named.title.normalize("NFC").toLowerCase(),
      d.named.year ?? "",
      a.season,
      a.episode,
      a.episodeEnd ?? "",
    ].join("\u0000");
    const group = episodes.get(key);
    if (group) group.push(i);
    else episodes.set(key, [i]);
  });
  const skip = new Set<number>();
  for (let group of episodes.values()) {
    if (group.length < 2) continue;
    // Named by an extras word beside the episode itself (`S01E03.Featurette` next to
    // `S01E03.Bushwhacked`): that episode's extra, as Jellyfin reads the word. Alone, such a
    // name is the episode (`S02E06 - Interview`, see the name parser).
    const extras = group.map((i) => _extraWord(drafts[i]));
    if (extras.some((e) => e === null) && extras.some((e) => e !== null)) {
      group.forEach((i, at) => {
        const extra = extras[at];
        if (extra === null) return;
        skip.add(i);
        options.skipped(drafts[i].rel, `extra (${extra.replaceAll("_", " ")})`);
      });
      group = group.filter((_, at) => extras[at] === null);
      if (group.length < 2) continue;
    }
    // Two titles that differ (`S01E01a - Help Wanted`, `S01E01b - Reef Blower`, or specials
    // sharing a number) are two episodes, whatever their numbers say.
    const titles = new Set(
      group.map((i) => (drafts[i].named.episodeTitle ?? "").toLowerCase()).filter((t) => t),
    );
    if (titles.size > 1) continue;
    const best = group[
      bestVersion(
        group.map((i) => _stem(drafts[i])),
        group.map((i) => since(drafts[i])),
      )
    ];
    for (const i of group) {
      if (i === best) continue;
      skip.add(i);
      options.skipped(drafts[i].rel, "another version of an episode");
    }
  }
  return skip.size ? drafts.filter((_, i) => !skip.has(i)) : drafts;
}

/**
 * When a file came (ms): its creation time where the filesystem keeps one,
 * which editing the file in place leaves as it was, else its modification
 * time; NaN when it cannot be read. A file that is there but cannot be read
 * may be the version imported so far: its stored asset is kept as it was
 * (`unlisted`, as `_stat` does), with a warning, rather than removed for the
 * version chosen in its place.
 */
function _since(draft: _Draft, at: { scanned: ScannedFolder; options: WalkOptions }): number {
  try {
    const info = Deno.statSync(`${at.scanned.abs}/${at.scanned.files[draft.index]}`);
    return (info.birthtime ?? info.mtime)?.getTime() ?? NaN;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      at.options.warn(`cannot read '${draft.rel}': ${_errorMessage(e)}`);
      at.options.unlisted?.(draft.rel.normalize("NFC"));
    }
    return NaN;
  }
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
  let seriesIds: Record<string, string>;
  if (title) {
    seriesTitle = title.tvshowNfo?.title ?? title.series.title;
    year = title.tvshowNfo?.year ?? title.series.year ?? parsed.year;
    seriesIds = title.seriesIds;
  } else {
    seriesIds = _prefixIds(parsed.seriesIds, "series_");
  }
  if (trimSeparators(seriesTitle) === "") seriesTitle = humanizeTitle(options.rootName);
  const ids = { ...seriesIds, ...parsed.ids, ...(nfo?.ids ?? {}) };
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

/** A file's size and mtime (ms since the epoch, NaN when unknown), or null with a warning. */
function _stat(
  draft: _Draft,
  scanned: ScannedFolder,
  options: WalkOptions,
): { size: number; mtime: number } | null {
  try {
    const info = Deno.statSync(`${scanned.abs}/${scanned.files[draft.index]}`);
    return { size: info.size, mtime: info.mtime ? info.mtime.getTime() : NaN };
  } catch (e) {
    options.warn(`cannot read '${draft.rel}': ${_errorMessage(e)}`);
    if (!(e instanceof Deno.errors.NotFound)) options.unlisted?.(draft.rel.normalize("NFC"));
    return null;
  }
}

const _DAY_MS = 86_400_000;

/**
 * `new Date(ms).toISOString()`, or null when `ms` is not finite.
 * `toISOString` costs about half a stat and files mostly share a few days,
 * so the date part is formatted once per day (remembered in `days`) and the
 * time of day by arithmetic.
 */
export function isoTime(ms: number, days: Map<number, string>): string | null {
  if (!Number.isFinite(ms)) return null;
  const day = Math.floor(ms / _DAY_MS);
  let prefix = days.get(day);
  if (prefix === undefined) {
    const iso = new Date(day * _DAY_MS).toISOString();
    prefix = iso.slice(0, iso.length - 13); // "HH:mm:ss.sssZ" is 13 characters
    days.set(day, prefix);
  }
  const t = ms - day * _DAY_MS;
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor(t / 60_000) % 60;
  const sec = Math.floor(t / 1000) % 60;
  const milli = Math.floor(t) % 1000;
  return `${prefix}${h < 10 ? "0" : ""}${h}:${m < 10 ? "0" : ""}${m}:${sec < 10 ? "0" : ""}${sec}.${
    milli < 10 ? "00" : milli < 100 ? "0" : ""
  }${milli}Z`;
}

/**
 * What the parts of one stacked item share in a folder (they become one
 * asset), or null: a disc's files, whatever their names; a movie's parts
 * (`Movie (2001) - part1`, `- part2`) by title and year, and by the rest of
 * their names (`Movie (2001) - 1080p - part1` and `- 720p - part1` are two
 * stacks, two versions, not one stack of four); a split episode's
 * (`Show - S01E01 - pt1`, `- pt2`, as Plex stacks them) by show, season and
 * episode or air date. A lone part stays an asset of its own.
 */
function _stackKey(draft: _Draft): string | null {
  if (draft.stack !== undefined) return draft.stack;
  const a = draft.asset;
  if (draft.disc) return "\u0000disc";
  if (a.kind === "movie") {
    const rest = withoutStackParts(_stem(draft)).toLowerCase();
    return `m\u0000${a.title.toLowerCase()}\u0000${a.year ?? ""}\u0000${rest}`;
  }
  if (a.episode == null && a.airDate == null) return null;
  return `e\u0000${(a.seriesTitle ?? "").toLowerCase()}\u0000${a.season ?? ""}\u0000` +
    `${a.episode ?? ""}\u0000${a.episodeEnd ?? ""}\u0000${a.airDate ?? ""}`;
}

function _statAndGroup(
  drafts: _Draft[],
  scanned: ScannedFolder,
  options: WalkOptions,
  state: _State,
): ImportedAsset[] {
  const out: ImportedAsset[] = [];
  const groups = new Map<string, { at: number; parts: _Part[] }>();
  for (const draft of drafts) {
    const info = _stat(draft, draft.folder ?? scanned, options);
    if (!info) continue;
    const key = draft.part === null ? null : _stackKey(draft);
    if (key !== null) {
      const group = groups.get(key);
      if (group) {
        group.parts.push({ draft, info });
        continue;
      }
      groups.set(key, { at: out.length, parts: [{ draft, info }] });
    }
    draft.asset.size = info.size;
    draft.asset.modified = isoTime(info.mtime, state.days);
    out.push(draft.asset);
  }
  for (const { at, parts: all } of groups.values()) {
    if (all.length < 2) continue;
    all.sort((a, b) => (a.draft.part ?? 0) - (b.draft.part ?? 0));
    const disc = all[0].draft.disc;
    const parts = disc ? _mainTitle(all, disc) : all;
    const mtimes = parts.map((p) => p.info.mtime).filter((m) => !Number.isNaN(m));
    // The first part was emitted (and given its own size) before the others were seen. It
    // names the asset, as it always has, even where a disc's main title starts later.
    const { size: _size, modified: _modified, ...first } = all[0].draft.asset;
    out[at] = {
      ...first,
      path: parts[0].draft.asset.path,
      parts: parts.map((p) => p.draft.asset.path ?? ""),
      size: parts.reduce((sum, p) => sum + p.info.size, 0),
      modified: mtimes.length ? isoTime(Math.max(...mtimes), state.days) : null,
    };
  }
  return out;
}

/** A file of a stack or disc, with its size and modification time. */
interface _Part {
  draft: _Draft;
  info: { size: number; mtime: number };
}

/**
 * The files of a disc folder (sorted by `part`) that hold its main title:
 * a DVD's title set with the most bytes (`VTS_02_1.VOB`, `VTS_02_2.VOB`…),
 * without the menus (`VIDEO_TS.VOB`, `VTS_xx_0.VOB`) and the other title
 * sets (extras, trailers); a Blu-ray's largest stream file, without the
 * warnings, menus and extras beside it. Played whole, a disc would show its
 * menu loop and extras inside the programme.
 * Every file when none qualifies.
 */
function _mainTitle(parts: _Part[], disc: "dvd" | "bluray"): _Part[] {
  if (disc === "bluray") {
    let best = parts[0];
    for (const p of parts) if (p.info.size > best.info.size) best = p;
    return [best];
  }
  const sets = new Map<number, { bytes: number; parts: _Part[] }>();
  for (const p of parts) {
    const n = p.draft.part ?? 0;
    if (n < 100 || n % 100 === 0) continue; // VIDEO_TS.VOB, VTS_xx_0.VOB: menus
    const set = sets.get(Math.floor(n / 100)) ?? { bytes: 0, parts: [] };
    set.bytes += p.info.size;
    set.parts.push(p);
    sets.set(Math.floor(n / 100), set);
  }
  let main: { bytes: number; parts: _Part[] } | undefined;
  for (const set of sets.values()) if (!main || set.bytes > main.bytes) main = set;
  return main ? main.parts : parts;
}
