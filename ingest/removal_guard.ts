/**
 * The removal guard: a full ingest that would soft-delete a large share of a
 * collection's active assets is held back instead of applied.
 *
 * An unmounted drive, or a server upgrade that answers an empty listing,
 * looks to the diff exactly like a library emptied on purpose, and RetroVue's
 * schedules point at the asset ids such a removal would take away. The size
 * of the removal tells them apart well enough: a full ingest trips the guard
 * when it would remove more than the collection's limit (default
 * {@link DEFAULT_MAX_REMOVAL_PERCENT}%) of its active assets *and* more than
 * {@link REMOVAL_GUARD_MIN_ASSETS} of them, or when the listing held no valid
 * asset at all while the collection has active ones (whatever their number).
 *
 * ```ts
 * import type { DatabaseSync } from "node:sqlite";
 * import type { IngestPlan } from "./diff.ts";
 * import { checkRemovalGuard } from "./removal_guard.ts";
 *
 * declare const db: DatabaseSync, plan: IngestPlan; // the pipeline's, before it applies
 * const verdict = checkRemovalGuard(db, plan, {
 *   collectionId: "c-0123456789",
 *   collectionName: "TV",
 *   maxRemovalPercent: null,
 * });
 * if (verdict?.held) console.log(verdict.message);
 * ```
 *
 * Targeted ingests never remove anything, so they are never guarded.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { liveAssetCount } from "../core/catalog.ts";
import type { IngestPlan } from "./diff.ts";
import { unseenLiveSql } from "./staging.ts";

/** The share of a collection's active assets one full ingest may remove, by default. */
export const DEFAULT_MAX_REMOVAL_PERCENT = 50;

/** A removal of this many assets or fewer never trips the percentage limit. */
export const REMOVAL_GUARD_MIN_ASSETS = 20;

/** How many of the assets that would go a verdict names. */
export const REMOVAL_SAMPLE_SIZE = 10;

/** How many of the importer's warnings a verdict keeps. */
export const MAX_GUARD_WARNINGS = 10;

/**
 * Why the guard tripped: `empty_listing` (no valid asset listed while the
 * collection has active ones) or `threshold` (more than the limit).
 */
export type RemovalGuardReason = "empty_listing" | "threshold";

/** One asset a guarded ingest would remove, as a verdict names it. */
export interface RemovedAssetSample {
  /** The asset's RetroVue id. */
  id: string;
  /** Its external id. */
  externalId: string;
  /** Its title (episode title for episodes). */
  title: string;
  /** The series title of an episode, else null. */
  seriesTitle: string | null;
  /** Season number, or null. */
  season: number | null;
  /** Episode number, or null. */
  episode: number | null;
}

/** What the guard decided about one full ingest that tripped it. */
export interface RemovalGuardVerdict {
  /** Always `REMOVAL_GUARD`, the stable code scripts test for. */
  code: "REMOVAL_GUARD";
  /** True: the ingest was not applied. False: it was let through (`allowRemoval`). */
  held: boolean;
  /** Why the guard tripped. */
  reason: RemovalGuardReason;
  /** How many active assets the ingest removes (or would). */
  wouldRemove: number;
  /** How many active assets the collection had before the ingest. */
  active: number;
  /** The limit that applied, in percent of `active`. */
  maxRemovalPercent: number;
  /** Up to {@link REMOVAL_SAMPLE_SIZE} of the assets that go, by external id. */
  sample: RemovedAssetSample[];
  /** Up to {@link MAX_GUARD_WARNINGS} warnings the importer sent during the run (they often say why). */
  warnings: string[];
  /** One line saying what happened and what to do. */
  message: string;
}

/** The counts {@link removalGuardReason} decides on. */
export interface RemovalCounts {
  /** Active assets the ingest would remove. */
  removals: number;
  /** Active assets of the collection before the ingest. */
  active: number;
  /** Valid assets in the listing. */
  listed: number;
}

/**
 * Whether a full ingest with these counts trips the guard, and why; null when
 * it does not. `maxPercent` is the collection's limit (0–100).
 */
