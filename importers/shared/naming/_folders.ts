/**
 * Folder-level naming rules: season folders (`Season 1`, `S01`, `Specials`,
 * `Staffel 2`, release folders like `Show.S04.720p`), show folders
 * (`Show (2010) {tvdb-123}`) and movie names (`Movie (2001)`, `Movie.2001.1080p`).
 *
 * Pure functions, no Deno APIs.
 *
 * @module
 */

import {
  cutJunk,
  extractIds,
  humanizeTitle,
  isYear,
  junkIndex,
  SEASON_WORD_RE,
  stripLeadingTags,
  stripTrailingTags,
  trimSeparators,
} from "./_tokens.ts";

/** Options for {@link parseSeasonFolder}. */
export interface SeasonFolderOptions {
  /** The parent folder's name: `Show Season 1` counts when the parent is `Show`. */
  parentName?: string;
  /** Treat `Extras` as season 0, like `Specials` (Jellyfin's special aliases). Default false. */
  specialAliases?: boolean;
  /** Treat bare numbers (`2`) as season folders. Default false. */
  numericFolders?: boolean;
}

/**
 * The season number a folder name stands for, or null when it is not a
 * season folder. `Specials` is season 0.
 */
export function parseSeasonFolder(name: string, options: SeasonFolderOptions = {}): number | null {
  const n = name.trim();
  if (/^specials?$/i.test(n)) return 0;
  if (options.specialAliases && /^extras$/i.test(n)) return 0;
  let m = SEASON_WORD_RE.exec(n);
  if (m) return Number(m[1]);
  m = /^s[ ._-]?(\d{1,4})$/i.exec(n) ?? /^(\d{1,2})\.\s*staffel$/i.exec(n);
  if (m) return Number(m[1]);
  if (options.numericFolders && /^\d{1,3}$/.test(n)) return Number(n);
  if (options.parentName) {
    const parent = options.parentName.trim().toLowerCase();
    if (parent && n.toLowerCase().startsWith(parent)) {
      const rest = n.slice(parent.length).replace(/^[ ._-]+/, "");
      const word = /^(?:season|staffel|stagione|temporada|saison)[ ._-]*(\d{1,4})(?=$|[ ._\-(\[])/i
        .exec(rest);
      if (word) return Number(word[1]);
    }
  }
  m = /(?:^|[ ._\[\-])s(\d{1,4})(?=$|[ ._\]\-])/i.exec(n);
  if (m) return Number(m[1]);
  return null;
}

/** A show or movie folder's title, year and provider ids. */
export interface FolderTitle {
  /** Cleaned title. */
  title: string;
  /** Year written in the name, if any. */
  year: number | null;
  /** Provider ids written in the name (`{tvdb-123}`), lower-case keys. */
  ids: Record<string, string>;
}

/**
 * Parses a show folder name: `The Show (2010) {tvdb-123}`, `The.Show.S01.COMPLETE`,
 * `The_Show_Season_1`, `The Show s02e10 720p hdtv`.
 */
export function parseSeriesFolder(name: string): FolderTitle {
  const { text: noIds, ids } = extractIds(name);
  let text = stripLeadingTags(noIds);
  const cut =
    /(?:^|[ ._\-])(?:s\d{1,4}(?:[ ._]?x?e\d{1,4})?|season[ ._]*\d{1,4}|\d{1,2}x\d{2,3})(?=$|[ ._\]\-])/i
      .exec(text);
  if (cut && cut.index > 0) text = text.slice(0, cut.index);
  let year: number | null = null;
  const paren = /\((\d{4})(?:-\d{4})?\)/.exec(text);
  if (paren && paren.index > 0 && isYear(Number(paren[1]))) {
    year = Number(paren[1]);
    text = text.slice(0, paren.index);
  }
  const junkless = cutJunk(text);
  if (trimSeparators(junkless) !== "") text = junkless;
  return { title: humanizeTitle(stripTrailingTags(text.trim())), year, ids };
}

/** `h265 - HEVC Riddick …` → `Riddick …`: drops release tokens (and brackets) before a title. */
function _skipLeadingJunk(text: string): string {
  let rest = text;
  for (let i = 0; i < 8; i++) {
    const stripped = trimSeparators(rest.replace(/^[\[(]+/, ""));
    if (junkIndex(stripped) !== 0) return stripped.replace(/^[\])]+\s*/, "");
    const m = /^[^ ._\-\])]*[ ._\-\])]*/.exec(stripped.slice(1));
    rest = stripped.slice(1 + (m ? m[0].length : 0));
  }
  return rest;
}

