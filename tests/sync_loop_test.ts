/**
 * The sync loop in-process (`sync/loop.ts`), with a stand-in for the ingest:
 * coalescing, one ingest at a time per source, what it records in
 * `sync_state`, backoff after failures, and stopping. The real `sync`
 * process is tested in `sync_cli_test.ts`.
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import type { AssetFilters } from "../core/contract.ts";
import { openMemoryDatabase } from "../core/db.ts";
import { RetrovueError } from "../core/errors.ts";
import {
  backoffSeconds,
  createSyncLoop,
  dueCollections,
  type IngestOutcome,
  parseCollectionInterval,
  parseInterval,
  scopeCovers,
  setCollectionInterval,
  setSourceInterval,
  type SyncRequest,
  syncStatus,
} from "../sync/mod.ts";

const T0 = new Date("2030-01-01T00:00:00.000Z");

/** Two sources (`a`, `b`), collections `a1`, `a2` of `a` and `b1` of `b`, all sync-enabled. */
function _catalog(): DatabaseSync {
  const db = openMemoryDatabase();
  const t = T0.toISOString();
  for (const s of ["a", "b"]) {
    db.prepare(
      "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES (?, ?, 'fake', '{}', ?, ?)",
    ).run(s, s.toUpperCase(), t, t);
  }
  for (const [id, source] of [["a1", "a"], ["a2", "a"], ["b1", "b"]]) {
    db.prepare(
      `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at,
         updated_at) VALUES (?, ?, ?, ?, 'shows', 1, ?, ?)`,
    ).run(id, source, id, id.toUpperCase(), t, t);
  }
  return db;
}

/** A controllable stand-in for the ingest: each call waits until released. */
function _gate() {
  const calls: { request: SyncRequest; release: (o?: Partial<IngestOutcome> | Error) => void }[] =
    [];
  const waiting: (() => void)[] = [];
  let running = 0;
  let maxRunning = 0;
  const runIngest = (request: SyncRequest, signal: AbortSignal) =>
    new Promise<IngestOutcome>((resolve, reject) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      const done = () => running--;
      signal.addEventListener("abort", () => {
        done();
        reject(new RetrovueError("CANCELLED", "cancelled"));
      });
      calls.push({
        request,
        release(o) {
          done();
          if (o instanceof Error) reject(o);
          else resolve({ status: "ok", runId: null, summary: "done", ...o });
        },
      });
      for (const w of waiting.splice(0)) w();
    });
  return {
    calls,
    runIngest,
    maxRunning: () => maxRunning,
    /** Resolves once `n` calls have started. */
    async started(n: number) {
      while (calls.length < n) await new Promise<void>((r) => waiting.push(r));
    },
  };
}

Deno.test("scopeCovers: full covers all, a title its seasons, a season its episodes", () => {
  const show: AssetFilters = { title: "Show" };
  assert.ok(scopeCovers({}, { title: "x", season: 1 }));
  assert.ok(scopeCovers(show, { title: "SHOW", season: 2 }));
  assert.ok(scopeCovers({ title: "Show", season: 2 }, { title: "show", season: 2, episode: 3 }));
  assert.ok(!scopeCovers({ title: "Show", season: 2 }, { title: "Show", season: 3 }));
  assert.ok(!scopeCovers(show, { title: "Other" }));
  assert.ok(!scopeCovers(show, {}));
});

