/**
 * The name parser: what a media path's names say (series, season, episode,
 * movie, year, extras, disc), read with the conventions of Plex, Jellyfin and
 * Kodi as `docs/naming.md` sets out.
 *
 * Two parts of RetroVue read names: the filesystem importer (inside its
 * sandbox) and the host's `retrovue parse`. This module is the face both
 * import; the `_`-prefixed modules beside it are its internals. It has no
 * dependencies, so a plugin folder can import it without reaching the host.
 *
 * @example Read one path
 * ```ts
 * import { parseMediaPath } from "./mod.ts";
 *
 * const parsed = parseMediaPath("Shows/Firefly (2002)/Season 1/Firefly - S01E02.mkv");
 * console.log(parsed.kind, parsed.title, parsed.season, parsed.episode); // episode Firefly 1 2
 * ```
 *
 * @module
 */

export {
  cleanTitle,
  type CleanTitleOptions,
  type DiscKind,
  type ExtraType,
  type FolderTitle,
  type MovieName,
  type ParsedKind,
  type ParsedMedia,
  parseMediaPath,
  parseMovieName,
  type ParseOptions,
  parseSeasonFolder,
  parseSeriesFolder,
  seriesTitleFromPath,
} from "./_parse.ts";
export type { SeasonFolderOptions } from "./_folders.ts";
export { partFolder, STACK_PART_WORDS, withoutStackParts } from "./_folders.ts";
export { parseFolderFiles } from "./_siblings.ts";
export {
  describeFolder,
  type FolderContents,
  type FolderDescription,
  type FolderRole,
} from "./_layout.ts";
export {
  EXTRA_FOLDERS,
  extraFromFileName,
  extraFromFolder,
  type ExtraNameOptions,
  humanizeTitle,
  splitExtension,
  trimSeparators,
  VIDEO_EXTENSIONS,
} from "./_tokens.ts";
