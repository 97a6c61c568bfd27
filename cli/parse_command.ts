/**
 * `retrovue parse <path>… [--kind auto|movies|shows] [--json]`: prints what
 * the name parser infers for each path, so operators can see why a file was
 * misread. A folder (a path ending in `/`, or an existing directory) is
 * described instead: series, season, movie, episode, disc or extras, and
 * why. Reads only the folders it is given (names, no contents); opens no
 * database.
 *
 * @module
 */

import { resolve } from "node:path";
import { type Command, parseCommandArgs } from "./command.ts";
import { formatFields, writeJson } from "./output.ts";
import { RetrovueError } from "../core/errors.ts";
import { type ParsedMedia, parseMediaPath } from "../importers/shared/naming/mod.ts";
import {
  describeFolder,
  type FolderContents,
  type FolderDescription,
} from "../importers/shared/naming/mod.ts";

const _HELP = `Usage: retrovue parse <path>... [--kind auto|movies|shows] [--json]

Shows what the file-name parser infers from each path: kind, title, year,
season, episode (range), air date, episode title, provider ids, part number,
disc, and whether it is a sample or an extra. Paths need not exist.

A folder (a path ending in '/', or an existing directory) is described
instead: what it is in a library (series, season, movie, episode, disc,
extras) and why. An existing folder's entries (names only) are read too:
season subfolders or episode files make a show, movie files a movie.

Options:
  --kind KIND   Library kind to assume: auto (default), movies or shows
  --json        One JSON document: {"status":"ok","results":[{"path","parsed"}]}
                (a folder's result has "folder" instead of "parsed")
`;

const _HINTS: Record<string, "auto" | "movie" | "episode"> = {
  auto: "auto",
  movies: "movie",
  shows: "episode",
};

function _fields(p: ParsedMedia): Array<[string, string]> {
  const rows: Array<[string, string]> = [["kind", p.kind]];
  rows.push([p.kind === "episode" ? "series" : "title", p.title || "(none)"]);
  const add = (label: string, value: unknown) => {
    if (value !== null && value !== undefined && value !== "") rows.push([label, String(value)]);
  };
  add("year", p.year);
  add("season", p.season);
  add("episode", p.episodeEnd !== null ? `${p.episode}-${p.episodeEnd}` : p.episode);
  add("air date", p.airDate);
  add("episode title", p.episodeTitle);
  add("part", p.part);
  add("disc", p.disc);
  const ids = Object.entries(p.ids).map(([k, v]) => `${k}:${v}`).join(" ");
  const seriesIds = Object.entries(p.seriesIds).map(([k, v]) => `${k}:${v}`).join(" ");
  add("ids", ids);
  add("series ids", seriesIds);
  if (p.extraType !== null) {
    rows.push(["skipped as", p.sample ? "sample" : `extra (${p.extraType})`]);
  }
  if (p.hintOverridden) rows.push(["note", "named like an episode: --kind movies overridden"]);
  return rows;
}

function _folderFields(f: FolderDescription): Array<[string, string]> {
  const rows: Array<[string, string]> = [["folder", f.role], ["because", f.because]];
  const add = (label: string, value: unknown) => {
    if (value !== null && value !== undefined && value !== "") rows.push([label, String(value)]);
  };
  add(f.role === "season" ? "series" : "title", f.title);
  add("year", f.year);
  add("season", f.season);
  add("episode", f.episode);
  add("ids", Object.entries(f.ids).map(([k, v]) => `${k}:${v}`).join(" "));
  add("extras", f.extraType);
  if (f.contents) {
    const c = f.contents;
    add(
      "contents",
      `${c.episodes} episode(s), ${c.movies} movie(s), ${c.seasonFolders} season folder(s)`,
    );
  }
  return rows;
}

/** The folder's entries when `path` is an existing directory; null when it is not one. */
function _listFolder(path: string): FolderContents | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch {
    return null;
  }
  if (!info.isDirectory) return null;
  const files: string[] = [];
  const folders: string[] = [];
  try {
    for (const entry of Deno.readDirSync(path)) {
      if (entry.name.startsWith(".")) continue;
      if (entry.isDirectory) folders.push(entry.name);
      else if (entry.isFile) files.push(entry.name);
    }
  } catch (e) {
    throw new RetrovueError("USAGE", `cannot read folder ${path}: ${(e as Error).message}`);
  }
  return { files: files.sort(), folders: folders.sort() };
}

type _Result = { path: string; parsed: ParsedMedia } | { path: string; folder: FolderDescription };

function _parseOne(
  path: string,
  options: { hint: "auto" | "movie" | "episode"; cwd: string },
): _Result {
  // A relative path is looked up from the operator's folder; its names are read as written.
  const contents = _listFolder(resolve(options.cwd, path));
  if (contents !== null || /[\\/]$/.test(path)) {
    return { path, folder: describeFolder(path, contents ?? undefined) };
  }
  return { path, parsed: parseMediaPath(path, { hint: options.hint }) };
}

/** The `parse` command. */
export const commands: Command[] = [{
  path: ["parse"],
  summary: "Show what the name parser infers from file paths",
  help: _HELP,
  run(ctx) {
    const { values, positionals } = parseCommandArgs(
      ctx,
      { kind: { type: "string" } },
      { minPositionals: 1, maxPositionals: Infinity, positionalName: "<path>" },
    );
    const kind = values.kind ?? "auto";
    const hint = _HINTS[kind];
    if (!hint) {
      return Promise.reject(
        new RetrovueError("USAGE", `--kind must be auto, movies or shows; got '${kind}'`),
      );
    }
    let results: _Result[];
    try {
      results = positionals.map((path) => _parseOne(path, { hint, cwd: ctx.cwd }));
    } catch (e) {
      return Promise.reject(e);
    }
    if (ctx.json) {
      writeJson(ctx, { status: "ok", results });
    } else {
      ctx.stdout.write(
        results.map((r) =>
          `${r.path}\n${formatFields("folder" in r ? _folderFields(r.folder) : _fields(r.parsed))}`
        ).join("\n"),
      );
    }
    return Promise.resolve(0);
  },
}];
