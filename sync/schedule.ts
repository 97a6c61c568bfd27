/**
 * When full ingests are due: the `--sync-every` intervals stored on sources
 * and collections, the jitter that spreads scheduled runs apart, and the
 * capped exponential backoff after a failure.
 *
 * A collection's interval is its own `sync_every_seconds`, else its
 * source's; 0 on the collection opts it out of its source's schedule, and
 * NULL on both means it is not scheduled. Only sync-enabled, ingestible
 * collections are scheduled (a full ingest needs both).
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { RetrovueError } from "../core/errors.ts";

/** The units `--sync-every` takes, in seconds. */
const _UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** The longest interval `--sync-every` takes (a year), so times stay representable. */
export const MAX_INTERVAL_SECONDS = 365 * 86400;

/**
 * Parses a `--sync-every` value: `off`, or a duration such as `6h`, `90m`,
 * `1h30m`, `1d`, `45s` (whole numbers, units s/m/h/d, at least one second).
 * Returns seconds, or null for `off`. Throws `USAGE` naming the flag.
 */
export function parseInterval(text: string, flag = "--sync-every"): number | null {
  const value = text.trim().toLowerCase();
  if (value === "off") return null;
  const parts = [...value.matchAll(/(\d{1,9})([smhd])/g)];
  const joined = parts.map((p) => p[0]).join("");
  const seconds = parts.reduce((sum, p) => sum + Number(p[1]) * _UNITS[p[2]], 0);
  if (parts.length === 0 || joined !== value || seconds < 1 || seconds > MAX_INTERVAL_SECONDS) {
    throw new RetrovueError(
      "USAGE",
      `${flag} takes 'off' or a duration like 6h, 90m, 1h30m or 1d (at most 365d), ` +
        `not '${text.slice(0, 40)}'`,
    );
  }
  return seconds;
}

/** An interval as `--sync-every` would take it, largest units first: `1h30m`, `6h`, `45s`. */
export function formatInterval(seconds: number): string {
  let rest = Math.round(seconds);
  let out = "";
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out || "0s";
}

/** The interval a collection is scheduled at: its own, else its source's; null when not scheduled. */
export function effectiveInterval(
  collectionSeconds: number | null,
  sourceSeconds: number | null,
): number | null {
  if (collectionSeconds !== null) return collectionSeconds > 0 ? collectionSeconds : null;
  return sourceSeconds !== null && sourceSeconds > 0 ? sourceSeconds : null;
}

/** The longest random delay added to a scheduled run's next due time, in seconds. */
export const MAX_JITTER_SECONDS = 300;

/**
 * When a full ingest that finished at `finished` is next due: one interval
 * later plus a jitter of up to a tenth of the interval (at most
 * {@link MAX_JITTER_SECONDS}), so that collections scheduled together drift
 * apart instead of hitting a server at the same moment every time.
 * `random` returns a number in [0, 1).
 */
export function nextDueAfterSuccess(
  finished: Date,
  options: { intervalSeconds: number; random: () => number },
): Date {
  const { intervalSeconds, random } = options;
  const jitter = random() * Math.min(intervalSeconds / 10, MAX_JITTER_SECONDS);
  return new Date(finished.getTime() + (intervalSeconds + jitter) * 1000);
}

/** The first retry after a failure waits this long, or the interval when it is shorter. */
export const BACKOFF_BASE_SECONDS = 60;

/** Retries never wait longer than this, or the interval when it is longer. */
export const BACKOFF_CAP_SECONDS = 3600;

/**
 * How long to wait after the `failures`-th failure in a row (1, 2, …):
 * doubling from min(interval, {@link BACKOFF_BASE_SECONDS}) and capped at
 * max(interval, {@link BACKOFF_CAP_SECONDS}), so a failing server is asked
 * less and less often, yet never less often than its schedule (or hourly).
 * An unscheduled collection (`intervalSeconds` null) uses the constants.
 */
export function backoffSeconds(failures: number, intervalSeconds: number | null): number {
  const base = Math.min(intervalSeconds ?? BACKOFF_BASE_SECONDS, BACKOFF_BASE_SECONDS);
  const cap = Math.max(intervalSeconds ?? BACKOFF_CAP_SECONDS, BACKOFF_CAP_SECONDS);
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  return Math.min(base * 2 ** exponent, cap);
}

/** One collection the schedule knows about. */
export interface ScheduledCollection {
  /** The collection's id. */
  collectionId: string;
  /** Its name. */
  collectionName: string;
  /** Its source's id. */
  sourceId: string;
  /** Its source's name. */
  sourceName: string;
  /** The interval it is scheduled at, in seconds. */
  intervalSeconds: number;
  /** When its next full ingest is due (ISO-8601 UTC); null: it never ran, so now. */
  nextDueAt: string | null;
}

/**
 * The collections with a schedule that a full ingest may run on
 * (sync-enabled, ingestible, with an effective interval), by source and name.
 */
