/**
 * `retrovue parse <path>… [--kind auto|movies|shows] [--json]`: prints what
 * the name parser infers for each path, so operators can see why a file was
 * misread. Pure: reads no files and opens no database.
 *
 * @module
 */

import { type Command, parseCommandArgs } from "./command.ts";
import { formatFields, writeJson } from "./output.ts";
import { RetrovueError } from "../core/errors.ts";
import { type ParsedMedia, parseMediaPath } from "../importers/_naming.ts";

const _HELP = `Usage: retrovue parse <path>... [--kind auto|movies|shows] [--json]

Shows what the file-name parser infers from each path: kind, title, year,
season, episode (range), air date, episode title, provider ids, part number,
and whether it is a sample or an extra. Paths need not exist.

Options:
  --kind KIND   Library kind to assume: auto (default), movies or shows
  --json        One JSON document: {"status":"ok","results":[{"path","parsed"}]}
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
  const ids = Object.entries(p.ids).map(([k, v]) => `${k}:${v}`).join(" ");
  const seriesIds = Object.entries(p.seriesIds).map(([k, v]) => `${k}:${v}`).join(" ");
  add("ids", ids);
  add("series ids", seriesIds);
  if (p.extraType !== null) {
    rows.push(["skipped as", p.sample ? "sample" : `extra (${p.extraType})`]);
  }
  return rows;
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
    const results = positionals.map((path) => ({ path, parsed: parseMediaPath(path, { hint }) }));
    if (ctx.json) {
      writeJson(ctx, { status: "ok", results });
    } else {
      ctx.stdout.write(
        results.map((r) => `${r.path}\n${formatFields(_fields(r.parsed))}`).join("\n"),
      );
    }
    return Promise.resolve(0);
  },
}];
