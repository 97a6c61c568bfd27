/**
 * Word lists and small string helpers for the name parser: release junk,
 * extras, season folder words, provider id tags and title cleaning.
 *
 * Pure functions, no Deno APIs.
 *
 * @module
 */

/** Video container extensions the parser strips (and the importer ingests by default). */
export const VIDEO_EXTENSIONS: readonly string[] = [
  "3gp",
  "asf",
  "avi",
  "divx",
  "dvr-ms",
  "f4v",
  "flv",
  "iso",
  "m2t",
  "m2ts",
  "m2v",
  "m4v",
  "mk3d",
  "mkv",
  "mov",
  "mp4",
  "mpeg",
  "mpg",
  "mts",
  "ogm",
  "ogv",
  "rm",
  "rmvb",
  "strm",
  "ts",
  "vob",
  "webm",
  "wmv",
  "wtv",
  "xvid",
];

/** Audio extensions: only used to recognise theme songs. */
export const AUDIO_EXTENSIONS: readonly string[] = [
  "aac",
  "flac",
  "m4a",
  "mp3",
  "ogg",
  "opus",
  "wav",
  "wma",
];

const _STRIPPED_EXTENSIONS = new Set([
  ...VIDEO_EXTENSIONS,
  ...AUDIO_EXTENSIONS,
  "disc",
  "nfo",
  "srt",
  "sub",
  "ass",
  "ssa",
  "idx",
  "torrent",
]);

/** Kinds of extra recognised from names and folders (Plex and Jellyfin conventions). */
export type ExtraType =
  | "trailer"
  | "sample"
  | "scene"
  | "clip"
  | "deleted_scene"
  | "interview"
  | "behind_the_scenes"
  | "featurette"
  | "short"
  | "theme_song"
  | "theme_video"
  | "other";

/** Folder names (lower case) that hold extras, and what they hold. */
export const EXTRA_FOLDERS: Readonly<Record<string, ExtraType>> = {
  "behind the scenes": "behind_the_scenes",
  "behindthescenes": "behind_the_scenes",
  "deleted scenes": "deleted_scene",
  "deletedscenes": "deleted_scene",
  "interviews": "interview",
  "scenes": "scene",
  "samples": "sample",
  "sample": "sample",
  "shorts": "short",
  "trailers": "trailer",
  "featurettes": "featurette",
  "clips": "clip",
  "backdrops": "theme_video",
  "extras": "other",
  "extra": "other",
  "other": "other",
  "others": "other",
  "theme-music": "theme_song",
};

/**
 * File name suffix words (after `-`, `.`, `_` or ` - `, optionally followed
 * by digits: `-trailer2`) that mark an extra.
 */
const _EXTRA_SUFFIXES: ReadonlyMap<string, ExtraType> = new Map([
  ["trailer", "trailer"],
  ["sample", "sample"],
  ["scene", "scene"],
  ["clip", "clip"],
  ["deleted", "deleted_scene"],
  ["deletedscene", "deleted_scene"],
  ["interview", "interview"],
  ["behindthescenes", "behind_the_scenes"],
  ["featurette", "featurette"],
  ["short", "short"],
  ["extra", "other"],
  ["other", "other"],
  // Anime releases' creditless opening and ending (`Show - NCOP1 [1080p]`): not episodes.
  ["ncop", "other"],
  ["nced", "other"],
]);

const _AUDIO = new Set(AUDIO_EXTENSIONS);

/** Whether `ext` (lower case, as {@link splitExtension} gives it) is an audio extension. */
export function isAudioExtension(ext: string | null): boolean {
  return ext !== null && _AUDIO.has(ext);
}

/**
 * Release and quality tokens: a title ends where the first of these starts.
 * Matched case-insensitively as whole tokens.
 */
