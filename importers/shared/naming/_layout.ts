/**
 * What a folder means in a library layout: a show, a season, a movie, a
 * disc, an extras folder or an episode folder. `retrovue parse` uses it so
 * operators can debug a layout one folder at a time.
 *
 * Pure TypeScript, no Deno APIs: the caller lists the folder, if it can.
 *
 * @module
 */

import { parseMediaPath, parseSeasonFolder, parseSeriesFolder } from "./_parse.ts";
import { parseFolderFiles } from "./_siblings.ts";
import { extraFromFolder, type ExtraType, splitPath, VIDEO_EXTENSIONS } from "./_tokens.ts";

/** The role of a folder in a library. */
export type FolderRole =
  | "series"
  | "season"
  | "movie"
  | "episode"
  | "disc"
  | "extras"
  | "folder";

/** What {@link describeFolder} says of a folder. */
export interface FolderDescription {
  /** What the folder is. `folder` when neither its name nor its contents tell. */
  role: FolderRole;
  /** The show's or movie's title the folder gives (the show's, for a season folder). */
  title: string;
  /** Year written in the name, if any. */
  year: number | null;
  /** Season number of a season folder (or of an episode folder). */
  season: number | null;
  /** Episode number of an episode folder (`Show - S02E13/`). */
  episode: number | null;
  /** Provider ids written in the name. */
  ids: Record<string, string>;
  /** What an extras folder holds. */
  extraType: ExtraType | null;
  /** What the contents say, when they were given. */
  contents: { episodes: number; movies: number; seasonFolders: number } | null;
  /** Why this role, in a few words. */
  because: string;
}

/** A folder's own entries (names only), when the caller could list it. */
export interface FolderContents {
  /** File names. */
  files: readonly string[];
  /** Subfolder names. */
  folders: readonly string[];
}

const _VIDEO = new Set(VIDEO_EXTENSIONS);

function _isVideo(name: string): boolean {
  return _VIDEO.has(name.slice(name.lastIndexOf(".") + 1).toLowerCase());
}

/**
 * Describes the folder at `path` (its last segment, read with the one above
 * it), from its name and, when given, its contents: season subfolders or
 * episode files make a show, movie files a movie.
 */
export function describeFolder(path: string, contents?: FolderContents): FolderDescription {
  const segments = splitPath(path.normalize("NFC"));
  const name = segments.at(-1) ?? "";
  const parent = segments.at(-2);
  const out: FolderDescription = {
    role: "folder",
    title: "",
    year: null,
    season: null,
    episode: null,
    ids: {},
    extraType: null,
    contents: null,
    because: "nothing in its name or contents says what it holds",
  };
  const discAt = segments.findIndex((s, i) => i > 0 && /^(?:bdmv|video_ts)$/i.test(s));
  if (discAt > 0) {
    const item = parseMediaPath(segments.slice(0, discAt).join("/"), { isDirectory: true });
    return {
      ...out,
      role: "disc",
      title: item.title,
      year: item.year,
      season: item.season,
      episode: item.episode,
      ids: item.ids,
      because: `${segments[discAt]} is a disc structure; its files are one ${item.kind}, ` +
        `named by '${segments[discAt - 1]}'`,
    };
  }
  const extra = extraFromFolder(name, null);
  if (extra !== null) {
    return { ...out, role: "extras", extraType: extra, because: `'${name}' holds extras` };
  }
  const season = parseSeasonFolder(name, { parentName: parent, numericFolders: !!parent });
  // Seasons do not nest: a folder named by a number alone that holds season folders is a show
  // (`24/Season 01/`), as the file parser reads it.
  const holdsSeasons = /^\d+$/.test(name) &&
    !!contents?.folders.some((f) => parseSeasonFolder(f, { parentName: name }) !== null);
  if (season !== null && !holdsSeasons) {
    const show = parent !== undefined ? parseSeriesFolder(parent) : null;
    return {
      ...out,
      role: "season",
      title: show?.title ?? "",
      year: show?.year ?? null,
      season,
      ids: show?.ids ?? {},
      because: season === 0 ? "a specials folder (season 0)" : `a season folder (season ${season})`,
    };
  }
  const self = parseMediaPath(segments.join("/"), { isDirectory: true });
  if (self.kind === "episode" && self.episode !== null) {
    return {
      ...out,
      role: "episode",
      title: self.title,
      year: self.year,
      season: self.season,
      episode: self.episode,
      ids: self.ids,
      because: "its name has an episode marker: its video files are that episode",
    };
  }
  const series = parseSeriesFolder(name);
  const movie = parseMediaPath(name, { isDirectory: true, hint: "movie" });
  if (contents === undefined) {
    return {
      ...out,
      title: series.title,
      year: series.year,
      ids: series.ids,
      because: "a show or a movie folder; its contents decide (pass an existing folder)",
    };
  }
  const seasonFolders =
    contents.folders.filter((f) => parseSeasonFolder(f, { parentName: name }) !== null).length;
  const videos = contents.files.filter(_isVideo);
  const parsed = parseFolderFiles(segments.join("/"), videos).filter((p) => p.extraType === null);
  const episodes = parsed.filter((p) => p.kind === "episode").length;
  const movies = parsed.length - episodes;
  const counts = { episodes, movies, seasonFolders };
  if (seasonFolders > 0 || (episodes > 0 && movies === 0)) {
    return {
      ...out,
      role: "series",
      title: series.title,
      year: series.year,
      ids: series.ids,
      contents: counts,
      because: seasonFolders > 0 ? "it holds season folders" : "its video files are episodes",
    };
  }
  if (movies > 0 && episodes === 0) {
    return {
      ...out,
      role: "movie",
      title: movie.title,
      year: movie.year,
      ids: movie.ids,
      contents: counts,
      because: "its video files are movies",
    };
  }
  return {
    ...out,
    title: series.title,
    year: series.year,
    ids: series.ids,
    contents: counts,
    because: episodes > 0 ? "it holds both episodes and movies" : "it holds no video files",
  };
}
