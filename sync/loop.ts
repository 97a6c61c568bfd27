/**
 * The sync loop: a queue of {@link SyncRequest}s from the schedule, the
 * filesystem watcher and the webhooks, run one ingest at a time per source.
 *
 * - **Coalescing:** a request that a pending one of the same collection
 *   already covers (a season inside a pending title, anything inside a
 *   pending full ingest) joins it; a request that covers pending ones
 *   replaces them; more than `maxScopes` distinct scopes pending for one
 *   collection become one full ingest. A request for a collection whose
 *   ingest is running waits for it (that run may have listed before the
 *   change).
 * - **Outcome:** each finished ingest is recorded in `sync_state`
 *   (`./status.ts`). A full ingest moves the collection's next due time one
 *   interval on (with jitter, `./schedule.ts`); a failure moves it to a
 *   capped exponential backoff instead. A targeted scope that matches
 *   nothing (`SCOPE_EMPTY`) is logged and is not a failure; a full ingest
 *   the removal guard held back is `partial`, logged, never forced.
 * - **Stopping:** {@link SyncLoop.stop} drops what is pending and aborts the
 *   running ingests through their signal; a cancelled ingest writes nothing,
 *   not even to `sync_state`.
 *
 * The loop does not know how to run an ingest: it is given a
 * {@link RunIngest} (the `sync` command opens the source's sandboxed
 * importer and calls the ingest pipeline), so it can be tested without one.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { type RetrovueError, stoppedDuringBusyWait, toRetrovueError } from "../core/errors.ts";
import { normalizeText } from "../ingest/mod.ts";
import { backoffSeconds, intervalOf, nextDueAfterSuccess } from "./schedule.ts";
import { failuresOf, recordFinished, type SyncResult } from "./status.ts";
import type { Enqueue, SyncLog, SyncRequest } from "./types.ts";

/** What a successful ingest reports back to the loop. */
export interface IngestOutcome {
  /** `ok`, or `partial` (held back by the removal guard, or no valid item). */
  status: "ok" | "partial";
  /** The ingest run it recorded (`ingest history`), when it wrote one. */
  runId: number | null;
  /** A short summary for the log line, e.g. `2 new, 0 changed, 0 removed`. */
  summary: string;
}

/**
 * Runs one ingest for the loop. Throws (a `RetrovueError`) on failure;
 * `signal` aborts it (`CANCELLED`), leaving the catalog as it was.
 */
export type RunIngest = (request: SyncRequest, signal: AbortSignal) => Promise<IngestOutcome>;

/** One ingest the loop ran, as `sync --once --json` lists it. */
export interface SyncOutcome {
  /** The collection. */
  collectionId: string;
  /** Its name (the id when the collection is gone). */
  collectionName: string;
  /** Its source's id. */
  sourceId: string;
  /** The scope it ran with (`{}` = full). */
  filters: AssetFilters;
  /** Why it ran; coalesced requests give one reason each. */
  reasons: string[];
  /** How it ended. */
  result: SyncResult;
  /** The ingest run it recorded, if any. */
  runId: number | null;
  /** Why it failed, for `error`. */
  error: { code: string; message: string } | null;
  /** When it started and finished (ISO-8601 UTC). */
  startedAt: string;
  /** When it finished. */
  finishedAt: string;
}

/** Options for {@link createSyncLoop}. */
export interface SyncLoopOptions {
  /** Runs one ingest. */
  runIngest: RunIngest;
  /** One line per action. */
  log: SyncLog;
  /** The clock (default: the system clock). */
  now?: () => Date;
  /** Random numbers in [0, 1) for the schedule's jitter (default `Math.random`). */
  random?: () => number;
  /** Distinct pending scopes per collection before they become one full ingest (default 8). */
  maxScopes?: number;
  /** How long before the `attempt`-th retry of a targeted ingest (default {@link retryDelaySeconds}). */
  retryDelayMs?: (attempt: number) => number;
  /** Called after each ingest the loop ran to the end (not for cancelled ones). */
  onFinished?: (outcome: SyncOutcome) => void;
}

/** A running sync loop. */
export interface SyncLoop {
  /** Queues a request (coalesced with pending ones); ignored once stopping. */
  enqueue: Enqueue;
  /** Whether `collectionId` has a pending or running ingest. */
  busy(collectionId: string): boolean;
  /** Resolves when nothing is pending or running (retries waiting for their time do not count). */
  idle(): Promise<void>;
  /** Drops pending requests, cancels running ingests and resolves when they have ended. */
  stop(): Promise<void>;
}

interface _Pending {
  collectionId: string;
  collectionName: string;
  sourceId: string;
  filters: AssetFilters;
  reasons: string[];
  /** Failed tries so far (targeted requests are retried, see {@link MAX_TARGETED_RETRIES}). */
  attempts: number;
}

