/**
 * The light half of the ingest face: what the ingest has recorded, read back
 * and adjusted without running an ingest. Runs and their changes, assets and
 * their readiness, the removal limit's default, and which enrichers a
 * collection runs.
 *
 * Commands that only read or tweak these (`asset list`, `collection show`,
 * `source add` attaching default enrichers) import this module instead of
 * `mod.ts`: it loads no pipeline stage, no zod and no `node:crypto`, so those
 * commands start in a fraction of the time. `mod.ts` re-exports all of it.
 *
 * @example List the assets the newest run changed
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { assetLabel, listAssets, listRuns } from "./records.ts";
 *
 * const db = openMemoryDatabase();
 * const [newest] = listRuns(db, { limit: 1 });
 * if (newest) {
 *   for (const asset of listAssets(db, { changedIn: newest.id }).assets) {
 *     console.log(assetLabel(asset));
 *   }
 * }
 * ```
 *
 * @module
 */

export { DEFAULT_MAX_REMOVAL_PERCENT, formatPercent } from "./removal_guard.ts";
export {
  type AssetChange,
  changeCounts,
  changesOf,
  type IngestRun,
  listRuns,
  type ListRunsOptions,
  type PlannedChange,
  resolveRun,
} from "./history.ts";
export {
  assetLabel,
  type AssetList,
  type AssetQuery,
  type AssetRecord,
  listAssets,
  resolveAsset,
} from "./assets_query.ts";
export {
  countReadiness,
  parseReadiness,
  type Readiness,
  READINESS_STATES,
  type ReadinessCounts,
  readinessJson,
  readinessText,
} from "./readiness.ts";
export {
  attachDefaultEnrichers,
  type AttachedEnricher,
  attachEnricher,
  type AttachOptions,
  detachEnricher,
  listAttachedEnrichers,
} from "./enrich_attach.ts";
