/**
 * The sync loop's record of each collection (`sync_state`): when an ingest
 * last started and finished, how it ended, how many failures in a row, and
 * when the next full ingest is due. Written by the loop, read by
 * `sync status`.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { effectiveInterval } from "./schedule.ts";

/** How the last ingest the sync loop ran for a collection ended. */
export type SyncResult = "ok" | "partial" | "error";

/** One collection's line of `sync status`. */
export interface SyncStatusEntry {
  /** The collection's id. */
  collectionId: string;
  /** Its name. */
  collectionName: string;
  /** Its source's id. */
  sourceId: string;
  /** Its source's name. */
  sourceName: string;
  /** Whether it is sync-enabled (only those get scheduled full ingests). */
  syncEnabled: boolean;
  /** The interval it is scheduled at, in seconds; null when not scheduled. */
  everySeconds: number | null;
  /** When the sync loop last started an ingest of it (ISO-8601 UTC), or null. */
  lastStartedAt: string | null;
  /** When that ingest finished, or null (never, or still running). */
  lastFinishedAt: string | null;
  /** How it ended, or null when none finished yet. */
  lastResult: SyncResult | null;
  /** Its error, when it failed (`CODE: message`). */
  lastError: string | null;
  /** The ingest run it recorded (`ingest history`), when it wrote one. */
  lastRunId: number | null;
  /** Failures in a row (0 after a success). */
  failures: number;
  /** When the next full ingest is due (ISO-8601 UTC); null when not scheduled. */
  nextDueAt: string | null;
}

/**
 * Every collection that is scheduled or that the sync loop has run, by
 * source and name. A scheduled collection that never ran shows `nextDueAt`
 * null: it is due as soon as `sync` starts.
 */
export function syncStatus(db: DatabaseSync): SyncStatusEntry[] {
  const rows = db.prepare(
    `SELECT c.id, c.name, c.source_id, s.name AS source_name, c.sync_enabled, c.ingestible,
            c.sync_every_seconds AS own, s.sync_every_seconds AS inherited,
            st.last_started_at, st.last_finished_at, st.last_result, st.last_error,
            st.last_run_id, st.failures, st.next_due_at
     FROM collections c JOIN sources s ON s.id = c.source_id
     LEFT JOIN sync_state st ON st.collection_id = c.id
     ORDER BY s.name COLLATE NOCASE, s.id, c.name COLLATE NOCASE, c.id`,
  ).all() as Record<string, unknown>[];
  const out: SyncStatusEntry[] = [];
  for (const r of rows) {
    const interval = effectiveInterval(_num(r.own), _num(r.inherited));
    const scheduled = interval !== null && Number(r.sync_enabled) === 1 &&
      Number(r.ingestible) === 1;
    if (!scheduled && r.last_started_at === null) continue;
    out.push({
      collectionId: String(r.id),
      collectionName: String(r.name),
      sourceId: String(r.source_id),
      sourceName: String(r.source_name),
      syncEnabled: Number(r.sync_enabled) === 1,
      everySeconds: scheduled ? interval : null,
      lastStartedAt: _str(r.last_started_at),
      lastFinishedAt: _str(r.last_finished_at),
      lastResult: _str(r.last_result) as SyncResult | null,
      lastError: _str(r.last_error),
      lastRunId: _num(r.last_run_id),
      failures: Number(r.failures ?? 0),
      nextDueAt: scheduled ? _str(r.next_due_at) : null,
    });
  }
  return out;
}

/** How one ingest ended, for {@link recordFinished}. */
export interface FinishedRun {
  /** The collection. */
  collectionId: string;
  /** When it started. */
  startedAt: Date;
  /** When it finished. */
  at: Date;
  /** How it ended. */
  result: SyncResult;
  /** The error line, for `error`. */
  error?: string | null;
  /** The ingest run it recorded, if any. */
  runId?: number | null;
  /**
   * The next due time to store (null: not scheduled); undefined keeps the
   * stored one (a targeted ingest does not move the schedule).
   */
  nextDueAt?: Date | null;
}

/**
 * Records how an ingest ended, with when it started (written only now, so a
 * cancelled ingest leaves no trace): an error adds one to `failures`, anything
 * else resets it. Returns the failures in a row now. A collection removed
 * meanwhile is skipped (returns 0).
 */
export function recordFinished(db: DatabaseSync, run: FinishedRun): number {
  const { collectionId } = run;
  const exists = db.prepare("SELECT 1 FROM collections WHERE id = ?").get(collectionId);
  if (!exists) return 0;
  const failed = run.result === "error";
  const row = db.prepare(
    `INSERT INTO sync_state (collection_id, last_started_at, last_finished_at, last_result,
       last_error, last_run_id, failures, next_due_at)
     VALUES (:id, :started, :at, :result, :error, :runId, :failures, :due)
     ON CONFLICT (collection_id) DO UPDATE SET
       last_started_at = excluded.last_started_at,
       last_finished_at = excluded.last_finished_at,
       last_result = excluded.last_result,
       last_error = excluded.last_error,
       last_run_id = COALESCE(excluded.last_run_id, sync_state.last_run_id),
       failures = CASE WHEN :failed THEN sync_state.failures + 1 ELSE 0 END,
       next_due_at = CASE WHEN :keepDue THEN sync_state.next_due_at ELSE excluded.next_due_at END
     RETURNING failures`,
  ).get({
    id: collectionId,
    started: run.startedAt.toISOString(),
    at: run.at.toISOString(),
    result: run.result,
    error: failed ? run.error ?? null : null,
    runId: run.runId ?? null,
    failures: failed ? 1 : 0,
    due: run.nextDueAt ? run.nextDueAt.toISOString() : null,
    failed: failed ? 1 : 0,
    keepDue: run.nextDueAt === undefined ? 1 : 0,
  }) as { failures: number };
  return Number(row.failures);
}

/** The failures in a row stored for `collectionId` (0 when none). */
export function failuresOf(db: DatabaseSync, collectionId: string): number {
  const row = db.prepare("SELECT failures FROM sync_state WHERE collection_id = ?")
    .get(collectionId) as { failures: number } | undefined;
  return Number(row?.failures ?? 0);
}

function _str(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function _num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}
