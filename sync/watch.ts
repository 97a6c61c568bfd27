/**
 * Filesystem watching: the roots of `filesystem` sources' sync-enabled
 * collections are watched (`Deno.watchFs`), and each burst of changes (a
 * season copied in, a file renamed) becomes the narrowest targeted ingest
 * that covers it, once the root has been quiet for the debounce time.
 *
 * The scope of a changed path comes from the catalog, never from parsing
 * its name again: the assets already stored under the same title folder
 * (the path's first folder below the root) name the title, and those under
 * the same season folder the season. So the scope is exactly what the
 * importer itself called those files, and a change in a folder the catalog
 * knows nothing of yet (a new show, a loose file in the root) falls back to
 * a full ingest. So does a file that went away while nothing appeared in
 * its scope: a targeted ingest never removes anything, only a full one does
 * (and the removal guard holds back a full ingest that would remove too
 * much). A rename (a file going and another coming in the same scope) stays
 * targeted: the ingest re-keys the asset.
 *
 * A root that disappears (an unmounted share) is logged and polled until it
 * comes back; nothing is ingested while it is gone, and its return queues a
 * full ingest to catch up.
 *
 * @module
 */

import { join, relative, resolve, sep } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { describeScope, scopeCovers } from "./loop.ts";
import type { Enqueue, SyncLog } from "./types.ts";
import { sleepUnlessAborted } from "./sleep.ts";

/** The default quiet time before a burst of changes is ingested, in milliseconds. */
export const DEFAULT_DEBOUNCE_MS = 10_000;

/** How often a root is checked for having gone (or come back), in milliseconds. */
export const DEFAULT_ROOT_POLL_MS = 5_000;

/** The longest wait between two tries to watch a root that cannot be watched. */
export const MAX_WATCH_RETRY_MS = 300_000;

/** The most targeted ingests one burst becomes before it is one full ingest. */
export const MAX_SCOPES_PER_BURST = 8;

/** The importer type whose collections are watched. */
export const WATCHED_TYPE = "filesystem";

/** A watched collection: its root folder. */
export interface WatchedCollection {
  /** The collection's id. */
  collectionId: string;
  /** Its name, for log lines. */
  collectionName: string;
  /** The root folder (the collection's external id). */
  root: string;
}

/**
 * The collections to watch: sync-enabled, ingestible collections of
 * `filesystem` sources (their external id is their root folder).
 */
export function watchedCollections(db: DatabaseSync): WatchedCollection[] {
  const rows = db.prepare(
    `SELECT c.id, c.name, c.external_id FROM collections c JOIN sources s ON s.id = c.source_id
     WHERE s.type_id = ? AND c.sync_enabled = 1 AND c.ingestible = 1
     ORDER BY c.name COLLATE NOCASE, c.id`,
  ).all(WATCHED_TYPE) as { id: string; name: string; external_id: string }[];
  return rows.map((r) => ({ collectionId: r.id, collectionName: r.name, root: r.external_id }));
}

/** One changed path of a burst. */
export interface PathChange {
  /** The path relative to the root, `/`-separated. */
  relPath: string;
  /** Whether it exists now (at the end of the burst). */
  exists: boolean;
}

/** What a burst of changes becomes. */
export interface BurstPlan {
  /** The scopes to ingest (`[{}]`: one full ingest); empty: nothing to do. */
  scopes: AssetFilters[];
  /** Why a full ingest, when it is one and the burst alone did not say so. */
  fullBecause: string | null;
}

/**
 * The narrowest ingests that cover a burst of changes in a collection (see
 * the module doc): hidden paths (a segment starting with `.`) are ignored,
 * like the importer ignores them by default.
 */
