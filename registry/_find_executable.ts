/**
 * Finding an executable the way a shell would, by real path: what an
 * enricher's `run` grant names. Dependency-free, so discovery can ask
 * "is ffprobe here?" without loading the enricher registry.
 *
 * @module
 */

import { delimiter, isAbsolute, join } from "node:path";

/** Where executables are looked up when the CLI may not read `PATH`. */
export const DEFAULT_SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin";

/**
 * The real path of the first executable file `name` on `searchPath`, or undefined.
 *
 * @example
 * ```ts
 * import { DEFAULT_SEARCH_PATH, findOnPath } from "./mod.ts";
 *
 * const ffprobe = findOnPath("ffprobe", Deno.env.get("PATH") ?? DEFAULT_SEARCH_PATH);
 * console.log(ffprobe ?? "ffprobe is not installed");
 * ```
 */
export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? "").split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const real = executableAt(join(dir, name));
    if (real) return real;
  }
  return undefined;
}

/**
 * The real path of `path` when it is an executable file, else undefined.
 *
 * @example
 * ```ts
 * import { executableAt } from "./mod.ts";
 *
 * console.log(executableAt("/usr/bin/ffprobe") ?? "not an executable file");
 * ```
 */
export function executableAt(path: string): string | undefined {
  try {
    const real = Deno.realPathSync(path);
    const info = Deno.statSync(real);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0 ? real : undefined;
  } catch {
    return undefined;
  }
}
