/** Repository functions for sources, collections and path mappings. */

import assert from "node:assert/strict";
import {
  collectionCounts,
  collectionIdFor,
  deleteSource,
  getCollection,
  insertSource,
  listCollections,
  listSources,
  liveAssetCounts,
  newSourceId,
  parsePathMapping,
  removePathMapping,
  resolveCollection,
  resolveSource,
  setPathMapping,
  setSyncEnabled,
  updateSource,
  upsertDiscoveredCollections,
} from "../core/catalog.ts";
import { openMemoryDatabase } from "../core/db.ts";
import { mapPath } from "../core/path_mapping.ts";
import { RetrovueError } from "../core/errors.ts";

let tick = 0;
const clock = () => new Date(Date.UTC(2030, 0, 1, 0, 0, tick++));

function _code(code: string, pattern?: RegExp) {
  return (e: unknown) =>
    e instanceof RetrovueError && e.code === code && (!pattern || pattern.test(e.message));
}

Deno.test("ids: random '<type>-<8 hex>' sources, deterministic collections", () => {
  assert.match(newSourceId("plex"), /^plex-[0-9a-f]{8}$/);
  assert.notEqual(newSourceId("plex"), newSourceId("plex"));
  const id = collectionIdFor("plex-5063d926", "1");
  assert.match(id, /^c-[0-9a-f]{10}$/);
  assert.equal(id, collectionIdFor("plex-5063d926", "1"));
  assert.notEqual(id, collectionIdFor("plex-5063d926", "2"));
  assert.notEqual(id, collectionIdFor("plex-5063d92", "61"));
});

Deno.test("sources: insert, unique name ignoring case, sorted list, resolve", () => {
  const db = openMemoryDatabase();
  const b = insertSource(db, { name: "beta", typeId: "fake", config: { a: 1 } }, { now: clock });
  const a = insertSource(db, { name: "Alpha", typeId: "plex", config: {} }, { now: clock });
  assert.match(b.id, /^fake-[0-9a-f]{8}$/);
  assert.deepEqual(b.config, { a: 1 });
  assert.throws(
    () => insertSource(db, { name: "BETA", typeId: "fake", config: {} }),
    _code("CONFLICT", /beta/),
  );
  assert.throws(() => insertSource(db, { name: "  ", typeId: "fake", config: {} }), _code("USAGE"));
  assert.deepEqual(listSources(db).map((s) => s.name), ["Alpha", "beta"]);
  assert.deepEqual(listSources(db, { typeId: "plex" }).map((s) => s.id), [a.id]);
  assert.equal(resolveSource(db, "ALPHA").id, a.id);
  assert.equal(resolveSource(db, b.id).id, b.id);
  assert.throws(() => resolveSource(db, "gamma"), _code("NOT_FOUND"));
  assert.throws(() => resolveSource(db, "alph"), _code("NOT_FOUND"));
  db.close();
});

Deno.test("sources: a name equal to another source's id is ambiguous, listing both", () => {
  const db = openMemoryDatabase();
  const a = insertSource(db, { name: "one", typeId: "fake", config: {}, id: "fake-00000001" });
  const b = insertSource(db, { name: a.id, typeId: "fake", config: {} });
  assert.throws(
    () => resolveSource(db, a.id),
    (e) =>
      e instanceof RetrovueError && e.code === "AMBIGUOUS" && e.message.includes(a.id) &&
      e.message.includes(b.id),
  );
  assert.equal(resolveSource(db, b.id).id, b.id);
  db.close();
});

Deno.test("sources: update keeps id and type, checks the new name, no-op keeps updatedAt", () => {
  const db = openMemoryDatabase();
  const s = insertSource(db, { name: "one", typeId: "fake", config: { x: 1 } }, { now: clock });
  insertSource(db, { name: "two", typeId: "fake", config: {} }, { now: clock });
  assert.throws(() => updateSource(db, s.id, { name: "TWO" }), _code("CONFLICT"));
  const same = updateSource(db, s.id, { name: "one", config: { x: 1 }, now: clock });
  assert.equal(same.updatedAt, s.updatedAt);
  const renamed = updateSource(db, s.id, { name: "ONE", config: { x: 2 }, now: clock });
  assert.equal(renamed.id, s.id);
  assert.equal(renamed.typeId, "fake");
  assert.equal(renamed.name, "ONE");
  assert.deepEqual(renamed.config, { x: 2 });
  assert.notEqual(renamed.updatedAt, s.updatedAt);
  db.close();
});

