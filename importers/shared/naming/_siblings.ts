/**
 * Sibling evidence: the files of one folder read together. A bare number is
 * no episode marker on its own (`Apollo 13`), but next to `S01E03` files, or
 * among other files named by a number only (`01.mkv`, `02.mkv`), it is one.
 *
 * Pure TypeScript, no Deno APIs.
 *
 * @module
 */

import { type ParsedMedia, parseMediaPath, type ParseOptions } from "./_parse.ts";
import { isYear } from "./_tokens.ts";

const _NUMBER_STEM_RE = /^(\d{1,4})\.[A-Za-z0-9-]{1,6}$/;

/** Whether `name` is a number and an extension (`05.mkv`), the number not a year. */
function _numberOnly(name: string): boolean {
  const m = _NUMBER_STEM_RE.exec(name);
  return m !== null && !isYear(Number(m[1]));
}

/**
 * Parses the files `names` of the folder `folderPath` (relative to the library
 * root, `""` for the root itself), one result per name in the same order.
 *
 * With the hint `auto`, a folder below the root that holds an episode, or two
 * files named by a number only, makes its other files' bare numbers episode
 * markers (they are read again with `siblingEpisodes`). Loose files directly
 * in the root are never read together: a root mixes unrelated files.
 */
export function parseFolderFiles(
  folderPath: string,
  names: readonly string[],
  options: ParseOptions = {},
): ParsedMedia[] {
  const prefix = folderPath === "" ? "" : `${folderPath}/`;
  const out = names.map((name) => parseMediaPath(prefix + name, options));
  if ((options.hint ?? "auto") !== "auto" || folderPath === "" || names.length < 2) return out;
  let episodes = false;
  let numbered = 0;
  for (let i = 0; i < out.length && !episodes; i++) {
    if (out[i].kind === "episode" && out[i].extraType === null) episodes = true;
    else if (_numberOnly(names[i])) numbered++;
  }
  if (!episodes && numbered < 2) return out;
  const again: ParseOptions = { ...options, siblingEpisodes: true };
  for (let i = 0; i < out.length; i++) {
    if (out[i].kind === "movie" && out[i].extraType === null && out[i].disc === null) {
      out[i] = parseMediaPath(prefix + names[i], again);
    }
  }
  return out;
}