export function scheduledCollections(db: DatabaseSync): ScheduledCollection[] {
  const rows = db.prepare(
    `SELECT c.id, c.name, c.source_id, s.name AS source_name,
            c.sync_every_seconds AS own, s.sync_every_seconds AS inherited, st.next_due_at
     FROM collections c JOIN sources s ON s.id = c.source_id
     LEFT JOIN sync_state st ON st.collection_id = c.id
     WHERE c.sync_enabled = 1 AND c.ingestible = 1
     ORDER BY s.name COLLATE NOCASE, s.id, c.name COLLATE NOCASE, c.id`,
  ).all() as {
    id: string;
    name: string;
    source_id: string;
    source_name: string;
    own: number | null;
    inherited: number | null;
    next_due_at: string | null;
  }[];
  const out: ScheduledCollection[] = [];
  for (const r of rows) {
    const interval = effectiveInterval(_num(r.own), _num(r.inherited));
    if (interval === null) continue;
    out.push({
      collectionId: r.id,
      collectionName: r.name,
      sourceId: r.source_id,
      sourceName: r.source_name,
      intervalSeconds: interval,
      nextDueAt: r.next_due_at,
    });
  }
  return out;
}

/** The scheduled collections whose full ingest is due now (by `options.now`). */
export function dueCollections(
  db: DatabaseSync,
  options: { now: () => Date },
): ScheduledCollection[] {
  const now = options.now().getTime();
  return scheduledCollections(db).filter((c) =>
    c.nextDueAt === null || Date.parse(c.nextDueAt) <= now
  );
}

/** The interval collection `collectionId` is scheduled at (null: none), for after a run. */
export function intervalOf(db: DatabaseSync, collectionId: string): number | null {
  const { own, source } = intervalsOf(db, collectionId);
  return effectiveInterval(own, source);
}

function _num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * Parses a collection's `--sync-every`: a duration (its own interval),
 * `off` (0: not scheduled even when its source is) or `inherit` (null: its
 * source's interval). Throws `USAGE`.
 */
export function parseCollectionInterval(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (value === "inherit") return null;
  if (value === "off") return 0;
  try {
    return parseInterval(text);
  } catch {
    throw new RetrovueError(
      "USAGE",
      "--sync-every takes a duration like 6h, 90m, 1h30m or 1d (at most 365d), 'off' or " +
        `'inherit' (the source's interval), not '${text.slice(0, 40)}'`,
    );
  }
}

/**
 * Sets a source's interval (null: not scheduled). Returns whether it
 * changed; a change makes its collections due at once, so a new interval
 * applies from now rather than from the last run's due time.
 */
export function setSourceInterval(
  db: DatabaseSync,
  change: { sourceId: string; seconds: number | null },
): boolean {
  const { sourceId, seconds } = change;
  const changed = db.prepare(
    "UPDATE sources SET sync_every_seconds = ? WHERE id = ? AND sync_every_seconds IS NOT ?",
  ).run(seconds, sourceId, seconds).changes > 0;
  if (changed) {
    db.prepare(
      `UPDATE sync_state SET next_due_at = NULL
       WHERE collection_id IN (SELECT id FROM collections WHERE source_id = ?)`,
    ).run(sourceId);
  }
  return changed;
}

/**
 * Sets a collection's own interval ({@link parseCollectionInterval}'s
 * values). Returns whether it changed; a change makes the collection due at
 * once, as for {@link setSourceInterval}.
 */
export function setCollectionInterval(
  db: DatabaseSync,
  change: { collectionId: string; seconds: number | null },
): boolean {
  const { collectionId, seconds } = change;
  const changed = db.prepare(
    "UPDATE collections SET sync_every_seconds = ? WHERE id = ? AND sync_every_seconds IS NOT ?",
  ).run(seconds, collectionId, seconds).changes > 0;
  if (changed) {
    db.prepare("UPDATE sync_state SET next_due_at = NULL WHERE collection_id = ?").run(
      collectionId,
    );
  }
  return changed;
}

/** A collection's own and its source's interval, as stored (for `collection show`). */
export function intervalsOf(
  db: DatabaseSync,
  collectionId: string,
): { own: number | null; source: number | null } {
  const row = db.prepare(
    `SELECT c.sync_every_seconds AS own, s.sync_every_seconds AS inherited
     FROM collections c JOIN sources s ON s.id = c.source_id WHERE c.id = ?`,
  ).get(collectionId) as { own: number | null; inherited: number | null } | undefined;
  return { own: _num(row?.own ?? null), source: _num(row?.inherited ?? null) };
}

/** A source's `--sync-every` in seconds, or null when it is not scheduled (or unknown). */
export function sourceInterval(db: DatabaseSync, sourceId: string): number | null {
  const row = db.prepare("SELECT sync_every_seconds AS s FROM sources WHERE id = ?")
    .get(sourceId) as { s: number | null } | undefined;
  return _num(row?.s ?? null);
}
