/**
 * Several versions of one movie in its own folder, named as Jellyfin's
 * convention has them: the folder's name, then ` - ` and a label, or a label
 * in brackets (`Heat (1995)/Heat (1995) - 1080p.mkv`, `Heat (1995) - 720p.mkv`,
 * `Heat (1995) [Director's Cut].mkv`, or `Heat (1995).mkv` itself). Plex and
 * Jellyfin show such files as one item; imported one by one, a channel would
 * play the movie once per version. So one version is imported and the others
 * are reported as skipped. Episodes: Plex shows the files of one episode in
 * a season folder as one item with versions, and Jellyfin (from 12.0) too.
 *
 * Which one ({@link bestVersion}): the file that came first (its creation
 * time where the filesystem keeps one, else its modification time), so that
 * a version added later (a 4K copy next to the 1080p one) changes nothing
 * the catalog's schedules point at, nor does editing a file in place (a tag
 * written into it); among files of the same time, the one named after the
 * folder alone, else the highest resolution its name gives (`2160p`, `4K`,
 * `1080p`, …), else the first name in alphabetical order. The choice never
 * depends on the order of a listing.
 *
 * @module
 */

import { STACK_PART_WORDS } from "../shared/naming/mod.ts";

/** One movie file of a folder, as {@link pickVersion} reads it. */
export interface VersionFile {
  /** The file's name without its extension. */
  stem: string;
  /** The movie's title as its file name gives it. */
  title: string;
  /** Its year, or null. */
  year: number | null;
  /**
   * When it came (ms since the epoch): its creation time, else its
   * modification time, NaN when unknown; asked for only once the files are
   * known to be versions (it costs a stat).
   */
  since(): number;
}

/** The version imported, and the others (indexes into the files given). */
export interface VersionChoice {
  /** The file imported. */
  primary: number;
  /** The files skipped as other versions of it. */
  others: number[];
}

/**
 * Whether the movie files of a folder named `folder` are versions of one
 * movie, and which to import: null unless there are two or more, every one
 * is named after the folder (alone, or with a ` - ` or bracketed label that
 * does not mark a stacked part: `Part B`, `[CD 2]`), and all have the same
 * title and year. Names compare case-insensitively, in Unicode NFC.
 */
export function pickVersion(folder: string, files: readonly VersionFile[]): VersionChoice | null {
  if (files.length < 2) return null;
  const head = folder.normalize("NFC").toLowerCase();
  const labels: string[] = [];
  for (const file of files) {
    const label = _label(file.stem, head);
    if (label === null || _PART.test(label)) return null;
    labels.push(label);
  }
  const first = files[0];
  const title = first.title.normalize("NFC").toLowerCase();
  const alike = (f: VersionFile) =>
    f.title.normalize("NFC").toLowerCase() === title && f.year === first.year;
  if (!files.every(alike)) return null;
  const primary = bestVersion(labels, files.map((f) => f.since()));
  return { primary, others: files.map((_, i) => i).filter((i) => i !== primary) };
}

/**
 * Which of several versions to import, by index: the one that came first
 * (`since`, NaN counting as last), then an empty label, then the highest
 * resolution a label (or whole name) gives, then the first in (lower-cased)
 * code-unit order.
 */
export function bestVersion(labels: readonly string[], since: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < labels.length; i++) {
    const older = _older(since[i], since[best]);
    if (older < 0 || (older === 0 && _compare(labels[i], labels[best]) < 0)) best = i;
  }
  return best;
}

/**
 * A label that names one of a sequence: a stacked part (Jellyfin stacks `cd`,
 * `dvd`, `part`, `pt`, `disc`, `disk` with a number or a letter a–d), a
 * volume, side, chapter or numbered movie, with a number, a letter a–d, a
 * Roman numeral or a number word (`Part II`, `Vol. I`, `Disc One`,
 * `[Movie 2]`), or `1of2`. Such files are parts or sequels, not versions,
 * even where the name parser did not read them as parts.
 */
const _PART = new RegExp(
  `(?:^|[^a-z0-9])(?:(?:${STACK_PART_WORDS}|vol(?:ume)?|side|chapter|movie|episode|book)` +
    "[ ._-]*(?:\\d+|[a-d]|[ivx]+|one|two|three|four|five|six|seven|eight|nine|ten)" +
    "|\\d+[ ._-]*of[ ._-]*\\d+)(?![a-z0-9])",
  "i",
);

/** The label after `head` in `stem` (`""` for none), or null when `stem` is not named so. */
function _label(stem: string, head: string): string | null {
  const lower = stem.normalize("NFC").toLowerCase();
  if (!lower.startsWith(head)) return null;
  const rest = lower.slice(head.length).trim();
  if (rest === "") return "";
  if (rest.startsWith("-")) return rest.slice(1).trim();
  const bracket = /^\[([^\]]*)\]/.exec(rest);
  return bracket ? bracket[1].trim() : null;
}

/** Negative when `a` is older than `b`, positive when newer, 0 when the same or both unknown. */
function _older(a: number, b: number): number {
  const ka = Number.isNaN(a) ? Infinity : a;
  const kb = Number.isNaN(b) ? Infinity : b;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** No label first, then the highest resolution named, then by label (lower-cased). */
function _compare(a: string, b: string): number {
  if ((a === "") !== (b === "")) return a === "" ? -1 : 1;
  const ra = _resolution(a);
  const rb = _resolution(b);
  if (ra !== rb) return rb - ra;
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  return la < lb ? -1 : la > lb ? 1 : a < b ? -1 : a > b ? 1 : 0;
}

/** The vertical resolution a label names (`1080p`, `4K`, `UHD`), or 0. */
function _resolution(label: string): number {
  const lines = /(?:^|[^a-z0-9])(\d{3,4})[pi](?![a-z0-9])/i.exec(label);
  if (lines) return Number(lines[1]);
  if (/(?:^|[^a-z0-9])8k(?![a-z0-9])/i.test(label)) return 4320;
  if (/(?:^|[^a-z0-9])(?:4k|uhd)(?![a-z0-9])/i.test(label)) return 2160;
  return 0;
}