Deno.test("discovery: adds with sync off, refreshes, marks missing, never deletes or enables", () => {
  const db = openMemoryDatabase();
  const s = insertSource(db, { name: "src", typeId: "fake", config: {} });
  const first = upsertDiscoveredCollections(db, s.id, {
    found: [
      { externalId: "1", name: "Movies", kind: "movies", locations: ["/m"] },
      { externalId: "2", name: "TV", kind: "shows" },
      { externalId: "3", name: "Music", kind: "other", ingestible: false, reason: "music" },
    ],
    now: clock,
  });
  assert.deepEqual(first.added.map((c) => c.name), ["Movies", "Music", "TV"]);
  assert.ok(first.added.every((c) => !c.syncEnabled));
  const music = first.added.find((c) => c.externalId === "3")!;
  assert.equal(music.ingestible, false);
  assert.equal(music.ingestibleReason, "music");
  const tv = collectionIdFor(s.id, "2");
  assert.equal(setSyncEnabled(db, tv, { enabled: true }), true);
  setPathMapping(db, tv, { externalPrefix: "/tv", localPrefix: "/mnt/tv" });

  const second = upsertDiscoveredCollections(db, s.id, {
    found: [
      { externalId: "1", name: "Movies", kind: "movies", locations: ["/m"] },
      { externalId: "2", name: "Television", kind: "shows" },
      { externalId: "4", name: "Kids", kind: "mixed" },
    ],
    now: clock,
  });
  assert.deepEqual(second.added.map((c) => c.name), ["Kids"]);
  assert.deepEqual(second.updated.map((c) => c.name), ["Television"]);
  assert.deepEqual(second.missing.map((c) => c.name), ["Music"]);
  assert.deepEqual(second.unchanged.map((c) => c.name), ["Movies"]);
  const tvAfter = getCollection(db, tv)!;
  assert.equal(tvAfter.syncEnabled, true, "sync intent survives rediscovery");
  assert.deepEqual(tvAfter.pathMappings, [{ externalPrefix: "/tv", localPrefix: "/mnt/tv" }]);
  assert.equal(getCollection(db, music.id)!.missingUpstream, true);
  assert.equal(listCollections(db, { sourceId: s.id }).length, 4, "nothing deleted");

  const third = upsertDiscoveredCollections(db, s.id, {
    found: [
      { externalId: "3", name: "Music", kind: "other", ingestible: false, reason: "music" },
    ],
  });
  assert.deepEqual(third.updated.map((c) => c.name), ["Music"], "reappearing counts as updated");
  assert.equal(getCollection(db, music.id)!.missingUpstream, false);
  assert.equal(getCollection(db, music.id)!.syncEnabled, false);
  db.close();
});

Deno.test("discovery: a duplicate external id rolls everything back", () => {
  const db = openMemoryDatabase();
  const s = insertSource(db, { name: "src", typeId: "fake", config: {} });
  assert.throws(
    () =>
      upsertDiscoveredCollections(db, s.id, {
        found: [
          { externalId: "1", name: "A", kind: "movies" },
          { externalId: "1", name: "B", kind: "movies" },
        ],
      }),
    _code("MALFORMED_RESPONSE"),
  );
  assert.equal(listCollections(db).length, 0);
  db.close();
});

Deno.test("collections: ambiguous names list candidates with sources and ids; scoping resolves", () => {
  const db = openMemoryDatabase();
  const a = insertSource(db, { name: "a", typeId: "fake", config: {} });
  const b = insertSource(db, { name: "b", typeId: "fake", config: {} });
  upsertDiscoveredCollections(db, a.id, {
    found: [{ externalId: "1", name: "Movies", kind: "movies" }],
  });
  upsertDiscoveredCollections(db, b.id, {
    found: [{ externalId: "1", name: "movies", kind: "movies" }],
  });
  assert.throws(
    () => resolveCollection(db, "MOVIES"),
    (e) =>
      e instanceof RetrovueError && e.code === "AMBIGUOUS" &&
      e.message.includes(collectionIdFor(a.id, "1")) &&
      e.message.includes(collectionIdFor(b.id, "1")) && e.message.includes(" in b "),
  );
  assert.equal(resolveCollection(db, "movies", { sourceId: b.id }).sourceId, b.id);
  assert.equal(resolveCollection(db, collectionIdFor(a.id, "1")).sourceId, a.id);
  assert.throws(() => resolveCollection(db, "Shows"), _code("NOT_FOUND"));
  db.close();
});

