/**
 * Library-level tests of the ingest pipeline with an in-process fake
 * importer client whose stream each test controls.
 */

import assert from "node:assert/strict";
import { ingestJson } from "../cli/ingest_commands.ts";
import type { DatabaseSync } from "node:sqlite";
import { carriesSecret } from "../core/config.ts";
import type { AssetFilters, CollectionRef, FilterName } from "../core/contract.ts";
import { openDatabase, openMemoryDatabase } from "../core/db.ts";
import { lastSeenSql } from "../core/db_assets.ts";
import { RetrovueError } from "../core/errors.ts";
import { applyPlan, dataVersion } from "../ingest/apply.ts";
import { createClassifier } from "../ingest/diff.ts";
import { normalizeAsset } from "../ingest/normalize.ts";
import { mapPath } from "../core/path_mapping.ts";
import {
  type IngestClient,
  ingestCollection,
  type IngestOptions,
  ingestSource,
} from "../ingest/pipeline.ts";
import { validateFilters } from "../ingest/scope.ts";
import { listAssets } from "../ingest/assets_query.ts";

const SOURCE = "fake-00000001";
const TV = "c-00000000aa";
const MOVIES = "c-00000000bb";

function setup(db: DatabaseSync): void {
  const t = "2024-01-01T00:00:00.000Z";
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES (?, ?, 'fake', '{}', ?, ?)",
  ).run(SOURCE, "Home", t, t);
  const add = db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
  );
  add.run(TV, SOURCE, "tv", "TV", "shows", t, t);
  add.run(MOVIES, SOURCE, "movies", "Movies", "movies", t, t);
  db.prepare(
    "INSERT INTO path_mappings (collection_id, external_prefix, local_prefix) VALUES (?, ?, ?)",
  ).run(TV, "/data/tv", "/mnt/tv");
}

function memoryDb(): DatabaseSync {
  const db = openMemoryDatabase();
  setup(db);
  return db;
}

type Upstream = Record<string, unknown[]>;

interface FakeClientOptions {
  /** What each collection streams. */
  upstream: Upstream;
  /** Filters the manifest declares for shows (default none: host filtering). */
  showFilters?: FilterName[];
  /** Items per batch (default 2). */
  batchSize?: number;
  /** Throw after this many batches. */
  failAfterBatches?: number;
  /** Run this after the first batch (to change the database mid-stream). */
  afterFirstBatch?: () => void;
  /** Record every request here. */
  requests?: { collection: CollectionRef; filters: AssetFilters }[];
}

function fakeClient(o: FakeClientOptions): IngestClient {
  return {
    manifest: {
      typeId: "fake",
      displayName: "Fake",
      params: [],
      capabilities: { filters: { shows: o.showFilters ?? [], movies: ["title"] } },
    },
    async *fetchAssets(request, options) {
      o.requests?.push(request);
      const all = o.upstream[request.collection.externalId];
      if (!all) {
        throw new RetrovueError("COLLECTION_NOT_FOUND", "no such collection upstream");
      }
      const f = request.filters;
      const selected = all.filter((a) => {
        const r = a as Record<string, unknown>;
        if (typeof a !== "object" || a === null) return true;
        const own = String((r.kind === "episode" ? r.seriesTitle : r.title) ?? "");
        if (f.title !== undefined && own.toLowerCase() !== f.title.toLowerCase()) return false;
        if (f.season !== undefined && r.season !== f.season) return false;
        if (f.episode !== undefined && r.episode !== f.episode) return false;
        return true;
      });
      const size = o.batchSize ?? 2;
      let batches = 0;
      for (let i = 0; i < selected.length; i += size) {
        if (o.failAfterBatches !== undefined && batches >= o.failAfterBatches) {
          throw new RetrovueError("UNREACHABLE", "fake upstream went away");
        }
        options?.signal?.throwIfAborted();
        await Promise.resolve();
        yield selected.slice(i, i + size);
        batches++;
        if (batches === 1) o.afterFirstBatch?.();
      }
    },
  };
}

function ep(
  id: string,
  series: string,
  season: number,
  episode: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    externalId: id,
    kind: "episode",
    title: `Episode ${episode}`,
    seriesTitle: series,
    season,
    episode,
    path: `/data/tv/${series}/S${season}E${episode}.mkv`,
    size: 1000 + season * 100 + episode,
    modified: "m1",
    ...extra,
  };
}

function movie(id: string, title: string, extra: Record<string, unknown> = {}) {
  return {
    externalId: id,
    kind: "movie",
    title,
    year: 1999,
    path: `/movies/${title}.mkv`,
    ...extra,
  };
}

function showUpstream(): unknown[] {
  return [
    ep("e1", "Alpha", 1, 1),
    ep("e2", "Alpha", 1, 2),
    ep("e3", "Alpha", 2, 1),
    ep("e4", "Beta", 1, 1),
    ep("e5", "Beta", 1, 2),
  ];
}

let tick = 0;
function clock(): () => Date {
  return () => new Date(Date.UTC(2024, 0, 2, 0, 0, tick++));
}

function run(
  db: DatabaseSync,
  upstream: Upstream,
  extra: Partial<IngestOptions> & { client?: IngestClient } = {},
) {
  return ingestCollection(db, {
    client: extra.client ?? fakeClient({ upstream }),
    collection: TV,
    now: clock(),
    ...extra,
  });
}

function dump(db: DatabaseSync): string {
  const tables = ["sources", "collections", "path_mappings", "assets"];
  return JSON.stringify(
    tables.map((t) => db.prepare(`SELECT rowid AS _rowid, * FROM ${t} ORDER BY rowid`).all()),
  );
}