const _JUNK = [
  "\\d{3,4}[pi]",
  "4k",
  "8k",
  "uhd",
  "ultrahd",
  "hdr",
  "hdr10",
  "dv",
  "hdc",
  "sdr",
  "bluray",
  "blu-ray",
  "bdrip",
  "brrip",
  "bdremux",
  "remux",
  "dvdrip",
  "dvdscr",
  "dvd",
  "hddvd",
  "hdtv",
  "pdtv",
  "sdtv",
  "hdrip",
  "webrip",
  "web-dl",
  "webdl",
  "web",
  "x264",
  "x265",
  "h264",
  "h265",
  "h\\.264",
  "h\\.265",
  "hevc",
  "avc",
  "av1",
  "xvid",
  "divx",
  "aac",
  "ac3",
  "eac3",
  "dts",
  "ddp?5\\.1",
  "dd",
  "flac",
  "opus",
  "truehd",
  "atmos",
  "multi",
  "multisubs",
  "dual",
  "remastered",
  "unrated",
  "extended",
  "proper",
  "repack",
  "internal",
  "limited",
  "stv",
  "complete",
  "ntsc",
  "pal",
  // `3D` is a release token when release tokens or the end follow it, not in
  // `A Very Harold & Kumar 3D Christmas`.
  "3d(?=[ ._\\-]*(?:$|[\\[(]|h?sbs|h?ou|h?tab|mvc|\\d{3,4}p|blu-?ray|web|x26[45]))",
  "hsbs",
  "sbs",
  "htab",
  "tab",
  "mvc",
  "eng",
  "english",
  "french",
  "subs?",
  "fr",
  "fran[cç]ais",
  "castellano",
  "vff",
  "vfq",
  "vf",
  "vostfr",
  "subbed",
  "hdlight",
  "\\d{3,4}x\\d{3,4}",
  "(?:bd|br)(?:rip)?mux",
  "criterion",
  "edition",
  "collector",
  "theatrical",
  "nf",
  "amzn",
  "dsnp",
  "hulu",
];

const _JUNK_RE = new RegExp(
  `(?:^|[ ._\\-\\[\\(+])(?:${_JUNK.join("|")})(?=$|[ ._\\-\\]\\)\\[(+])`,
  "i",
);

/**
 * Words that also end an episode title but may be part of a show's or a
 * movie's (`The Italian Job`): languages, closed captions, container names.
 */
const _EPISODE_TITLE_JUNK = ["german", "spanish", "italian", "cc", "wmv", "avi", "mkv", "mp4"];

const _EPISODE_TITLE_JUNK_RE = new RegExp(
  `(?:^|[ ._\\-\\[\\(+])(?:${
    [..._JUNK, ..._EPISODE_TITLE_JUNK].join("|")
  })(?=$|[ ._\\-\\]\\)\\[(+])`,
  "i",
);

/** Index where an episode title ends: release junk, or a language or container word; or -1. */
export function episodeTitleJunkIndex(text: string): number {
  const m = _EPISODE_TITLE_JUNK_RE.exec(text);
  return m ? m.index : -1;
}

const _ID_TAG_RE = /[\[{(]\s*(imdb|tmdb|tvdb|tvmaze|anidb)(?:id)?\s*[-=:]\s*(tt\d+|\d+)\s*[\]})]/gi;
/** {@link _ID_TAG_RE} without `g`, to test for a tag (a replace with a callback costs more). */
const _HAS_ID_TAG_RE = new RegExp(_ID_TAG_RE.source, "i");

/** Splits a path on `/` or `\` into its non-empty segments. */
export function splitPath(path: string): string[] {
  // Splitting on a plain "/" is much cheaper, and gives the same segments once empties are dropped.
  const parts = path.includes("\\") ? path.split(/[\\/]+/) : path.split("/");
  return parts.filter((s) => s !== "");
}

/** What an extension is made of (as the regex this replaced had it: `\.([A-Za-z0-9-]{1,6})$`). */
const _EXTENSION_CHARS_RE = /^[A-Za-z0-9-]+$/;

/** A file name without a known media extension, and the extension (lower case) if any. */
export function splitExtension(name: string): { stem: string; ext: string | null } {
  // An extension is 1 to 6 of [A-Za-z0-9-] after the last dot (the dot is not one of them).
  const dot = name.lastIndexOf(".");
  const length = name.length - dot - 1;
  if (dot >= 0 && length >= 1 && length <= 6) {
    const raw = name.slice(dot + 1);
    // Known extensions are all [a-z0-9-], so a hit is one; otherwise try it in lower case
    // (checking the characters: `toLowerCase` turns the Kelvin sign into `k`).
    if (_STRIPPED_EXTENSIONS.has(raw)) return { stem: name.slice(0, dot), ext: raw };
    const ext = raw.toLowerCase();
    if (_STRIPPED_EXTENSIONS.has(ext) && _EXTENSION_CHARS_RE.test(raw)) {
      return { stem: name.slice(0, dot), ext };
    }
  }
  return { stem: name, ext: null };
}

/** Removes provider id tags (`{imdb-tt123}`, `[tmdbid-1]`, `[tvdbid=2]`) and returns them. */
export function extractIds(text: string): { text: string; ids: Record<string, string> } {
  const ids: Record<string, string> = {};
  // Most names have no tag: skip the replace (a tag opens with `[`, `{` or `(`).
  const open = text.includes("[") || text.includes("{") || text.includes("(");
  if (!open || !_HAS_ID_TAG_RE.test(text)) return { text, ids };
  const rest = text.replace(_ID_TAG_RE, (_m, provider: string, value: string) => {
    ids[provider.toLowerCase()] = value;
    return " ";
  });
  return { text: rest, ids };
}

