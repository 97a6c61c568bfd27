/**
 * Roots of the filesystem importer: reading `--root [NAME=]PATH` values and
 * telling what a root holds when `--kind auto`.
 *
 * @module
 */

import type { CollectionKind, ImporterConfig } from "../../core/contract.ts";
import { parseFolderFiles } from "../shared/naming/mod.ts";
import { scanFolder, subfolderChain } from "./_scan.ts";

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

/** What {@link detectRootKind} needs. */
export interface DetectKindOptions {
  /** Lower-case extensions, without dots, that count as video files. */
  extensions: ReadonlySet<string>;
  /** Also read hidden files and folders. Default false. */
  includeHidden?: boolean;
}

/**
 * A root's kind, as the walk will read its files with `--kind auto`: `shows`
 * when every video file is an episode, `movies` when every one is a movie,
 * else (both, or none) `mixed`. Reads every folder's names (no stat) with the
 * walk's own rules, and stops at the first file that disagrees.
 */
export function detectRootKind(rootReal: string, options: DetectKindOptions): CollectionKind {
  const scan = {
    rootReal,
    extensions: options.extensions,
    includeHidden: options.includeHidden ?? false,
  };
  const cache = new Map<string, unknown>();
  let shows = false;
  let movies = false;
  const stack = [{ abs: rootReal, rel: "", chain: [rootReal] }];
  while (stack.length) {
    const { abs, rel, chain } = stack.pop()!;
    const folder = scanFolder({ abs, rel, chain }, scan);
    const parsed = folder.files.length
      ? parseFolderFiles(rel, folder.files, { hint: "auto", cache })
      : [];
    for (const p of parsed) {
      if (p.extraType !== null || p.kind === "unknown") continue;
      if (p.kind === "episode") shows = true;
      else movies = true;
      if (shows && movies) return "mixed";
    }
    for (let i = folder.folders.length - 1; i >= 0; i--) {
      const name = folder.folders[i];
      const sub = abs.endsWith("/") ? `${abs}${name}` : `${abs}/${name}`;
      stack.push({
        abs: sub,
        rel: rel === "" ? name : `${rel}/${name}`,
        chain: subfolderChain(folder, i),
      });
    }
  }
  return shows ? "shows" : movies ? "movies" : "mixed";
}