Deno.test("sync loop: pending requests coalesce; one ingest at a time per source", async () => {
  const db = _catalog();
  const gate = _gate();
  const lines: string[] = [];
  const loop = createSyncLoop(db, {
    runIngest: gate.runIngest,
    log: (l) => lines.push(l),
    now: () => T0,
  });
  loop.enqueue({ collectionId: "a1", filters: { title: "Show", season: 1 }, reason: "r1" });
  loop.enqueue({ collectionId: "b1", filters: {}, reason: "rb" });
  await gate.started(2);
  // Source a is busy with a1: these wait, and coalesce meanwhile.
  loop.enqueue({ collectionId: "a2", filters: { title: "X", season: 1 }, reason: "r2" });
  loop.enqueue({
    collectionId: "a2",
    filters: { title: "x", season: 1, episode: 4 },
    reason: "r3",
  });
  loop.enqueue({ collectionId: "a2", filters: { title: "X" }, reason: "r4" });
  loop.enqueue({ collectionId: "a2", filters: { title: "Y", season: 2 }, reason: "r5" });
  assert.ok(loop.busy("a2") && loop.busy("a1") && loop.busy("b1"));
  assert.equal(gate.calls.length, 2, "a second ingest of source a waits for the first");
  gate.calls[0].release();
  gate.calls[1].release();
  await gate.started(3);
  assert.deepEqual(gate.calls[2].request, {
    collectionId: "a2",
    filters: { title: "X" },
    reason: "r2; r3; r4",
  });
  gate.calls[2].release();
  await gate.started(4);
  assert.deepEqual(gate.calls[3].request.filters, { title: "Y", season: 2 });
  gate.calls[3].release();
  await loop.idle();
  assert.equal(gate.maxRunning(), 2, "sources a and b ran side by side, never two of a");
  assert.equal(gate.calls.length, 4);
  assert.ok(!loop.busy("a2"));
  assert.ok(
    lines.some((l) => l.startsWith("ingest 'A2' (a2) title 'X': r2; r3; r4")),
    lines.join("\n"),
  );
});

Deno.test("sync loop: too many scopes pending for one collection become one full ingest", async () => {
  const db = _catalog();
  const gate = _gate();
  const loop = createSyncLoop(db, { runIngest: gate.runIngest, log: () => {}, maxScopes: 3 });
  loop.enqueue({ collectionId: "a1", filters: {}, reason: "first" });
  await gate.started(1);
  for (const title of ["p", "q", "r", "s"]) {
    loop.enqueue({ collectionId: "a2", filters: { title }, reason: title });
  }
  gate.calls[0].release();
  await gate.started(2);
  assert.deepEqual(gate.calls[1].request.filters, {});
  assert.equal(gate.calls[1].request.reason, "p; q; r; s");
  gate.calls[1].release();
  await loop.idle();
  assert.equal(gate.calls.length, 2);
});

Deno.test("sync loop: a full ingest moves the schedule; failures back off, capped; success resets", async () => {
  const db = _catalog();
  db.exec("UPDATE sources SET sync_every_seconds = 7200 WHERE id = 'a'");
  let now = T0;
  const gate = _gate();
  const loop = createSyncLoop(db, {
    runIngest: gate.runIngest,
    log: () => {},
    now: () => now,
    random: () => 0.5,
  });
  const a1 = () => syncStatus(db).find((e) => e.collectionId === "a1")!;
  assert.deepEqual(dueCollections(db, { now: () => now }).map((c) => c.collectionId), ["a1", "a2"]);

  loop.enqueue({ collectionId: "a1", filters: {}, reason: "schedule" });
  await gate.started(1);
  gate.calls[0].release({ runId: 7 });
  await loop.idle();
  // One interval on, plus half of the largest jitter (a tenth of 2 h, at most 300 s).
  assert.equal(a1().nextDueAt, new Date(T0.getTime() + (7200 + 150) * 1000).toISOString());
  assert.deepEqual([a1().lastResult, a1().lastRunId, a1().failures], ["ok", 7, 0]);

  const expected: number[] = [];
  for (let i = 1; i <= 8; i++) {
    now = new Date(T0.getTime() + i * 86_400_000);
    loop.enqueue({ collectionId: "a1", filters: {}, reason: "schedule" });
    await gate.started(i + 1);
    gate.calls[i].release(new RetrovueError("UNREACHABLE", "server down"));
    await loop.idle();
    assert.equal(a1().failures, i);
    assert.equal(a1().lastStartedAt, now.toISOString(), "each run records its own start");
    assert.equal(a1().lastResult, "error");
    assert.equal(a1().lastError, "UNREACHABLE: server down");
    expected.push(backoffSeconds(i, 7200));
    assert.equal(Date.parse(a1().nextDueAt!) - now.getTime(), expected.at(-1)! * 1000);
  }
  assert.deepEqual(expected, [60, 120, 240, 480, 960, 1920, 3840, 7200], "doubling, capped");

  // A targeted ingest that succeeds resets the failures but keeps the due time.
  const due = a1().nextDueAt;
  loop.enqueue({ collectionId: "a1", filters: { title: "Show" }, reason: "watch" });
  await gate.started(10);
  gate.calls[9].release();
  await loop.idle();
  assert.deepEqual([a1().failures, a1().nextDueAt, a1().lastResult], [0, due, "ok"]);
});