/** Index where release junk starts in `text`, or -1. */
export function junkIndex(text: string): number {
  const m = _JUNK_RE.exec(text);
  return m ? m.index : -1;
}

/**
 * Cuts `text` at the first release junk token, and at a bracket the cut left
 * open (`REDLINE (BD 1080p …)` → `REDLINE`).
 */
export function cutJunk(text: string): string {
  const at = junkIndex(text);
  return at < 0 ? text : withoutOpenBracket(text.slice(0, at), { from: 1 });
}

/**
 * `text` without a bracket that a cut left open at its end, and what follows
 * it (`REDLINE (BD` → `REDLINE `), when that bracket is at `options.from` or
 * later (1 keeps a name that is all bracket).
 */
export function withoutOpenBracket(text: string, options: { from: number }): string {
  const open = Math.max(text.lastIndexOf("("), text.lastIndexOf("["));
  return open >= options.from && !/[)\]]/.test(text.slice(open)) ? text.slice(0, open) : text;
}

/** Removes leading `[Group]` tags, keeping at least something. */
export function stripLeadingTags(text: string): string {
  let out = text.trimStart();
  while (true) {
    if (!out.startsWith("[")) return out;
    const m = /^\[[^\]]*\]\s*/.exec(out);
    if (!m || m[0].length >= out.length) return out;
    out = out.slice(m[0].length);
  }
}

/** Removes trailing `[…]` / `(…)` groups that are not a year, keeping at least something. */
export function stripTrailingTags(text: string): string {
  let out = text.trimEnd();
  while (true) {
    // The group must close the text: skip the regex (which tries every position) when it cannot.
    if (!out.endsWith(")") && !out.endsWith("]")) return out;
    const m = /\s*[\[(]([^\])[(]*)[\])]$/.exec(out);
    if (!m || m.index === 0 || /^\d{4}$/.test(m[1]) || _isCountryTag(m[0])) return out;
    out = out.slice(0, m.index).trimEnd();
  }
}

/**
 * The countries that tell remakes apart in show names (`The Office (US)`,
 * `The Office (UK)`, `Wilfred (AU)`): Kodi's naming guide and TheTVDB write
 * them so. Kept in titles, or the two shows would be read as one.
 */
const _COUNTRY_TAGS: ReadonlySet<string> = new Set(["US", "UK", "AU", "NZ", "CA", "IE"]);

/** Whether a trailing group is `(US)`-like: one of {@link _COUNTRY_TAGS}, upper case, in parentheses. */
function _isCountryTag(group: string): boolean {
  const m = /\(([A-Z]{2})\)$/.exec(group);
  return m !== null && _COUNTRY_TAGS.has(m[1]);
}

/** Trims separators (spaces, dots, underscores, dashes, commas) from both ends. */
export function trimSeparators(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && _SEPARATORS.has(text[start])) start++;
  while (end > start && _SEPARATORS.has(text[end - 1])) {
    // `House M.D.`, `Magnum P.I.`: the dot that closes an initialism is part of it.
    if (text[end - 1] === "." && _closesInitialism(text, end - 1, start)) break;
    end--;
  }
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

/** Whether the dot at `dot` ends single letters joined by dots (`M.D.`), not a word (`Dr.`). */
function _closesInitialism(text: string, dot: number, start: number): boolean {
  return dot - 3 >= start && _isLetter(text[dot - 1]) && text[dot - 2] === "." &&
    _isLetter(text[dot - 3]) && (dot - 4 < start || !_isLetter(text[dot - 4]));
}

function _isLetter(c: string): boolean {
  return c.toLowerCase() !== c.toUpperCase();
}

const _SEPARATORS = new Set([" ", "\t", "\n", "\r", ".", "_", "-", "–", ",", "\u00a0", "\u3000"]);
/** What {@link humanizeTitle} acts on besides the ends: `_`, `.`, tabs, newlines, doubled spaces. */
const _HUMANIZE_WORK_RE = /[_.\t\n\r]|\s\s/;

/**
 * Turns a raw name into a display title: underscores become spaces, and
 * dots become spaces when the name has no spaces (a dotted release name),
 * except between single letters (`S.H.O.W`, `P.I`).
 */
