/**
 * Finds importer modules in a folder.
 *
 * A plugin is a top-level `.ts`, `.js`, `.mts` or `.mjs` file, or a
 * top-level folder with a `mod.ts` (`mod.js`, `mod.mts`, `mod.mjs`): the
 * module is then that `mod` file and the folder holds its helpers. Names
 * that start with `_` or `.`, tests (`*_test.ts`, `*.test.ts`) and
 * declaration files are helpers, not plugins; so is everything else in
 * subfolders.
 *
 * A plugin folder must be self-contained: a symbolic link anywhere in it that
 * leads outside it (`_cfg.json -> /etc/…`) would let the plugin's static
 * imports read that file while manifests load, with no permission check. Such
 * a folder's plugins are reported broken, naming the links.
 *
 * @module
 */

import { basename, dirname, join, relative, resolve, sep as SEPARATOR } from "node:path";
import { fileURLToPath } from "node:url";

const PLUGIN_FILE = /\.(ts|js|mts|mjs)$/;
const NOT_PLUGIN = /(^[_.])|([_.]test\.(ts|js|mts|mjs)$)|(\.d\.(ts|mts)$)/;
const FOLDER_MODULES = ["mod.ts", "mod.js", "mod.mts", "mod.mjs"] as const;

/**
 * The folders of the built-in plugins, next to this code (also inside a
 * compiled binary): importers, then enrichers. Their plugins may import the
 * code their folder shares (`importers/shared/`), so the plugin host of a
 * built-in reads the whole folder; see {@link pluginReadRoot}.
 */
export const BUILTIN_PLUGIN_DIRS: readonly string[] = [
  fileURLToPath(new URL("../importers/", import.meta.url)),
  fileURLToPath(new URL("../enrichers/", import.meta.url)),
];

/**
 * Whether a file name in a plugin folder names a plugin module.
 *
 * @example
 * ```ts
 * import { isPluginFileName } from "./mod.ts";
 *
 * console.log(isPluginFileName("my_source.ts")); // true
 * console.log(isPluginFileName("_helpers.ts")); // false: a helper
 * ```
 */
export function isPluginFileName(name: string): boolean {
  return PLUGIN_FILE.test(name) && !NOT_PLUGIN.test(name);
}

/**
 * Whether a path names a plugin module: a plugin file name, or the `mod`
 * file of a folder plugin (`importer check my_importer/mod.ts`).
 *
 * @example
 * ```ts
 * import { isPluginModulePath } from "./mod.ts";
 *
 * console.log(isPluginModulePath("/srv/plugins/my_source/mod.ts")); // true: a folder plugin
 * ```
 */
export function isPluginModulePath(path: string): boolean {
  const name = basename(path);
  return isPluginFileName(name) || (FOLDER_MODULES as readonly string[]).includes(name);
}

/**
 * The folder a plugin's host may read to load it. A top-level plugin file
 * reads its folder, as it always did; a folder plugin reads only its own
 * folder, so it must be self-contained. Built-in plugins read the whole
 * built-in folder, whose `shared/` code they import.
 *
 * @example
 * ```ts
 * import { pluginReadRoot } from "./mod.ts";
 *
 * console.log(pluginReadRoot("/srv/plugins/my_source/mod.ts")); // "/srv/plugins/my_source"
 * console.log(pluginReadRoot("/srv/plugins/flat.ts")); // "/srv/plugins"
 * ```
 */
export function pluginReadRoot(file: string): string {
  for (const dir of BUILTIN_PLUGIN_DIRS) {
    for (const root of _spellings(dir)) {
      if (file.startsWith(root + SEPARATOR)) return root;
    }
  }
  return dirname(file);
}

function _spellings(dir: string): string[] {
  const plain = dir.endsWith(SEPARATOR) ? dir.slice(0, -1) : dir;
  try {
    const real = Deno.realPathSync(plain);
    return real === plain ? [plain] : [plain, real];
  } catch {
    return [plain];
  }
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
   * Each plugin module's stamp, for the manifest cache: changes when the
   * module file changes (size or modification time) or any helper it may
   * import does (any other entry of its folder, at any depth, that is not a
   * plugin module), but not when another plugin beside it changes.
   */
  stamps: Map<string, string>;
}

