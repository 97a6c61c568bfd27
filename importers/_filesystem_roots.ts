/**
 * Roots of the filesystem importer: reading `--root [NAME=]PATH` values and
 * guessing what a root holds when `--kind auto`.
 *
 * @module
 */

import type { CollectionKind, ImporterConfig } from "../core/contract.ts";
import { parseMediaPath, parseSeasonFolder } from "./_naming.ts";

/** One configured root. */
export interface RootSpec {
  /** Collection name: `NAME` from `NAME=PATH`, else the folder's own name. */
  name: string;
  /** The absolute path as configured (the collection's external id). */
  path: string;
}

/** Splits `NAME=PATH` the way the host does (no `/` in `NAME`). */
function _splitNamed(raw: string): [string | undefined, string] {
  const at = raw.indexOf("=");
  if (at <= 0) return [undefined, raw];
  const name = raw.slice(0, at);
  if (name.includes("/")) return [undefined, raw];
  return [name.trim(), raw.slice(at + 1)];
}

/** The configured roots, in config order, without duplicates. */
export function parseRoots(config: ImporterConfig): RootSpec[] {
  const raw = config.root;
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [String(raw)];
  const seen = new Set<string>();
  const out: RootSpec[] = [];
  for (const value of values) {
    const [name, rawPath] = _splitNamed(value);
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, "") : rawPath;
    if (seen.has(path)) continue;
    seen.add(path);
    const base = path.split("/").filter((s) => s !== "").at(-1) ?? path;
    out.push({ name: name || base, path });
  }
  return out;
}

/**
 * Whether a folder has no entry at all, hidden ones included (what an
 * unmounted mount point looks like). Throws what `Deno.readDirSync` throws.
 */
export function isEmptyFolder(path: string): boolean {
  for (const _entry of Deno.readDirSync(path)) return false;
  return true;
}

/**
 * Guesses a root's kind from a sample of its top two levels: season folders
 * or episode-named files vote `shows`, other video files vote `movies`.
 * Both → `mixed`; nothing to go on → `mixed`.
 */
export function detectRootKind(
  rootReal: string,
  options: { extensions: ReadonlySet<string>; sample?: number },
): CollectionKind {
  const sample = options.sample ?? 40;
  const isVideo = (name: string) =>
    options.extensions.has(name.slice(name.lastIndexOf(".") + 1).toLowerCase());
  let shows = 0;
  let movies = 0;
  const vote = (rel: string) => {
    const p = parseMediaPath(rel);
    if (p.extraType !== null || p.kind === "unknown") return;
    if (p.kind === "episode") shows++;
    else movies++;
  };
  const list = (path: string) => {
    try {
      return [...Deno.readDirSync(path)]
        .filter((e) => !e.name.startsWith("."))
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .slice(0, sample);
    } catch {
      return [];
    }
  };
  for (const entry of list(rootReal)) {
    if (entry.isFile) {
      if (isVideo(entry.name)) vote(entry.name);
      continue;
    }
    if (!entry.isDirectory) continue;
    for (const child of list(`${rootReal}/${entry.name}`)) {
      if (child.isDirectory && parseSeasonFolder(child.name, { parentName: entry.name }) !== null) {
        shows++;
      } else if (child.isFile && isVideo(child.name)) {
        vote(`${entry.name}/${child.name}`);
      }
    }
  }
  if (shows > 0 && movies === 0) return "shows";
  if (movies > 0 && shows === 0) return "movies";
  return "mixed";
}