export function humanizeTitle(raw: string): string {
  // Most titles have nothing to humanize: one test instead of the steps below.
  if (!_HUMANIZE_WORK_RE.test(raw)) return trimSeparators(raw);
  let text = raw.replace(/_/g, " ");
  if (!/\s/.test(text.trim()) && text.includes(".")) {
    const parts = text.split(".");
    text = parts.reduce((acc, part, i) => {
      if (i === 0) return part;
      const prev = parts[i - 1];
      const joinDot = prev.length === 1 && part.length <= 1 && /[A-Za-z]/.test(prev);
      return acc + (joinDot ? "." : " ") + part;
    }, "");
  }
  return trimSeparators(/\s\s|[\t\n\r]/.test(text) ? text.replace(/\s+/g, " ") : text);
}

/** Lower-case, separator-insensitive form of a title, for comparisons. */
export function titleKey(title: string): string {
  return title.normalize("NFC").toLowerCase().replace(/[\s._\-–:,'’!?]+/g, " ").trim();
}

/** Options for {@link extraFromFileName}. */
export interface ExtraNameOptions {
  /**
   * The name also numbers an episode (`S02E06`, `1x02`, a date): a word after
   * ` - `, `.` or `_` is then its title (`S02E06 - Interview`,
   * `Show.S01E05.The.Interview`), and only a word joined by `-`
   * (`S01E01-trailer`, Plex's inline extras) or a sample marks an extra.
   */
  episodeMarked?: boolean;
}

/** The extra type a file name says it is, if any (`300-trailer.mkv`, `sample.mp4`, `theme.mp3`). */
export function extraFromFileName(
  stem: string,
  ext: string | null,
  options: ExtraNameOptions = {},
): ExtraType | null {
  // Release tags after the word (`Show - NCOP [1080p]`, `Movie-trailer [4K]`) are not the word.
  const lower = (stem.endsWith("]") ? stem.replace(/(?:\s*\[[^\]]*\])+$/, "") : stem)
    .toLowerCase();
  const audio = isAudioExtension(ext);
  if (lower === "theme") return audio ? "theme_song" : null;
  if (audio) return null;
  // A scene release's sample written first (`sample-show.s01e01.720p-grp`).
  if (lower.startsWith("sample-") && lower.length > 7) return "sample";
  // The trailing word is `(?:^|[-._]| - )([a-z]+)\d*$`, found by scanning back from the end
  // (a regex anchored at the end is tried at every position of the name).
  let end = lower.length;
  while (end > 0 && _isDigit(lower.charCodeAt(end - 1))) end--;
  let start = end;
  while (start > 0 && _isLowerAsciiLetter(lower.charCodeAt(start - 1))) start--;
  const type = start < end ? _EXTRA_SUFFIXES.get(lower.slice(start, end)) : undefined;
  if (type === undefined) return null;
  let lead: number;
  if (start === 0) lead = 0;
  else if ("-._".includes(lower[start - 1])) lead = start - 1;
  else if (start >= 3 && lower.slice(start - 3, start) === " - ") lead = start - 3;
  else return null;
  // A name that is only the word (and its separator) is an extra for trailers and samples alone.
  if (lead === 0 && type !== "trailer" && type !== "sample") return null;
  if (
    options.episodeMarked && type !== "sample" &&
    !(lead === start - 1 && lower[lead] === "-" && lead > 0 && lower[lead - 1] !== " ")
  ) return null;
  return type;
}

function _isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function _isLowerAsciiLetter(code: number): boolean {
  return code >= 97 && code <= 122;
}

/** The extra type a folder name says its files are, if any. */
export function extraFromFolder(name: string, ext: string | null): ExtraType | null {
  const key = name.toLowerCase().trim();
  // Own keys only: a folder named `constructor` is not an extras folder.
  if (!Object.hasOwn(EXTRA_FOLDERS, key)) return null;
  const type = EXTRA_FOLDERS[key];
  const audio = isAudioExtension(ext);
  if (type === "theme_song") return audio ? type : null;
  return audio ? null : type;
}

/** Words for "season" in the languages libraries are named in. */
export const SEASON_WORDS: readonly string[] = [
  "season",
  "staffel",
  "stagione",
  "sæson",
  "temporada",
  "series",
  "kausi",
  "säsong",
  "seizoen",
  "seasong",
  "sezon",
  "sezona",
  "sezóna",
  "sezonul",
  "saison",
  "시즌",
  "シーズン",
  "сезон",
];

/**
 * `Season 1`, `Staffel 01`, `Season1`, `Season 7 (2016)`, `Season 2 - The Return`
 * and the other languages.
 */
export const SEASON_WORD_RE: RegExp = new RegExp(
  `^(?:${SEASON_WORDS.join("|")})[ ._-]*(\\d{1,4})(?:\\s*\\(\\d{4}\\))?(?:\\s+-\\s+\\S.*)?$`,
  "iu",
);

/** Whether `n` is a plausible year. */
export function isYear(n: number): boolean {
  return n >= 1880 && n <= 2100;
}
