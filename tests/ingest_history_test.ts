/**
 * The ingest history (`ingest/history.ts`): each applied run and which
 * assets it added, changed, removed, restored or re-keyed.
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { RetrovueError } from "../core/errors.ts";
import { changeCounts, HISTORY_RUNS, listRuns, resolveRun } from "../ingest/history.ts";
import { listAssets } from "../ingest/assets_query.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import { itemsClient, SEEDED_COLLECTION, seededCatalog } from "./_catalog.ts";

const C = SEEDED_COLLECTION;

function _db(): DatabaseSync {
  return seededCatalog({ kind: "movies", name: "Films" });
}

const movie = (id: string, title: string, extra: Record<string, unknown> = {}) => ({
  externalId: id,
  kind: "movie",
  title,
  path: `/m/${id}.mkv`,
  ...extra,
});

let tick = 0;
const clock = () => new Date(Date.UTC(2025, 0, 1, 0, 0, tick++));

async function _ingest(db: DatabaseSync, items: unknown[], extra: Record<string, unknown> = {}) {
  return await ingestCollection(db, {
    client: itemsClient(items),
    collection: C,
    now: clock,
    ...extra,
  });
}

function _changed(db: DatabaseSync, run: number): string[] {
  return listAssets(db, { changedIn: run }).assets.map((a) => a.externalId).sort();
}

Deno.test("each applied run records which assets it added, changed, removed, restored", async () => {
  const db = _db();
  const first = await _ingest(db, [movie("a", "A"), movie("b", "B"), movie("c", "C")]);
  assert.ok(first.runId !== null);
  assert.deepEqual(changeCounts(db, first.runId!), {
    new: 3,
    changed: 0,
    removed: 0,
    restored: 0,
    rekeyed: 0,
  });
  // b changes, c goes, d is new.
  const second = await _ingest(db, [movie("a", "A"), movie("b", "B2"), movie("d", "D")], {
    allowRemoval: true,
  });
  assert.deepEqual(changeCounts(db, second.runId!), {
    new: 1,
    changed: 1,
    removed: 1,
    restored: 0,
    rekeyed: 0,
  });
  assert.deepEqual(_changed(db, second.runId!), ["b", "c", "d"], "removed ones are listed too");
  // c comes back; an unchanged run records nothing but is listed.
  const third = await _ingest(db, [movie("a", "A"), movie("b", "B2"), movie("c", "C")], {
    allowRemoval: true,
  });
  assert.deepEqual(changeCounts(db, third.runId!).restored, 1);
  const fourth = await _ingest(db, [movie("a", "A"), movie("b", "B2"), movie("c", "C"), {
    ...movie("d", "D"),
  }]);
  const quiet = await _ingest(db, [movie("a", "A"), movie("b", "B2"), movie("c", "C"), {
    ...movie("d", "D"),
  }]);
  assert.deepEqual(_changed(db, quiet.runId!), []);
  const runs = listRuns(db, { collectionId: C });
  assert.deepEqual(runs.map((r) => r.id), [
    quiet.runId,
    fourth.runId,
    third.runId,
    second.runId,
    first.runId,
  ]);
  assert.equal(runs[3].stats.removed, 1);
  assert.equal(runs[0].collectionName, "Films");
  assert.equal(resolveRun(db, "last", { collectionId: C }).id, quiet.runId);
  assert.equal(resolveRun(db, String(second.runId), { collectionId: C }).id, second.runId);
});

Deno.test("dry runs and held-back runs are not recorded; bad run names are typed errors", async () => {
  const db = _db();
  await _ingest(db, [movie("a", "A")]);
  const dry = await _ingest(db, [movie("a", "A2")], { dryRun: true });
  assert.equal(dry.runId, null);
  const held = await _ingest(db, []);
  assert.equal(held.removalGuard?.held, true);
  assert.equal(held.runId, null);
  assert.equal(listRuns(db).length, 1);
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof RetrovueError ? e.code : String(e);
    }
    return "none";
  };
  assert.equal(code(() => resolveRun(db, "nope")), "USAGE");
  assert.equal(code(() => resolveRun(db, "-1")), "USAGE");
  assert.equal(code(() => resolveRun(db, "999")), "NOT_FOUND");
  assert.equal(code(() => resolveRun(_db(), "last")), "NOT_FOUND");
});

Deno.test(`a collection keeps its last ${HISTORY_RUNS} runs, with their changes`, async () => {
  const db = _db();
  for (let i = 0; i <= HISTORY_RUNS + 1; i++) await _ingest(db, [movie("a", `A${i}`)]);
  const runs = listRuns(db, { collectionId: C, limit: 1000 });
  assert.equal(runs.length, HISTORY_RUNS);
  const orphans = db.prepare(
    "SELECT count(*) AS n FROM ingest_changes WHERE run_id NOT IN (SELECT id FROM ingest_runs)",
  ).get() as { n: number };
  assert.equal(Number(orphans.n), 0, "pruned runs take their changes with them");
});

Deno.test("a dry run lists the changes the real run then records", async () => {
  const db = _db();
  await _ingest(db, [movie("a", "A"), movie("b", "B"), movie("c", "C")]);
  const next = [movie("a", "A"), movie("b", "B2"), movie("d", "D")];
  const dry = await _ingest(db, next, { dryRun: true, listChanges: 100 });
  assert.deepEqual(
    dry.plannedChanges?.map((c) => [c.change, c.externalId, c.assetId === null]),
    [["new", "d", true], ["changed", "b", false], ["removed", "c", false]],
  );
  const capped = await _ingest(db, next, { dryRun: true, listChanges: 2 });
  assert.equal(capped.plannedChanges?.length, 2);
  const real = await _ingest(db, next);
  assert.equal(real.plannedChanges, null);
  const recorded = listAssets(db, { changedIn: real.runId! }).assets.map((a) => a.externalId);
  assert.deepEqual(recorded.sort(), dry.plannedChanges!.map((c) => c.externalId).sort());
  const ids = dry.plannedChanges!.filter((c) => c.assetId !== null).map((c) => c.assetId).sort();
  const stored = listAssets(db, { changedIn: real.runId!, includeDeleted: true }).assets
    .filter((a) => a.externalId !== "d").map((a) => a.id).sort();
  assert.deepEqual(ids, stored);
});

Deno.test("new assets are recorded alike whether few or most of the catalog's rows are new", async () => {
  const db = _db();
  const many = Array.from(
    { length: 30 },
    (_, i) => movie(`m${String(i).padStart(2, "0")}`, `M${i}`),
  );
  // A first import: every row is new (read through the id index).
  const first = await _ingest(db, many);
  assert.equal(changeCounts(db, first.runId!).new, 30);
  assert.deepEqual(_changed(db, first.runId!), many.map((m) => m.externalId));
  // Two new among 32 rows (read by rowid): only those two, in this run.
  const more = [...many, movie("x1", "X1"), movie("x2", "X2")];
  const second = await _ingest(db, more);
  assert.equal(changeCounts(db, second.runId!).new, 2);
  assert.deepEqual(_changed(db, second.runId!), ["x1", "x2"]);
});
