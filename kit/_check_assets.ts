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

/** The calls' shared options and error wording (`runImporterCheck` makes them). */
export interface CallHelpers {
  /** Options for one call; notices are also collected into `into` when given. */
  callOptions: (into?: PluginNotice[]) => CallOptions;
  /** One line for a failed call (`op failed: CODE: message`), noting sandbox denials. */
  describe: (op: string, error: unknown) => string;
}

/** Everything one `fetchAssets` run yielded. */
export interface Fetched {
  /** The items, unchecked, in the order they came. */
  items: unknown[];
  /** The notices the run sent (warnings, skipped items). */
  notices: PluginNotice[];
}

/** Options for {@link fetchAll}. */
export interface FetchAllOptions {
  /** The collection to fetch. */
  target: ValidCollectionInfo;
  /** The filters to push down (`{}` for all). */
  filters: AssetFilters;
  /** Options for the call. */
  callOptions: CallHelpers["callOptions"];
}

/**
 * Runs `fetchAssets` to the end and keeps every item and notice. Throws
 * `MALFORMED_RESPONSE` when a batch is not a list, and whatever the call throws.
 */
export async function fetchAll(client: ImporterClient, options: FetchAllOptions): Promise<Fetched> {
  const { target, filters, callOptions } = options;
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

/** An item's external id quoted for a detail line, or what it lacks. */
export function idOf(raw: unknown): string {
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

/**
 * Checks fetched items against the asset schema: the valid ones (parsed),
 * a line per invalid or repeated one, and the fields the host would drop.
 */
export function checkAssets(
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
      problems.push(`${idOf(raw)} is invalid: ${describeZodError(parsed.error)}`);
      continue;
    }
    if (seen.has(parsed.data.externalId)) {
      problems.push(`${idOf(raw)} appears twice`);
      continue;
    }
    seen.add(parsed.data.externalId);
    valid.push(parsed.data as Record<string, unknown>);
  }
  return { valid, problems, unknown: [...unknown].sort() };
}

/** The index of the first item that differs between two runs, or null. */
export function firstDifference(a: unknown[], b: unknown[]): number | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (JSON.stringify(a[i]) !== JSON.stringify(b[i])) return i;
  }
  return null;
}
