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
  episodeTitleJunkIndex,
  extractIds,
  extraFromFileName,
  extraFromFolder,
  type ExtraType,
  humanizeTitle,
  isAudioExtension,
  isYear,
  junkIndex,
  SEASON_WORD_RE,
  SEASON_WORDS,
  splitExtension,
  splitPath,
  stripLeadingTags,
  stripTrailingTags,
  trimSeparators,
  withoutOpenBracket,
} from "./_tokens.ts";
import {
  type FolderTitle,
  type MovieName,
  parseMovieName,
  parseSeasonFolder,
  parseSeriesFolder,
  partFolder,
  stackSuffix,
} from "./_folders.ts";

export type { ExtraType } from "./_tokens.ts";
export { parseMovieName, parseSeasonFolder, parseSeriesFolder } from "./_folders.ts";
export type { FolderTitle, MovieName, SeasonFolderOptions } from "./_folders.ts";
export { titleKey, VIDEO_EXTENSIONS } from "./_tokens.ts";
import { titleKey } from "./_tokens.ts";

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
  /** Part number of a movie or episode split into files (`- part2`, `.cd2`, `S02E03 Part 2` → 2). */
  part: number | null;
  /** The kind of extra (trailer, featurette…), or null for main content. */
  extraType: ExtraType | null;
  /** A sample file (`-sample`, `Sample/`): never main content. */
  sample: boolean;
  /** Lower-case extension, if the name had a known one. */
  container: string | null;
  /**
   * The library hint said `movie` but the name is unambiguously an episode
   * (`S01E02`, `1x02`): the name won. The importer reports it as a warning.
   */
  hintOverridden: boolean;
  /**
   * The file is part of a disc folder (`Movie (1999)/VIDEO_TS/VTS_01_1.VOB`,
   * `Show - S02E13/BDMV/STREAM/00001.m2ts`): everything else is read from the
   * folder that holds the disc, and `part` orders the disc's files.
   */
  disc: DiscKind | null;
}

/** The disc structures read as one item: a Blu-ray `BDMV` or a DVD `VIDEO_TS` folder. */
export type DiscKind = "bluray" | "dvd";

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
  /**
   * Another file in the same folder is an episode: a bare number (`Show 05`,
   * `05.mkv`) then counts as an episode marker. Set by {@link parseFolderFiles}.
   */
  siblingEpisodes?: boolean;
}

/**
 * How sure an episode marker is: `2` unambiguous (`S01E02`, `1x02`,
 * `Season 1 Episode 2`, an air date), `1` an episode form movies rarely
 * have (`Episode 3`, `Ep 03`, `E23`, `02 - Title`, `Show - 012`), `0` a bare
 * number (`Show 05 Title`) that needs a season folder, a shows library or a
 * sibling episode to count.
 */
type _Level = 0 | 1 | 2;

/** An episode marker found in a name. */
interface _EpisodeMatch {
  index: number;
  end: number;
  season: number | null;
  episode: number | null;
  episodeEnd: number | null;
  airDate: string | null;
  level: _Level;
}

interface _MatchContext {
  inSeasonFolder: boolean;
  hint: "auto" | "movie" | "episode";
  absolute: boolean;
  /** A sibling file in the same folder is an episode: bare numbers count. */
  siblings: boolean;
  /** The file sits in a folder (below the library root, when one is known). */
  inFolder: boolean;
  /** The parent folder's season, if it is a season folder. */
  folderSeason: number | null;
}

const _CONTINUATION_RE =
  /^(?:-(?:s?\d{1,4}[ex]|[ex])?|[ex]|\s+-\s+(?:s?\d{1,4}[ex]|[ex]))(\d{1,5})(?=$|[^0-9a-z]|[ex]\d)/i;
/** `.S01E02`, `S01E02`, ` & S01E02`, `_1x02`, `.E03`: the marker written again for the next episode. */
const _REPEAT_RE =
  /^(?:[ ._]*[&+,][ ._]*|[ ._]?)(?:s(\d{1,4})[ ._]?e|(\d{1,4})x|e)(\d{1,5})(?![0-9])/i;

/** Whether `rest` can start a repeated marker (a cheap test before {@link _REPEAT_RE}). */
function _mayRepeat(rest: string): boolean {
  let i = 0;
  while (i < 3 && i < rest.length && " ._&+,".includes(rest[i])) i++;
  const c = rest.charCodeAt(i) | 0x20; // lower case for letters
  return c === 0x73 || c === 0x65 || (c >= 0x30 && c <= 0x39); // s, e, a digit
}