/**
 * A targeted ingest that fails with a retryable error (the catalog busy with
 * a CLI ingest, an upstream timeout) is tried again this many times, after
 * {@link retryDelaySeconds}: unlike a scheduled one, nothing else would
 * bring the change it stands for in before the next full ingest.
 */
export const MAX_TARGETED_RETRIES = 3;

/** How long before the `attempt`-th retry of a targeted ingest (5 s, 10 s, 20 s). */
export function retryDelaySeconds(attempt: number): number {
  return 5 * 2 ** Math.min(Math.max(attempt, 1) - 1, 10);
}

/** The longest list of reasons a log line shows before "and N more". */
const _SHOWN_REASONS = 3;

/** Creates a sync loop over `db`; it starts ingests as soon as requests arrive. */
export function createSyncLoop(db: DatabaseSync, options: SyncLoopOptions): SyncLoop {
  const now = options.now ?? (() => new Date());
  const random = options.random ?? Math.random;
  const maxScopes = options.maxScopes ?? 8;
  const retryDelayMs = options.retryDelayMs ?? ((attempt) => retryDelaySeconds(attempt) * 1000);
  const pending: _Pending[] = [];
  const running = new Map<string, { collectionId: string; controller: AbortController }>();
  const tasks = new Set<Promise<void>>();
  const retries = new Set<ReturnType<typeof setTimeout>>();
  let waiters: (() => void)[] = [];
  let stopping = false;

  const settle = () => {
    if (pending.length > 0 || running.size > 0) return;
    const done = waiters;
    waiters = [];
    for (const w of done) w();
  };

  const pump = () => {
    if (stopping) return;
    for (const item of [...pending]) {
      if (running.has(item.sourceId)) continue;
      pending.splice(pending.indexOf(item), 1);
      const controller = new AbortController();
      running.set(item.sourceId, { collectionId: item.collectionId, controller });
      // Never let one ingest's bookkeeping take the loop down: say so and go on.
      const task = _run(item, controller.signal).catch((error) =>
        options.log(`'${item.collectionName}': ${toRetrovueError(error).message}`)
      ).finally(() => {
        running.delete(item.sourceId);
        tasks.delete(task);
        pump();
        settle();
      });
      tasks.add(task);
    }
  };

  const _run = async (item: _Pending, signal: AbortSignal): Promise<void> => {
    const started = now();
    const scope = describeScope(item.filters);
    options.log(
      `ingest '${item.collectionName}' (${item.collectionId}) ${scope}: ` +
        _reasons(item.reasons),
    );
    const request: SyncRequest = {
      collectionId: item.collectionId,
      filters: item.filters,
      reason: item.reasons.join("; "),
    };
    let result: SyncResult;
    let runId: number | null = null;
    let error: RetrovueError | null = null;
    try {
      const outcome = await options.runIngest(request, signal);
      result = outcome.status;
      runId = outcome.runId;
      options.log(
        `${result === "ok" ? "done" : "partial"}: '${item.collectionName}' ${scope}: ` +
          `${outcome.summary}${runId === null ? "" : ` (run ${runId})`}`,
      );
    } catch (thrown) {
      error = toRetrovueError(thrown);
      // Stopped during the wait for the lock, the wait is no failure to record (nor to back
      // off for).
      if (error.code === "DB_BUSY") await stoppedDuringBusyWait(signal);
      if (signal.aborted || (stopping && error.code === "CANCELLED")) {
        options.log(`cancelled: '${item.collectionName}' ${scope}; nothing was written`);
        return;
      }
      if (error.code === "SCOPE_EMPTY") {
        options.log(`nothing to ingest: '${item.collectionName}' ${scope}: ${error.message}`);
        result = "ok";
        error = null;
      } else result = "error";
    }
    const finished = now();
    const full = _isFull(item.filters);
    const interval = intervalOf(db, item.collectionId);
    let nextDueAt: Date | null | undefined;
    if (result === "error") {
      const failures = failuresOf(db, item.collectionId) + 1;
      const wait = backoffSeconds(failures, interval);
      nextDueAt = interval === null ? (full ? null : undefined) : new Date(
        finished.getTime() + wait * 1000,
      );
      const retry = !full && error!.retryable && item.attempts < MAX_TARGETED_RETRIES
        ? retryDelayMs(item.attempts + 1)
        : null;
      options.log(
        `failed: '${item.collectionName}' ${scope}: ${error!.code}: ${error!.message}` +
          ` (failure ${failures} in a row` +
          (retry === null ? "" : `; retrying in ${retry / 1000}s`) +
          (nextDueAt ? `; next full ingest at ${nextDueAt.toISOString()})` : ")"),
      );
      if (retry !== null) {
        const timer = setTimeout(() => {
          retries.delete(timer);
          const reason = request.reason.startsWith("retry: ")
            ? request.reason
            : `retry: ${request.reason}`;
          add({ ...request, reason }, item.attempts + 1);
        }, retry);
        retries.add(timer);
      }
    } else if (full) {
      nextDueAt = interval === null
        ? null
        : nextDueAfterSuccess(finished, { intervalSeconds: interval, random });
    }
    try {
      recordFinished(db, {
        collectionId: item.collectionId,
        startedAt: started,
        at: finished,
        result,
        error: error ? `${error.code}: ${error.message}` : null,
        runId,
        nextDueAt,
      });
    } catch (thrown) {
      options.log(
        `could not record the sync state of '${item.collectionName}': ` +
          toRetrovueError(thrown).message,
      );
    }
    options.onFinished?.({
      collectionId: item.collectionId,
      collectionName: item.collectionName,
      sourceId: item.sourceId,
      filters: item.filters,
      reasons: item.reasons,
      result,
      runId,
      error: error ? { code: error.code, message: error.message } : null,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
    });
  };

  const add = (request: SyncRequest, attempts: number) => {
    if (stopping) return;
    const row = db.prepare(
      "SELECT name, source_id FROM collections WHERE id = ?",
    ).get(request.collectionId) as { name: string; source_id: string } | undefined;
    if (!row) {
      options.log(`ignored: no collection '${request.collectionId}' (${request.reason})`);
      return;
    }
    const filters = _clean(request.filters);
    const mine = pending.filter((p) => p.collectionId === request.collectionId);
    const cover = mine.find((p) => scopeCovers(p.filters, filters));
    if (cover) {
      cover.reasons.push(request.reason);
      cover.attempts = Math.max(cover.attempts, attempts);
      return;
    }
    // Requests this one covers join it, and keep their order: earlier reasons first.
    const covered = mine.filter((p) => scopeCovers(filters, p.filters));
    let reasons = [...covered.flatMap((p) => p.reasons), request.reason];
    _remove(pending, covered);
    const left = mine.filter((p) => !covered.includes(p));
    if (left.length + 1 > maxScopes) {
      reasons = [...left.flatMap((p) => p.reasons), ...reasons];
      _remove(pending, left);
      options.log(
        `'${row.name}': ${left.length + 1} scopes pending; one full ingest covers them`,
      );
      pending.push(
        _pending(row, { collectionId: request.collectionId, filters: {}, reasons, attempts }),
      );
    } else {
      pending.push(
        _pending(row, { collectionId: request.collectionId, filters, reasons, attempts }),
      );
    }
    pump();
  };
  const enqueue: Enqueue = (request) => add(request, 0);

  return {
    enqueue,
    busy(collectionId: string) {
      return pending.some((p) => p.collectionId === collectionId) ||
        [...running.values()].some((r) => r.collectionId === collectionId);
    },
    idle() {
      if (pending.length === 0 && running.size === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
    async stop() {
      stopping = true;
      pending.length = 0;
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      for (const r of running.values()) r.controller.abort();
      await Promise.allSettled([...tasks]);
      settle();
    },
  };
}

/**
 * Whether an ingest with filters `outer` also ingests everything `inner`
 * would: a full ingest covers all; a title covers its seasons and episodes
 * (titles compared as the pipeline does, ignoring case); a season covers its
 * episodes.
 */
export function scopeCovers(outer: AssetFilters, inner: AssetFilters): boolean {
  if (outer.title === undefined) return true;
  if (inner.title === undefined || _key(inner.title) !== _key(outer.title)) return false;
  if (outer.season === undefined) return true;
  if (inner.season !== outer.season) return false;
  return outer.episode === undefined || inner.episode === outer.episode;
}

/** A scope for log lines: `full`, `title 'Show'`, `season 2 of 'Show'`, `episode 3 of 'Show' season 2`. */
export function describeScope(filters: AssetFilters): string {
  if (filters.title === undefined) return "full";
  const title = `'${filters.title}'`;
  if (filters.season === undefined) return `title ${title}`;
  if (filters.episode === undefined) return `season ${filters.season} of ${title}`;
  return `episode ${filters.episode} of ${title} season ${filters.season}`;
}

function _pending(
  row: { name: string; source_id: string },
  item: Pick<_Pending, "collectionId" | "filters" | "reasons" | "attempts">,
): _Pending {
  return { ...item, collectionName: row.name, sourceId: row.source_id };
}

function _remove(list: _Pending[], items: readonly _Pending[]): void {
  for (const item of items) list.splice(list.indexOf(item), 1);
}

function _reasons(reasons: readonly string[]): string {
  const shown = reasons.slice(0, _SHOWN_REASONS).join("; ");
  const more = reasons.length - _SHOWN_REASONS;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}

function _isFull(filters: AssetFilters): boolean {
  return filters.title === undefined;
}

function _clean(filters: AssetFilters): AssetFilters {
  const out: AssetFilters = {};
  if (filters.title === undefined) return out;
  out.title = filters.title;
  if (filters.season === undefined) return out;
  out.season = filters.season;
  if (filters.episode !== undefined) out.episode = filters.episode;
  return out;
}

function _key(title: string): string {
  return normalizeText(title).toLowerCase();
}
