/**
 * The filesystem importer's disk reads, kept apart from naming: one folder
 * at a time, {@link scanFolder} lists the entries, applies the rules that
 * need no name parsing (hidden entries, extras folders, symlinks that leave
 * the root, symlink loops). The walk (`_walk.ts`) stats the video
 * files that pass its filters and turns them into assets; the benchmark
 * times this module plus a stat of every video file against `find`.
 *
 * Symlinks: a link whose real path leaves the root is skipped. A link to a
 * folder is followed unless that folder is, or contains, a folder on the
 * way down to it (a loop); the decision depends only on the path, not on
 * what was walked before. A folder reached through a link is walked like any
 * other: its files get their own ids.
 *
 * @module
 */

import { EXTRA_FOLDERS, type ExtraType } from "../shared/naming/mod.ts";

/** What {@link scanFolder} keeps. */
export interface ScanOptions {
  /** The root's real path: every symlink must resolve under it. */
  rootReal: string;
  /** Lower-case extensions, without dots, that count as video files. */
  extensions: ReadonlySet<string>;
  /** Also keep hidden entries (`.name`). */
  includeHidden: boolean;
}

/**
 * Directly under the root, a folder named like an extras folder is walked as
 * any other: a category (`Shorts/Some Short (2010)/…`) or a show of that
 * name (`Extras/Season 1/…`, the 2005 series); the name parser still reads
 * video files lying directly in it as extras. Plex and Jellyfin look for
 * extras inside a movie's or a show's folder (a show called `Extras` went
 * missing in Jellyfin for this: jellyfin/jellyfin#8641). Sample folders
 * alone are skipped at any depth.
 */
function _extrasFolderHere(extra: ExtraType, rel: string): boolean {
  return rel !== "" || extra === "sample";
}

/**
 * One folder as read from disk, before any naming rule. Optional fields are
 * absent when empty (most folders have no skips, links or sidecars, and a
 * library has thousands of folders).
 */
export interface ScannedFolder {
  /** The folder's path: the root's real path, then the names walked. */
  abs: string;
  /** Its path relative to the root, `""` for the root. */
  rel: string;
  /** Real paths of the folders from the root down to this one (this one last). */
  chain: string[];
  /** Why it could not be read; everything else is then empty. */
  error?: string;
  /** Video files (by extension), in name order. */
  files: string[];
  /** Names of the `.nfo` sidecars in the folder. */
  nfos?: string[];
  /** Subfolders to visit, in name order. */
  folders: string[];
  /** Real paths of the subfolders that are symlinks, by their index in `folders`. */
  links?: Record<number, string>;
  /** Entries deliberately left out: `[relative path, reason]`. */
  skipped?: Array<[string, string]>;
  /** Problems the operator should see (an unreadable symlink target…). */
  warnings?: string[];
  /** Paths below the root of entries that exist but could not be read (see `unlisted`). */
  unreadable?: string[];
}

/** The folder {@link scanFolder} reads: where it is and how the walk got there. */
export interface FolderToScan {
  /** The folder's path: the root's real path, then the names walked. */
  abs: string;
  /** Its path relative to the root, `""` for the root. */
  rel: string;
  /**
   * Real paths of the folders from the root down to this one, this one
   * last (`[rootReal]` for the root).
   */
  chain: string[];
}

/**
 * Why an entry whose name is not valid UTF-8 is skipped: Deno gives the name
 * with the bad bytes replaced, and cannot open it by that name.
 */
export const UNOPENABLE_NAME = "name not valid UTF-8";

/** Whether nothing answers to `path` as Deno spelled it (a lossily decoded name). */
function _unopenable(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return false;
  } catch (e) {
    return e instanceof Deno.errors.NotFound;
  }
}

