/**
 * Path mappings: where an upstream's paths live on this machine. The one
 * mapping rule, used by the ingest (to store local paths), the enrichers
 * (to find files and roots) and the CLI's path checks (to tell whether a
 * mapping applies), so all three agree on what a mapping matches.
 *
 * @module
 */

/** One path mapping of a collection: an upstream prefix and where it lives locally. */
export interface PathMapping {
  /** The prefix as the upstream reports paths (e.g. `/data/tv` or `D:\Media`). */
  externalPrefix: string;
  /** The same folder as this machine sees it (e.g. `/mnt/tv`). */
  localPrefix: string;
}

/**
 * Maps an upstream path to a local one with the longest matching prefix;
 * null when no mapping applies. A prefix matches only at a path-segment
 * boundary (`/tv` does not match `/tvshows/x`); Windows-style prefixes
 * (`C:\`, `\\server`) match case-insensitively and their backslashes become
 * the local separator.
 *
 * @example Mapping an upstream path
 * ```ts
 * import { mapPath } from "./path_mapping.ts";
 *
 * const mappings = [{ externalPrefix: "/data/tv", localPrefix: "/mnt/tv" }];
 * mapPath("/data/tv/Show/e1.mkv", mappings); // "/mnt/tv/Show/e1.mkv"
 * mapPath("/other/e1.mkv", mappings); // null
 * ```
 */
export function mapPath(path: string, mappings: readonly PathMapping[]): string | null {
  let best: PathMapping | undefined;
  for (const m of mappings) {
    if (m.externalPrefix === "" || !_prefixMatches(path, m.externalPrefix)) continue;
    if (!best || m.externalPrefix.length > best.externalPrefix.length) best = m;
  }
  if (!best) return null;
  let rest = path.slice(best.externalPrefix.length);
  const localSep = best.localPrefix.includes("\\") && !best.localPrefix.includes("/") ? "\\" : "/";
  if (_isWindowsPath(best.externalPrefix) && localSep === "/") rest = rest.replaceAll("\\", "/");
  rest = rest.replace(/^[\\/]+/, "");
  if (rest === "") return best.localPrefix;
  const local = best.localPrefix.replace(/[\\/]+$/, "");
  return `${local}${localSep}${rest}`;
}

function _prefixMatches(path: string, prefix: string): boolean {
  const win = _isWindowsPath(prefix);
  const head = path.slice(0, prefix.length);
  if (win ? head.toLowerCase() !== prefix.toLowerCase() : head !== prefix) return false;
  if (path.length === prefix.length) return true;
  const last = prefix[prefix.length - 1];
  if (last === "/" || last === "\\") return true;
  const next = path[prefix.length];
  return next === "/" || (win && next === "\\");
}

function _isWindowsPath(path: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(path) || path.startsWith("\\\\");
}