Deno.test("sync loop: an empty targeted scope is logged, not a failure; a held-back one is partial", async () => {
  const db = _catalog();
  const gate = _gate();
  const lines: string[] = [];
  const loop = createSyncLoop(db, { runIngest: gate.runIngest, log: (l) => lines.push(l) });
  loop.enqueue({ collectionId: "b1", filters: { title: "Gone" }, reason: "plex library.new" });
  await gate.started(1);
  gate.calls[0].release(new RetrovueError("SCOPE_EMPTY", "title 'Gone' not found"));
  await loop.idle();
  const b1 = () => syncStatus(db).find((e) => e.collectionId === "b1")!;
  assert.deepEqual([b1().lastResult, b1().failures, b1().lastError], ["ok", 0, null]);
  assert.ok(lines.some((l) => /^nothing to ingest: 'B1' title 'Gone'/.test(l)), lines.join("\n"));

  loop.enqueue({ collectionId: "b1", filters: {}, reason: "schedule" });
  await gate.started(2);
  gate.calls[1].release({ status: "partial", summary: "held back by the removal guard" });
  await loop.idle();
  assert.deepEqual([b1().lastResult, b1().failures], ["partial", 0]);
  assert.ok(lines.some((l) => /^partial: 'B1' full: held back/.test(l)), lines.join("\n"));
});

Deno.test("sync loop: stop cancels the running ingest, drops pending ones, records nothing", async () => {
  const db = _catalog();
  const gate = _gate();
  const lines: string[] = [];
  const loop = createSyncLoop(db, { runIngest: gate.runIngest, log: (l) => lines.push(l) });
  loop.enqueue({ collectionId: "a1", filters: {}, reason: "schedule" });
  loop.enqueue({ collectionId: "a2", filters: {}, reason: "schedule" });
  await gate.started(1);
  await loop.stop();
  await loop.idle();
  assert.equal(gate.calls.length, 1, "the pending a2 never started");
  assert.deepEqual(db.prepare("SELECT * FROM sync_state").all(), []);
  assert.ok(lines.some((l) => l.startsWith("cancelled: 'A1' full")), lines.join("\n"));
  loop.enqueue({ collectionId: "b1", filters: {}, reason: "late" });
  assert.equal(gate.calls.length, 1, "a stopped loop takes no more work");
});

Deno.test("sync loop: stopped while SQLite waited for the lock: cancelled, not a failure", async () => {
  // The wait blocks the event loop, so the stop is seen only after the ingest gave up busy.
  const db = _catalog();
  const lines: string[] = [];
  const started: string[] = [];
  const loop = createSyncLoop(db, {
    runIngest: (request) => {
      started.push(request.collectionId);
      setTimeout(() => void loop.stop(), 0);
      return Promise.reject(new RetrovueError("DB_BUSY", "busy", { retryable: true }));
    },
    log: (l) => lines.push(l),
  });
  loop.enqueue({ collectionId: "a1", filters: {}, reason: "schedule" });
  loop.enqueue({ collectionId: "a2", filters: {}, reason: "schedule" });
  await loop.idle();
  assert.deepEqual(started, ["a1"], "nothing starts after the stop");
  assert.deepEqual(db.prepare("SELECT * FROM sync_state").all(), [], "no failure recorded");
  assert.ok(lines.some((l) => l.startsWith("cancelled: 'A1' full")), lines.join("\n"));
});