/** A movie name's title, year, part number and provider ids. */
export interface MovieName extends FolderTitle {
  /** Part number of a multi-part movie (`-part1`, `cd2`, `disc1`), if any. */
  part: number | null;
}

function _endsWithDigit(text: string): boolean {
  const last = text.charCodeAt(text.length - 1);
  return last >= 48 && last <= 57;
}

/** The words that mark a stacked part, before its number (`part1`, `cd2`, `- pt 3`). */
export const STACK_PART_WORDS = "cd|dvd|part|pt|disc|disk";

const _PART_FOLDER_RE = new RegExp(`^(${STACK_PART_WORDS})[ ._-]?(\\d{1,2})$`, "i");

/**
 * What a folder named only by a part (`CD1`, `Disc 2`, `part3`) says: the
 * part's word (lower case) and number; null for any other name. Kodi stacks
 * a movie split into such folders (`Movie (1999)/CD1/movie.avi`,
 * `CD2/movie.avi`); the movie is named by the folder above them.
 *
 * @example
 * ```ts
 * import { partFolder } from "./mod.ts";
 *
 * console.log(partFolder("CD2")); // { word: "cd", part: 2 }
 * console.log(partFolder("Season 2")); // null
 * ```
 */
export function partFolder(name: string): { word: string; part: number } | null {
  const m = _endsWithDigit(name) ? _PART_FOLDER_RE.exec(name) : null;
  return m ? { word: m[1].toLowerCase(), part: Number(m[2]) } : null;
}

const _PART_RE = new RegExp(
  `(?:[ ._\\-]+|\\s-\\s)(?:${STACK_PART_WORDS})[ ._\\-]?(\\d{1,2})$`,
  "i",
);

const _PART_ANYWHERE = new RegExp(
  `(?:^|[ ._-]+)(?:${STACK_PART_WORDS})[ ._-]?\\d{1,2}(?![0-9])`,
  "gi",
);

/**
 * `text` without its stacked-part markers, wherever they stand
 * (`Movie (2001) - 1080p - part1` → `Movie (2001) - 1080p`): what the parts
 * of one stack share, and two stacks of one movie do not.
 */
export function withoutStackParts(text: string): string {
  return text.replace(_PART_ANYWHERE, "");
}

/**
 * The stacking suffix that ends `text`, if any: ` - part1`, `.cd2`, ` - pt1`,
 * `-disc1` (Plex and Kodi split a movie, and Plex an episode, into files
 * named so). `index` is where the suffix starts (its separators included).
 */
