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
 * ## The checklist shape, and how an enricher checker plugs in
 *
 * A checker is a list of named {@link Check}s, each run against a subject
 * (a live plugin client and what earlier checks found) and giving a
 * {@link CheckOutcome}: `pass`, `fail`, `skip` or `lint`, with a one-line
 * detail. A {@link Checklist} collects the items in order; an item checked
 * over several subjects (one per collection) is folded with
 * {@link worstOutcome}; the report passes when no item failed. The
 * importer's `manifest` and `unique_type_id` items are such a list; its later
 * items add their outcomes to the same checklist as they go, because each
 * needs what the one before found.
 *
 * An enricher checker (not written yet) would be a sibling of `_check.ts`:
 * load the module with `loadEnricherRegistry` (`registry/mod.ts`), open its
 * client with `open`, define its own `Check<EnricherSubject>[]` (manifest,
 * unique type id, enrich a sample file, determinism, sandbox) and run them
 * with `checklist().run`. Its report keeps {@link CheckItem}'s shape, so the
 * CLI can print it with the code that prints `importer check`'s.
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
export {
  CONTRACT_SPECIFIER,
  ENRICHER_CONTRACT_SPECIFIER,
  skeletonModule,
  skeletonTest,
} from "./_skeleton_templates.ts";
export {
  type Check,
  type CheckItem,
  type Checklist,
  checklist,
  type CheckOutcome,
  type CheckReport,
  type CheckStatus,
  worstOutcome,
} from "./_report.ts";
export { type ImporterCheckOptions, runImporterCheck, WRONG_CREDENTIAL } from "./_check.ts";
export { FILTER_ORDER } from "./_check_filters.ts";
export { isBuiltinImporter, loadForCheck } from "./_load.ts";
