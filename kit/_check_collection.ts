/**
 * The checklist items run once per checked collection: assets, filters,
 * determinism and the dry-run ingest.
 *
 * @module
 */

import type { ImporterConfig } from "../core/contract.ts";
import type { ImporterClient, ImporterTypeInfo, ValidCollectionInfo } from "../registry/mod.ts";
import {
  type CallHelpers,
  checkAssets,
  fetchAll,
  type Fetched,
  firstDifference,
  idOf,
} from "./_check_assets.ts";
import { checkDryRun } from "./_check_dry_run.ts";
import { checkFilter, FILTER_ORDER } from "./_check_filters.ts";
import type { CheckOutcome } from "./_report.ts";

/** The items checked once per collection, in checklist order. */
export const COLLECTION_ITEMS = [
  "fetch_assets",
  "filter_title",
  "filter_season",
  "filter_episode",
  "determinism",
  "dry_run",
] as const;

/** What {@link checkCollection} works with. */
export interface CollectionCheckState extends CallHelpers {
  /** The importer's live client. */
  client: ImporterClient;
  /** The module checked. */
  info: Extract<ImporterTypeInfo, { status: "available" }>;
  /** Its validated config. */
  config: ImporterConfig;
  /** What `listCollections` returned. */
  collections: ValidCollectionInfo[];
}

/** Runs the per-collection items ({@link COLLECTION_ITEMS}) against one collection. */
export async function checkCollection(
  target: ValidCollectionInfo,
  state: CollectionCheckState,
): Promise<Record<(typeof COLLECTION_ITEMS)[number], CheckOutcome>> {
  const { client, callOptions, describe } = state;
  const out = {} as Record<(typeof COLLECTION_ITEMS)[number], CheckOutcome>;
  let full: Fetched | undefined;
  let valid: Record<string, unknown>[] = [];
  try {
    full = await fetchAll(client, { target, filters: {}, callOptions });
    const checked = checkAssets(full.items);
    valid = checked.valid;
    const skipped = full.notices.filter((n) => n.kind === "skipped").length;
    const where = `collection '${target.name}' (${target.kind})`;
    if (checked.problems.length) {
      out.fetch_assets = [
        "fail",
        `${full.items.length} item(s) from ${where}; ${checked.problems.length} problem(s): ${
          checked.problems.slice(0, 3).join("; ")
        }`,
      ];
    } else {
      const text = `${full.items.length} valid asset(s) from ${where}` +
        (skipped ? `; ${skipped} item(s) reported skipped` : "");
      out.fetch_assets = checked.unknown.length
        ? [
          "lint",
          `${text}; but field(s) ${checked.unknown.slice(0, 5).join(", ")} are not part of an ` +
          "asset (ImportedAsset in the contract) and are dropped",
        ]
        : ["pass", text];
    }
  } catch (error) {
    out.fetch_assets = ["fail", describe("fetchAssets", error)];
  }

  const declared = state.info.manifest.capabilities.filters[target.kind] ?? [];
  for (const filter of FILTER_ORDER) {
    const name = `filter_${filter}` as const;
    if (!declared.includes(filter)) {
      out[name] = ["skip", `not pushed down (host filters) for ${target.kind} collections`];
    } else if (!full) {
      out[name] = ["skip", "fetchAssets did not succeed"];
    } else {
      out[name] = await checkFilter(filter, {
        client,
        target,
        declared,
        valid,
        full,
        callOptions,
        describe,
      });
    }
  }

  if (!full) {
    out.determinism = ["skip", "listCollections and fetchAssets must succeed first"];
    out.dry_run = ["skip", "fetchAssets must succeed first"];
    return out;
  }
  try {
    const again = await client.listCollections(callOptions());
    const second = await fetchAll(client, { target, filters: {}, callOptions });
    const at = firstDifference(full.items, second.items);
    if (JSON.stringify(again) !== JSON.stringify(state.collections)) {
      out.determinism = ["fail", "listCollections gave a different answer the second time"];
    } else if (at !== null) {
      out.determinism = [
        "fail",
        `fetchAssets gave different output the second time, first at item ${at + 1}` +
        ` (${idOf(full.items[at] ?? second.items[at])})`,
      ];
    } else {
      out.determinism = [
        "pass",
        `two runs gave identical collections and ${full.items.length} identical asset(s)`,
      ];
    }
  } catch (error) {
    out.determinism = ["fail", describe("a second run", error)];
  }
  try {
    out.dry_run = await checkDryRun({ ...state, target });
  } catch (error) {
    out.dry_run = ["fail", describe("the dry-run ingest", error)];
  }
  return out;
}
