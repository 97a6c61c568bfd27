/**
 * Finds importer modules in a folder.
 *
 * A plugin is a top-level `.ts`, `.js`, `.mts` or `.mjs` file. Files whose
 * name starts with `_` or `.`, tests (`*_test.ts`, `*.test.ts`) and
 * declaration files are helpers, not plugins; so is everything in subfolders.
 *
 * A plugin folder must be self-contained: a symbolic link anywhere in it that
 * leads outside it (`_cfg.json -> /etc/…`) would let the plugin's static
 * imports read that file while manifests load, with no permission check. Such
 * a folder's plugins are reported broken, naming the links.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";

const PLUGIN_FILE = /\.(ts|js|mts|mjs)$/;
const NOT_PLUGIN = /(^[_.])|([_.]test\.(ts|js|mts|mjs)$)|(\.d\.(ts|mts)$)/;

/** Whether a file name in a plugin folder names a plugin module. */
export function isPluginFileName(name: string): boolean {
  return PLUGIN_FILE.test(name) && !NOT_PLUGIN.test(name);
}

/** A folder that could not be read, with the reason. */
export interface UnreadableFolder {
  /** The folder as given. */
  dir: string;
  /** Why it could not be read. */
  reason: string;
}

/** What {@link findPluginFiles} found. */
export interface FoundPlugins {
  /** Absolute paths of plugin modules, sorted, without duplicates. */
  files: string[];
  /** Folders that could not be read. */
  unreadable: UnreadableFolder[];
  /**
   * Plugin modules that must not be loaded, with why (their folder holds a
   * link leading outside it, or is too large to check).
   */
  refused: Map<string, string>;
  /**
   * Each plugin module's folder fingerprint: changes when any file in the
   * folder changes (path, size or modification time), for the manifest cache.
   */
  fingerprints: Map<string, string>;
}

/** How many entries of one plugin folder are checked for links at most. */
export const MAX_FOLDER_ENTRIES = 20_000;

/** Lists the plugin modules in each folder. */
export function findPluginFiles(dirs: readonly string[]): FoundPlugins {
  const files = new Set<string>();
  const unreadable: UnreadableFolder[] = [];
  const refused = new Map<string, string>();
  const fingerprints = new Map<string, string>();
  for (const dir of dirs) {
    let real: string;
    const here: string[] = [];
    try {
      real = Deno.realPathSync(dir);
      for (const entry of Deno.readDirSync(real)) {
        if ((entry.isFile || entry.isSymlink) && isPluginFileName(entry.name)) {
          here.push(join(real, entry.name));
        }
      }
    } catch (error) {
      unreadable.push({ dir, reason: (error as Error).message.split("\n")[0] });
      continue;
    }
    if (here.length === 0) continue;
    const folder = inspectFolder(real);
    for (const file of here) {
      files.add(file);
      fingerprints.set(file, folder.fingerprint);
      if (folder.leaving) refused.set(file, folder.leaving);
    }
  }
  return { files: [...files].sort(), unreadable, refused, fingerprints };
}

/** What {@link inspectFolder} learnt about a plugin folder. */
export interface FolderInspection {
  /**
   * Why its plugins may not be loaded: up to three symbolic links in it (at
   * any depth) that lead outside it, or that it has more than
   * {@link MAX_FOLDER_ENTRIES} entries. Undefined when it is self-contained.
   */
  leaving?: string;
  /** A hash of every entry's path, type, size and modification time. */
  fingerprint: string;
}

/**
 * Walks a plugin folder once: finds links that lead outside it, and
 * fingerprints its content.
 */
export function inspectFolder(folder: string): FolderInspection {
  const out: string[] = [];
  const hash = createHash("sha256");
  let seen = 0;
  const stack = [folder];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
    } catch {
      continue; // An unreadable subfolder cannot be imported from either.
    }
    for (const entry of entries) {
      if (++seen > MAX_FOLDER_ENTRIES) {
        return {
          leaving: `its folder has more than ${MAX_FOLDER_ENTRIES} entries to check for links`,
          fingerprint: "",
        };
      }
      const path = join(dir, entry.name);
      hash.update(`${relative(folder, path)}\0${_stamp(path)}\n`);
      if (entry.isDirectory) stack.push(path);
      else if (entry.isSymlink && !_staysInside(path, folder)) {
        let target = "?";
        try {
          target = Deno.readLinkSync(path);
        } catch {
          // Unreadable link: still outside as far as we can tell.
        }
        out.push(`${relative(folder, path)} -> ${target}`);
      }
    }
  }
  const fingerprint = hash.digest("hex").slice(0, 32);
  if (out.length === 0) return { fingerprint };
  out.sort();
  const shown = out.slice(0, 3).join(", ") + (out.length > 3 ? ` and ${out.length - 3} more` : "");
  return { leaving: `links outside its folder: ${shown}`, fingerprint };
}

function _stamp(path: string): string {
  try {
    const info = Deno.lstatSync(path);
    return `${info.isFile ? "f" : info.isDirectory ? "d" : "l"} ${info.size} ${
      info.mtime?.getTime() ?? 0
    }`;
  } catch {
    return "?";
  }
}

function _staysInside(link: string, folder: string): boolean {
  let target: string;
  try {
    target = Deno.realPathSync(link);
  } catch {
    try {
      target = resolve(dirname(link), Deno.readLinkSync(link)); // dangling: where it points
    } catch {
      return false;
    }
  }
  const rel = relative(folder, target);
  return rel === "" || (rel !== ".." && !rel.startsWith("../") && !rel.startsWith("/"));
}

/** Splits a `RETROVUE_PLUGIN_PATH` value (`:`-separated) into folders, dropping empty parts. */
export function pluginDirsFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(":").map((s) => s.trim()).filter((s) => s.length > 0);
}