Deno.test("sync loop: a targeted ingest that fails retryably is tried again, a few times", async () => {
  const db = _catalog();
  const gate = _gate();
  const lines: string[] = [];
  const loop = createSyncLoop(db, {
    runIngest: gate.runIngest,
    log: (l) => lines.push(l),
    retryDelayMs: () => 1,
  });
  const busy = () => new RetrovueError("DB_BUSY", "busy", { retryable: true });
  loop.enqueue({ collectionId: "a1", filters: { title: "Show" }, reason: "watch" });
  for (let i = 0; i < 4; i++) {
    await gate.started(i + 1);
    gate.calls[i].release(busy());
  }
  await loop.idle();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(gate.calls.length, 4, "the first try and three retries, then it gives up");
  assert.equal(gate.calls[3].request.reason, "retry: watch");
  assert.match(lines.filter((l) => l.startsWith("failed:"))[2], /; retrying in 0.001s\)$/);
  assert.doesNotMatch(lines.filter((l) => l.startsWith("failed:"))[3], /retrying/);
  // A full ingest is not retried this way: the schedule's backoff does that.
  loop.enqueue({ collectionId: "a2", filters: {}, reason: "schedule" });
  await gate.started(5);
  gate.calls[4].release(busy());
  await loop.idle();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(gate.calls.length, 5);
  await loop.stop();
});

Deno.test("sync loop: a failure in its own bookkeeping is logged, and the loop goes on", async () => {
  const db = _catalog();
  const lines: string[] = [];
  let calls = 0;
  const loop = createSyncLoop(db, {
    runIngest: () => {
      calls++;
      db.close(); // The catalog goes away under the loop: recording the outcome fails.
      return Promise.resolve({ status: "ok", runId: null, summary: "done" });
    },
    log: (l) => lines.push(l),
  });
  loop.enqueue({ collectionId: "a1", filters: {}, reason: "schedule" });
  await loop.idle();
  assert.equal(calls, 1);
  assert.match(lines.at(-1)!, /^'A1': .*not open/);
  assert.ok(!loop.busy("a1"));
});

Deno.test("sync loop: a request for an unknown collection is logged and dropped", async () => {
  const db = _catalog();
  const gate = _gate();
  const lines: string[] = [];
  const loop = createSyncLoop(db, { runIngest: gate.runIngest, log: (l) => lines.push(l) });
  loop.enqueue({ collectionId: "c-none", filters: {}, reason: "webhook" });
  await loop.idle();
  assert.equal(gate.calls.length, 0);
  assert.deepEqual(lines, ["ignored: no collection 'c-none' (webhook)"]);
});

Deno.test("parseInterval: durations and off; anything else is one USAGE line", () => {
  assert.equal(parseInterval("6h"), 21600);
  assert.equal(parseInterval("1h30m"), 5400);
  assert.equal(parseInterval(" 1D "), 86400);
  assert.equal(parseInterval("45s"), 45);
  assert.equal(parseInterval("off"), null);
  for (const bad of ["", "6", "h", "0s", "6x", "1h 30m", "-1h", "400d", "1.5h"]) {
    assert.throws(() => parseInterval(bad), (e: RetrovueError) => {
      assert.equal(e.code, "USAGE");
      assert.match(e.message, /--sync-every takes 'off' or a duration/);
      return true;
    }, bad);
  }
});

Deno.test("intervals: a collection's own, off or inherited; a change makes it due at once", () => {
  const db = _catalog();
  const every = (id: string) => syncStatus(db).find((e) => e.collectionId === id)?.everySeconds;
  assert.ok(setSourceInterval(db, { sourceId: "a", seconds: 3600 }));
  assert.ok(
    !setSourceInterval(db, { sourceId: "a", seconds: 3600 }),
    "the same value is no change",
  );
  assert.equal(every("a1"), 3600);
  assert.ok(
    setCollectionInterval(db, { collectionId: "a1", seconds: parseCollectionInterval("1d") }),
  );
  assert.ok(
    setCollectionInterval(db, { collectionId: "a2", seconds: parseCollectionInterval("off") }),
  );
  assert.deepEqual([every("a1"), every("a2"), every("b1")], [86400, undefined, undefined]);
  assert.ok(
    setCollectionInterval(db, { collectionId: "a2", seconds: parseCollectionInterval("inherit") }),
  );
  assert.equal(every("a2"), 3600);
  assert.throws(() => parseCollectionInterval("sometimes"), /'off' or 'inherit'/);

  db.exec("INSERT INTO sync_state (collection_id, next_due_at) VALUES ('a1', '2099-01-01')");
  assert.deepEqual(dueCollections(db, { now: () => T0 }).map((c) => c.collectionId), ["a2"]);
  setSourceInterval(db, { sourceId: "a", seconds: 7200 });
  assert.deepEqual(dueCollections(db, { now: () => T0 }).map((c) => c.collectionId), ["a1", "a2"]);
});
