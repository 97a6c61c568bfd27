/**
 * The name parser: what a media file's path says about it, following the
 * local-media conventions Plex and Jellyfin document.
 *
 * - Shows: `Show (2010)/Season 01/Show - S01E02 - Title.mkv`, `s1e2`, `1x02`,
 *   `S01E01-E02`, `S01E01E02`, `Season 3 Episode 9`, `Specials` (season 0),
 *   daily `Show 2020-01-31`, bare episode numbers inside a season folder
 *   (`Season 2/05 - Title.mkv`), anime `[Group] Show - 05 [1080p].mkv`.
 * - Movies: `Movie (2001)/Movie (2001).mkv`, `Movie.2001.1080p.BluRay.mkv`,
 *   multi-part `-part1` / `cd1`.
 * - Provider ids in names: `{imdb-tt0123}`, `[tmdbid-123]`, `{tvdb-456}`.
 * - Extras and samples: `-trailer`, `-sample`, `Featurettes/`, `Behind The Scenes/`…
 *
 * Pure TypeScript, no Deno APIs: usable in the sandboxed worker and the CLI.
 *
 * @module
 */

import {
  extractIds,
  extraFromFileName,
  extraFromFolder,
  type ExtraType,
  humanizeTitle,
  isAudioExtension,
  isYear,
  junkIndex,
  splitExtension,
  splitPath,
  stripLeadingTags,
  stripTrailingTags,
  trimSeparators,
} from "./_naming_tokens.ts";
import {
  type FolderTitle,
  type MovieName,
  parseMovieName,
  parseSeasonFolder,
  parseSeriesFolder,
} from "./_naming_folders.ts";

export type { ExtraType } from "./_naming_tokens.ts";
export { parseMovieName, parseSeasonFolder, parseSeriesFolder } from "./_naming_folders.ts";
export type { FolderTitle, MovieName, SeasonFolderOptions } from "./_naming_folders.ts";
export { titleKey, VIDEO_EXTENSIONS } from "./_naming_tokens.ts";

/** What a path is, as far as its name tells. */
export type ParsedKind = "movie" | "episode" | "unknown";

/** Everything the parser infers from one path. Absent facts are null. */
export interface ParsedMedia {
  /** Movie or episode; `unknown` for an empty name. */
  kind: ParsedKind;
  /** Movie title, or the series title for an episode. */
  title: string;
  /** The episode's own title, when the name carries one. */
  episodeTitle: string | null;
  /** Release year (movie), or the show's year for an episode. */
  year: number | null;
  /** Season number; 0 is specials. */
  season: number | null;
  /** (First) episode number. */
  episode: number | null;
  /** Last episode of a multi-episode file (`S01E01-E03` → 3). */
  episodeEnd: number | null;
  /** Air date of a daily episode, `YYYY-MM-DD`. */
  airDate: string | null;
  /** Provider ids written in the file name (and the movie folder), lower-case keys. */
  ids: Record<string, string>;
  /** Provider ids written in the show folder of an episode. */
  seriesIds: Record<string, string>;
  /** Part number of a multi-part movie (`-part2` → 2). */
  part: number | null;
  /** The kind of extra (trailer, featurette…), or null for main content. */
  extraType: ExtraType | null;
  /** A sample file (`-sample`, `Sample/`): never main content. */
  sample: boolean;
  /** Lower-case extension, if the name had a known one. */
  container: string | null;
}

/** Options for {@link parseMediaPath}. */
export interface ParseOptions {
  /**
   * What the library holds: `episode` (a shows library), `movie` (a movies
   * library) or `auto` (decide per file: episode when the name has a clear
   * episode marker or sits in a season folder). Default `auto`.
   */
  hint?: "auto" | "movie" | "episode";
  /** The path names a folder (no extension is stripped). Default false. */
  isDirectory?: boolean;
  /** The library root: folders at or above it say nothing about extras or shows. */
  libraryRoot?: string;
  /** Read `Show 112` as absolute episode 112 instead of season 1 episode 12. Default false. */
  absoluteEpisodes?: boolean;
  /**
   * A map the caller owns, reused across calls to remember folder-level
   * results (season, show and movie folders). A walk passes one per root.
   */
  cache?: Map<string, unknown>;
}

