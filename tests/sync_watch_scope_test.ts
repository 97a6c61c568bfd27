/**
 * How a burst of file changes becomes ingests (`planBurst` in
 * `sync/watch.ts`): the scope comes from what the catalog stores under the
 * changed folders, and a change that a targeted ingest could get wrong (an
 * unknown folder, a removal) becomes a full ingest. The watcher itself runs
 * in the real `sync` process in `sync_cli_test.ts`.
 */

import assert from "node:assert/strict";
import { ingestCollection } from "../ingest/pipeline.ts";
import { planBurst, scopeOfPath } from "../sync/mod.ts";
import { itemsClient, SEEDED_COLLECTION, seededCatalog } from "./_catalog.ts";

function _episode(show: string, folder: string, season: number, episode: number) {
  const file = `${folder}/Season ${
    String(season).padStart(2, "0")
  }/${show} - S0${season}E0${episode}.mkv`;
  return {
    externalId: file,
    kind: "episode",
    title: `Episode ${episode}`,
    seriesTitle: show,
    season,
    episode,
    path: `/media/${file}`,
    size: 100 + episode,
    modified: "m",
  };
}

async function _catalog() {
  const db = seededCatalog({ kind: "mixed" });
  await ingestCollection(db, {
    client: itemsClient([
      _episode("Alpha", "Alpha (2001)", 1, 1),
      _episode("Alpha", "Alpha (2001)", 1, 2),
      _episode("Alpha", "Alpha (2001)", 2, 1),
      _episode("Beta", "Beta", 1, 1),
      {
        externalId: "Heat (1995)/Heat (1995).mkv",
        kind: "movie",
        title: "Heat",
        year: 1995,
        path: "/media/Heat (1995)/Heat (1995).mkv",
      },
      // A folder whose files disagree on the show: no single title covers it.
      { ..._episode("Gamma", "Mixed", 1, 1) },
      { ..._episode("Delta", "Mixed", 1, 2) },
    ]),
    collection: SEEDED_COLLECTION,
  });
  return db;
}

Deno.test("scopeOfPath: season from its folder, title from the title folder, null when unknown", async () => {
  const db = await _catalog();
  const scope = (p: string) => scopeOfPath(db, { collectionId: SEEDED_COLLECTION, relPath: p });
  assert.deepEqual(scope("Alpha (2001)/Season 01/Alpha - S01E03.mkv"), {
    title: "Alpha",
    season: 1,
  });
  assert.deepEqual(scope("Alpha (2001)/Season 02"), { title: "Alpha", season: 2 });
  assert.deepEqual(scope("Alpha (2001)/Season 03/x.mkv"), { title: "Alpha" }, "a new season");
  assert.deepEqual(scope("Alpha (2001)"), { title: "Alpha" });
  assert.deepEqual(scope("Heat (1995)/Heat (1995).nfo"), { title: "Heat" });
  assert.equal(scope("Zeta/Season 01/Zeta - S01E01.mkv"), null, "a folder the catalog lacks");
  assert.equal(scope("Mixed/Season 01/x.mkv"), null, "two shows in one folder");
  assert.equal(scope("Alpha"), null, "a prefix of a folder name is not that folder");
});

Deno.test("planBurst: the narrowest scopes, merged; hidden files ignored", async () => {
  const db = await _catalog();
  const plan = (...changes: [string, boolean][]) =>
    planBurst(db, {
      collectionId: SEEDED_COLLECTION,
      changes: changes.map(([relPath, exists]) => ({ relPath, exists })),
    });
  // A season copied in: its folder and every file in it.
  assert.deepEqual(
    plan(
      ["Alpha (2001)/Season 01/Alpha - S01E03.mkv", true],
      ["Alpha (2001)/Season 01/Alpha - S01E04.mkv", true],
    ),
    { scopes: [{ title: "Alpha", season: 1 }], fullBecause: null },
  );
  // Two seasons of one show and a new season: the title covers them all.
  assert.deepEqual(
    plan(["Alpha (2001)/Season 01/a.mkv", true], ["Alpha (2001)/Season 04/b.mkv", true]).scopes,
    [{ title: "Alpha" }],
  );
  assert.deepEqual(
    plan(["Alpha (2001)/Season 02/a.mkv", true], ["Beta/Season 01/b.mkv", true]).scopes,
    [{ title: "Alpha", season: 2 }, { title: "Beta", season: 1 }],
  );
  assert.deepEqual(plan([".Trash/x.mkv", true], ["Alpha (2001)/.x.mkv.part", true]).scopes, []);
});

Deno.test("planBurst: unknown folders and removals need a full ingest; a rename stays targeted", async () => {
  const db = await _catalog();
  const plan = (...changes: [string, boolean][]) =>
    planBurst(db, {
      collectionId: SEEDED_COLLECTION,
      changes: changes.map(([relPath, exists]) => ({ relPath, exists })),
    });
  const newShow = plan(["Zeta/Season 01/Zeta - S01E01.mkv", true]);
  assert.deepEqual(newShow.scopes, [{}]);
  assert.match(newShow.fullBecause!, /'Zeta\/Season 01\/Zeta - S01E01.mkv' is in no folder/);

  const removed = plan(["Alpha (2001)/Season 01/Alpha - S01E02.mkv", false]);
  assert.deepEqual(removed.scopes, [{}]);
  assert.match(removed.fullBecause!, /went away \(only a full ingest removes assets\)/);

  const renamed = plan(
    ["Alpha (2001)/Season 01/Alpha - S01E02.mkv", false],
    ["Alpha (2001)/Season 01/Alpha - S01E02 - Two.mkv", true],
  );
  assert.deepEqual(renamed, { scopes: [{ title: "Alpha", season: 1 }], fullBecause: null });

  // A path that went away but held no live asset (a temporary file) needs nothing more.
  assert.deepEqual(plan(["Alpha (2001)/Season 01/tmp.mkv", false]).scopes, [
    { title: "Alpha", season: 1 },
  ]);
});

Deno.test("planBurst: a season pack copied in reads each folder's rows once, not once per file", async () => {
  const db = await _catalog();
  // Count the catalog reads: each scopeOfPath reads every row under the title folder, so
  // reading per file made a burst of N files in a show of M episodes cost N × M rows.
  let reads = 0;
  const counting = new Proxy(db, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key !== "prepare") return typeof value === "function" ? value.bind(target) : value;
      return (sql: string) => {
        reads++;
        return target.prepare(sql);
      };
    },
  });
  const changes = Array.from({ length: 3000 }, (_, i) => ({
    relPath: `Alpha (2001)/Season 0${1 + (i % 2)}/Alpha - new ${i}.mkv`,
    exists: true,
  }));
  const plan = planBurst(counting, { collectionId: SEEDED_COLLECTION, changes });
  assert.deepEqual(plan, {
    scopes: [{ title: "Alpha", season: 1 }, { title: "Alpha", season: 2 }],
    fullBecause: null,
  });
  assert.ok(reads <= 8, `${reads} catalog reads for 3000 changes in 2 folders`);
});
