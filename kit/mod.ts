/**
 * The plugin author's kit: what `importer new` and `importer check` do,
 * without the command line around them.
 *
 * - {@link writeSkeleton} writes a working skeleton importer, its test and a
 *   `deno.json` naming the contract into a plugin folder.
 * - {@link runImporterCheck} runs a loaded module in its sandbox against the
 *   live upstream its config describes and reports the contributor checklist
 *   as a {@link CheckReport}; {@link loadForCheck} loads the module the way the
 *   registry does, with every importer it must not clash with.
 *
 * The CLI (`cli/importer_commands.ts`) parses arguments, calls these and
 * prints. Dependencies point inward: the kit uses `registry/`, `ingest/` and
 * `core/`, never `cli/`.
 *
 * @module
 */

export {
  checkTypeId,
  DEFAULT_PLUGIN_DIR,
  type SkeletonFiles,
  writeSkeleton,
  type WriteSkeletonOptions,
} from "./_skeleton.ts";
export { CONTRACT_SPECIFIER, skeletonModule, skeletonTest } from "./_skeleton_templates.ts";
export type { CheckItem, CheckReport, CheckStatus } from "./_report.ts";
export { type ImporterCheckOptions, runImporterCheck, WRONG_CREDENTIAL } from "./_check.ts";
export { FILTER_ORDER } from "./_check_filters.ts";
export { isBuiltinImporter, loadForCheck } from "./_load.ts";