/** An episode marker found in a name. */
interface _EpisodeMatch {
  index: number;
  end: number;
  season: number | null;
  episode: number | null;
  episodeEnd: number | null;
  airDate: string | null;
  /** A marker clear enough to call a file an episode without other context. */
  strong: boolean;
}

interface _MatchContext {
  inSeasonFolder: boolean;
  hint: "auto" | "movie" | "episode";
  absolute: boolean;
}

const _CONTINUATION_RE =
  /^(?:-(?:s?\d{1,4}[ex]|[ex])?|[ex]|\s+-\s+(?:s?\d{1,4}[ex]|[ex]))(\d{1,4})(?=$|[^0-9a-z]|[ex]\d)/i;

/** Extends a fresh match over `-E03`, `E03`, `-03`… continuations (multi-episode files). */
function _continue(text: string, match: _EpisodeMatch): _EpisodeMatch {
  let last = match.episode ?? 0;
  while (true) {
    const m = _CONTINUATION_RE.exec(text.slice(match.end));
    if (!m) break;
    const n = Number(m[1]);
    if (n <= last) break;
    last = n;
    match.episodeEnd = n;
    match.end += m[0].length;
  }
  return match;
}

/** The numbers a marker carries; the rest of an {@link _EpisodeMatch} comes from the regex match. */
interface _MarkerFields {
  season?: number;
  episode?: number;
  airDate?: string;
  strong: boolean;
}

function _found(m: RegExpExecArray, lead: string, fields: _MarkerFields): _EpisodeMatch {
  return {
    index: m.index + lead.length,
    end: m.index + m[0].length,
    season: fields.season ?? null,
    episode: fields.episode ?? null,
    episodeEnd: null,
    airDate: fields.airDate ?? null,
    strong: fields.strong,
  };
}

