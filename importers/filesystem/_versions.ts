/**
 * Several versions of one movie in its own folder, named as Jellyfin's
 * convention has them: the folder's name, then ` - ` and a label, or a label
 * in brackets (`Heat (1995)/Heat (1995) - 1080p.mkv`, `Heat (1995) - 720p.mkv`,
 * `Heat (1995) [Director's Cut].mkv`, or `Heat (1995).mkv` itself). Plex and
 * Jellyfin show such files as one item; imported one by one, a channel would
 * play the movie once per version. So one version is imported and the others
 * are reported as skipped.
 *
 * Which one, so that the choice does not depend on the order of a listing:
 * the file named after the folder alone, else the highest resolution its
 * label names (`2160p`, `4K`, `1080p`, …), else the first label in
 * alphabetical order.
 *
 * Episodes: Plex shows the files of one episode in a season folder as one
 * item with versions, and Jellyfin (from 12.0) too; {@link bestVersion}
 * picks among their names the same way.
 *
 * @module
 */

/** One movie file of a folder, as {@link pickVersion} reads it. */
export interface VersionFile {
  /** The file's name without its extension. */
  stem: string;
  /** The movie's title, as parsed (or from its `.nfo`). */
  title: string;
  /** Its year, or null. */
  year: number | null;
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
 * is named after the folder (alone, or with a ` - ` or bracketed label), and
 * all have the same title and year. Names compare case-insensitively.
 */
export function pickVersion(folder: string, files: readonly VersionFile[]): VersionChoice | null {
  if (files.length < 2) return null;
  const head = folder.toLowerCase();
  const labels: string[] = [];
  for (const file of files) {
    const label = _label(file.stem, head);
    if (label === null) return null;
    labels.push(label);
  }
  const first = files[0];
  const title = first.title.toLowerCase();
  if (!files.every((f) => f.title.toLowerCase() === title && f.year === first.year)) return null;
  const primary = bestVersion(labels);
  return { primary, others: files.map((_, i) => i).filter((i) => i !== primary) };
}

/**
 * Which of several versions' labels (or whole names) to import, by index:
 * an empty label first, then the highest resolution named, then the first
 * in (lower-cased) code-unit order.
 */
export function bestVersion(labels: readonly string[]): number {
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (_compare(labels[i], labels[best]) < 0) best = i;
  return best;
}

/** The label after `head` in `stem` (`""` for none), or null when `stem` is not named so. */
function _label(stem: string, head: string): string | null {
  const lower = stem.toLowerCase();
  if (!lower.startsWith(head)) return null;
  const rest = lower.slice(head.length).trim();
  if (rest === "") return "";
  if (rest.startsWith("-")) return rest.slice(1).trim();
  const bracket = /^\[([^\]]*)\]/.exec(rest);
  return bracket ? bracket[1].trim() : null;
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
