/**
 * The ingest face: what callers outside `ingest/` use to bring a collection's
 * assets into the catalog and to read back what happened.
 *
 * - Ingest: {@link ingestCollection} (one collection, whole or targeted) and
 *   {@link ingestSource} (every sync-enabled collection of a source), with
 *   {@link checkIngestAllowed}, {@link validateFilters} and {@link scopeOf}
 *   to refuse a bad request before an importer starts.
 * - History: every applied run is recorded ({@link listRuns},
 *   {@link resolveRun}, {@link changeCounts}, {@link changesOf}).
 * - Assets and readiness: {@link listAssets}, {@link resolveAsset},
 *   {@link countReadiness} and their one-line forms.
 * - Enrichment: which enrichers a collection runs ({@link attachEnricher},
 *   {@link listAttachedEnrichers}) and running them ({@link enrichCollection}).
 *
 * The other files of `ingest/` are the pipeline's stages (validate,
 * normalise, classify, re-key, guard, apply); import them only from here.
 * `records.ts` is the light half of this face (history, assets, readiness,
 * attached enrichers) for commands that must start fast; it is re-exported here.
 *
 * @example Ingest one season, then list what changed
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { loadRegistry } from "../registry/mod.ts";
 * import { assetLabel, ingestCollection, listAssets } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const registry = await loadRegistry();
 * try {
 *   const client = await registry.open("plex", {
 *     base_url: "http://127.0.0.1:32400",
 *     token: "plex-token",
 *   });
 *   const result = await ingestCollection(db, {
 *     client,
 *     collection: "c-0123456789",
 *     filters: { title: "Alpha", season: 2 },
 *   });
 *   if (result.runId !== null) {
 *     const { assets } = listAssets(db, { changedIn: result.runId });
 *     for (const asset of assets) console.log(assetLabel(asset));
 *   }
 * } finally {
 *   await registry.close();
 * }
 * ```
 *
 * @module
 */

export {
  type IngestClient,
  ingestCollection,
  type IngestNotices,
  type IngestOptions,
  type IngestProgress,
  type IngestResult,
  ingestSource,
  type SourceCollectionOutcome,
  type SourceIngestOptions,
  type SourceIngestResult,
} from "./pipeline.ts";
export { checkIngestAllowed, type IngestScope, scopeOf, validateFilters } from "./scope.ts";
export type { IngestIssue, IngestStats } from "./diff.ts";
export {
  formatPercent,
  type RemovalGuardReason,
  type RemovalGuardVerdict,
  type RemovedAssetSample,
} from "./removal_guard.ts";
export * from "./records.ts";
export {
  type EnrichCollection,
  enrichCollection,
  type EnrichFailure,
  type EnrichOptions,
  type EnrichReport,
} from "./enrich.ts";
export type { EnrichScope } from "./enrich_select.ts";
export { normalizeText } from "./normalize.ts";
export type { PathMapping } from "../core/path_mapping.ts";