/** How many entries of one plugin folder are checked for links at most. */
export const MAX_FOLDER_ENTRIES = 20_000;

/**
 * Lists the plugin modules in each folder.
 *
 * @example
 * ```ts
 * import { findPluginFiles, pluginDirsFromEnv } from "./mod.ts";
 *
 * const found = findPluginFiles(pluginDirsFromEnv(Deno.env.get("RETROVUE_PLUGIN_PATH")));
 * for (const file of found.files) console.log(file, found.refused.get(file) ?? "ok");
 * for (const { dir, reason } of found.unreadable) console.log(`${dir}: ${reason}`);
 * ```
 */
export function findPluginFiles(dirs: readonly string[]): FoundPlugins {
  const files = new Set<string>();
  const unreadable: UnreadableFolder[] = [];
  const refused = new Map<string, string>();
  const stamps = new Map<string, string>();
  for (const dir of dirs) {
    let real: string;
    const here: string[] = [];
    try {
      real = Deno.realPathSync(dir);
      for (const entry of Deno.readDirSync(real)) {
        if ((entry.isFile || entry.isSymlink) && isPluginFileName(entry.name)) {
          here.push(join(real, entry.name));
        } else if (entry.isDirectory && !NOT_PLUGIN.test(entry.name)) {
          const module = _folderModule(join(real, entry.name));
          if (module !== undefined) here.push(module);
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
      stamps.set(file, `${_stamp(file, Deno.statSync)}|${folder.helpers}`);
      if (folder.leaving) refused.set(file, folder.leaving);
    }
  }
  return { files: [...files].sort(), unreadable, refused, stamps };
}

/** The `mod` file of a folder plugin, or undefined when the folder has none. */
function _folderModule(folder: string): string | undefined {
  for (const name of FOLDER_MODULES) {
    try {
      if (Deno.statSync(join(folder, name)).isFile) return join(folder, name);
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

/** What {@link inspectFolder} learnt about a plugin folder. */
export interface FolderInspection {
  /**
   * Why its plugins may not be loaded: up to three symbolic links in it (at
   * any depth) that lead outside it, or that it has more than
   * {@link MAX_FOLDER_ENTRIES} entries. Undefined when it is self-contained.
   */
  leaving?: string;
  /**
   * A hash of the path, type, size and modification time of every entry
   * but the plugin modules (the helpers they may import).
   */
  helpers: string;
}

/**
 * Walks a plugin folder once: finds links that lead outside it, and
 * fingerprints its helpers.
 */
export function inspectFolder(folder: string): FolderInspection {
  const out: string[] = [];
  const stamps: string[] = [];
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
          helpers: "",
        };
      }
      const path = join(dir, entry.name);
      const plugin = !entry.isDirectory && (
        (dir === folder && isPluginFileName(entry.name)) ||
        (dirname(dir) === folder && (FOLDER_MODULES as readonly string[]).includes(entry.name))
      );
      if (!plugin) stamps.push(`${relative(folder, path)}\0${_stamp(path, Deno.lstatSync)}\n`);
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
  const helpers = _fnv(stamps.join(""));
  if (out.length === 0) return { helpers };
  out.sort();
  const shown = out.slice(0, 3).join(", ") + (out.length > 3 ? ` and ${out.length - 3} more` : "");
  return { leaving: `links outside its folder: ${shown}`, helpers };
}

/**
 * FNV-1a in two 32-bit lanes: a 64-bit fingerprint for cache keys, not a
 * security measure (a collision only serves a stale manifest), and cheap to
 * load where `node:crypto` costs tens of milliseconds of start-up.
 */
function _fnv(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

function _stamp(path: string, stat: (path: string) => Deno.FileInfo): string {
  try {
    const info = stat(path);
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

/**
 * Splits a `RETROVUE_PLUGIN_PATH` value (`:`-separated) into folders, dropping empty parts.
 *
 * @example
 * ```ts
 * import { pluginDirsFromEnv } from "./mod.ts";
 *
 * console.log(pluginDirsFromEnv("/srv/plugins::~/more")); // ["/srv/plugins", "~/more"]
 * ```
 */
export function pluginDirsFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(":").map((s) => s.trim()).filter((s) => s.length > 0);
}
