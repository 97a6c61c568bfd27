/**
 * Loading modules for the kit: the module to check with every importer it
 * must not clash with, and telling built-in importers apart.
 *
 * @module
 */

import { join, resolve } from "node:path";
import {
  BUILTIN_IMPORTERS_DIR,
  findPluginFiles,
  type ImporterTypeInfo,
  type Isolation,
  loadManifests,
  pluginDirsFromEnv,
} from "../registry/mod.ts";

/**
 * Loads the module to check plus every other importer it must not clash with.
 * Relative `RETROVUE_PLUGIN_PATH` folders are resolved against `options.cwd`
 * (the operator's folder), as the CLI resolves them everywhere.
 */
export async function loadForCheck(
  file: string,
  options: {
    env: Readonly<Record<string, string | undefined>>;
    isolation: Isolation;
    cwd: string;
  },
): Promise<{ info: ImporterTypeInfo; others: ImporterTypeInfo[] }> {
  const dirs = [
    BUILTIN_IMPORTERS_DIR,
    ...pluginDirsFromEnv(options.env.RETROVUE_PLUGIN_PATH).map((d) => resolve(options.cwd, d)),
  ];
  const others = findPluginFiles(dirs).files.filter((f) => f !== file);
  const [info, ...rest] = await loadManifests([file, ...others], {
    timeoutMs: 15_000,
    isolation: options.isolation.level,
  });
  return { info, others: rest };
}

/**
 * Whether `file` (a real path) is one of the built-in importers: a module
 * inside the built-in folder, at its top or in a folder plugin there (the
 * registry's own rule).
 */
export function isBuiltinImporter(file: string): boolean {
  try {
    return file.startsWith(join(Deno.realPathSync(BUILTIN_IMPORTERS_DIR), "/"));
  } catch {
    return false;
  }
}