export function planBurst(
  db: DatabaseSync,
  burst: { collectionId: string; changes: readonly PathChange[] },
): BurstPlan {
  const { collectionId, changes } = burst;
  const relevant = changes.filter((c) =>
    c.relPath !== "" && !c.relPath.split("/").some((s) => s.startsWith("."))
  );
  if (relevant.length === 0) return { scopes: [], fullBecause: null };
  // A scope depends only on a path's first two folders: each is looked up once per burst (a
  // season pack copied in is thousands of changes under one title folder, whose rows each
  // lookup reads).
  const known = new Map<string, AssetFilters | null>();
  const scoped: { filters: AssetFilters; change: PathChange }[] = [];
  for (const change of relevant) {
    const key = _scopeKey(change.relPath);
    let filters = known.get(key);
    if (filters === undefined) {
      filters = scopeOfPath(db, { collectionId, relPath: change.relPath });
      known.set(key, filters);
    }
    if (filters === null) {
      return { scopes: [{}], fullBecause: `'${change.relPath}' is in no folder the catalog knows` };
    }
    scoped.push({ filters, change });
  }
  const present = _distinct(scoped.filter((o) => o.change.exists).map((o) => o.filters));
  for (const { filters, change } of scoped) {
    if (change.exists || !_hasLiveAssets(db, { collectionId, prefix: change.relPath })) continue;
    const replaced = present.some((other) => scopeCovers(filters, other));
    if (!replaced) {
      return {
        scopes: [{}],
        fullBecause: `'${change.relPath}' went away (only a full ingest removes assets)`,
      };
    }
  }
  const scopes: AssetFilters[] = [];
  for (const filters of _distinct(scoped.map((o) => o.filters))) {
    if (scopes.some((s) => scopeCovers(s, filters))) continue;
    for (let i = scopes.length - 1; i >= 0; i--) {
      if (scopeCovers(filters, scopes[i])) scopes.splice(i, 1);
    }
    scopes.push(filters);
  }
  if (scopes.length > MAX_SCOPES_PER_BURST) {
    return { scopes: [{}], fullBecause: `${scopes.length} titles or seasons changed` };
  }
  return { scopes, fullBecause: null };
}

/** What {@link scopeOfPath} reads of a path: its first folder, and its second if it has one. */
function _scopeKey(relPath: string): string {
  const [first, second] = relPath.split("/", 2);
  return second === undefined ? `1\0${first}` : `2\0${first}\0${second}`;
}

/** `list` without repeats (same title, season and episode), in first-seen order. */
function _distinct(list: readonly AssetFilters[]): AssetFilters[] {
  const seen = new Map<string, AssetFilters>();
  for (const f of list) {
    const key = JSON.stringify([f.title ?? null, f.season ?? null, f.episode ?? null]);
    if (!seen.has(key)) seen.set(key, f);
  }
  return [...seen.values()];
}

/**
 * The targeted scope of one changed path, from the assets stored under its
 * title folder (and season folder); null when the catalog has none there or
 * they disagree on the title.
 */
export function scopeOfPath(
  db: DatabaseSync,
  path: { collectionId: string; relPath: string },
): AssetFilters | null {
  const { collectionId, relPath } = path;
  const segments = relPath.split("/");
  const titles = _under(db, { collectionId, prefix: segments[0] });
  const names = new Set(titles.map((r) => r.title));
  if (names.size !== 1) return null;
  const title = titles[0].title;
  if (title === null || title === "") return null;
  if (segments.length < 2) return { title };
  const inner = _under(db, { collectionId, prefix: `${segments[0]}/${segments[1]}` });
  const seasons = new Set(inner.map((r) => r.season));
  if (inner.length > 0 && inner.every((r) => r.kind === "episode") && seasons.size === 1) {
    const season = inner[0].season;
    if (season !== null) return { title, season };
  }
  return { title };
}

/** Options for {@link watchRoots}. */
export interface WatchOptions {
  /** Where bursts go. */
  enqueue: Enqueue;
  /** One line per action. */
  log: SyncLog;
  /** Stops watching. */
  signal: AbortSignal;
  /** Quiet time before a burst is ingested (default {@link DEFAULT_DEBOUNCE_MS}). */
  debounceMs?: number;
  /** How often a root is checked for being there (default {@link DEFAULT_ROOT_POLL_MS}). */
  rootPollMs?: number;
}

/**
 * Watches the roots of `collections` until `signal` aborts; resolves when
 * every watcher has closed. Never rejects: a root that cannot be watched is
 * logged and retried.
 */
export async function watchRoots(
  db: DatabaseSync,
  collections: readonly WatchedCollection[],
  options: WatchOptions,
): Promise<void> {
  await Promise.all(collections.map((c) => _watchOne(db, c, options)));
}