/** Extends a fresh match over `-E03`, `E03`, `-03`, `.S01E03`… continuations (multi-episode files). */
function _continue(text: string, match: _EpisodeMatch): _EpisodeMatch {
  let last = match.episode ?? 0;
  while (true) {
    const rest = text.slice(match.end);
    let m = _CONTINUATION_RE.exec(rest);
    let n = m ? Number(m[1]) : NaN;
    if (!m) {
      if (!_mayRepeat(rest)) break;
      m = _REPEAT_RE.exec(rest);
      if (!m) break;
      const season = m[1] ?? m[2];
      // A repeated marker must stay in the season (`S01E01S02E01` is not a range).
      if (season !== undefined && match.season !== null && Number(season) !== match.season) break;
      n = Number(m[3]);
    }
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
  level: _Level;
}

/**
 * `- 100 - 101 - 102 - Title`: each next number written after the first, one
 * more each time and followed by ` - ` or the end, extends `found` to the last.
 */
function _repeatedNumbers(text: string, found: _EpisodeMatch): void {
  let at = found.end;
  let last = found.episode ?? 0;
  while (true) {
    const next = /^ - (\d{1,4})(?= - |$)/.exec(text.slice(at));
    if (!next || Number(next[1]) !== last + 1) return;
    last = Number(next[1]);
    at += next[0].length;
    found.episodeEnd = last;
    found.end = at;
  }
}

function _found(m: RegExpExecArray, lead: string, fields: _MarkerFields): _EpisodeMatch {
  return {
    index: m.index + lead.length,
    end: m.index + m[0].length,
    season: fields.season ?? null,
    episode: fields.episode ?? null,
    episodeEnd: null,
    airDate: fields.airDate ?? null,
    level: fields.level,
  };
}

function _isDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/** `(1999)` or `[1999]` after `at`: a movie's year, so a weak marker before it is a title word. */
function _yearAfter(text: string, at: number): boolean {
  const m = /[\[(]((?:18|19|20)\d{2})[\])]/.exec(text.slice(at));
  return m !== null && isYear(Number(m[1]));
}

const _ROMAN: Record<string, number> = {
  i: 1,
  ii: 2,
  iii: 3,
  iv: 4,
  v: 5,
  vi: 6,
  vii: 7,
  viii: 8,
  ix: 9,
  x: 10,
};

/**
 * A leading number, `NNN` read as season and episode (`102` → S1E2, `0106` →
 * S1E6) unless it is zero-padded to three digits (`001`: absolute numbering,
 * anime) or absolute numbering was asked for.
 */
function _leadingNumber(
  digits: string,
  absolute: boolean,
  folderSeason: number | null,
): { season?: number; episode: number } {
  const n = Number(digits);
  if (absolute || digits.length < 3 || digits.startsWith("00") || n % 100 === 0) {
    return { episode: n };
  }
  // In `Season 2/`, `112` is episode 112 unless it starts with the folder's season.
  if (folderSeason !== null && Math.floor(n / 100) !== folderSeason) return { episode: n };
  if (digits.length === 3 && digits[0] === "0") return { episode: n };
  return { season: Math.floor(n / 100), episode: n % 100 };
}

const _SEASON_ONLY_RE = new RegExp(
  `(^|[ ._-])(?:s(\\d{1,2})|(?:${
    SEASON_WORDS.join("|")
  })s?[ ._]*(\\d{1,2})(?:of\\d{1,2})?)(?=$|[ ._\\-\\[(&])`,
  "iu",
);

/** Finds the episode marker in a file stem, trying the clearest forms first. */
function _matchEpisode(text: string, ctx: _MatchContext): _EpisodeMatch | null {
  // A lookbehind rather than a `(^|[^a-z0-9])` group: the engine can then skip to each `s`.
  let m = /(?<![a-z0-9])s(\d{1,4})(?:[ ._-]*x?[ ._-]*e|-?x)(\d{1,5})(?![0-9])/i.exec(text);
  if (m) {
    return _continue(
      text,
      _found(m, "", { season: Number(m[1]), episode: Number(m[2]), level: 2 }),
    );
  }
  m = /(^|[^a-z0-9])season[ ._-]*(\d{1,4})[ ._-]*episode[ ._-]*(\d{1,5})(?![0-9])/i.exec(text);
  if (m) return _found(m, m[1], { season: Number(m[2]), episode: Number(m[3]), level: 2 });
  m = /(^|[^a-z0-9])(\d{1,4})x(\d{1,3})(?![0-9])/i.exec(text);
  if (m && (Number(m[2]) < 100 || isYear(Number(m[2])))) {
    return _continue(
      text,
      _found(m, m[1], { season: Number(m[2]), episode: Number(m[3]), level: 2 }),
    );
  }
  m = text.includes("[") ? /\[cap[ .]?(\d)(\d{2})\]/i.exec(text) : null;
  if (m) {
    // Spanish releases: `[Cap.408]` is season 4 episode 8.
    return _found(m, "", { season: Number(m[1]), episode: Number(m[2]), level: 2 });
  }
  // A movies library yields only to the unambiguous forms above.
  if (ctx.hint === "movie") return null;
  m = /(^|[^0-9])((?:19|20)\d{2})([-._ ])(\d{2})\3(\d{2})(?![0-9])/.exec(text);
  if (m && _isDate(Number(m[2]), Number(m[4]), Number(m[5]))) {
    return _found(m, m[1], { airDate: `${m[2]}-${m[4]}-${m[5]}`, level: 2 });
  }
  // Day first (`15-05-2018`), as European broadcasters write it; month first (`03.25.2024`, US)
  // only where day first cannot be. Either way, such a date's numbers are never an episode's.
  m = /(^|[^0-9])(\d{2})([-.])(\d{2})\3((?:19|20)\d{2})(?![0-9])/.exec(text);
  if (m && _isDate(Number(m[5]), Number(m[4]), Number(m[2]))) {
    return _found(m, m[1], { airDate: `${m[5]}-${m[4]}-${m[2]}`, level: 2 });
  }
  if (m && _isDate(Number(m[5]), Number(m[2]), Number(m[4]))) {
    return _found(m, m[1], { airDate: `${m[5]}-${m[2]}-${m[4]}`, level: 2 });
  }
  const loose = ctx.hint === "episode" || ctx.inSeasonFolder || ctx.siblings;
  // `Movie (2001)`: with a year in brackets and nothing saying episodes, the weaker forms below
  // (a season word, `N of M`, `312v2`, `13-16`, a bare number) are title words.
  const movieLike = ctx.hint === "auto" && !loose && text.includes("(") && _yearAfter(text, 0);
  m = /(^|[^a-z0-9])(?:episode|episodio|ep|e)[ ._-]*(\d{1,5})(?:v\d)?(?![0-9])/i.exec(text);
  if (m) {
    const word = m[0].slice(m[1].length).replace(/[\d ._-]|v\d$/gi, "").toLowerCase();
    // `Episode 3`, `Ep 03`, `E23` on their own: episodes, unless a movie's `(year)` follows.
    const level: _Level = m[1] === "" && word === "e" ? 0 : _yearAfter(text, m.index) ? 0 : 1;
    const found = _found(m, m[1], { episode: Number(m[2]), level });
    return loose || level === 1 ? _continue(text, found) : found;
  }
  m = _mayHavePart(text)
    ? /(^|[ ._-])(?:part|pt)\.?[ ._]*(\d{1,2}|[ivx]{1,4})(?=$|[ ._\-(\[])/i.exec(text)
    : null;
  if (m) {
    // `Part 2 - Title`, or `Show - Part III` in a show's folder: an episode of a miniseries.
    // A stacked movie (`Movie - part2`, `Movie.cd1`) and `Movie Part 1 (2010)` stay movies.
    const raw = m[2].toLowerCase();
    const n = /^\d/.test(raw) ? Number(raw) : _ROMAN[raw];
    const rest = text.slice(m.index + m[0].length);
    const titled = /^[ ._]*-[ ._]*[^ ._\-(\[]/.test(rest);
    const stacked = /^[ ._-]+(?:part|pt)[ ._-]?\d{1,2}$/i.test(text.slice(m.index));
    const bare = ctx.inFolder && !stacked && !_yearAfter(text, 0) && trimSeparators(rest) === "";
    if (n !== undefined && (titled || bare)) {
      // `Friday the 13th Part VII - The New Blood (1988)`: a movie's `(year)` follows, as for
      // `Episode 1 - … (1999)` above: title words unless the folders say episodes. (Not so
      // `Heat (1995) - part1 - 1080p`: as movies, its parts would not stack, and each would air
      // as the whole film; as a show's episodes they air in turn.)
      const level: _Level = _yearAfter(text, m.index) ? 0 : 1;
      return _found(m, m[1], { episode: n, level });
    }
  }
  // `02 - Title`, `102 - Title`, `003. Title`, `03-Title`, `003-004. Title`.
  m = /^(\d{1,4})(?:-(\d{1,4}))?(?=[ ._]*-[ ._]*[^ ._\-\d]|\.\s+\S|-[a-z])/i.exec(text);
  if (m && !isYear(Number(m[1])) && !(m[2] !== undefined && m[1].length < 3 && !loose)) {
    const fields = _leadingNumber(m[1], ctx.absolute, ctx.folderSeason);
    const found = _found(m, "", { ...fields, level: 1 });
    if (m[2] !== undefined) {
      if (m[1].length >= 3 || ctx.inSeasonFolder) {
        found.episodeEnd = Number(m[2]) > (found.episode ?? 0) ? Number(m[2]) : null;
      } else {
        found.season = Number(m[1]);
        found.episode = Number(m[2]);
      }
    }
    return found;
  }
  if (loose) {
    m = /^(\d{1,2})-(\d{2,3})(?=$|[ ._])/.exec(text);
    if (m && !ctx.inSeasonFolder) {
      return _found(m, "", { season: Number(m[1]), episode: Number(m[2]), level: 0 });
    }
    m = /^(\d{1,4})(?=$|[ ._-])/.exec(text);
    if (m && (m[1].length <= 3 || ctx.inSeasonFolder)) {
      return _continue(text, _found(m, "", { episode: Number(m[1]), level: 0 }));
    }
  }
  m = !movieLike && (text.includes("of") || text.includes("OF"))
    ? /(^|[ ._])(\d{1,2})[ ._]?of[ ._]?\d{1,2}(?![0-9])/i.exec(text)
    : null;
  if (m && m.index > 0) {
    // `The Story of China 1 of 6 - Ancestors`: a miniseries episode.
    const found = _found(m, m[1], { episode: Number(m[2]), level: 1 });
    const season = _SEASON_ONLY_RE.exec(text.slice(0, m.index));
    if (season) {
      found.season = Number(season[2] ?? season[3]);
      found.index = season.index + season[1].length;
    }
    return found;
  }
  m = movieLike ? null : _SEASON_ONLY_RE.exec(text);
  if (m && m.index + m[1].length > 0) {
    const season = Number(m[2] ?? m[3]);
    // `[Group] Show S2 - 01 (1080p)`: anime numbering within a season, as `Show - 01` below
    // (`S2 - 12.5`, a recap between two episodes, is the season's and numbered by neither).
    const next = /^[ ._]*-[ ._]*(\d{1,4})(?:v\d)?(?=$|[ ._\[(])(?!\.5(?:$|[ ._\[(]))/.exec(
      text.slice(m.index + m[0].length),
    );
    if (next && !isYear(Number(next[1]))) {
      const found = _found(m, m[1], { season, episode: Number(next[1]), level: 1 });
      found.end += next[0].length;
      return found;
    }
    // `Show S06 - Special`, `Show Season 1`: a season with no episode number (a special, a pack).
    return _found(m, m[1], { season, level: 1 });
  }
  // `[Group] Show - 12.5 [1080p]`: a recap or special between two episodes, numbered by neither
  // (read as 12, it would air as a second episode 12).
  m = text.includes("-") ? /([\s._])-[\s._]*\d{1,4}\.5(?=$|[ _\[(])/.exec(text) : null;
  if (m) return _found(m, m[1], { level: 0 });
  m = text.includes("-")
    ? /([\s._])-[\s._]*(\d{1,4})(?:v\d)?(?:-(\d{1,4})(?:v\d)?)?(?=$|[ ._\[(])/.exec(text)
    : null;
  // A range that does not go up (`- 12-10`) is no marker here.
  if (m?.[3] !== undefined && !(Number(m[3]) > Number(m[2]) && Number(m[3]) - Number(m[2]) < 100)) {
    m = null;
  }
  if (m && !(isYear(Number(m[2])) && !loose)) {
    // `Show - 012`, `Show - 01 - Title`: anime and absolute numbering.
    const level: _Level = m[2].length >= 2 && !isYear(Number(m[2])) &&
        !_yearAfter(text, m.index)
      ? 1
      : 0;
    const found = _found(m, m[1], { episode: Number(m[2]), level });
    // Sonarr's anime multi-episode styles: `- 100-101 -` (a range), `- 100 - 101 - 102 -`.
    if (m[3] !== undefined) found.episodeEnd = Number(m[3]);
    else _repeatedNumbers(text, found);
    return found;
  }
  m = text.includes("[") ? /(\[)(\d{1,4})\]/.exec(text) : null;
  if (m && !isYear(Number(m[2]))) {
    const fields = ctx.inSeasonFolder && m[2].length === 3
      ? _leadingNumber(m[2], ctx.absolute, ctx.folderSeason)
      : { episode: Number(m[2]) };
    return _found(m, "", { ...fields, level: 0 });
  }
  m = movieLike ? null : /(\s)(\d{2,4})v\d(?=$|[ ._\[(])/.exec(text);
  if (m) return _found(m, m[1], { episode: Number(m[2]), level: 1 });
  m = movieLike || !_endsWithDigit(text) ? null : /([ ._])(\d{1,3})-(\d{1,3})$/.exec(text);
  if (m && m.index > 0 && Number(m[3]) > Number(m[2])) {
    // `Show Name 13-16`: a range of episodes ends the name.
    const found = _found(m, m[1], { episode: Number(m[2]), level: 1 });
    found.episodeEnd = Number(m[3]);
    return found;
  }
  if (loose || (ctx.hint === "auto" && !movieLike)) {
    for (const t of text.matchAll(/(^|[ ._])(\d{1,4})(?=$|[ ._\[(])/g)) {
      const at = (t.index ?? 0) + t[1].length;
      if (at === 0) continue;
      const n = Number(t[2]);
      if (!ctx.inSeasonFolder && isYear(n)) continue;
      const fake = Object.assign([t[0]], { index: t.index ?? 0, input: text }) as RegExpExecArray;
      if (!ctx.absolute && t[2].length >= 3) {
        // `new.girl.117.hdtv`: three digits right before release junk are season and episode (a
        // movie's number is shorter, `Bad Boys 2 1080i`, or a year).
        const tagged = t[2].length === 3 && t[2][0] !== "0" &&
          junkIndex(text.slice(at + 3)) === 0 && !/(?:^|[^0-9])(?:19|20)\d{2}(?![0-9])/.test(text);
        return _found(fake, t[1], {
          ..._leadingNumber(t[2], false, ctx.folderSeason),
          level: tagged ? 1 : 0,
        });
      }
      return _found(fake, t[1], { episode: n, level: 0 });
    }
  }
  return null;
}

function _cleanEpisodeTitle(rest: string): string | null {
  // A bracket closing round the marker (`Show - [2x01] - Title`) is no part of the title.
  const start = rest.search(/[^\s._\-–\])]/);
  let text = start < 0 ? "" : rest.slice(start);
  const at = episodeTitleJunkIndex(text);
  // `- 01 [BD 1080p FLAC]`: the cut leaves the bracket it fell in open; drop it too.
  if (at >= 0) text = withoutOpenBracket(text.slice(0, at), { from: 0 });
  text = stripTrailingTags(text);
  if (text.includes("[")) text = text.replace(/\[[^\]]*\]/g, " ");
  const title = humanizeTitle(text);
  return title === "" ? null : title;
}

/** A series prefix's reading; `season` when it names one (`Show - Temporada 4 - `). */
interface _Series {
  title: string;
  year: number | null;
  season: number | null;
}

const _PREFIX_SEASON_RE = new RegExp(
  `(?:^|[ ._-])(?:${SEASON_WORDS.join("|")})[ ._]*(\\d{1,2})(?:[ ._]*(?:complete|completa))?$`,
  "iu",
);

function _seriesFromPrefix(prefix: string): _Series {
  let text = trimSeparators(stripLeadingTags(prefix));
  const junk = junkIndex(text);
  if (junk > 0) text = trimSeparators(text.slice(0, junk));
  let year: number | null = null;
  let season: number | null = null;
  let m = text.endsWith(")") ? /\s*\((\d{4})\)$/.exec(text) : null;
  if (m && m.index > 0 && isYear(Number(m[1]))) {
    year = Number(m[1]);
    text = trimSeparators(text.slice(0, m.index));
  }
  m = _PREFIX_SEASON_RE.exec(text);
  if (m && m.index > 0) {
    season = Number(m[1]);
    text = trimSeparators(text.slice(0, m.index));
    m = text.endsWith(")") ? /\s*\((\d{4})\)$/.exec(text) : null;
    if (m && m.index > 0 && isYear(Number(m[1])) && year === null) {
      year = Number(m[1]);
      text = trimSeparators(text.slice(0, m.index));
    }
  }
  // `DC's Legends of Tomorrow 2016 - S02E02`, `merlin_2008.5x02`: a bare year ends the title.
  m = year === null ? /[ ._]((?:19|20)\d{2})$/.exec(text) : null;
  if (m && m.index > 0 && isYear(Number(m[1]))) {
    year = Number(m[1]);
    text = text.slice(0, m.index);
  }
  // `Star Trek DS9 Ep 2x03`: the word for episode before the numbers.
  m = /[ ._-]+(?:ep|episode)$/i.exec(text);
  if (m && m.index > 0) text = text.slice(0, m.index);
  // `Show Name - 313-315 - s16e03-05`: an absolute range written before the marker.
  m = /[ ._-]+\d{2,4}-\d{2,4}$/.exec(text);
  if (m && m.index > 0) text = text.slice(0, m.index);
  let title = humanizeTitle(stripTrailingTags(text));
  // `Simpsons, The`: the article moved back to the front, as the show is called.
  const article = /^(.+), (the|a|an)$/i.exec(title);
  if (article) title = `${article[2]} ${article[1]}`;
  return { title, year, season };
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
  if (context.disc !== null) return _discFile(name, context.disc, hint);

  const { stem, ext } = options.isDirectory ? { stem: name, ext: null } : splitExtension(name);
  const { text, ids } = extractIds(stem);
  const trimmed = trimSeparators(text);
  const parentSeason = context.parentSeason;
  const inSeasonFolder = parentSeason !== null;
  const match = trimmed === "" ? null : _matchEpisode(text, {
    inSeasonFolder,
    hint,
    absolute: options.absoluteEpisodes ?? false,
    siblings: options.siblingEpisodes ?? false,
    inFolder: context.parent !== undefined,
    folderSeason: parentSeason,
  });
  // An episode's title may be an extras word (`S02E06 - Interview`): with its season and
  // episode, or its date, written out, only a joined `-trailer` or a sample is an extra.
  const episodeMarked = match !== null && match.level === 2 &&
    ((match.season !== null && match.episode !== null) || match.airDate !== null);
  // The folder's answer for files that are not audio is kept in the context; audio files
  // (theme songs, rare in a video walk) ask again.
  const extraType = extraFromFileName(trimmed, ext, { episodeMarked }) ??
    (isAudioExtension(ext) && context.parent !== undefined
      ? extraFromFolder(context.parent, ext)
      : context.parentExtra);
  if (
    (match === null || match.level === 0) && !inSeasonFolder && hint !== "movie" &&
    context.parent !== undefined && extraType === null
  ) {
    // `Show.S01E02.1080p-GRP/c48db7d2….mkv`: an episode's own folder names it (Sonarr's rule for
    // obfuscated names), the way a disc folder names its files.
    const item = _parentItem(context);
    if (item !== null) return { ...item, container: ext, ids: { ...item.ids, ...ids } };
  }
  // A shows library makes every file an episode; a movies library every file a movie, except
  // one whose name is unambiguous (`S01E02`, `1x02`): the name wins and `hintOverridden` says so.
  const overridden = hint === "movie" && match !== null && match.level === 2 &&
    match.airDate === null;
  const isEpisode = hint === "episode" || overridden ||
    (hint === "auto" &&
      ((match !== null &&
        (match.level > 0 || options.siblingEpisodes === true ||
          _namedAfterFolder(context, text.slice(0, match.index)))) ||
        inSeasonFolder));
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
    part = movie.part ?? context.partFolder;
    const folder = _parentMovie(context);
    if (folder) {
      if (title === "") title = folder.title;
      if (year === null && folder.year !== null) {
        // `Movie (1999)/release.name.mkv`: a file without a year in a `Title (Year)` folder (the
        // Plex and Radarr movie folder) is that movie, whatever the file is called.
        // The same title in lower case (`Alien (1979)/alien.avi`) reads better as the folder has it.
        if (
          titleKey(folder.title) !== titleKey(movie.title) ||
          (title === title.toLowerCase() && folder.title !== folder.title.toLowerCase())
        ) title = folder.title;
        year = folder.year;
      } else if (year === null && context.parentRelease && title !== "") {
        // `Movie.2010.DVDRip-GRP/grp-mv.avi`: a release folder names the movie better than the file.
        title = folder.title;
      } else if (context.parentRelease && year !== null && year === folder.year) {
        title = _releaseFileTitle(title, folder.title);
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
      let rest = text.slice(match.end);
      // `S01E01 - Pilot - pt1`, `s01e01.cd2`: one episode split into files (Plex's split
      // episodes, stacked like a movie's parts).
      const stacked = stackSuffix(rest);
      if (stacked) {
        part = stacked.part;
        rest = rest.slice(0, stacked.index);
      }
      if (match.level === 2 && match.episode !== null) rest = _withoutAbsolute(rest, match.episode);
      // `Title Part 2`, `Title.PART1`, `(Part III)`: a two-part episode's part.
      const p = part === null && _mayHavePart(rest) ? _EPISODE_PART_RE.exec(rest) : null;
      const n = p ? _partNumber(p[1]) : null;
      if (p && n !== null) part = n;
      episodeTitle = _cleanEpisodeTitle(p && n !== null ? rest.slice(0, p.index) : rest);
      // `Show.Name.E02.2010`: a year where the title would be. After ` - ` it is the title
      // (`1923 (2022) - S01E01 - 1923`, `S03E05 - 1984`).
      if (
        episodeTitle?.length === 4 && /^(?:19|20)\d{2}$/.test(episodeTitle) &&
        !/^\s*[-–]\s/.test(rest)
      ) {
        year = Number(episodeTitle);
        episodeTitle = null;
      }
      // `Show (S01E02)`, `Show (Ep 3)`: the marker's open bracket is no part of the name.
      const before = withoutOpenBracket(text.slice(0, match.index), { from: 0 });
      const prefix = _folderSeries(context, before);
      title = prefix.title;
      year = prefix.year ?? year;
      if (match.season === null && prefix.season !== null && match.airDate === null) {
        season = prefix.season;
      }
      // `Looney Tunes 1940x01`: a season named by its year, the only year a lone file gives.
      // Under a show's folder (`MythBusters/Season 2003/… S2003E01`) it is no year of the
      // show's, or each season would read as a show of its own year.
      if (year === null && season !== null && isYear(season) && _show(context) === null) {
        year = season;
      }
      if (airDate === null && match.level === 2) {
        // `Show - S01E01 - Title [2011-09-19]`: an air date written after the numbers.
        const date = rest.includes("[") || rest.includes("(") ? _laterDate(rest) : null;
        if (date !== null) airDate = date;
      }
      if (match.index === 0 && title === "" && context.parent === undefined && episodeTitle) {
        // `003. Show Name - Ep Name` with no folder to name the show: the name holds both.
        const dash = episodeTitle.indexOf(" - ");
        if (dash > 0) {
          title = episodeTitle.slice(0, dash);
          episodeTitle = episodeTitle.slice(dash + 3);
        } else {
          title = episodeTitle;
        }
      }
      // `Show/Season 1/Show.Name.S01E02.720p-GRP.mkv`: the show's own folder names it best.
      context.plainSeason ??= inSeasonFolder && _plainSeason(context.parent ?? "");
      const show = context.plainSeason ? _show(context) : null;
      if (show !== null && show.title !== "") {
        title = show.title;
        year = show.year ?? year;
      }
    } else {
      season = parentSeason;
      episodeTitle = _cleanEpisodeTitle(text);
    }
    const show = _show(context);
    if (show) {
      if (title === "") title = show.title;
      // `Kaamelott/Kaamelott - Livre V - Ep 23`: the show folder's title, then more words.
      else if (title !== show.title && _startsWithTitle(text, show.title)) title = show.title;
      if (year === null) year = show.year;
      seriesIds = show.ids;
    }
    episodeTitle = _withoutSeries(episodeTitle, title);
    if (episodeTitle === null && match !== null && context.parentRelease) {
      // `Show.S06E09.Title.DVDRip-GRP/show.s06e09.dvdrip.avi`: the release folder has the title.
      const item = _parentItem(context);
      if (item && item.season === season && item.episode === episode) {
        episodeTitle = item.episodeTitle;
      }
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
    hintOverridden: overridden,
    disc: null,
  };
}

/** What an episode folder's name must hold before it is read as one: `S01E02`, `1x02`, a date. */
const _MAYBE_EPISODE_RE =
  /s\d{1,4}[ ._-]*x?[ ._-]*e\d|\dx\d|(?:19|20)\d{2}[-. ]\d{2}[-. ]\d{2}|\[cap[ .]?\d|\d{2}v\d/i;

/** The parent folder read as an episode (`Show.S01E02.720p-GRP`), or null when it is none. */
function _parentItem(context: _FolderContext): ParsedMedia | null {
  if (context.parentItem === undefined && !_MAYBE_EPISODE_RE.test(context.parent ?? "")) {
    context.parentItem = null;
  }
  if (context.parentItem === undefined) {
    const item = parseMediaPath(context.folders.join("/"), { hint: "auto", isDirectory: true });
    context.parentItem = item.kind === "episode" && item.extraType === null &&
        (item.episode !== null || item.airDate !== null) && !item.hintOverridden
      ? item
      : null;
  }
  return context.parentItem;
}

/**
 * `Neverwhere/Neverwhere.05.Down.Street.avi`: a file named after one of the two
 * folders above it, then a number, is that show's episode (a movie sequel's
 * number is part of its folder's name: `Apollo 13/Apollo 13.mkv`).
 */
function _namedAfterFolder(context: _FolderContext, prefix: string): boolean {
  context.folderKeys ??= context.folders.slice(-2).map((f) => titleKey(parseSeriesFolder(f).title))
    .filter((k) => k !== "");
  if (context.folderKeys.length === 0) return false;
  const key = titleKey(stripTrailingTags(trimSeparators(stripLeadingTags(prefix))));
  if (!context.folderKeys.includes(key)) return false;
  // Release junk or a year before the number: it is no episode number (`Movie.2009.AAC.5.1`).
  return junkIndex(prefix) < 0 && _seriesFromPrefix(prefix).year === null;
}

function _endsWithDigit(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 48 && last <= 57;
}

/**
 * The title of a movie file in a release folder of the same year: the
 * folder's when the file's is the same words in lower case
 * (`Avatar.2009.…-GRP/avatar.2009.….mkv`) or starts with a release group's
 * `grp-` (`How.To.Be.Single.2016.…-BLOW/blow-how.to.be.single.2016.….mkv`);
 * else the file's own.
 */
function _releaseFileTitle(title: string, folderTitle: string): string {
  const folderKey = titleKey(folderTitle);
  if (folderKey === "") return title;
  if (title === title.toLowerCase() && titleKey(title) === folderKey) return folderTitle;
  const group = /^[a-z0-9]+-(?=\S)/i.exec(title);
  return group && titleKey(title.slice(group[0].length)) === folderKey ? folderTitle : title;
}

/**
 * What follows `S01E05` without the absolute number Sonarr's anime format
 * writes next (`S01E05 - 005 - Title`, `S02E01 - 013 [HDTV]`): three or four
 * digits (it writes `{absolute:000}`), set off by ` - `, no smaller than the
 * episode's own number. A year alone stays (`S03E05 - 1984` names the episode).
 */
function _withoutAbsolute(rest: string, episode: number): string {
  // Sonarr's anime multi-episode files write a range: `S01E01-E02 - 001-002 - Title`.
  const m = /^\s+-\s+(\d{3,4})(?:-\d{3,4})?(\s+-\s+(?=\S)|\s*(?=\[|$))/.exec(rest);
  if (!m || Number(m[1]) < episode) return rest;
  const alone = m[2].trim() === "";
  return alone && /^(?:19|20)\d{2}$/.test(m[1]) ? rest : rest.slice(m[0].length);
}

/** Whether `text` can hold a part word (a cheap test before the part regexes). */
function _mayHavePart(text: string): boolean {
  return text.includes("art") || text.includes("ART") || text.includes("pt") ||
    text.includes("Pt") || text.includes("PT");
}

const _EPISODE_PART_RE = /[ ._(-]+part[ ._]?(\d{1,2}|one|two|three|four|[ivx]{1,4})\b/i;
const _PART_WORDS: Record<string, number> = { one: 1, two: 2, three: 3, four: 4 };

function _partNumber(raw: string): number | null {
  const lower = raw.toLowerCase();
  if (/^\d/.test(lower)) return Number(lower);
  return _PART_WORDS[lower] ?? _ROMAN[lower] ?? null;
}

/** A `YYYY-MM-DD` or `DD-MM-YYYY` date in brackets, as `YYYY-MM-DD`. */
function _laterDate(text: string): string | null {
  let m = /[\[(]((?:19|20)\d{2})-(\d{2})-(\d{2})[\])]/.exec(text);
  if (m && _isDate(Number(m[1]), Number(m[2]), Number(m[3]))) return `${m[1]}-${m[2]}-${m[3]}`;
  m = /[\[(](\d{2})-(\d{2})-((?:19|20)\d{2})[\])]/.exec(text);
  if (m && _isDate(Number(m[3]), Number(m[2]), Number(m[1]))) return `${m[3]}-${m[2]}-${m[1]}`;
  return null;
}

/** `Season 2`, `S02`, `Specials`: a season folder that is only that (not a release folder). */
function _plainSeason(name: string): boolean {
  return SEASON_WORD_RE.test(name) || /^(?:s[ ._-]?\d{1,4}|specials?)$/i.test(name.trim());
}

/** Whether `text` is `title - …` (case-insensitive). */
function _startsWithTitle(text: string, title: string): boolean {
  const n = title.length;
  return n > 0 && text.startsWith(" - ", n) &&
    text.slice(0, n).toLowerCase() === title.toLowerCase();
}

/** `2x05 - Show - Title`: an episode title that starts with the show's name again, without it. */
function _withoutSeries(episodeTitle: string | null, series: string): string | null {
  if (episodeTitle === null || series === "") return episodeTitle;
  const dash = episodeTitle.indexOf(" - ");
  if (dash > 0 && titleKey(episodeTitle.slice(0, dash)) === titleKey(series)) {
    return episodeTitle.slice(dash + 3) || null;
  }
  return episodeTitle;
}

/** A disc folder below the library root, and the folder that holds it. */
interface _Disc {
  kind: DiscKind;
  /** The path of the folder holding the disc, below the library root. */
  owner: string;
  /** What the holder's name says, read once per folder. */
  item?: ParsedMedia;
}

/** The disc folder among `folders`, if any (the first `BDMV` or `VIDEO_TS` with a folder above). */
function _discOf(folders: string[]): _Disc | null {
  for (let i = 1; i < folders.length; i++) {
    const lower = folders[i].toLowerCase();
    if (lower === "bdmv" || lower === "video_ts") {
      return { kind: lower === "bdmv" ? "bluray" : "dvd", owner: folders.slice(0, i).join("/") };
    }
  }
  return null;
}

/**
 * A file inside a disc folder: the item is the folder holding the disc, read
 * like a file of that name; `part` orders the disc's files (`00002.m2ts` → 2,
 * `VTS_01_3.VOB` → 103, `VIDEO_TS.VOB` → 0).
 */
function _discFile(name: string, disc: _Disc, hint: "auto" | "movie" | "episode"): ParsedMedia {
  disc.item ??= parseMediaPath(disc.owner, { hint, isDirectory: true });
  const { stem, ext } = splitExtension(name);
  const vts = /^vts_(\d{1,2})_(\d{1,2})$/i.exec(stem);
  const part = vts
    ? Number(vts[1]) * 100 + Number(vts[2])
    : /^\d{1,6}$/.test(stem)
    ? Number(stem)
    : 0;
  return { ...disc.item, part, container: ext, extraType: null, sample: false, disc: disc.kind };
}

/**
 * What the folders above a file say, computed once per folder when a cache
 * is given. The movie and show readings are filled on first use (undefined
 * until then): a season folder's files never need the first, a movie
 * folder's rarely the second.
 */
interface _FolderContext {
  /** The folders below the library root (without a last part folder, see `partFolder`). */
  folders: string[];
  /** The part number of the part folder the files sit in (`Movie (1999)/CD2/`), if any. */
  partFolder: number | null;
  parent: string | undefined;
  parentSeason: number | null;
  /** What {@link extraFromFolder} says of the parent for a file that is not audio. */
  parentExtra: ExtraType | null;
  parentMovie: MovieName | null | undefined;
  show: FolderTitle | null | undefined;
  /** The series prefix of the last episode name read here, and its reading. */
  lastPrefix: string | null;
  lastSeries: _Series | null;
  /** The cache's show readings by folder name, if there is a cache. */
  shows: Map<string, FolderTitle> | null;
  /** The disc folder the files sit in, if any. */
  disc: _Disc | null;
  /** The parent is a season folder and only that (`Season 2`, not `Show.S02.720p-GRP`). */
  plainSeason?: boolean;
  /** Title keys of the two folders above, for {@link _namedAfterFolder}; filled on first use. */
  folderKeys?: string[];
  /** The parent folder is a release name (`Movie.2010.1080p.BluRay-GRP`). */
  parentRelease: boolean;
  /**
   * The parent folder read as an item of its own (`Show.S01E02.720p-GRP/`), for files whose
   * own names say nothing (`c48db7d2….mkv`); undefined until asked.
   */
  parentItem: ParsedMedia | null | undefined;
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
  // `Movie (1999)/CD1/movie.avi`: a part folder (Kodi stacks `CD1`, `CD2`… folders) stands
  // for the folder above it, which names the movie (or the season of a show's disc).
  const partOf = folders.length > 1 ? partFolder(folders[folders.length - 1]) : null;
  if (partOf) folders = folders.slice(0, -1);
  const parent = folders.at(-1);
  return {
    folders,
    partFolder: partOf?.part ?? null,
    parent,
    parentSeason: parent !== undefined ? _seasonOf(folders, folders.length - 1) : null,
    parentExtra: parent !== undefined ? extraFromFolder(parent, null) : null,
    parentMovie: undefined,
    show: undefined,
    lastPrefix: null,
    lastSeries: null,
    shows,
    disc: folders.length > 1 ? _discOf(folders) : null,
    parentRelease: parent !== undefined && junkIndex(parent) > 0,
    parentItem: undefined,
  };
}

/**
 * {@link _seriesFromPrefix}, remembering the last prefix read in the folder:
 * a folder's episodes nearly all share one (`Show - `).
 */
function _folderSeries(
  context: _FolderContext,
  prefix: string,
): _Series {
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
  let belowSeason = false;
  for (let i = last; i >= 0; i--) {
    const name = folders[i];
    // The parent folder's season and extras readings are in the context already. Seasons do
    // not nest: above one, a folder named by a number alone is the show (`24/Season 01/`).
    const season = i === last
      ? context.parentSeason
      : belowSeason && /^\d+$/.test(name)
      ? null
      : _seasonOf(folders, i);
    if (season !== null) {
      belowSeason = true;
      continue;
    }
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