/** A stored asset's row; `last_seen` is when it was last seen (see `lastSeenSql`). */
function asset(db: DatabaseSync, externalId: string, collection = TV) {
  const row = db.prepare(
    `SELECT a.*, ${lastSeenSql("a", "c")} AS seen FROM assets a
     JOIN collections c ON c.id = a.collection_id
     WHERE a.collection_id = ? AND a.external_id = ?`,
  ).get(collection, externalId) as Record<string, unknown> | undefined;
  if (!row) return undefined;
  const { seen, ...rest } = row;
  return { ...rest, last_seen: seen } as Record<string, unknown>;
}

async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof RetrovueError, `expected RetrovueError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

Deno.test("full ingest inserts new assets with mapped paths and sets last_ingest_time", async () => {
  const db = memoryDb();
  const result = await run(db, { tv: showUpstream() });
  assert.deepEqual(result.stats, {
    discovered: 5,
    new: 5,
    changed: 0,
    unchanged: 0,
    removed: 0,
    rekeyed: 0,
    restored: 0,
    invalid: 0,
  });
  assert.equal(result.scope, "collection");
  assert.equal(result.dryRun, false);
  const e1 = asset(db, "e1")!;
  assert.equal(e1.state, "new");
  assert.equal(e1.series_title, "Alpha");
  assert.equal(e1.local_path, "/mnt/tv/Alpha/S1E1.mkv");
  assert.equal(e1.path, "/data/tv/Alpha/S1E1.mkv");
  assert.equal(e1.first_seen, e1.last_seen);
  assert.match(String(e1.id), /^a-[0-9a-f]{12}$/);
  const c = db.prepare("SELECT last_ingest_time FROM collections WHERE id = ?").get(TV) as {
    last_ingest_time: string;
  };
  assert.equal(c.last_ingest_time, result.lastIngestTime);
  assert.equal(e1.first_seen, result.lastIngestTime);
});

Deno.test("re-run: unchanged assets only move last_seen; last_ingest_time still updates", async () => {
  const db = memoryDb();
  const first = await run(db, { tv: showUpstream() });
  const before = asset(db, "e2")!;
  const second = await run(db, { tv: showUpstream() });
  assert.equal(second.stats.unchanged, 5);
  assert.equal(second.stats.new + second.stats.changed + second.stats.removed, 0);
  const after = asset(db, "e2")!;
  assert.notEqual(second.lastIngestTime, first.lastIngestTime);
  assert.equal(after.last_seen, second.lastIngestTime);
  assert.equal(after.first_seen, before.first_seen);
  assert.equal(after.updated_at, before.updated_at);
  const c = db.prepare("SELECT last_ingest_time FROM collections WHERE id = ?").get(TV) as {
    last_ingest_time: string;
  };
  assert.equal(c.last_ingest_time, second.lastIngestTime);
});

Deno.test("an unchanged full re-ingest rewrites no asset row: the collection's stamp moves", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const rows = () => JSON.stringify(db.prepare("SELECT * FROM assets ORDER BY rowid").all());
  const before = rows();
  const second = await run(db, { tv: showUpstream() });
  assert.equal(second.stats.unchanged, 5);
  assert.equal(rows(), before, "no asset row was written");
  const { assets } = listAssets(db, { collectionId: TV });
  assert.equal(assets.length, 5);
  for (const a of assets) assert.equal(a.lastSeen, second.lastIngestTime, a.externalId);
});

Deno.test("last seen stays exact for assets that stop following the stamp", async () => {
  const db = memoryDb();
  const first = await run(db, { tv: showUpstream() });
  const second = await run(db, { tv: showUpstream() });
  // e2 comes only as an invalid item (kept, not seen), e3 is gone (removed).
  const broken = showUpstream()
    .filter((a) => (a as { externalId: string }).externalId !== "e3")
    .map((a) =>
      (a as { externalId: string }).externalId === "e2" ? { ...(a as object), kind: "bogus" } : a
    );
  const third = await run(db, { tv: broken });
  assert.equal(third.stats.removed, 1);
  assert.equal(third.stats.invalid, 1);
  assert.notEqual(first.lastIngestTime, second.lastIngestTime);
  assert.equal(asset(db, "e2")!.last_seen, second.lastIngestTime, "held: seen by the second");
  assert.equal(asset(db, "e3")!.last_seen, second.lastIngestTime, "removed: seen by the second");
  assert.equal(asset(db, "e1")!.last_seen, third.lastIngestTime);
  // Still invalid, and still gone: neither moves.
  const fourth = await run(db, { tv: broken });
  assert.equal(asset(db, "e2")!.last_seen, second.lastIngestTime);
  assert.equal(asset(db, "e3")!.last_seen, second.lastIngestTime);
  assert.equal(asset(db, "e1")!.last_seen, fourth.lastIngestTime);
  // Valid again: e2 follows the stamp again (no rewrite needed later), e3 is restored.
  const fifth = await run(db, { tv: showUpstream() });
  assert.equal(fifth.stats.restored, 1);
  for (const id of ["e1", "e2", "e3"]) assert.equal(asset(db, id)!.last_seen, fifth.lastIngestTime);
  assert.equal(asset(db, "e2")!.seen_held, 0);
  const sixth = await run(db, { tv: showUpstream() });
  for (const id of ["e2", "e3"]) assert.equal(asset(db, id)!.last_seen, sixth.lastIngestTime);
  // A targeted ingest moves only its scope's assets.
  const season = await run(db, { tv: showUpstream() }, { filters: { title: "Alpha", season: 1 } });
  const alpha1 = listAssets(db, { collectionId: TV }).assets
    .filter((a) => a.seriesTitle === "Alpha" && a.season === 1);
  assert.ok(alpha1.length > 0);
  for (const a of alpha1) assert.equal(a.lastSeen, season.lastIngestTime, a.externalId);
  const others = listAssets(db, { collectionId: TV }).assets
    .filter((a) => !(a.seriesTitle === "Alpha" && a.season === 1));
  assert.ok(others.length > 0);
  for (const a of others) assert.equal(a.lastSeen, sixth.lastIngestTime, a.externalId);
});

Deno.test("changed: metadata change keeps the state, a file change resets it to new", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  db.exec("UPDATE assets SET state = 'probed'");
  const up = showUpstream();
  up[0] = ep("e1", "Alpha", 1, 1, { title: "Pilot" }); // metadata only
  up[1] = ep("e2", "Alpha", 1, 2, { size: 999_999, modified: "m2" }); // the file changed
  const result = await run(db, { tv: up });
  assert.equal(result.stats.changed, 2);
  assert.equal(result.stats.unchanged, 3);
  assert.equal(asset(db, "e1")!.title, "Pilot");
  assert.equal(asset(db, "e1")!.state, "probed");
  assert.equal(asset(db, "e2")!.state, "new");
  assert.equal(asset(db, "e2")!.size, 999_999);
  assert.equal(asset(db, "e3")!.state, "probed");
});

Deno.test("file ids joining markers are quiet; a real change in the same batch is not", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  db.exec("UPDATE assets SET state = 'probed'");
  const up: Record<string, unknown>[] = showUpstream().map((a) => ({
    ...(a as object),
    modified: "m1 parts=7:70",
  }));
  up[1] = { ...up[1], title: "Renamed" }; // changed besides its marker
  up[2] = { ...up[2], size: 5, modified: "m2 parts=7:70" }; // the file changed
  const client = () => fakeClient({ upstream: { tv: up }, batchSize: 5 });
  const dry = await run(db, {}, { client: client(), dryRun: true });
  const result = await run(db, {}, { client: client() });
  assert.deepEqual(dry.stats, result.stats);
  assert.deepEqual([result.stats.unchanged, result.stats.changed], [3, 2]);
  // Stored quietly: the marker with its ids, the state kept.
  for (const id of ["e1", "e4", "e5"]) {
    assert.equal(asset(db, id)!.modified, "m1 parts=7:70");
    assert.equal(asset(db, id)!.state, "probed");
  }
  assert.equal(asset(db, "e2")!.title, "Renamed");
  assert.equal(asset(db, "e3")!.size, 5);
  assert.equal(asset(db, "e3")!.state, "new");
  const again = await run(db, {}, { client: client() });
  assert.deepEqual([again.stats.unchanged, again.stats.changed], [5, 0]);
});

Deno.test("whitespace and Unicode noise in titles is normalised, not a change", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const up = showUpstream();
  up[0] = ep("e1", "  Alpha \t", 1, 1, {
    title: "Episode\u00a0 1 ",
    path: "/data/tv/Alpha/S1E1.mkv",
  });
  const result = await run(db, { tv: up });
  assert.equal(result.stats.unchanged, 5);
  assert.equal(asset(db, "e1")!.series_title, "Alpha");
});

Deno.test("removed (soft delete, full ingest only) and restored", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const gone = await run(db, {
    tv: showUpstream().filter((a) => (a as { externalId: string }).externalId !== "e3"),
  });
  assert.equal(gone.stats.removed, 1);
  assert.equal(gone.stats.unchanged, 4);
  const e3 = asset(db, "e3")!;
  assert.equal(e3.deleted_at, gone.lastIngestTime);
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM assets").get() as { n: number }).n, 5);
  const again = await run(db, {
    tv: showUpstream().filter((a) => (a as { externalId: string }).externalId !== "e3"),
  });
  assert.equal(again.stats.removed, 0, "an already removed asset is not removed twice");
  const back = await run(db, { tv: showUpstream() });
  assert.equal(back.stats.restored, 1);
  assert.equal(back.stats.unchanged, 4);
  assert.equal(asset(db, "e3")!.deleted_at, null);
  assert.equal(asset(db, "e3")!.last_seen, back.lastIngestTime);
});

for (const pushdown of [false, true]) {
  const label = pushdown ? "pushed down" : "host-side";
  Deno.test(`targeted scopes (${label}) never touch assets outside them`, async () => {
    const db = memoryDb();
    await run(db, { tv: showUpstream() });
    const snapshot = () =>
      JSON.stringify(
        db.prepare("SELECT * FROM assets WHERE NOT (series_title = 'Alpha' AND season = 2)")
          .all(),
      );
    const outside = snapshot();
    const requests: { collection: CollectionRef; filters: AssetFilters }[] = [];
    // Upstream lost e1 (same title, other season) and changed e4 (other title).
    const up = showUpstream().filter((a) => (a as { externalId: string }).externalId !== "e1");
    up[2] = ep("e4", "Beta", 1, 1, { title: "Changed" });
    const client = fakeClient({
      upstream: { tv: up },
      showFilters: pushdown ? ["title", "season", "episode"] : [],
      requests,
    });
    const result = await run(db, {}, { client, filters: { title: "alpha", season: 2 } });
    assert.equal(result.scope, "season");
    assert.deepEqual(result.stats, {
      discovered: 1,
      new: 0,
      changed: 0,
      unchanged: 1,
      removed: 0,
      rekeyed: 0,
      restored: 0,
      invalid: 0,
    });
    assert.deepEqual(
      requests[0].filters,
      pushdown ? { title: "alpha", season: 2 } : {},
    );
    assert.equal(snapshot(), outside, "assets outside the scope are untouched");
    assert.equal(asset(db, "e3")!.last_seen, result.lastIngestTime);
    assert.equal(asset(db, "e1")!.deleted_at, null, "a targeted ingest removes nothing");
  });
}

Deno.test("episode scope matches a multi-episode file's range", async () => {
  const db = memoryDb();
  const up = [ep("d1", "Gamma", 1, 1, { episodeEnd: 3 }), ep("d2", "Gamma", 1, 4)];
  const result = await run(db, { tv: up }, { filters: { title: "Gamma", season: 1, episode: 2 } });
  assert.equal(result.scope, "episode");
  assert.equal(result.stats.new, 1);
  assert.ok(asset(db, "d1"));
  assert.equal(asset(db, "d2"), undefined);
});

Deno.test("a scope that matches nothing is SCOPE_EMPTY naming what is missing", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const before = dump(db);
  await rejectsWith(
    run(db, { tv: showUpstream() }, { filters: { title: "Nope" } }),
    "SCOPE_EMPTY",
    /title 'Nope' not found in collection 'TV'/,
  );
  await rejectsWith(
    run(db, { tv: showUpstream() }, { filters: { title: "Alpha", season: 7 } }),
    "SCOPE_EMPTY",
    /season 7 of 'Alpha' not found/,
  );
  await rejectsWith(
    run(db, { tv: showUpstream() }, { filters: { title: "Alpha", season: 1, episode: 9 } }),
    "SCOPE_EMPTY",
    /episode 9 of 'Alpha' season 1 not found/,
  );
  const pushClient = fakeClient({
    upstream: { tv: showUpstream() },
    showFilters: ["title", "season", "episode"],
  });
  await rejectsWith(
    run(db, {}, { client: pushClient, filters: { title: "Alpha", season: 7 }, dryRun: true }),
    "SCOPE_EMPTY",
    /season 7 of 'Alpha'/,
  );
  assert.equal(dump(db), before);
});

Deno.test("invalid items are reported by id and counted; valid ones still land", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const up: unknown[] = [
    ...showUpstream().slice(0, 4),
    { externalId: "e5", kind: "episode", title: "x" }, // e5 now lacks seriesTitle
    { externalId: "bad-season", kind: "episode", title: "", seriesTitle: "Z", season: -1 },
    "not an object",
    { kind: "movie", title: "No id" },
    ep("e6", "Beta", 1, 3),
  ];
  const result = await run(db, { tv: up });
  assert.equal(result.stats.invalid, 4);
  assert.equal(result.stats.new, 1);
  assert.equal(result.stats.discovered, 9);
  assert.equal(result.stats.removed, 0, "an id that came back invalid is not removed");
  const ids = result.errors.map((e) => [e.kind, e.externalId]);
  assert.deepEqual(ids, [
    ["invalid", null],
    ["invalid", null],
    ["invalid", "bad-season"],
    ["invalid", "e5"],
  ]);
  assert.match(result.errors[2].message, /season/);
  assert.match(result.errors[3].message, /seriesTitle/);
  assert.ok(asset(db, "e6"));
  assert.equal(asset(db, "e5")!.deleted_at, null);
  assert.notEqual(asset(db, "e5")!.last_seen, result.lastIngestTime, "nor is it seen");
  assert.equal(asset(db, "e4")!.last_seen, result.lastIngestTime);
  assert.equal(asset(db, "bad-season"), undefined);
});

Deno.test("duplicate external ids are reported and the first one is kept", async () => {
  const db = memoryDb();
  const up = [ep("x1", "Alpha", 1, 1), ep("x1", "Alpha", 1, 2, { title: "Second" })];
  const result = await run(db, { tv: up });
  assert.equal(result.stats.new, 1);
  assert.equal(result.stats.invalid, 1);
  assert.equal(result.errors.length, 1);
  assert.equal(result.errors[0].kind, "duplicate");
  assert.equal(result.errors[0].externalId, "x1");
  assert.equal(asset(db, "x1")!.title, "Episode 1");
});

Deno.test("a repeated id is dropped wherever it comes, first import or not", async () => {
  // Repeats next to the first one, later in the same batch and in a later
  // batch: the first one is kept each time.
  const db = memoryDb();
  const many = (marker: string, title: (n: number) => string) =>
    Array.from(
      { length: 130 },
      (_, i) => ep(`x${i}`, "Alpha", 1, i + 1, { title: title(i), modified: marker }),
    );
  const withRepeats = (list: Record<string, unknown>[]) => {
    const out = [...list];
    out.splice(3, 0, { ...list[2], title: "Repeat next to it" });
    out.splice(90, 0, { ...list[5], title: "Repeat later in the batch" });
    out.push({ ...list[7], title: "Repeat in a later batch" });
    return out;
  };
  const client = (up: unknown[]) => fakeClient({ upstream: { tv: up }, batchSize: 100 });
  const first = await run(db, {}, { client: client(withRepeats(many("m1", (n) => `E${n}`))) });
  assert.deepEqual([first.stats.new, first.stats.invalid], [130, 3]);
  assert.deepEqual(first.errors.map((e) => [e.kind, e.externalId]), [
    ["duplicate", "x2"],
    ["duplicate", "x5"],
    ["duplicate", "x7"],
  ]);
  for (const id of ["x2", "x5", "x7"]) assert.equal(asset(db, id)!.title, `E${id.slice(1)}`);
  // Again, every marker gaining file ids (quiet) and one title changed: the
  // repeats' fields must not stand in for the first ones'.
  db.exec("UPDATE assets SET state = 'probed'");
  const up = many("m1 parts=7:70", (n) => n === 9 ? "Renamed" : `E${n}`);
  const again = await run(db, {}, { client: client(withRepeats(up)) });
  assert.deepEqual(
    [again.stats.unchanged, again.stats.changed, again.stats.new, again.stats.invalid],
    [129, 1, 0, 3],
  );
  for (const id of ["x2", "x5", "x7"]) {
    assert.equal(asset(db, id)!.title, `E${id.slice(1)}`);
    assert.equal(asset(db, id)!.modified, "m1 parts=7:70");
    assert.equal(asset(db, id)!.state, "probed");
  }
  assert.equal(asset(db, "x9")!.title, "Renamed");
  // Once more, unchanged: the first ones are staged narrow (their rows have
  // their fingerprints), and the repeats, which differ, are still dropped.
  const same = many("m1 parts=7:70", (n) => n === 9 ? "Renamed" : `E${n}`);
  const third = await run(db, {}, { client: client(withRepeats(same)) });
  assert.deepEqual(
    [third.stats.unchanged, third.stats.changed, third.stats.new, third.stats.invalid],
    [130, 0, 0, 3],
  );
  assert.deepEqual(third.errors.map((e) => [e.kind, e.externalId]), [
    ["duplicate", "x2"],
    ["duplicate", "x5"],
    ["duplicate", "x7"],
  ]);
  for (const id of ["x2", "x5", "x7"]) assert.equal(asset(db, id)!.title, `E${id.slice(1)}`);
});

Deno.test("importer failure midway leaves the database exactly as it was", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const before = dump(db);
  const up = [ep("n1", "New", 1, 1), ...showUpstream().slice(1), ep("n2", "New", 1, 2)];
  (up[1] as Record<string, unknown>).title = "Changed";
  const client = fakeClient({ upstream: { tv: up }, failAfterBatches: 2 });
  await rejectsWith(run(db, {}, { client }), "UNREACHABLE");
  assert.equal(dump(db), before);
});

Deno.test("a malformed stream (a batch that is not a list) fails without writing", async () => {
  const db = memoryDb();
  const before = dump(db);
  const client: IngestClient = {
    manifest: fakeClient({ upstream: {} }).manifest,
    async *fetchAssets() {
      yield [ep("a", "A", 1, 1)];
      yield { not: "a list" } as unknown as unknown[];
    },
  };
  await rejectsWith(run(db, {}, { client }), "MALFORMED_RESPONSE");
  assert.equal(dump(db), before);
});

Deno.test("onListed runs once the stream ended, before anything is written", async () => {
  const db = memoryDb();
  const calls: { batchesSeen: number; assets: number }[] = [];
  let batchesSeen = 0;
  const result = await run(db, { tv: showUpstream() }, {
    onProgress: () => batchesSeen++,
    onListed: () => {
      const n = db.prepare("SELECT count(*) AS n FROM assets").get() as { n: number };
      calls.push({ batchesSeen, assets: Number(n.n) });
    },
  });
  assert.equal(result.stats.new, 5);
  // After every progress report (the start, three batches of two, "saving"); nothing stored yet.
  assert.deepEqual(calls, [{ batchesSeen: 5, assets: 0 }]);
  assert.equal(asset(db, "e5")!.title, "Episode 2");
});

Deno.test("onListed is not called when the stream fails", async () => {
  const db = memoryDb();
  let called = 0;
  const client = fakeClient({ upstream: { tv: showUpstream() }, failAfterBatches: 1 });
  await rejectsWith(run(db, {}, { client, onListed: () => void called++ }), "UNREACHABLE");
  assert.equal(called, 0);
});

Deno.test("cancellation midway leaves the database untouched", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const before = dump(db);
  const controller = new AbortController();
  const up = showUpstream().map((a) => ({ ...(a as object), title: "Changed" }));
  const client = fakeClient({ upstream: { tv: up }, afterFirstBatch: () => controller.abort() });
  await rejectsWith(run(db, {}, { client, signal: controller.signal }), "CANCELLED");
  assert.equal(dump(db), before);
});

Deno.test("dry run reports the same statistics and writes nothing, not even last_ingest_time", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  const before = dump(db);
  const up = showUpstream().slice(1);
  up.push(ep("e9", "Beta", 2, 1));
  (up[0] as Record<string, unknown>).title = "Changed";
  const dry = await run(db, { tv: up }, { dryRun: true });
  assert.equal(dump(db), before);
  assert.equal(dry.dryRun, true);
  const previous = db.prepare("SELECT last_ingest_time FROM collections WHERE id = ?").get(TV) as {
    last_ingest_time: string;
  };
  assert.equal(dry.lastIngestTime, previous.last_ingest_time);
  const real = await run(db, { tv: up });
  assert.deepEqual(dry.stats, real.stats);
  assert.deepEqual(real.stats, {
    discovered: 5,
    new: 1,
    changed: 1,
    unchanged: 3,
    removed: 1,
    rekeyed: 0,
    restored: 0,
    invalid: 0,
  });
});

Deno.test("deterministic: same upstream in another order and batching gives the same catalog and JSON", async () => {
  const up: unknown[] = [
    ...showUpstream(),
    { externalId: "bad", kind: "episode" },
    "junk",
    ep("e1", "Alpha", 1, 1),
  ];
  const reordered = [...up.slice(0, 5).reverse(), ...up.slice(5)];
  const results = [];
  const tables = [];
  for (const [list, batchSize] of [[up, 2], [reordered, 3]] as const) {
    const db = memoryDb();
    const t = () => new Date("2024-05-05T00:00:00.000Z");
    const client = fakeClient({ upstream: { tv: list }, batchSize });
    results.push(await ingestCollection(db, { client, collection: TV, now: t }));
    tables.push(dump(db));
  }
  assert.deepEqual(ingestJson(results[0]), ingestJson(results[1]));
  assert.equal(tables[0], tables[1]);
});

Deno.test("full ingest needs sync enabled; targeted only ingestible; dry run checked alike", async () => {
  const db = memoryDb();
  db.exec(`UPDATE collections SET sync_enabled = 0 WHERE id = '${TV}'`);
  const up = { tv: showUpstream() };
  await rejectsWith(run(db, up), "NOT_INGESTIBLE", /not sync-enabled/);
  await rejectsWith(run(db, up, { dryRun: true }), "NOT_INGESTIBLE", /not sync-enabled/);
  const targeted = await run(db, up, { filters: { title: "Beta" } });
  assert.equal(targeted.stats.new, 2);
  db.exec(
    `UPDATE collections SET ingestible = 0, ingestible_reason = 'music library' WHERE id = '${TV}'`,
  );
  await rejectsWith(
    run(db, up, { filters: { title: "Beta" } }),
    "NOT_INGESTIBLE",
    /not ingestible: music library/,
  );
  await rejectsWith(run(db, up, { collection: "c-missing" }), "NOT_FOUND");
});

Deno.test("bad filters are USAGE errors saying which", () => {
  const cases: [AssetFilters, RegExp][] = [
    [{ season: 1 }, /--season needs --title/],
    [{ title: "A", episode: 1 }, /--episode needs --season/],
    [{ title: "A", season: -1 }, /--season must be a non-negative integer/],
    [{ title: "A", season: 1, episode: 1.5 }, /--episode must be a non-negative integer/],
    [{ title: "  " }, /--title needs a non-empty title/],
  ];
  for (const [filters, message] of cases) {
    assert.throws(() => validateFilters(filters), (e: unknown) => {
      assert.ok(e instanceof RetrovueError);
      assert.equal(e.code, "USAGE");
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("path mappings: longest prefix wins, at segment boundaries, Windows paths", () => {
  const maps = [
    { externalPrefix: "/data", localPrefix: "/mnt/data" },
    { externalPrefix: "/data/tv", localPrefix: "/srv/tv/" },
    { externalPrefix: "D:\\Media", localPrefix: "/mnt/media" },
  ];
  assert.equal(mapPath("/data/tv/a/b.mkv", maps), "/srv/tv/a/b.mkv");
  assert.equal(mapPath("/data/tvshows/b.mkv", maps), "/mnt/data/tvshows/b.mkv");
  assert.equal(mapPath("/data", maps), "/mnt/data");
  assert.equal(mapPath("/database/x", maps), null);
  assert.equal(mapPath("d:\\media\\Show\\e.mkv", maps), "/mnt/media/Show/e.mkv");
  assert.equal(mapPath("/other/x.mkv", maps), null);
  const n = normalizeAsset(
    { externalId: "m", kind: "movie", title: "M", parts: ["/data/a"] },
    maps,
  );
  assert.ok(n.ok);
  assert.equal(n.asset.path, "/data/a");
  assert.equal(n.asset.localPath, "/mnt/data/a");
});

Deno.test("a changed path mapping updates local paths on the next ingest", async () => {
  const db = memoryDb();
  await run(db, { tv: showUpstream() });
  db.exec(`UPDATE path_mappings SET local_prefix = '/new/tv' WHERE collection_id = '${TV}'`);
  const result = await run(db, { tv: showUpstream() });
  assert.equal(result.stats.changed, 5);
  assert.equal(asset(db, "e1")!.local_path, "/new/tv/Alpha/S1E1.mkv");
});

Deno.test("source ingest: each collection in its own transaction; partial on failure", async () => {
  const db = memoryDb();
  const up = { tv: showUpstream(), movies: [movie("m1", "Heat")] };
  const ok = await ingestSource(db, { client: fakeClient({ upstream: up }), source: SOURCE });
  assert.equal(ok.status, "ok");
  assert.deepEqual(ok.collections.map((c) => c.collectionName), ["Movies", "TV"]);
  const before = dump(db);
  // Movies now fails upstream; TV changes.
  const up2 = { tv: [...showUpstream(), ep("e9", "Beta", 3, 1)] };
  const partial = await ingestSource(db, { client: fakeClient({ upstream: up2 }), source: SOURCE });
  assert.equal(partial.status, "partial");
  const [movies, tv] = partial.collections;
  assert.equal(movies.status, "error");
  assert.equal(movies.status === "error" && movies.error.code, "COLLECTION_NOT_FOUND");
  assert.equal(tv.status === "ok" && tv.stats.new, 1);
  assert.ok(asset(db, "e9"));
  const m1 = asset(db, "m1", MOVIES)!;
  assert.equal(m1.deleted_at, null);
  assert.notEqual(dump(db), before);
  const all = await ingestSource(db, { client: fakeClient({ upstream: {} }), source: SOURCE });
  assert.equal(all.status, "error");
});

Deno.test("source ingest cancelled in its second collection: the first stays written, and says so", async () => {
  const db = memoryDb();
  const controller = new AbortController();
  const up = { tv: showUpstream(), movies: [movie("m1", "Heat")] };
  const inner = fakeClient({ upstream: up });
  const client: IngestClient = {
    manifest: inner.manifest,
    async *fetchAssets(request, options) {
      // Movies is ingested first; TV is stopped after its first batch.
      for await (const batch of inner.fetchAssets(request, options)) {
        yield batch;
        if (request.collection.externalId === "tv") controller.abort();
      }
    },
  };
  const e = await ingestSource(db, { client, source: SOURCE, signal: controller.signal }).then(
    () => assert.fail("the cancel was not reported"),
    (error) => error as RetrovueError,
  );
  assert.equal(e.code, "CANCELLED");
  assert.match(e.message, /during collection 'TV', which was not written; 'Movies' had been/);
  assert.deepEqual(e.details?.ingested, [{ collectionId: MOVIES, collectionName: "Movies" }]);
  assert.ok(asset(db, "m1", MOVIES), "Movies is written");
  assert.equal(asset(db, "e1"), undefined, "TV is not");
});

/**
 * Runs `fn` with a set-up catalog in a file (`db`, opened with `busyTimeoutMs`
 * when given) and a second connection to it (`other`, another process's),
 * closing both and removing the file afterwards.
 */
async function withFileCatalog(
  options: { busyTimeoutMs?: number },
  fn: (db: DatabaseSync, other: DatabaseSync) => Promise<void>,
): Promise<void> {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/catalog.db`;
  const db = openDatabase(path, options);
  let other: DatabaseSync | undefined;
  try {
    setup(db);
    other = openDatabase(path);
    await fn(db, other);
  } finally {
    other?.close();
    db.close();
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("file database: a held write lock makes the ingest DB_BUSY and changes nothing", async () => {
  await withFileCatalog({ busyTimeoutMs: 50 }, async (db, other) => {
    other.exec("BEGIN IMMEDIATE");
    try {
      await rejectsWith(run(db, { tv: showUpstream() }), "DB_BUSY", /locked/);
      // A reader is never blocked by the writer.
      assert.equal(
        (db.prepare("SELECT COUNT(*) AS n FROM collections").get() as { n: number }).n,
        2,
      );
    } finally {
      other.exec("ROLLBACK");
    }
    assert.equal(asset(db, "e1"), undefined);
  });
});

Deno.test("file database: a collection changed by another ingest mid-stream is a CONFLICT", async () => {
  await withFileCatalog({}, async (db, other) => {
    await run(db, { tv: showUpstream() });
    const changedUp = showUpstream().map((a) => ({ ...(a as object), title: "Other" }));
    // Another process ingests a different collection mid-stream: fine.
    const client1 = fakeClient({
      upstream: { tv: showUpstream() },
      afterFirstBatch: () => {
        other.exec(`UPDATE collections SET last_ingest_time = 'x' WHERE id = '${MOVIES}'`);
      },
    });
    const fine = await run(db, {}, { client: client1 });
    assert.equal(fine.stats.unchanged, 5);
    // Another process changes this collection's assets mid-stream, after the
    // batch was matched: the apply matches the stage again (the catalog
    // moved), finds the same plan, and writes over that change.
    const client2 = fakeClient({
      upstream: { tv: changedUp },
      afterFirstBatch: () => {
        other.exec(`UPDATE assets SET fingerprint = 'zzz' WHERE external_id = 'e5'`);
      },
    });
    const after = await run(db, {}, { client: client2 });
    assert.equal(after.stats.changed, 5);
    assert.equal(asset(db, "e5")?.title, "Other");
    // A change that makes the plan wrong (an asset it matched as live is
    // removed meanwhile) is a CONFLICT, and nothing is written.
    let before = "";
    const client3 = fakeClient({
      upstream: { tv: showUpstream() },
      afterFirstBatch: () => {
        other.exec(`UPDATE assets SET deleted_at = 'x', updated_at = 'x' WHERE external_id = 'e1'`);
        before = dump(other);
      },
    });
    await rejectsWith(run(db, {}, { client: client3 }), "CONFLICT");
    assert.equal(dump(db), before);
  });
});

Deno.test("file database: an unchanged asset another process changes after it was staged is a CONFLICT", async () => {
  await withFileCatalog({}, async (db, other) => {
    await run(db, { tv: showUpstream() });
    // e1 comes in the first batch, unchanged: staged narrow (its row was
    // matched as it was staged). The other process changes only its
    // fingerprint, so nothing but matching it again shows the plan is wrong.
    let before = "";
    const client = fakeClient({
      upstream: { tv: showUpstream() },
      afterFirstBatch: () => {
        other.exec(`UPDATE assets SET fingerprint = 'zzz' WHERE external_id = 'e1'`);
        before = dump(other);
      },
    });
    await rejectsWith(run(db, {}, { client }), "CONFLICT");
    assert.equal(dump(db), before);
  });
});

/**
 * Commits, from another connection, an asset of TV under an external id the
 * show upstream lists (`e5`): what a concurrent ingest would do.
 */
function addRivalAsset(other: DatabaseSync): void {
  other.prepare(
    `INSERT INTO assets (id, collection_id, external_id, kind, title, fingerprint,
       file_fingerprint, first_seen, last_seen, updated_at)
     VALUES ('a-other', ?, 'e5', 'movie', 'X', 'f', 'f', 'x', 'x', 'x')`,
  ).run(TV);
}

Deno.test("file database: a first import whose collection gains an asset mid-stream is a CONFLICT", async () => {
  await withFileCatalog({}, async (db, other) => {
    let before = "";
    const client = fakeClient({
      upstream: { tv: showUpstream() },
      afterFirstBatch: () => {
        addRivalAsset(other);
        before = dump(other);
      },
    });
    await rejectsWith(run(db, {}, { client }), "CONFLICT");
    assert.equal(dump(db), before);
  });
});

Deno.test("file database: a first import whose collection gains an asset before the stream starts is a CONFLICT", async () => {
  await withFileCatalog({}, async (db, other) => {
    const inner = fakeClient({ upstream: { tv: showUpstream() } });
    let before = "";
    let committed = false;
    const client: IngestClient = {
      get manifest() {
        if (!committed) {
          committed = true;
          addRivalAsset(other);
          before = dump(other);
        }
        return inner.manifest;
      },
      fetchAssets: (request, options) => inner.fetchAssets(request, options),
    };
    await rejectsWith(run(db, {}, { client }), "CONFLICT");
    assert.ok(committed);
    assert.equal(dump(db), before);
  });
});

Deno.test("file database: a collection changed between the diff and the apply is a CONFLICT", async () => {
  await withFileCatalog({}, async (db, other) => {
    await run(db, { tv: showUpstream() });
    const classifier = createClassifier(db, { collectionId: TV, mappings: [], filters: {} });
    try {
      for (const raw of showUpstream()) classifier.add({ ...(raw as object), title: "Other" });
      const version = dataVersion(db);
      const plan = classifier.finish();
      assert.equal(plan.stats.changed, 5);
      other.exec(
        `UPDATE assets SET fingerprint = 'zzz', updated_at = 'x' WHERE external_id = 'e5'`,
      );
      const before = dump(other);
      assert.throws(
        () => applyPlan(db, plan, { dataVersion: version, now: "2030-01-01T00:00:00.000Z" }),
        (e: unknown) => e instanceof RetrovueError && e.code === "CONFLICT",
      );
      assert.equal(dump(db), before);
      // Another connection's commit that leaves the collection as it was is no conflict.
      other.exec(`UPDATE collections SET last_ingest_time = 'y' WHERE id = '${MOVIES}'`);
      const again = createClassifier(db, { collectionId: TV, mappings: [], filters: {} });
      try {
        for (const raw of showUpstream()) again.add(raw);
        const v = dataVersion(db);
        const fresh = again.finish();
        other.exec(`UPDATE collections SET last_ingest_time = 'z' WHERE id = '${MOVIES}'`);
        applyPlan(db, fresh, { dataVersion: v, now: "2030-01-01T00:00:00.000Z" });
        assert.equal(asset(db, "e1")?.last_seen, "2030-01-01T00:00:00.000Z");
      } finally {
        again.close();
      }
    } finally {
      classifier.close();
    }
  });
});

Deno.test("an asset carrying its source's secret in disguise is invalid and never stored", async () => {
  const token = "xyzAB12cd34EF56gh78i";
  const base64 = (text: string) => btoa(text);
  const reversed = Array.from(token).reverse().join("");
  const reason = "carries a credential of its source (not stored)";
  const db = memoryDb();
  const up: unknown[] = [
    ...showUpstream(),
    ep("n1", "Alpha", 3, 1, { title: base64(`plex:${token}`) }),
    ep("n2", "Alpha", 3, 2, { path: `/data/tv/Alpha/${reversed}.mkv` }),
    ep(`n3-${token}`, "Alpha", 3, 3),
    ep("n4", "Alpha", 3, 4, { externalIds: { tvdb: "12", [hex(token)]: "1" } }),
    // A long id whose cut for the report would fall inside the token.
    ep(`${"x".repeat(190)}?t=${token}`, "Alpha", 3, 5),
  ];
  const first = await run(db, { tv: up }, { secrets: [token] });
  assert.equal(first.stats.new, 5);
  assert.equal(first.stats.invalid, 5);
  assert.deepEqual(
    first.errors.map((e) => [e.kind, e.externalId, e.message]),
    [
      ["invalid", "n1", reason],
      ["invalid", "n2", reason],
      ["invalid", "n3-***", reason],
      ["invalid", "n4", reason],
      ["invalid", `${"x".repeat(190)}?t=***`, reason],
    ],
  );
  for (const id of ["n1", "n2", "n4"]) assert.equal(asset(db, id), undefined);

  // The existing e1 comes back carrying the token: it is kept, not removed or updated.
  const before = asset(db, "e1")!;
  const again = showUpstream().filter((a) => (a as { externalId: string }).externalId !== "e3");
  again[0] = ep("e1", "Alpha", 1, 1, { path: `/data/tv/Alpha/S1E1.mkv?X-Plex-Token=${token}` });
  const second = await run(db, { tv: again }, { secrets: [token] });
  assert.equal(second.stats.invalid, 1);
  assert.equal(second.stats.removed, 1, "only e3, which is really gone");
  assert.equal(second.stats.unchanged, 3);
  assert.deepEqual(second.errors, [{ kind: "invalid", externalId: "e1", message: reason }]);
  // Kept as it was, last_seen included; only held back from the collection's seen stamp.
  assert.deepEqual({ ...asset(db, "e1"), seen_held: 0 }, before);
  assert.equal(asset(db, "e1")!.seen_held, 1);
  assert.notEqual(asset(db, "e3")!.deleted_at, null);

  const text = [dump(db), JSON.stringify([first, second]), JSON.stringify(ingestJson(first))]
    .join("\n");
  for (
    const form of [token, token.toLowerCase(), reversed, hex(token), base64(token).slice(0, 26)]
  ) {
    assert.ok(!text.toLowerCase().includes(form.toLowerCase()), form);
  }
  assert.ok(!text.includes(base64(`plex:${token}`).slice(8, 30)));
  assert.ok(!carriesSecret(text, [token]));

  // Without the source's secrets the same items would have landed (the check is what stopped them).
  const open = memoryDb();
  const unchecked = await run(open, { tv: up });
  assert.equal(unchecked.stats.new, 10);
  assert.ok(dump(open).includes(token));
});

function hex(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test("the apply gives the page cache it widened back, and leaves a larger one alone", async () => {
  const db = memoryDb();
  const cacheSize = () =>
    Number((db.prepare("PRAGMA cache_size").get() as { cache_size: number }).cache_size);
  const before = cacheSize();
  await run(db, { tv: showUpstream() });
  assert.equal(cacheSize(), before);
  db.exec("PRAGMA cache_size = -100000");
  const again = await run(db, {
    tv: showUpstream().map((a) => ({ ...(a as object), title: "X" })),
  });
  assert.equal(again.stats.changed, 5);
  assert.equal(cacheSize(), -100000);
});

Deno.test("a first import and a run of changed assets only still stamp every live asset as seen", async () => {
  const db = memoryDb();
  const first = await run(db, { tv: showUpstream() });
  const stamps = () =>
    db.prepare("SELECT DISTINCT last_seen FROM assets WHERE deleted_at IS NULL").all()
      .map((r) => r.last_seen);
  assert.deepEqual(stamps(), [first.lastIngestTime]);
  const up = showUpstream().map((a) => ({ ...(a as object), title: "Renamed" }));
  const second = await run(db, { tv: [...up, ep("e6", "Gamma", 1, 1)] });
  assert.equal(second.stats.changed, 5);
  assert.equal(second.stats.new, 1);
  assert.equal(second.stats.unchanged, 0);
  assert.deepEqual(stamps(), [second.lastIngestTime]);
});