export function stackSuffix(text: string): { part: number; index: number } | null {
  // The part number ends the name: skip the regex (tried at every position) when no digit does.
  const m = _endsWithDigit(text) ? _PART_RE.exec(text) : null;
  return m ? { part: Number(m[1]), index: m.index } : null;
}
const _BARE_YEAR_RE = /(^|[ ._\-])((?:19|20)\d{2})(?=$|[ ._\-\[\(])/g;

/**
 * Parses a movie file or folder name (no extension): `Movie (2001)`,
 * `Movie.2001.1080p.BluRay`, `Movie (2001) - part1`, `Movie [2018]`.
 * A year that is part of a date (`2013-12-09`) is not a year.
 */
export function parseMovieName(name: string): MovieName {
  const { text: noIds, ids } = extractIds(name);
  let text = noIds.trim();
  let part: number | null = null;
  const stacked = stackSuffix(text);
  if (stacked && stacked.index > 0) {
    part = stacked.part;
    text = text.slice(0, stacked.index);
  }
  let year: number | null = null;
  let titleText = text;
  // `(1995) Movie Name`: a year in brackets first, then the title (Radarr's `{Year} {Title}`).
  const first = text.startsWith("(") || text.startsWith("[")
    ? /^[\[(]((?:18|19|20)\d{2})[\])][ ._-]*(?=\S)/.exec(text)
    : null;
  if (first && isYear(Number(first[1])) && !/\((\d{4})\)/.test(text.slice(first[0].length))) {
    text = text.slice(first[0].length);
    titleText = text;
    year = Number(first[1]);
  }
  // `(2001)`, or a year closing a bracket of credits: `(Alain Cavalier, 1967)`.
  const paren = year !== null
    ? null
    : /\((\d{4})\)/.exec(text) ?? /\((?:[^()]*?[ ,\-]+)?(\d{4})\)/.exec(text);
  const bracket = /\[(\d{4})\]/.exec(text);
  if (paren && paren.index > 0 && isYear(Number(paren[1]))) {
    year = Number(paren[1]);
    titleText = text.slice(0, paren.index);
  } else if (year !== null) {
    // The year came first.
  } else if (bracket && isYear(Number(bracket[1])) && text.indexOf("[") > 0) {
    year = Number(bracket[1]);
    titleText = text.slice(0, text.indexOf("["));
  } else {
    let best: { index: number; year: number } | null = null;
    for (const m of text.matchAll(_BARE_YEAR_RE)) {
      const at = (m.index ?? 0) + m[1].length;
      if (at === 0) continue;
      const after = text.slice(at + 4);
      const before = text.slice(0, at);
      if (/^[-._ ]\d{2}[-._ ]\d{2}(?!\d)/.test(after)) continue;
      if (/\d{1,2}[-._]\d{1,2}[-._]$/.test(before)) continue;
      best = { index: at, year: Number(m[2]) };
    }
    if (best) {
      year = best.year;
      titleText = text.slice(0, best.index);
    } else {
      // `2009.shoot.fruit.chan.multi.dvd9`: a release name may start with its year; a title that
      // is a year (`2012.1080p.BluRay`) keeps it.
      const lead = /^((?:19|20)\d{2})[ ._-]+(?=\S)/.exec(text);
      const rest = lead ? text.slice(lead[0].length) : "";
      if (lead && isYear(Number(lead[1])) && junkIndex(rest) > 0) {
        year = Number(lead[1]);
        titleText = rest;
      }
    }
  }
  let title = stripLeadingTags(titleText);
  // `(1)The Girl…`: a collection's running number before the title.
  if (title.startsWith("(")) title = title.replace(/^\(\d{1,2}\)\s*/, "");
  // `James_Bond-f21-Casino_Royale-x02-Stunts`: guessit's film number in a collection, and a
  // bonus number; the film's own title is between them.
  if (title.includes("-")) {
    const film = /-f\d{1,2}-(.+)$/i.exec(title);
    if (film && film.index > 0) title = film[1];
    const bonus = /(?:-x\d{1,2}-|--).*$/i.exec(title);
    if (bonus && bonus.index > 0) title = title.slice(0, bonus.index);
  }
  let junkless = cutJunk(title);
  if (trimSeparators(junkless) === "") junkless = cutJunk(_skipLeadingJunk(title));
  if (trimSeparators(junkless) !== "") title = junkless;
  // `Alien DC (1979)`, `Aliens.SE.1986`: an edition mark right before the year.
  if (year !== null && /[ct][ ._-]*$|[ ._-]se[ ._-]*$/i.test(title.slice(-8))) {
    title = title.replace(/[ ._-]+(?:dc|se|uncut)[ ._-]*$/i, "");
  }
  title = humanizeTitle(stripTrailingTags(trimSeparators(title)));
  if (title === "" && year !== null) {
    title = String(year);
    year = null;
  }
  return { title, year, ids, part };
}