/** Reads one folder with the scan's rules. */
export function scanFolder(folder: FolderToScan, options: ScanOptions): ScannedFolder {
  const { abs, rel, chain } = folder;
  const out: ScannedFolder = { abs, rel, chain, files: [], folders: [] };
  const skip = (item: string, reason: string) => (out.skipped ??= []).push([item, reason]);
  const message = (e: unknown) => e instanceof Error ? e.message : String(e);
  let entries: Deno.DirEntry[];
  try {
    entries = Array.from(Deno.readDirSync(abs));
  } catch (e) {
    out.error = message(e);
    return out;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const root = options.rootReal.endsWith("/") ? options.rootReal : `${options.rootReal}/`;
  for (const entry of entries) {
    const name = entry.name;
    const dot = name.lastIndexOf(".");
    const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : "";
    let isDir = entry.isDirectory;
    let isFile = entry.isFile;
    let real: string | undefined;
    if (name.startsWith(".") && !options.includeHidden) {
      if (isDir || entry.isSymlink || options.extensions.has(ext)) {
        skip(rel === "" ? name : `${rel}/${name}`, "hidden");
      }
      continue;
    }
    if (name.includes("\uFFFD") && _unopenable(`${abs}/${name}`)) {
      // Deno hands over a name that is not UTF-8 with its bad bytes replaced by U+FFFD, and
      // cannot open the file by that name: it would show as a missing file otherwise.
      const childRel = rel === "" ? name : `${rel}/${name}`;
      skip(isDir ? `${childRel}/` : childRel, UNOPENABLE_NAME);
      continue;
    }
    if (entry.isSymlink) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      try {
        real = Deno.realPathSync(`${abs}/${name}`);
      } catch (e) {
        if (e instanceof Deno.errors.NotCapable) skip(childRel, "symlink leaves the root");
        else if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.FilesystemLoop) {
          skip(childRel, "broken symlink");
        } else {
          // It exists but cannot be resolved now (a target folder without read access): whatever
          // is stored under it is kept as it is, not taken as gone.
          (out.warnings ??= []).push(`cannot read '${childRel}': ${message(e)}`);
          (out.unreadable ??= []).push(childRel);
        }
        continue;
      }
      if (real !== options.rootReal && !real.startsWith(root)) {
        skip(childRel, "symlink leaves the root");
        continue;
      }
      try {
        const info = Deno.statSync(`${abs}/${name}`);
        isDir = info.isDirectory;
        isFile = info.isFile;
      } catch (e) {
        (out.warnings ??= []).push(`cannot read '${childRel}': ${message(e)}`);
        // A file or a folder: whatever is stored under its path is kept as it is.
        (out.unreadable ??= []).push(childRel);
        continue;
      }
      const target = real;
      if (isDir && chain.some((f) => f === target || f.startsWith(`${target}/`))) {
        skip(childRel, "symlink loop");
        continue;
      }
    }
    if (isDir) {
      const lower = name.toLowerCase();
      // Own keys only: a folder named `constructor` is not an extras folder.
      const extra = Object.hasOwn(EXTRA_FOLDERS, lower) ? EXTRA_FOLDERS[lower] : undefined;
      if (extra !== undefined && _extrasFolderHere(extra, rel)) {
        const reason = extra === "sample" ? "sample folder" : "extras folder";
        skip(rel === "" ? `${name}/` : `${rel}/${name}/`, reason);
      } else {
        if (real !== undefined) (out.links ??= {})[out.folders.length] = real;
        out.folders.push(name);
      }
    } else if (isFile) {
      if (options.extensions.has(ext)) out.files.push(name);
      else if (ext === "nfo") (out.nfos ??= []).push(name);
    }
  }
  return out;
}

/** The `chain` of a scanned folder's `index`-th subfolder. */
export function subfolderChain(folder: ScannedFolder, index: number): string[] {
  const here = folder.chain[folder.chain.length - 1];
  const name = folder.folders[index];
  const real = folder.links?.[index] ?? (here.endsWith("/") ? here + name : `${here}/${name}`);
  return [...folder.chain, real];
}
