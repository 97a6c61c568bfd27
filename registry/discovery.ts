/**
 * Finds importer modules in a folder.
 *
 * A plugin is a top-level `.ts`, `.js`, `.mts` or `.mjs` file. Files whose
 * name starts with `_` or `.`, tests (`*_test.ts`, `*.test.ts`) and
 * declaration files are helpers, not plugins; so is everything in subfolders.
 *
 * @module
 */

import { join } from "node:path";

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
}

/** Lists the plugin modules in each folder. */
export function findPluginFiles(dirs: readonly string[]): FoundPlugins {
  const files = new Set<string>();
  const unreadable: UnreadableFolder[] = [];
  for (const dir of dirs) {
    let real: string;
    try {
      real = Deno.realPathSync(dir);
      for (const entry of Deno.readDirSync(real)) {
        if ((entry.isFile || entry.isSymlink) && isPluginFileName(entry.name)) {
          files.add(join(real, entry.name));
        }
      }
    } catch (error) {
      unreadable.push({ dir, reason: (error as Error).message.split("\n")[0] });
    }
  }
  return { files: [...files].sort(), unreadable };
}

/** Splits a `RETROVUE_PLUGIN_PATH` value (`:`-separated) into folders, dropping empty parts. */
export function pluginDirsFromEnv(value: string | undefined): string[] {
  return (value ?? "").split(":").map((s) => s.trim()).filter((s) => s.length > 0);
}
