/**
 * Which kind of plugin a loaded module is, from the manifest it reported:
 * plugin folders (`RETROVUE_PLUGIN_PATH`) may hold importers and enrichers
 * side by side, and each registry keeps its own kind.
 *
 * Dependency-free: the importer registry loads it without zod.
 *
 * @module
 */

/** The reason the importer registry gives an enricher module, then drops it from its list. */
export const ENRICHER_MODULE = "an enricher, not an importer";

/**
 * `enricher` when the module implements `enrich` and not `fetchAssets`,
 * `importer` otherwise (a module that is neither is judged as an importer,
 * whose validation says what it lacks).
 */
export function moduleKind(raw: unknown): "importer" | "enricher" {
  if (typeof raw !== "object" || raw === null) return "importer";
  const ops = (raw as { operations?: unknown }).operations;
  if (!Array.isArray(ops)) return "importer";
  return ops.includes("enrich") && !ops.includes("fetchAssets") ? "enricher" : "importer";
}