async function _watchOne(
  db: DatabaseSync,
  collection: WatchedCollection,
  options: WatchOptions,
): Promise<void> {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const pollMs = options.rootPollMs ?? DEFAULT_ROOT_POLL_MS;
  const name = collection.collectionName;
  // "first" look, root "missing", or the watcher "failed" that many times in a row.
  let state: "first" | "present" | "missing" = "first";
  let failures = 0;
  while (!options.signal.aborted) {
    const real = _realDir(collection.root);
    if (real === null) {
      if (state !== "missing") {
        options.log(
          `watch: root ${collection.root} of '${name}' is missing (unmounted?); nothing is ` +
            `ingested until it is back`,
        );
      }
      state = "missing";
      await sleepUnlessAborted(pollMs, options.signal);
      continue;
    }
    // Said, and a returned root caught up on, once the watch is in place: a change made
    // before that would be missed, so nothing may look ready earlier.
    const back = state === "missing";
    if (back) options.log(`watch: root ${collection.root} of '${name}' is back`);
    const announce = state === "first"
      ? `watch: watching ${collection.root} for '${name}'${failures > 0 ? " again" : ""}`
      : null;
    let caughtUp = !back;
    const catchUp = () => {
      if (caughtUp) return;
      caughtUp = true;
      options.enqueue({
        collectionId: collection.collectionId,
        filters: {},
        reason: `watch: root ${collection.root} came back`,
      });
    };
    state = "present";
    const ended = await _watchWhilePresent(db, {
      collection,
      real,
      options: { ...options, debounceMs, pollMs },
      onWatching() {
        if (announce) options.log(announce);
        failures = 0;
        catchUp();
      },
    });
    catchUp(); // Also when the watch could not be set up.
    if (ended.failed !== null) {
      // Cannot watch (e.g. out of inotify watches): say so once, retry less and less often.
      failures++;
      if (failures === 1) {
        options.log(
          `watch: cannot watch ${collection.root} of '${name}': ${ended.failed}; retrying, ` +
            `at most every ${MAX_WATCH_RETRY_MS / 1000}s (the schedule still runs)`,
        );
      }
      await sleepUnlessAborted(
        Math.min(pollMs * 2 ** Math.min(failures - 1, 20), MAX_WATCH_RETRY_MS),
        options.signal,
      );
      state = "first";
      continue;
    }
    state = ended.gone ? "first" : "present"; // Gone: logged as missing on the next look.
  }
}

/**
 * Watches one present root until the signal aborts, the root goes away
 * (`gone`; bursts pending then are dropped) or the watcher fails (`failed`:
 * why).
 */
async function _watchWhilePresent(
  db: DatabaseSync,
  root: {
    collection: WatchedCollection;
    real: string;
    options: WatchOptions & { debounceMs: number; pollMs: number };
    /** Called once the watch is in place (`Deno.watchFs` returned). */
    onWatching: () => void;
  },
): Promise<{ gone: boolean; failed: string | null }> {
  const { collection, real, options } = root;
  let watcher: Deno.FsWatcher;
  try {
    watcher = Deno.watchFs(real, { recursive: true });
  } catch (error) {
    return { gone: false, failed: (error as Error).message };
  }
  root.onWatching();
  const changed = new Set<string>();
  let quiet: ReturnType<typeof setTimeout> | undefined;
  let firstAt = 0;
  let gone = false;
  let failed: string | null = null;
  const flush = () => {
    clearTimeout(quiet);
    quiet = undefined;
    const paths = [...changed];
    changed.clear();
    if (paths.length > 0) _ingestBurst(db, { collection, real, paths, options });
  };
  const close = () => {
    try {
      watcher.close();
    } catch {
      // Already closed.
    }
  };
  const poll = setInterval(() => {
    if (_realDir(collection.root) === real) return;
    gone = true;
    close();
  }, options.pollMs);
  options.signal.addEventListener("abort", close, { once: true });
  try {
    for await (const event of watcher) {
      if (event.kind === "access") continue;
      for (const path of event.paths) changed.add(path);
      if (changed.size === 0) continue;
      const now = performance.now();
      if (quiet === undefined) firstAt = now;
      clearTimeout(quiet);
      // A copy that never pauses still gets ingested: wait at most six quiet times.
      const wait = Math.max(
        0,
        Math.min(options.debounceMs, firstAt + 6 * options.debounceMs - now),
      );
      quiet = setTimeout(flush, wait);
    }
  } catch (error) {
    if (!options.signal.aborted && !gone) failed = (error as Error).message;
  } finally {
    clearInterval(poll);
    clearTimeout(quiet);
    options.signal.removeEventListener("abort", close);
    close();
  }
  gone ||= !options.signal.aborted && _realDir(collection.root) !== real;
  if ((gone || failed !== null) && changed.size > 0) {
    options.log(
      `watch: ${changed.size} change(s) under ${collection.root} dropped: ` +
        (gone ? "the root went away" : "the watcher failed"),
    );
  }
  return { gone, failed };
}