export function removalGuardReason(
  counts: RemovalCounts,
  maxPercent: number,
): RemovalGuardReason | null {
  if (counts.removals === 0) return null;
  if (counts.listed === 0) return "empty_listing";
  if (
    counts.removals > REMOVAL_GUARD_MIN_ASSETS &&
    counts.removals * 100 > maxPercent * counts.active
  ) return "threshold";
  return null;
}

/** Options for {@link checkRemovalGuard}. */
export interface RemovalGuardOptions {
  /** The collection ingested. */
  collectionId: string;
  /** Its name, for the message. */
  collectionName: string;
  /** The collection's own limit, or null for {@link DEFAULT_MAX_REMOVAL_PERCENT}. */
  maxRemovalPercent: number | null;
  /** Let a tripped guard through (`--allow-removal`): the verdict says so, `held` is false. */
  allowRemoval?: boolean;
  /** Warnings the importer sent during the run. */
  warnings?: readonly string[];
}

/**
 * Checks a classified plan against the guard, before it is applied. Returns
 * null when the guard does not trip (always for a targeted plan), else the
 * verdict with a sample of the assets that would go, read from `db`.
 */
export function checkRemovalGuard(
  db: DatabaseSync,
  plan: IngestPlan,
  options: RemovalGuardOptions,
): RemovalGuardVerdict | null {
  if (!plan.full || plan.stats.removed === 0) return null;
  const active = liveAssetCount(db, plan.collectionId);
  const max = options.maxRemovalPercent ?? DEFAULT_MAX_REMOVAL_PERCENT;
  const counts = { removals: plan.stats.removed, active, listed: plan.inScope };
  const reason = removalGuardReason(counts, max);
  if (reason === null) return null;
  const held = !options.allowRemoval;
  return {
    code: "REMOVAL_GUARD",
    held,
    reason,
    wouldRemove: counts.removals,
    active,
    maxRemovalPercent: max,
    sample: _sample(db, plan),
    warnings: (options.warnings ?? []).slice(0, MAX_GUARD_WARNINGS),
    message: _message(options, { counts, reason, max, held, invalid: plan.stats.invalid }),
  };
}

/**
 * A percentage for messages: whole when it is, else one decimal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatPercent } from "./mod.ts";
 *
 * assert.equal(formatPercent(1, 4), "25");
 * assert.equal(formatPercent(1, 3), "33.3");
 * ```
 */
export function formatPercent(part: number, whole: number): string {
  const value = whole === 0 ? 0 : (part * 100) / whole;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** The first assets that would go, in external id order. */
function _sample(db: DatabaseSync, plan: IngestPlan): RemovedAssetSample[] {
  const rows = db.prepare(
    `SELECT a.id, a.external_id, a.title, a.series_title, a.season, a.episode
     FROM main.assets a INDEXED BY assets_external WHERE ${unseenLiveSql(plan.stage, "a")}
     ORDER BY a.external_id LIMIT ${REMOVAL_SAMPLE_SIZE}`,
  ).all(plan.collectionId);
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    id: String(r.id),
    externalId: String(r.external_id),
    title: String(r.title),
    seriesTitle: r.series_title === null ? null : String(r.series_title),
    season: num(r.season),
    episode: num(r.episode),
  }));
}

function _message(
  options: RemovalGuardOptions,
  v: {
    counts: RemovalCounts;
    reason: RemovalGuardReason;
    max: number;
    held: boolean;
    invalid: number;
  },
): string {
  const name = `'${options.collectionName}'`;
  const { removals, active } = v.counts;
  const what = v.reason === "empty_listing"
    ? `the importer listed no ${v.invalid > 0 ? "valid " : ""}assets for collection ${name}, ` +
      `which holds ${active} active asset(s) (an unmounted drive or an upstream fault looks ` +
      "like this)"
    : `the ingest of collection ${name} would remove ${removals} of its ${active} active ` +
      `assets (${formatPercent(removals, active)}%, more than its limit of ${v.max}%)`;
  if (!v.held) return `${what}; applied anyway because removal was allowed (--allow-removal)`;
  return `${what}; nothing was written. If the removal is real, run the ingest again with ` +
    `--allow-removal` +
    (v.reason === "threshold"
      ? `, or raise the limit with 'collection update ${options.collectionId} --max-removal PCT'`
      : "");
}
