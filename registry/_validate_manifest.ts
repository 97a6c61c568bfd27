/**
 * Validating the manifest a module reported while loading: kept apart from
 * `mod.ts` so that zod loads only when a module was actually loaded, not when
 * every manifest comes from the cache.
 *
 * @module
 */

import { describeZodError, type Manifest, manifestSchema } from "../core/schemas.ts";
import type { CachedLoad } from "./_manifest_cache.ts";
import { ENRICHER_MODULE, moduleKind } from "./_module_kind.ts";

const OPERATIONS = ["validateConnection", "listCollections", "fetchAssets"];

/**
 * The load result for a raw manifest: the parsed manifest, or why the module
 * is broken (no manifest, an invalid one, or missing operations) with the
 * type id it claimed, if any.
 */
export function validateManifest(raw: unknown): CachedLoad {
  if (raw === null || typeof raw !== "object") {
    return { broken: "the module has no default export describing an importer" };
  }
  const claimed = (raw as { typeId?: unknown }).typeId;
  const typeId = typeof claimed === "string" ? claimed.slice(0, 40) : undefined;
  if (moduleKind(raw) === "enricher") return { broken: ENRICHER_MODULE, typeId };
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    return { broken: `invalid manifest: ${describeZodError(parsed.error)}`, typeId };
  }
  const manifest: Manifest = parsed.data;
  const missing = OPERATIONS.filter((op) => !manifest.operations?.includes(op));
  if (missing.length) return { broken: `does not implement ${missing.join(", ")}`, typeId };
  return { manifest };
}
