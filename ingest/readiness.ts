/**
 * Readiness: whether an asset can be scheduled, and if not, what it lacks.
 *
 * A channel can only air an asset with a duration and a file to play. The
 * state is computed in SQL from the stored columns ({@link readinessSql}),
 * never stored, so it cannot drift from the facts it is made of and a
 * filter or a count per state is one query:
 *
 * 1. `missing_file`: no path at all, or the last enrichment of the current
 *    file found it missing (`enrichment_error` starts with `missing_file:`).
 * 2. `ready`: a duration > 0, the importer's or else the probed one.
 * 3. `enrichment_failed`: the last enrichment of the current file failed;
 *    `enrichment_error` says why.
 * 4. `needs_enrichment`: otherwise (no duration yet, nothing tried for this file).
 *
 * A path is a playable location: a server asset's part is streamed by its
 * server, and a local file is checked where it is read, by enrichment.
 * Stat-ing every file on every query would make `asset list` as slow as the
 * disk; instead an enricher that finds a part missing records
 * {@link MISSING_FILE_PREFIX} and the reason in `enrichment_error`.
 *
 * An enrichment result is "of the current file" when `enriched_file_fingerprint`
 * equals the asset's `file_fingerprint` (or is null: a failure recorded
 * without one). When the file changes, an old failure no longer counts and
 * the asset needs enrichment again.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { RetrovueError } from "../core/errors.ts";

/** Every readiness state, in the order `collection show` counts them. */
export const READINESS_STATES = [
  "ready",
  "needs_enrichment",
  "enrichment_failed",
  "missing_file",
] as const;

/** One readiness state (see the module doc). */
export type Readiness = typeof READINESS_STATES[number];

/**
 * How an enricher's runner records a part that does not exist:
 * `enrichment_error = 'missing_file: <local path>'`. Stable: readiness
 * matches on it.
 */
export const MISSING_FILE_PREFIX = "missing_file:";

/**
 * The SQL expression of an asset row's readiness (a {@link Readiness}),
 * for the `assets` row named `alias`.
 */
export function readinessSql(alias: string): string {
  const a = alias;
  const current = `(${a}.enrichment_error IS NOT NULL AND (${a}.enriched_file_fingerprint IS NULL
    OR ${a}.enriched_file_fingerprint = ${a}.file_fingerprint))`;
  return `(CASE
    WHEN ${a}.path IS NULL THEN 'missing_file'
    WHEN ${current} AND ${a}.enrichment_error LIKE '${MISSING_FILE_PREFIX}%' THEN 'missing_file'
    WHEN coalesce(nullif(${a}.duration_ms, 0), ${a}.probed_duration_ms) > 0 THEN 'ready'
    WHEN ${current} THEN 'enrichment_failed'
    ELSE 'needs_enrichment' END)`;
}

/**
 * Why an asset in `state` is not ready, from its stored `enrichment_error`:
 * the failure (or the missing file) for those states, null otherwise.
 */
export function readinessReason(
  state: Readiness,
  row: { path: string | null; enrichmentError: string | null },
): string | null {
  if (state === "missing_file") {
    if (row.path === null) return "the importer reported no file";
    const error = row.enrichmentError ?? "";
    const rest = error.startsWith(MISSING_FILE_PREFIX)
      ? error.slice(MISSING_FILE_PREFIX.length).trim()
      : error;
    return rest === "" ? "file not found" : `file not found: ${rest}`;
  }
  if (state === "enrichment_failed") return row.enrichmentError;
  return null;
}

/** Whether `value` is a readiness state. */
export function isReadiness(value: string): value is Readiness {
  return (READINESS_STATES as readonly string[]).includes(value);
}

/**
 * Checks a `--state` value; an unknown one is a `USAGE` error listing the
 * valid states.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseReadiness } from "./mod.ts";
 *
 * assert.equal(parseReadiness(" ready "), "ready");
 * assert.throws(() => parseReadiness("done"), { code: "USAGE" });
 * ```
 */
export function parseReadiness(value: string): Readiness {
  const state = value.trim();
  if (isReadiness(state)) return state;
  throw new RetrovueError(
    "USAGE",
    `unknown state '${state}'; use one of: ${READINESS_STATES.join(", ")}`,
  );
}

/** How many live (not soft-deleted) assets of a collection are in each state. */
export type ReadinessCounts = Record<Readiness, number>;

/**
 * Counts a collection's live assets per readiness state in one grouped
 * query (every state present, 0 when none).
 *
 * @example
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { countReadiness, readinessText } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const counts = countReadiness(db, "c-0123456789");
 * console.log(`${counts.ready} ready (${readinessText(counts)})`);
 * ```
 */
export function countReadiness(
  db: DatabaseSync,
  collectionId: string,
): ReadinessCounts {
  const counts = Object.fromEntries(READINESS_STATES.map((s) => [s, 0])) as ReadinessCounts;
  const rows = db.prepare(
    `SELECT ${readinessSql("a")} AS state, count(*) AS n FROM assets a
     WHERE a.collection_id = ? AND a.deleted_at IS NULL GROUP BY 1`,
  ).all(collectionId) as { state: string; n: number }[];
  for (const r of rows) if (isReadiness(r.state)) counts[r.state] = Number(r.n);
  return counts;
}

/**
 * The counts for `--json`: camelCase keys (`ready`, `needsEnrichment`,
 * `enrichmentFailed`, `missingFile`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readinessJson } from "./mod.ts";
 *
 * const counts = { ready: 3, needs_enrichment: 2, enrichment_failed: 0, missing_file: 1 };
 * assert.deepEqual(readinessJson(counts), {
 *   ready: 3,
 *   needsEnrichment: 2,
 *   enrichmentFailed: 0,
 *   missingFile: 1,
 * });
 * ```
 */
export function readinessJson(counts: ReadinessCounts): Record<string, number> {
  return Object.fromEntries(
    READINESS_STATES.map((
      s,
    ) => [s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), counts[s]]),
  );
}

/**
 * The counts as one line, `3 ready, 2 needs_enrichment`: states with none left out, `-` when empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { readinessText } from "./mod.ts";
 *
 * const none = { ready: 0, needs_enrichment: 0, enrichment_failed: 0, missing_file: 0 };
 * const counts = { ...none, ready: 3, needs_enrichment: 2 };
 * assert.equal(readinessText(counts), "3 ready, 2 needs_enrichment");
 * assert.equal(readinessText(none), "-");
 * ```
 */
export function readinessText(counts: ReadinessCounts): string {
  return READINESS_STATES.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s}`).join(", ") ||
    "-";
}