function _ingestBurst(
  db: DatabaseSync,
  burst: {
    collection: WatchedCollection;
    real: string;
    paths: readonly string[];
    options: WatchOptions;
  },
): void {
  const { collection, real, paths, options } = burst;
  if (_realDir(collection.root) !== real) return; // Gone meanwhile: the poll says so.
  const changes: PathChange[] = [];
  for (const path of new Set(paths)) {
    const rel = relative(real, resolve(path));
    if (rel === "" || rel.startsWith("..")) continue;
    changes.push({
      relPath: rel.split(sep).join("/").normalize("NFC"),
      exists: _exists(join(real, rel)),
    });
  }
  let plan: BurstPlan;
  try {
    plan = planBurst(db, { collectionId: collection.collectionId, changes });
  } catch (error) {
    plan = {
      scopes: [{}],
      fullBecause: `the scope could not be read: ${(error as Error).message}`,
    };
  }
  if (plan.scopes.length === 0) return;
  const where = _commonFolder(changes.map((c) => c.relPath));
  const what = `watch: ${changes.length} change(s) under ${where || collection.root}`;
  for (const filters of plan.scopes) {
    const because = plan.fullBecause ? ` (full: ${plan.fullBecause})` : "";
    options.enqueue({
      collectionId: collection.collectionId,
      filters,
      reason: plan.scopes.length > 1 ? `${what}, ${describeScope(filters)}` : what + because,
    });
  }
}

interface _Row {
  kind: string;
  title: string | null;
  season: number | null;
}

/** The distinct (kind, title, season) of the assets at `prefix` or under `prefix/`. */
function _under(db: DatabaseSync, at: { collectionId: string; prefix: string }): _Row[] {
  const { collectionId, prefix } = at;
  // `/` is followed by `0` in code order: [prefix/, prefix0) is everything under prefix/,
  // which the (collection_id, external_id) index finds without a scan.
  const rows = db.prepare(
    `SELECT DISTINCT kind, CASE kind WHEN 'episode' THEN series_title ELSE title END AS title,
            season
     FROM assets WHERE collection_id = ?
       AND (external_id = ? OR (external_id >= ? AND external_id < ?))
     LIMIT 50`,
  ).all(collectionId, prefix, `${prefix}/`, `${prefix}0`) as Record<string, unknown>[];
  return rows.map((r) => ({
    kind: String(r.kind),
    title: r.title === null ? null : String(r.title),
    season: r.season === null ? null : Number(r.season),
  }));
}

function _hasLiveAssets(db: DatabaseSync, at: { collectionId: string; prefix: string }): boolean {
  const { collectionId, prefix: relPath } = at;
  return db.prepare(
    `SELECT 1 FROM assets WHERE collection_id = ? AND deleted_at IS NULL
       AND (external_id = ? OR (external_id >= ? AND external_id < ?)) LIMIT 1`,
  ).get(collectionId, relPath, `${relPath}/`, `${relPath}0`) !== undefined;
}

/** The longest folder all of `paths` are under (`Show/Season 02`), or "". */
function _commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return "";
  let common = paths[0].split("/").slice(0, -1);
  for (const p of paths.slice(1)) {
    const parts = p.split("/");
    let i = 0;
    while (i < common.length && i < parts.length - 1 && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  if (paths.length === 1 && common.length === 0) return paths[0];
  return common.join("/");
}

/** The real path of `dir` when it is a folder, else null. */
function _realDir(dir: string): string | null {
  try {
    const real = Deno.realPathSync(dir);
    return Deno.statSync(real).isDirectory ? real : null;
  } catch {
    return null;
  }
}

function _exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