Deno.test("sync: enabling a non-ingestible collection fails with the reason; repeats are no-ops", () => {
  const db = openMemoryDatabase();
  const s = insertSource(db, { name: "s", typeId: "fake", config: {} });
  upsertDiscoveredCollections(db, s.id, {
    found: [
      { externalId: "m", name: "Music", kind: "other", ingestible: false, reason: "audio only" },
      { externalId: "t", name: "TV", kind: "shows" },
    ],
  });
  const music = collectionIdFor(s.id, "m");
  const tv = collectionIdFor(s.id, "t");
  assert.throws(
    () => setSyncEnabled(db, music, { enabled: true }),
    _code("NOT_INGESTIBLE", /audio only/),
  );
  assert.equal(setSyncEnabled(db, music, { enabled: false }), false);
  assert.equal(setSyncEnabled(db, tv, { enabled: true }), true);
  assert.equal(setSyncEnabled(db, tv, { enabled: true }), false);
  assert.deepEqual(collectionCounts(db).get(s.id), { enabled: 1, total: 2 });
  db.close();
});

Deno.test("path mappings: parse, validate, replace, remove, apply by longest prefix", () => {
  assert.deepEqual(parsePathMapping("/data/tv/=/mnt/tv/"), {
    externalPrefix: "/data/tv",
    localPrefix: "/mnt/tv",
  });
  assert.deepEqual(parsePathMapping("C:\\Media\\TV=/mnt/tv"), {
    externalPrefix: "C:\\Media\\TV",
    localPrefix: "/mnt/tv",
  });
  assert.deepEqual(parsePathMapping("/a=b=/mnt/x"), {
    externalPrefix: "/a=b",
    localPrefix: "/mnt/x",
  });
  for (const bad of ["/data/tv", "/data/tv=relative", "=/mnt", " =/mnt", ""]) {
    assert.throws(() => parsePathMapping(bad), _code("USAGE"), bad);
  }
  const db = openMemoryDatabase();
  const s = insertSource(db, { name: "s", typeId: "fake", config: {} });
  upsertDiscoveredCollections(db, s.id, {
    found: [{ externalId: "t", name: "TV", kind: "shows" }],
  });
  const tv = collectionIdFor(s.id, "t");
  assert.equal(setPathMapping(db, tv, { externalPrefix: "/data", localPrefix: "/mnt" }), true);
  assert.equal(setPathMapping(db, tv, { externalPrefix: "/data", localPrefix: "/mnt" }), false);
  assert.equal(setPathMapping(db, tv, { externalPrefix: "/data", localPrefix: "/srv" }), true);
  setPathMapping(db, tv, { externalPrefix: "/data/tv", localPrefix: "/tv" });
  const mappings = getCollection(db, tv)!.pathMappings;
  assert.deepEqual(mappings, [
    { externalPrefix: "/data", localPrefix: "/srv" },
    { externalPrefix: "/data/tv", localPrefix: "/tv" },
  ]);
  assert.equal(mapPath("/data/tv/Show/e1.mkv", mappings), "/tv/Show/e1.mkv");
  assert.equal(mapPath("/data/tvx/a.mkv", mappings), "/srv/tvx/a.mkv");
  assert.equal(mapPath("/database/a.mkv", mappings), null);
  assert.equal(mapPath("/data", mappings), "/srv");
  assert.equal(removePathMapping(db, tv, { externalPrefix: "/data/" }), true);
  assert.equal(removePathMapping(db, tv, { externalPrefix: "/data" }), false);
  assert.equal(getCollection(db, tv)!.pathMappings.length, 1);
  db.close();
});

Deno.test("deleting a source cascades; active asset counts ignore deleted assets", () => {
  const db = openMemoryDatabase();
  const s = insertSource(db, { name: "s", typeId: "fake", config: {} });
  upsertDiscoveredCollections(db, s.id, {
    found: [{ externalId: "t", name: "TV", kind: "shows" }],
  });
  const tv = collectionIdFor(s.id, "t");
  setPathMapping(db, tv, { externalPrefix: "/a", localPrefix: "/b" });
  const insert = db.prepare(
    `INSERT INTO assets (id, collection_id, external_id, kind, title, fingerprint, file_fingerprint,
       first_seen, last_seen, updated_at, deleted_at) VALUES (?, ?, ?, 'movie', 'x', 'f', 'f', 't', 't', 't', ?)`,
  );
  insert.run("a-1", tv, "1", null);
  insert.run("a-2", tv, "2", "2030-01-01");
  assert.deepEqual([...liveAssetCounts(db, s.id)], [[tv, 1]]);
  assert.equal(deleteSource(db, s.id), true);
  for (const table of ["collections", "path_mappings", "assets"]) {
    assert.equal(db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get()?.n, 0, table);
  }
  db.close();
});

