/**
 * Fetching a collection's assets for the checklist and checking them against
 * the asset schema.
 *
 * @module
 */

import type { AssetFilters } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import { describeZodError, importedAssetSchema, technicalMetadataSchema } from "../core/schemas.ts";
import type {
  CallOptions,
  ImporterClient,
  PluginNotice,
  ValidCollectionInfo,
} from "../registry/mod.ts";

export interface _Fetched {
  items: unknown[];
  notices: PluginNotice[];
}

export async function _fetchAll(
  client: ImporterClient,
  target: ValidCollectionInfo,
  filters: AssetFilters,
  callOptions: (into?: PluginNotice[]) => CallOptions,
): Promise<_Fetched> {
  const items: unknown[] = [];
  const notices: PluginNotice[] = [];
  const collection = { externalId: target.externalId, kind: target.kind, name: target.name };
  for await (const batch of client.fetchAssets({ collection, filters }, callOptions(notices))) {
    if (!Array.isArray(batch)) {
      throw new RetrovueError("MALFORMED_RESPONSE", "a batch is not a list");
    }
    items.push(...batch);
  }
  return { items, notices };
}

export function _idOf(raw: unknown): string {
  const id = (raw as { externalId?: unknown } | null)?.externalId;
  return typeof id === "string" ? `'${id.slice(0, 100)}'` : "an item without externalId";
}

/** The fields an asset (and its `tech`) may carry; any other is dropped on the way in. */
const ASSET_FIELDS = new Set(Object.keys(importedAssetSchema.shape));
const TECH_FIELDS = new Set(Object.keys(technicalMetadataSchema.shape));

/** Fields of `raw` (an asset) that the host does not know, as `name` or `tech.name`. */
function _unknownFields(raw: unknown): string[] {
  if (typeof raw !== "object" || raw === null) return [];
  const out = Object.keys(raw).filter((k) => !ASSET_FIELDS.has(k));
  const tech = (raw as { tech?: unknown }).tech;
  if (typeof tech === "object" && tech !== null) {
    out.push(...Object.keys(tech).filter((k) => !TECH_FIELDS.has(k)).map((k) => `tech.${k}`));
  }
  return out;
}

export function _checkAssets(
  items: unknown[],
): { valid: Record<string, unknown>[]; problems: string[]; unknown: string[] } {
  const valid: Record<string, unknown>[] = [];
  const problems: string[] = [];
  const unknown = new Set<string>();
  const seen = new Set<string>();
  for (const raw of items) {
    for (const field of _unknownFields(raw)) unknown.add(field);
    const parsed = importedAssetSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(`${_idOf(raw)} is invalid: ${describeZodError(parsed.error)}`);
      continue;
    }
    if (seen.has(parsed.data.externalId)) {
      problems.push(`${_idOf(raw)} appears twice`);
      continue;
    }
    seen.add(parsed.data.externalId);
    valid.push(parsed.data as Record<string, unknown>);
  }
  return { valid, problems, unknown: [...unknown].sort() };
}

export function _firstDifference(a: unknown[], b: unknown[]): number | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return i;
  }
  return null;
}