function _isDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** Finds the episode marker in a file stem, trying the clearest forms first. */
function _matchEpisode(text: string, ctx: _MatchContext): _EpisodeMatch | null {
  // A lookbehind rather than a `(^|[^a-z0-9])` group: the engine can then skip to each `s`.
  let m = /(?<![a-z0-9])s(\d{1,4})(?:[ ._-]*x?[ ._-]*e|x)(\d{1,4})(?![0-9])/i.exec(text);
  if (m) {
    return _continue(
      text,
      _found(m, "", { season: Number(m[1]), episode: Number(m[2]), strong: true }),
    );
  }
  m = /(^|[^a-z0-9])season[ ._-]*(\d{1,4})[ ._-]*episode[ ._-]*(\d{1,4})(?![0-9])/i.exec(text);
  if (m) return _found(m, m[1], { season: Number(m[2]), episode: Number(m[3]), strong: true });
  m = /(^|[^a-z0-9])(\d{1,4})x(\d{1,3})(?![0-9])/i.exec(text);
  if (m && (Number(m[2]) < 100 || isYear(Number(m[2])))) {
    return _continue(
      text,
      _found(m, m[1], { season: Number(m[2]), episode: Number(m[3]), strong: true }),
    );
  }
  if (ctx.hint !== "movie") {
    m = /(^|[^0-9])((?:19|20)\d{2})([-._ ])(\d{2})\3(\d{2})(?![0-9])/.exec(text);
    if (m && _isDate(Number(m[2]), Number(m[4]), Number(m[5]))) {
      return _found(m, m[1], { airDate: `${m[2]}-${m[4]}-${m[5]}`, strong: true });
    }
  }
  const loose = ctx.hint === "episode" || ctx.inSeasonFolder;
  m = /(^|[^a-z0-9])(?:episode|ep|e)[ ._-]*(\d{1,4})(?![0-9])/i.exec(text);
  if (m) {
    const found = _found(m, m[1], { episode: Number(m[2]), strong: false });
    return loose ? _continue(text, found) : found;
  }
  if (loose) {
    m = /^(\d{1,2})-(\d{2,3})(?=$|[ ._])/.exec(text);
    if (m && !ctx.inSeasonFolder) {
      return _found(m, "", { season: Number(m[1]), episode: Number(m[2]), strong: false });
    }
    m = /^(\d{1,4})(?=$|[ ._-])/.exec(text);
    if (m && (m[1].length <= 3 || ctx.inSeasonFolder)) {
      return _continue(text, _found(m, "", { episode: Number(m[1]), strong: false }));
    }
  }
  m = text.includes("-") ? /(\s)-\s*(\d{1,4})(?:v\d)?(?=$|[ ._\[(])/.exec(text) : null;
  if (m && !(isYear(Number(m[2])) && !loose)) {
    return _found(m, m[1], { episode: Number(m[2]), strong: false });
  }
  m = text.includes("[") ? /(\[)(\d{1,4})\]/.exec(text) : null;
  if (m && !isYear(Number(m[2]))) return _found(m, "", { episode: Number(m[2]), strong: false });
  if (loose) {
    for (const t of text.matchAll(/(^|[ ._])(\d{1,4})(?=$|[ ._\[(])/g)) {
      const at = (t.index ?? 0) + t[1].length;
      if (at === 0) continue;
      const n = Number(t[2]);
      if (!ctx.inSeasonFolder && isYear(n)) continue;
      const fake = Object.assign([t[0]], { index: t.index ?? 0, input: text }) as RegExpExecArray;
      if (!ctx.inSeasonFolder && !ctx.absolute && t[2].length >= 3) {
        return _found(fake, t[1], {
          season: Math.floor(n / 100),
          episode: n % 100,
          strong: false,
        });
      }
      return _found(fake, t[1], { episode: n, strong: false });
    }
  }
  return null;
}

function _cleanEpisodeTitle(rest: string): string | null {
  const start = rest.search(/[^\s._\-–]/);
  let text = start < 0 ? "" : rest.slice(start);
  const at = junkIndex(text);
  if (at >= 0) text = text.slice(0, at);
  text = stripTrailingTags(text);
  if (text.includes("[")) text = text.replace(/\[[^\]]*\]/g, " ");
  const title = humanizeTitle(text);
  return title === "" ? null : title;
}

function _seriesFromPrefix(prefix: string): { title: string; year: number | null } {
  let text = trimSeparators(stripLeadingTags(prefix));
  let year: number | null = null;
  const m = text.endsWith(")") ? /\s*\((\d{4})\)$/.exec(text) : null;
  if (m && m.index > 0 && isYear(Number(m[1]))) {
    year = Number(m[1]);
    text = text.slice(0, m.index);
  }
  return { title: humanizeTitle(stripTrailingTags(text)), year };
}

/**
 * Code units from U+0300 (the first combining mark) up. Every character below
 * it is NFC quick-check "yes" with combining class 0, so a path without any is
 * already NFC and skips the costlier `normalize` call.
 */
const _MAYBE_NOT_NFC_RE = /[\u0300-\uffff]/;

/**
 * Parses a path (POSIX or Windows separators) into what its names say.
 *
 * ```ts
 * parseMediaPath("Show (2010)/Season 01/Show - S01E02-E03 - Pilot.mkv");
 * // { kind: "episode", title: "Show", year: 2010, season: 1, episode: 2, episodeEnd: 3,
 * //   episodeTitle: "Pilot", … }
 * ```
 */
export function parseMediaPath(path: string, options: ParseOptions = {}): ParsedMedia {
  const hint = options.hint ?? "auto";
  const normalized = _MAYBE_NOT_NFC_RE.test(path) ? path.normalize("NFC") : path;
  const cut = Math.max(normalized.lastIndexOf("/"), normalized.lastIndexOf("\\"));
  const name = normalized.slice(cut + 1);
  const folderPath = cut >= 0 ? normalized.slice(0, cut) : "";
  const context = _contextOf(folderPath, options);

  const { stem, ext } = options.isDirectory ? { stem: name, ext: null } : splitExtension(name);
  const { text, ids } = extractIds(stem);
  const trimmed = trimSeparators(text);
  // The folder's answer for files that are not audio is kept in the context; audio files
  // (theme songs, rare in a video walk) ask again.
  const extraType = extraFromFileName(trimmed, ext) ??
    (isAudioExtension(ext) && context.parent !== undefined
      ? extraFromFolder(context.parent, ext)
      : context.parentExtra);

  const parentSeason = context.parentSeason;
  const inSeasonFolder = parentSeason !== null;
  const match = trimmed === "" || hint === "movie"
    ? null
    : _matchEpisode(text, { inSeasonFolder, hint, absolute: options.absoluteEpisodes ?? false });
  const isEpisode = hint === "episode" ||
    (hint === "auto" && ((match !== null && match.strong) || inSeasonFolder));
  const kind: ParsedKind = trimmed === "" ? "unknown" : isEpisode ? "episode" : "movie";

  // Every result is built by the one literal at the end (one object shape, no spreads).
  let title = "";
  let episodeTitle: string | null = null;
  let year: number | null = null;
  let season: number | null = null;
  let episode: number | null = null;
  let episodeEnd: number | null = null;
  let airDate: string | null = null;
  let mediaIds = ids;
  let seriesIds: Record<string, string> | null = null;
  let part: number | null = null;

  if (kind === "movie") {
    const movie = parseMovieName(text);
    // `Movie (2001)/Movie (2001).mkv`: a file named like its folder reads the same as the folder.
    if (
      context.parentMovie === undefined && text === context.parent && context.parentExtra === null
    ) {
      context.parentMovie = movie;
    }
    title = movie.title;
    year = movie.year;
    part = movie.part;
    const folder = _parentMovie(context);
    if (folder) {
      if (title === "") title = folder.title;
      if (year === null && folder.title.toLowerCase() === movie.title.toLowerCase()) {
        year = folder.year;
      }
      mediaIds = { ...folder.ids, ...ids };
    }
  } else if (kind === "episode") {
    if (match) {
      // A daily episode keeps the season its name gives (usually none), not the folder's.
      season = match.airDate !== null ? match.season : (match.season ?? parentSeason);
      episode = match.episode;
      episodeEnd = match.episodeEnd;
      airDate = match.airDate;
      episodeTitle = _cleanEpisodeTitle(text.slice(match.end));
      const prefix = _folderSeries(context, text.slice(0, match.index));
      title = prefix.title;
      year = prefix.year;
    } else {
      season = parentSeason;
      episodeTitle = humanizeTitle(stripTrailingTags(text));
    }
    const show = _show(context);
    if (show) {
      if (title === "") title = show.title;
      if (year === null) year = show.year;
      seriesIds = show.ids;
    }
  }
  return {
    kind,
    title,
    episodeTitle,
    year,
    season,
    episode,
    episodeEnd,
    airDate,
    ids: mediaIds,
    seriesIds: seriesIds ?? {},
    part,
    extraType,
    sample: extraType === "sample",
    container: ext,
  };
}

/**
 * What the folders above a file say, computed once per folder when a cache
 * is given. The movie and show readings are filled on first use (undefined
 * until then): a season folder's files never need the first, a movie
 * folder's rarely the second.
 */
interface _FolderContext {
  /** The folders below the library root. */
  folders: string[];
  parent: string | undefined;
  parentSeason: number | null;
  /** What {@link extraFromFolder} says of the parent for a file that is not audio. */
  parentExtra: ExtraType | null;
  parentMovie: MovieName | null | undefined;
  show: FolderTitle | null | undefined;
  /** The series prefix of the last episode name read here, and its reading. */
  lastPrefix: string | null;
  lastSeries: { title: string; year: number | null } | null;
  /** The cache's show readings by folder name, if there is a cache. */
  shows: Map<string, FolderTitle> | null;
}

/** What the cache holds for one library root. */
interface _RootCache {
  folders: Map<string, _FolderContext>;
  /** Show folder readings by name: every season folder of a show looks its show up. */
  shows: Map<string, FolderTitle>;
}

/** The folder's context, from the cache when there is one. */
function _contextOf(folderPath: string, options: ParseOptions): _FolderContext {
  const cache = options.cache;
  if (!cache) return _folderContext(folderPath, options.libraryRoot, null);
  // Keyed by the root, then by the folder: no key string is built per call.
  const root = options.libraryRoot ?? "";
  let entry = cache.get(root) as _RootCache | undefined;
  if (entry === undefined) {
    entry = { folders: new Map(), shows: new Map() };
    cache.set(root, entry);
  }
  let context = entry.folders.get(folderPath);
  if (context === undefined) {
    context = _folderContext(folderPath, options.libraryRoot, entry.shows);
    entry.folders.set(folderPath, context);
  }
  return context;
}

function _seasonOf(folders: string[], i: number): number | null {
  return parseSeasonFolder(folders[i], { parentName: folders[i - 1], numericFolders: true });
}

function _folderContext(
  folderPath: string,
  libraryRoot: string | undefined,
  shows: Map<string, FolderTitle> | null,
): _FolderContext {
  let folders = splitPath(folderPath);
  const rootLength = libraryRoot ? splitPath(libraryRoot.normalize("NFC")).length : 0;
  if (rootLength > 0 && folders.length >= rootLength) folders = folders.slice(rootLength);
  const parent = folders.at(-1);
  return {
    folders,
    parent,
    parentSeason: parent !== undefined ? _seasonOf(folders, folders.length - 1) : null,
    parentExtra: parent !== undefined ? extraFromFolder(parent, null) : null,
    parentMovie: undefined,
    show: undefined,
    lastPrefix: null,
    lastSeries: null,
    shows,
  };
}

/**
 * {@link _seriesFromPrefix}, remembering the last prefix read in the folder:
 * a folder's episodes nearly all share one (`Show - `).
 */
function _folderSeries(
  context: _FolderContext,
  prefix: string,
): { title: string; year: number | null } {
  if (context.lastSeries === null || prefix !== context.lastPrefix) {
    context.lastPrefix = prefix;
    context.lastSeries = _seriesFromPrefix(prefix);
  }
  return context.lastSeries;
}

/** The parent folder read as a movie folder, unless it holds extras. */
function _parentMovie(context: _FolderContext): MovieName | null {
  if (context.parentMovie === undefined) {
    const { parent } = context;
    context.parentMovie = parent !== undefined && context.parentExtra === null
      ? parseMovieName(parent)
      : null;
  }
  return context.parentMovie;
}

/** The nearest folder above a file that is neither a season nor an extras folder, as a show. */
function _show(context: _FolderContext): FolderTitle | null {
  if (context.show !== undefined) return context.show;
  const { folders, shows } = context;
  const last = folders.length - 1;
  context.show = null;
  for (let i = last; i >= 0; i--) {
    const name = folders[i];
    // The parent folder's season and extras readings are in the context already.
    if ((i === last ? context.parentSeason : _seasonOf(folders, i)) !== null) continue;
    // A name in `shows` passed the extras test when it was put there.
    let show = shows?.get(name);
    if (show === undefined) {
      if ((i === last ? context.parentExtra : extraFromFolder(name, null)) !== null) continue;
      show = parseSeriesFolder(name);
      shows?.set(name, show);
    }
    context.show = show;
    break;
  }
  return context.show;
}

/** Options for {@link cleanTitle}. */
export interface CleanTitleOptions {
  /** Strip a known extension first. Default true. */
  stripExtension?: boolean;
}

/**
 * Cleans a release name into a title: drops the extension, leading `[Group]`
 * tags, provider id tags, episode markers and everything from the first
 * quality/release token on (`480p`, `BluRay`, `x264`…), and trailing tags.
 */
export function cleanTitle(name: string, options: CleanTitleOptions = {}): string {
  const stem = (options.stripExtension ?? true) ? splitExtension(name).stem : name;
  let text = stripLeadingTags(extractIds(stem).text);
  const cuts = [
    junkIndex(text),
    text.search(/\s-\s*\d{1,4}(?=$|[ ._\[(])/),
    text.search(/[ .](?:e\d{1,4}|s\d{1,4}e\d{1,4})(?=$|[ ._~\-])/i),
  ].filter((i) => i > 0);
  if (cuts.length) text = text.slice(0, Math.min(...cuts));
  return humanizeTitle(stripTrailingTags(text));
}

/**
 * The show title a folder path names: its last segment, or the one above it
 * when the last is a season folder (`/tv/The Show/Season 1` → `The Show`).
 */
export function seriesTitleFromPath(path: string): FolderTitle {
  const segments = splitPath(path.normalize("NFC"));
  let i = segments.length - 1;
  while (
    i > 0 && parseSeasonFolder(segments[i], { parentName: segments[i - 1] }) !== null &&
    !/[ ._]s\d/i.test(segments[i])
  ) i--;
  return parseSeriesFolder(segments[i] ?? "");
}