Deno.test("discovery: a library deleted and re-added upstream keeps its collection, settings and id", () => {
  const db = openMemoryDatabase();
  const source = insertSource(db, { name: "plex", typeId: "plex", config: {} });
  const tv = { name: "TV Shows", kind: "shows" as const, locations: ["/data/tv"] };
  const first = upsertDiscoveredCollections(db, source.id, {
    found: [
      { externalId: "3", ...tv },
      { externalId: "4", name: "Movies", kind: "movies", locations: ["/data/movies"] },
    ],
  });
  const id = first.added.find((c) => c.name === "TV Shows")!.id;
  setSyncEnabled(db, id, { enabled: true });

  // Section 3 deleted, the same folder added again as section 7.
  const again = upsertDiscoveredCollections(db, source.id, {
    found: [
      { externalId: "7", ...tv },
      { externalId: "4", name: "Movies", kind: "movies", locations: ["/data/movies"] },
    ],
  });
  assert.deepEqual(again.rekeyed.map((c) => [c.id, c.externalId]), [[id, "7"]]);
  assert.deepEqual(again.added, [], "no new collection");
  assert.deepEqual(again.missing, [], "nothing missing");
  const kept = getCollection(db, id)!;
  assert.equal(kept.externalId, "7");
  assert.equal(kept.syncEnabled, true, "its settings stay");

  // A new library that reuses the old key gets a fresh id, not the re-keyed one's.
  const third = upsertDiscoveredCollections(db, source.id, {
    found: [
      { externalId: "7", ...tv },
      { externalId: "4", name: "Movies", kind: "movies", locations: ["/data/movies"] },
      { externalId: "3", name: "Kids", kind: "shows", locations: ["/data/kids"] },
    ],
  });
  assert.equal(third.added.length, 1);
  assert.notEqual(third.added[0].id, id);
});

Deno.test("discovery: two libraries that could be the one that went are never merged", () => {
  const db = openMemoryDatabase();
  const source = insertSource(db, { name: "plex", typeId: "plex", config: {} });
  const tv = { name: "TV Shows", kind: "shows" as const, locations: ["/data/tv"] };
  upsertDiscoveredCollections(db, source.id, { found: [{ externalId: "3", ...tv }] });
  const again = upsertDiscoveredCollections(db, source.id, {
    found: [
      { externalId: "7", ...tv },
      { externalId: "8", ...tv },
    ],
  });
  assert.deepEqual(again.rekeyed, []);
  assert.equal(again.added.length, 2);
  assert.equal(again.missing.length, 1);
});

Deno.test("discovery: thousands of gone libraries with one name are candidates of one new library, not merged", () => {
  // Grouping the gone libraries by name copied the group on every addition: quadratic (30000
  // gone: ~7 s in this call, ~3.5 s now, most of it reading back the missing ones).
  const db = openMemoryDatabase();
  const source = insertSource(db, { name: "plex", typeId: "plex", config: {} });
  const tv = { name: "TV Shows", kind: "shows" as const, locations: ["/data/tv"] };
  const home = { name: "Home Videos", kind: "movies" as const };
  const first = upsertDiscoveredCollections(db, source.id, {
    found: [{ externalId: "3", ...tv }, { externalId: "4", name: "Kids", kind: "movies" }],
  });
  const idOf = (name: string) => first.added.find((c) => c.name === name)!.id;
  // Libraries that went earlier (already missing), added directly: quicker than discovering them.
  const n = 20000;
  const insert = db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, locations, sync_enabled,
       ingestible, missing_upstream, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, '[]', 0, 1, 1, '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z')`,
  );
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) {
    insert.run(collectionIdFor(source.id, `old-${i}`), source.id, `old-${i}`, home.name, home.kind);
  }
  db.exec("COMMIT");
  const again = upsertDiscoveredCollections(db, source.id, {
    found: [
      { externalId: "7", ...tv },
      { externalId: "8", name: "Kids", kind: "movies" },
      { externalId: "new-0", ...home },
    ],
  });
  assert.deepEqual(
    again.rekeyed.map((c) => [c.id, c.externalId]).sort(),
    [[idOf("Kids"), "8"], [idOf("TV Shows"), "7"]].sort(),
  );
  assert.deepEqual(again.added.map((c) => c.externalId), ["new-0"]);
  assert.equal(again.missing.length, n);
  assert.ok(again.missing.every((c) => c.name === home.name));
});
