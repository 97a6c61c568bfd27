/**
 * The removal guard (issue #14): a full ingest that would remove too much of
 * a collection is held back, reported with a sample, and leaves the catalog
 * byte-for-byte unchanged.
 *
 * In process with a fake client (the thresholds, the verdict, dry runs,
 * targeted ingests, `ingestSource`, the schema migration), then through the
 * CLI against the `fake` test importer, the filesystem importer (a missing
 * root, an empty one standing for an unmounted mount point) and the Plex mock
 * (a library that comes back empty).
 */

import assert from "node:assert/strict";
import { ingestJson } from "../cli/ingest_commands.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { getCollection, setMaxRemovalPercent } from "../core/catalog.ts";
import type { AssetFilters, FilterName } from "../core/contract.ts";
import { migrate, MIGRATIONS, openDatabase, openMemoryDatabase } from "../core/db.ts";
import { ERROR_CODES, RetrovueError } from "../core/errors.ts";
import {
  type IngestClient,
  ingestCollection,
  type IngestOptions,
  ingestSource,
} from "../ingest/pipeline.ts";
import {
  DEFAULT_MAX_REMOVAL_PERCENT,
  REMOVAL_GUARD_MIN_ASSETS,
  removalGuardReason,
} from "../ingest/removal_guard.ts";
import { type CliResult, dumpDb, FAKE_PLUGINS, runCli, tempWorld } from "./_cli.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";
import { startPlexMock } from "./mocks/plex_server.ts";

// ------------------------------------------------------------ in process

const SOURCE = "fake-00000001";
const TV = "c-00000000aa";
const MOVIES = "c-00000000bb";

function memoryDb(): DatabaseSync {
  const db = openMemoryDatabase();
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
  return db;
}

type Upstream = Record<string, unknown[]>;

/** A client streaming `upstream[collection]`, filtering like a pushing-down importer. */
function fakeClient(upstream: Upstream, o: { warn?: string[] } = {}): IngestClient {
  const filters: FilterName[] = ["title", "season", "episode"];
  return {
    manifest: {
      typeId: "fake",
      displayName: "Fake",
      params: [],
      capabilities: { filters: { shows: filters, movies: ["title"] } },
    },
    async *fetchAssets(request, options) {
      const all = upstream[request.collection.externalId];
      if (!all) throw new RetrovueError("COLLECTION_NOT_FOUND", "no such collection upstream");
      for (const message of o.warn ?? []) options?.onNotice?.({ kind: "warn", message });
      const f: AssetFilters = request.filters;
      const selected = all.filter((a) => {
        const r = a as Record<string, unknown>;
        const own = String((r.kind === "episode" ? r.seriesTitle : r.title) ?? "");
        if (f.title !== undefined && own.toLowerCase() !== f.title.toLowerCase()) return false;
        if (f.season !== undefined && r.season !== f.season) return false;
        return true;
      });
      for (let i = 0; i < selected.length; i += 7) {
        await Promise.resolve();
        yield selected.slice(i, i + 7);
      }
    },
  };
}

function ep(n: number, series = "Alpha"): Record<string, unknown> {
  const id = `e${String(n).padStart(3, "0")}`;
  return {
    externalId: id,
    kind: "episode",
    title: `Episode ${n}`,
    seriesTitle: series,
    season: 1,
    episode: n,
    path: `/data/tv/${series}/S01E${n}.mkv`,
    size: 1000 + n,
    modified: "m1",
  };
}

/** Episodes 1..n. */
function episodes(n: number, series = "Alpha"): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ep(i + 1, series));
}

function movie(id: string, title: string): Record<string, unknown> {
  return { externalId: id, kind: "movie", title, year: 1999, path: `/movies/${title}.mkv` };
}

let tick = 0;
function clock(): () => Date {
  return () => new Date(Date.UTC(2024, 0, 2, 0, 0, tick++));
}

function run(
  db: DatabaseSync,
  upstream: Upstream,
  extra: Partial<IngestOptions> = {},
) {
  return ingestCollection(db, {
    client: fakeClient(upstream),
    collection: TV,
    now: clock(),
    ...extra,
  });
}

/** Every row of every table, in rowid order. */
function dump(db: DatabaseSync): string {
  const tables = ["sources", "collections", "path_mappings", "assets", "schema_migrations"];
  return JSON.stringify(
    tables.map((t) => db.prepare(`SELECT rowid AS _rowid, * FROM ${t} ORDER BY rowid`).all()),
  );
}

function live(db: DatabaseSync, collection = TV): number {
  const row = db.prepare(
    "SELECT COUNT(*) AS n FROM assets WHERE collection_id = ? AND deleted_at IS NULL",
  ).get(collection) as { n: number };
  return Number(row.n);
}

Deno.test("guard thresholds: more than the limit AND more than 20; an empty listing always", () => {
  assert.equal(DEFAULT_MAX_REMOVAL_PERCENT, 50);
  assert.equal(REMOVAL_GUARD_MIN_ASSETS, 20);
  const reason = (removals: number, active: number, listed: number, max = 50) =>
    removalGuardReason({ removals, active, listed }, max);
  assert.equal(reason(30, 50, 20), "threshold", "60% of 50");
  assert.equal(reason(25, 50, 25), null, "exactly 50% is not more than 50%");
  assert.equal(reason(26, 50, 24), "threshold", "52% of 50");
  assert.equal(reason(20, 30, 10), null, "67%, but only 20 assets");
  assert.equal(reason(21, 30, 9), "threshold", "70% and 21 assets");
  assert.equal(reason(24, 60, 36), null, "40% of 60");
  assert.equal(reason(6, 10, 4), null, "60% of 10");
  assert.equal(reason(3, 3, 0), "empty_listing", "an empty listing counts at any size");
  assert.equal(reason(3, 3, 0, 100), "empty_listing", "even with a limit of 100%");
  assert.equal(reason(0, 0, 0), null, "an empty listing of an empty collection is fine");
  assert.equal(reason(30, 50, 20, 70), null, "60% under a 70% limit");
  assert.equal(reason(21, 1000, 979, 0), "threshold", "a 0% limit holds anything over 20");
  assert.ok(ERROR_CODES.includes("REMOVAL_GUARD"));
});

Deno.test("a 60% removal of 50 assets is held back: partial, a sample, nothing written", async () => {
  const db = memoryDb();
  await run(db, { tv: episodes(50) });
  const before = dump(db);
  const kept = episodes(50).slice(30); // e031..e050 stay; e001..e030 would go
  const result = await run(db, { tv: kept });
  assert.equal(dump(db), before, "not a row changed, not even last_ingest_time");
  assert.equal(result.status, "partial");
  assert.equal(result.stats.removed, 30, "the stats say what the ingest would have done");
  assert.equal(result.stats.unchanged, 20);
  const g = result.removalGuard!;
  assert.equal(g.code, "REMOVAL_GUARD");
  assert.equal(g.held, true);
  assert.equal(g.reason, "threshold");
  assert.equal(g.wouldRemove, 30);
  assert.equal(g.active, 50);
  assert.equal(g.maxRemovalPercent, 50);
  assert.deepEqual(
    g.sample.map((a) => a.externalId),
    ["e001", "e002", "e003", "e004", "e005", "e006", "e007", "e008", "e009", "e010"],
  );
  const first = db.prepare("SELECT id FROM assets WHERE external_id = 'e001'").get() as {
    id: string;
  };
  assert.deepEqual(g.sample[0], {
    id: first.id,
    externalId: "e001",
    title: "Episode 1",
    seriesTitle: "Alpha",
    season: 1,
    episode: 1,
  });
  assert.match(
    g.message,
    /would remove 30 of its 50 active assets \(60%, more than its limit of 50%\)/,
  );
  assert.match(g.message, /nothing was written.*--allow-removal.*--max-removal PCT/);
  const previous = db.prepare("SELECT last_ingest_time FROM collections WHERE id = ?").get(TV) as {
    last_ingest_time: string;
  };
  assert.equal(result.lastIngestTime, previous.last_ingest_time);

  const doc = ingestJson(result);
  assert.equal(doc.status, "partial");
  assert.deepEqual(Object.keys(doc.removalGuard as object), [
    "code",
    "held",
    "reason",
    "message",
    "wouldRemove",
    "active",
    "maxRemovalPercent",
    "sample",
    "warnings",
  ]);

  // The same run again is held again: the guard is not a one-off prompt.
  const again = await run(db, { tv: kept });
  assert.equal(again.status, "partial");
  assert.equal(dump(db), before);
  assert.equal(live(db), 50);
});

Deno.test("below the guard, removals apply: 40% of 60, 60% of 10, exactly 50% of 50", async () => {
  const cases: [number, number][] = [[60, 24], [10, 6], [50, 25]];
  for (const [total, gone] of cases) {
    const db = memoryDb();
    await run(db, { tv: episodes(total) });
    const result = await run(db, { tv: episodes(total).slice(gone) });
    assert.equal(result.status, "ok", `${gone} of ${total}`);
    assert.equal(result.removalGuard, null, `${gone} of ${total}`);
    assert.equal(result.stats.removed, gone);
    assert.equal(live(db), total - gone);
  }
});

Deno.test("an empty listing of a non-empty collection is held back at any size, with the importer's warnings", async () => {
  const db = memoryDb();
  await run(db, { tv: episodes(3) });
  const before = dump(db);
  const warning = "root folder /mnt/tv is empty; if a drive or network share should be mounted";
  const result = await run(db, { tv: [] }, { client: fakeClient({ tv: [] }, { warn: [warning] }) });
  assert.equal(dump(db), before);
  assert.equal(result.status, "partial");
  const g = result.removalGuard!;
  assert.equal(g.reason, "empty_listing");
  assert.equal(g.wouldRemove, 3);
  assert.equal(g.active, 3);
  assert.deepEqual(g.warnings, [warning]);
  assert.match(g.message, /the importer listed no assets for collection 'TV', which holds 3/);
  assert.doesNotMatch(g.message, /--max-removal/, "a higher limit would not help here");

  // Only invalid items is "no valid assets": still an empty listing for the guard.
  const broken = episodes(3).map((a, i) => ({ ...a, externalId: `x${i}`, kind: "nonsense" }));
  const invalid = await run(db, { tv: broken });
  assert.equal(invalid.removalGuard?.reason, "empty_listing");
  assert.match(invalid.removalGuard!.message, /listed no valid assets/);
  assert.equal(dump(db), before);

  // A collection that never held anything may come back empty.
  const movies = await run(db, { movies: [] }, { collection: MOVIES });
  assert.equal(movies.status, "ok");
  assert.equal(movies.removalGuard, null);
});

Deno.test("allowRemoval lets it through; the verdict stays, not held", async () => {
  const db = memoryDb();
  await run(db, { tv: episodes(50) });
  const result = await run(db, { tv: episodes(50).slice(30) }, { allowRemoval: true });
  assert.equal(result.status, "ok");
  assert.equal(result.removalGuard?.held, false);
  assert.match(result.removalGuard!.message, /applied anyway/);
  assert.equal(live(db), 20);
  assert.notEqual(result.lastIngestTime, null);
  const empty = await run(db, { tv: [] }, { allowRemoval: true });
  assert.equal(empty.status, "ok");
  assert.equal(live(db), 0, "an operator who really emptied the library can say so");
});

Deno.test("the per-collection limit replaces 50%: 70% lets 60% through, 0% holds 21 of 100", async () => {
  const db = memoryDb();
  await run(db, { tv: episodes(50) });
  assert.equal(getCollection(db, TV)!.maxRemovalPercent, null);
  assert.equal(setMaxRemovalPercent(db, TV, { percent: 70 }), true);
  assert.equal(setMaxRemovalPercent(db, TV, { percent: 70 }), false, "the same value is no change");
  assert.equal(getCollection(db, TV)!.maxRemovalPercent, 70);
  const through = await run(db, { tv: episodes(50).slice(30) });
  assert.equal(through.status, "ok");
  assert.equal(live(db), 20);

  const db2 = memoryDb();
  await run(db2, { tv: episodes(100) });
  setMaxRemovalPercent(db2, TV, { percent: 0 });
  const held = await run(db2, { tv: episodes(100).slice(21) });
  assert.equal(held.status, "partial");
  assert.equal(held.removalGuard?.maxRemovalPercent, 0);
  const ok = await run(db2, { tv: episodes(100).slice(20) });
  assert.equal(ok.status, "ok", "20 assets never trip the percentage");
  setMaxRemovalPercent(db2, TV, { percent: null });
  assert.equal(getCollection(db2, TV)!.maxRemovalPercent, null);
  for (const bad of [-1, 101, 12.5]) {
    assert.throws(() => setMaxRemovalPercent(db2, TV, { percent: bad }), /0–100 percent/);
  }
  assert.throws(() => db2.exec(`UPDATE collections SET max_removal_pct = 101`), /CHECK/);
});

Deno.test("a dry run shows the same verdict and writes nothing", async () => {
  const db = memoryDb();
  await run(db, { tv: episodes(50) });
  const before = dump(db);
  const dry = await run(db, { tv: episodes(50).slice(30) }, { dryRun: true });
  const real = await run(db, { tv: episodes(50).slice(30) });
  assert.equal(dump(db), before);
  assert.equal(dry.status, "partial");
  assert.equal(dry.dryRun, true);
  assert.deepEqual(dry.removalGuard, real.removalGuard);
  const allowed = await run(db, { tv: episodes(50).slice(30) }, {
    dryRun: true,
    allowRemoval: true,
  });
  assert.equal(allowed.status, "ok");
  assert.equal(allowed.removalGuard?.held, false);
  assert.equal(dump(db), before);
});

Deno.test("targeted ingests are never guarded (they never remove)", async () => {
  const db = memoryDb();
  await run(db, {
    tv: [...episodes(40), ...episodes(2, "Beta").map((a, i) => ({ ...a, externalId: `b${i}` }))],
  });
  // Upstream lost 39 of Alpha's 40 episodes.
  const up = { tv: episodes(40).slice(39) };
  for (const filters of [{ title: "Alpha" }, { title: "Alpha", season: 1 }]) {
    const result = await run(db, up, { filters });
    assert.equal(result.status, "ok");
    assert.equal(result.removalGuard, null);
    assert.equal(result.stats.removed, 0);
  }
  assert.equal(live(db), 42);
});

Deno.test("ingestSource: a held collection is reported, the others still ingest (partial)", async () => {
  const db = memoryDb();
  const movies = [movie("m1", "Heat"), movie("m2", "Alien")];
  await ingestSource(db, {
    client: fakeClient({ tv: episodes(50), movies }),
    source: SOURCE,
    now: clock(),
  });
  const tvBefore = JSON.stringify(
    db.prepare("SELECT * FROM assets WHERE collection_id = ? ORDER BY id").all(TV),
  );
  const tvRow = JSON.stringify(db.prepare("SELECT * FROM collections WHERE id = ?").get(TV));
  const result = await ingestSource(db, {
    client: fakeClient({ tv: episodes(50).slice(40), movies: [...movies, movie("m3", "Ran")] }),
    source: SOURCE,
    now: clock(),
  });
  assert.equal(result.status, "partial");
  const [m, tv] = result.collections;
  assert.equal(m.status, "ok");
  assert.equal(m.status === "ok" && m.stats.new, 1);
  assert.equal(tv.status, "partial");
  assert.equal(tv.status === "partial" && tv.removalGuard?.wouldRemove, 40);
  assert.equal(live(db, MOVIES), 3, "the fine collection was applied");
  assert.equal(
    JSON.stringify(db.prepare("SELECT * FROM assets WHERE collection_id = ? ORDER BY id").all(TV)),
    tvBefore,
  );
  assert.equal(JSON.stringify(db.prepare("SELECT * FROM collections WHERE id = ?").get(TV)), tvRow);

  // Every collection held back is still partial (not an error), and allowRemoval passes all.
  const allHeld = await ingestSource(db, {
    client: fakeClient({ tv: [], movies: [] }),
    source: SOURCE,
    now: clock(),
  });
  assert.equal(allHeld.status, "partial");
  assert.deepEqual(allHeld.collections.map((c) => c.status), ["partial", "partial"]);
  const allowed = await ingestSource(db, {
    client: fakeClient({ tv: [], movies: [] }),
    source: SOURCE,
    allowRemoval: true,
    now: clock(),
  });
  assert.equal(allowed.status, "ok");
  assert.equal(live(db, TV) + live(db, MOVIES), 0);
});

Deno.test("migration 2 adds the removal limit to an old catalog and keeps its data", () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-guard-" });
  try {
    const path = join(dir, "old.db");
    // A version-1 catalog, as the previous release wrote it.
    const v1 = new DatabaseSync(path);
    migrate(v1, { migrations: MIGRATIONS.slice(0, 1) });
    const t = "2024-01-01T00:00:00.000Z";
    v1.prepare(
      "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES ('s', 'S', 'fake', '{}', ?, ?)",
    ).run(t, t);
    v1.prepare(
      `INSERT INTO collections (id, source_id, external_id, name, kind, created_at, updated_at)
       VALUES ('c-1', 's', 'x', 'X', 'shows', ?, ?)`,
    ).run(t, t);
    v1.close();

    // A reading open upgrades it first: the limit reads as the default.
    const ro = openDatabase(path, { readOnly: true });
    try {
      assert.equal(getCollection(ro, "c-1")!.maxRemovalPercent, null);
    } finally {
      ro.close();
    }
    const db = openDatabase(path);
    try {
      const versions = db.prepare("SELECT version FROM schema_migrations ORDER BY version").all()
        .map((r) => Number(r.version));
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
      const c = getCollection(db, "c-1")!;
      assert.equal(c.name, "X");
      assert.equal(c.maxRemovalPercent, null);
      setMaxRemovalPercent(db, "c-1", { percent: 30 });
      assert.equal(getCollection(db, "c-1")!.maxRemovalPercent, 30);
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

// ------------------------------------------------------------------ CLI

function cliEp(n: number) {
  return { ...ep(n), season: 1 };
}

function fakeState(tv: unknown[], mv: unknown[] = [movie("m1", "Heat")]) {
  return {
    collections: [
      { externalId: "tv", name: "TV", kind: "shows" },
      { externalId: "mv", name: "Movies", kind: "movies" },
    ],
    assets: { tv, mv },
    batchSize: 10,
  };
}

function expectCode(r: CliResult, code: number, what: string): CliResult {
  assert.equal(
    r.code,
    code,
    `${what}: expected exit ${code}, got ${r.code}: ${r.stderr}${r.stdout}`,
  );
  return r;
}

Deno.test("cli: a 60% removal exits 2 (partial, REMOVAL_GUARD) in text and --json, catalog unchanged; --dry-run, --allow-removal, --max-removal", async () => {
  using world = tempWorld();
  const state = world.writeJson(
    "state.json",
    fakeState(Array.from({ length: 50 }, (_, i) => cliEp(i + 1))),
  );
  const cli = (args: string[]) =>
    runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, dataHome: world.dir });
  expectCode(
    await cli([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Home",
      "--state-file",
      state,
      "--discover",
    ]),
    0,
    "source add",
  );
  expectCode(await cli(["collection", "update", "TV", "--sync-enable"]), 0, "sync");
  expectCode(await cli(["collection", "ingest", "TV"]), 0, "first ingest");

  const kept = Array.from({ length: 20 }, (_, i) => cliEp(i + 31));
  world.writeJson("state.json", fakeState(kept));
  const before = dumpDb(world.db);

  const j = expectCode(await cli(["collection", "ingest", "TV", "--json"]), 2, "guarded --json");
  assert.equal(dumpDb(world.db), before, "byte for byte: not even last_ingest_time");
  const doc = JSON.parse(j.stdout);
  assert.equal(doc.status, "partial");
  assert.equal(doc.stats.removed, 30);
  assert.equal(doc.removalGuard.code, "REMOVAL_GUARD");
  assert.equal(doc.removalGuard.held, true);
  assert.equal(doc.removalGuard.wouldRemove, 30);
  assert.equal(doc.removalGuard.active, 50);
  assert.equal(doc.removalGuard.maxRemovalPercent, 50);
  assert.equal(doc.removalGuard.sample.length, 10);
  assert.deepEqual(Object.keys(doc.removalGuard.sample[0]), [
    "id",
    "externalId",
    "title",
    "seriesTitle",
    "season",
    "episode",
  ]);
  assert.equal(doc.removalGuard.sample[0].externalId, "e001");
  assert.equal(j.stderr, "");

  const text = expectCode(await cli(["collection", "ingest", "TV"]), 2, "guarded text");
  assert.match(text.stdout, /^Held back collection 'TV' \(c-[0-9a-f]{10}\): .*30 removed/m);
  assert.match(
    text.stdout,
    /Removal guard \[REMOVAL_GUARD\]: held this ingest back: it would remove 30 of 50 active asset\(s\) \(60%\)/,
  );
  assert.match(
    text.stdout,
    /^ {4}a-[0-9a-f]{12} 'Alpha' S01E01 'Episode 1' \(external id 'e001'\)$/m,
  );
  assert.match(text.stdout, /… and 20 more/);
  assert.match(text.stdout, /--allow-removal/);
  assert.match(text.stdout, /^Nothing was written\.$/m);
  assert.doesNotMatch(text.stdout, /Last ingest time/);

  const dry = expectCode(
    await cli(["collection", "ingest", "TV", "--dry-run", "--json"]),
    2,
    "dry",
  );
  const dryDoc = JSON.parse(dry.stdout);
  assert.equal(dryDoc.status, "partial");
  assert.equal(dryDoc.dryRun, true);
  assert.deepEqual(dryDoc.removalGuard, doc.removalGuard);
  const dryText = expectCode(await cli(["collection", "ingest", "TV", "--dry-run"]), 2, "dry text");
  assert.match(dryText.stdout, /would hold this ingest back/);
  assert.equal(dumpDb(world.db), before);

  // --max-removal 70: 60% goes through.
  expectCode(await cli(["collection", "update", "TV", "--max-removal", "70"]), 0, "max-removal");
  const shown = JSON.parse(
    expectCode(await cli(["collection", "show", "TV", "--json"]), 0, "show").stdout,
  );
  assert.equal(shown.collection.maxRemovalPercent, 70);
  const shownText = expectCode(await cli(["collection", "show", "TV"]), 0, "show text");
  assert.match(shownText.stdout, /^max removal: +70%$/m);
  const passed = JSON.parse(
    expectCode(await cli(["collection", "ingest", "TV", "--json"]), 0, "70% limit").stdout,
  );
  assert.equal(passed.status, "ok");
  assert.equal(passed.removalGuard, null);
  assert.equal(passed.stats.removed, 30);

  // Back to the default, restore everything, then --allow-removal lets 60% through.
  const reset = JSON.parse(
    expectCode(
      await cli(["collection", "update", "TV", "--max-removal", "default", "--json"]),
      0,
      "reset",
    )
      .stdout,
  );
  assert.deepEqual(reset.changed, ["max removal 50% (default)"]);
  assert.equal(reset.collection.maxRemovalPercent, null);
  world.writeJson("state.json", fakeState(Array.from({ length: 50 }, (_, i) => cliEp(i + 1))));
  expectCode(await cli(["collection", "ingest", "TV"]), 0, "restore");
  world.writeJson("state.json", fakeState(kept));
  expectCode(await cli(["collection", "ingest", "TV"]), 2, "guarded again");
  const allowed = expectCode(
    await cli(["collection", "ingest", "TV", "--allow-removal"]),
    0,
    "allow",
  );
  assert.match(allowed.stdout, /^Ingested collection 'TV'.*30 removed/m);
  assert.match(allowed.stdout, /Removal guard overridden \(--allow-removal\): removed 30 of 50/);

  // Bad limits are usage errors and write nothing.
  const now = dumpDb(world.db);
  for (const bad of ["101", "-5", "half", "12.5", ""]) {
    const r = expectCode(await cli(["collection", "update", "TV", `--max-removal=${bad}`]), 1, bad);
    assert.match(r.stderr, /^Error: --max-removal must be a whole percentage from 0 to 100/);
  }
  assert.equal(dumpDb(world.db), now);
});

Deno.test("cli: an empty listing exits 2; targeted ingests are never guarded; source ingest holds one, ingests the other", async () => {
  using world = tempWorld();
  const all = Array.from({ length: 30 }, (_, i) => cliEp(i + 1));
  const state = world.writeJson("state.json", fakeState(all));
  const cli = (args: string[]) =>
    runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, dataHome: world.dir });
  expectCode(
    await cli([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Home",
      "--state-file",
      state,
      "--discover",
    ]),
    0,
    "source add",
  );
  expectCode(await cli(["collection", "update", "TV", "--sync-enable"]), 0, "sync tv");
  expectCode(await cli(["collection", "update", "Movies", "--sync-enable"]), 0, "sync movies");
  expectCode(await cli(["source", "ingest", "Home"]), 0, "first ingest");

  // An empty listing (a Jellyfin upgrade answering nothing).
  world.writeJson("state.json", fakeState([]));
  const before = dumpDb(world.db);
  const empty = JSON.parse(
    expectCode(await cli(["collection", "ingest", "TV", "--json"]), 2, "empty").stdout,
  );
  assert.equal(empty.removalGuard.reason, "empty_listing");
  assert.equal(empty.removalGuard.wouldRemove, 30);
  assert.equal(dumpDb(world.db), before);

  // Targeted: Alpha lost everything but one episode; nothing is removed, nothing guarded.
  world.writeJson("state.json", fakeState(all.slice(29)));
  const targeted = JSON.parse(
    expectCode(
      await cli(["collection", "ingest", "TV", "--title", "Alpha", "--season", "1", "--json"]),
      0,
      "targeted",
    ).stdout,
  );
  assert.equal(targeted.status, "ok");
  assert.equal(targeted.removalGuard, null);
  assert.equal(targeted.stats.removed, 0);

  // source ingest: TV would lose 29 of 30 (held), Movies gains one (applied).
  world.writeJson(
    "state.json",
    fakeState(all.slice(29), [movie("m1", "Heat"), movie("m2", "Ran")]),
  );
  const tvBefore = dumpDb(world.db).split("\n").filter((l) => l.includes('"collection_id":"c-'));
  const src = expectCode(await cli(["source", "ingest", "Home", "--json"]), 2, "source ingest");
  const doc = JSON.parse(src.stdout);
  assert.equal(doc.status, "partial");
  const byName = Object.fromEntries(
    (doc.collections as Record<string, unknown>[]).map((c) => [c.collectionName, c]),
  );
  const movies = byName.Movies as { status: string; stats: { new: number } };
  const tv = byName.TV as { status: string; removalGuard: { held: boolean; wouldRemove: number } };
  assert.equal(movies.status, "ok");
  assert.equal(movies.stats.new, 1);
  assert.equal(tv.status, "partial");
  assert.equal(tv.removalGuard.held, true);
  assert.equal(tv.removalGuard.wouldRemove, 29);
  const tvAfter = dumpDb(world.db).split("\n").filter((l) => l.includes('"collection_id":"c-'));
  const tvId = (JSON.parse(
    expectCode(await cli(["collection", "show", "TV", "--json"]), 0, "show").stdout,
  ).collection.id) as string;
  assert.deepEqual(
    tvAfter.filter((l) => l.includes(tvId)),
    tvBefore.filter((l) => l.includes(tvId)),
    "the held collection's assets are untouched",
  );
  const shown = JSON.parse(
    expectCode(await cli(["collection", "show", "TV", "--json"]), 0, "show").stdout,
  );
  assert.equal(shown.collection.assetCount, 30);

  const text = expectCode(await cli(["source", "ingest", "Home"]), 2, "source ingest text");
  assert.match(
    text.stdout,
    /Source 'Home': 1 of 2 collection\(s\) ingested, 1 held back by the removal guard\./,
  );
  const allowed = expectCode(
    await cli(["source", "ingest", "Home", "--allow-removal", "--json"]),
    0,
    "source ingest --allow-removal",
  );
  assert.equal(JSON.parse(allowed.stdout).status, "ok");
});

Deno.test("cli filesystem: a missing root is UNREACHABLE (exit 3), an empty one (unmounted) is held back; catalog unchanged", async () => {
  using world = tempWorld();
  const mount = join(world.dir, "mnt", "tv");
  const files = [
    "Alpha/Season 01/Alpha - S01E01.mkv",
    "Alpha/Season 01/Alpha - S01E02.mkv",
    "Beta/Season 01/Beta - S01E01.mkv",
  ];
  for (const f of files) {
    Deno.mkdirSync(join(mount, f, ".."), { recursive: true });
    Deno.writeTextFileSync(join(mount, f), "x");
  }
  const cli = (args: string[]) => runCli(args, { db: world.db, dataHome: world.dir });
  expectCode(
    await cli([
      ...["source", "add", "--type", "filesystem", "--name", "Disk", "--root", `TV=${mount}`],
      ...["--kind", "shows", "--discover"],
    ]),
    0,
    "source add",
  );
  expectCode(await cli(["collection", "update", "TV", "--sync-enable"]), 0, "sync");
  const first = JSON.parse(
    expectCode(await cli(["collection", "ingest", "TV", "--json"]), 0, "ingest").stdout,
  );
  assert.equal(first.stats.new, 3);
  const before = dumpDb(world.db);

  // The share is gone and its mount point with it.
  Deno.removeSync(mount, { recursive: true });
  const missing = expectCode(await cli(["collection", "ingest", "TV", "--json"]), 3, "missing");
  const err = JSON.parse(missing.stdout);
  assert.equal(err.status, "error");
  assert.equal(err.error.code, "UNREACHABLE");
  assert.ok(err.error.message.includes(mount), err.error.message);
  assert.match(err.error.message, /root folder not found.*mounted\?/);
  const missingText = expectCode(await cli(["collection", "ingest", "TV"]), 3, "missing text");
  assert.match(missingText.stderr, /^Error: .*root folder not found.*mounted\?/);
  assert.equal(dumpDb(world.db), before);

  // The mount point is back but nothing is mounted on it: an empty folder.
  Deno.mkdirSync(mount);
  const held = expectCode(await cli(["collection", "ingest", "TV", "--json"]), 2, "unmounted");
  const doc = JSON.parse(held.stdout);
  assert.equal(doc.status, "partial");
  assert.equal(doc.removalGuard.reason, "empty_listing");
  assert.equal(doc.removalGuard.wouldRemove, 3);
  assert.deepEqual(doc.removalGuard.warnings, [
    `root folder ${mount} is empty; if a drive or network share should be mounted there, ` +
    "it is not mounted",
  ]);
  const text = expectCode(await cli(["collection", "ingest", "TV"]), 2, "unmounted text");
  assert.match(text.stdout, /importer warning: root folder .* is empty/);
  assert.equal(dumpDb(world.db), before);
});

Deno.test("cli plex: a library that comes back empty is held back (exit 2), catalog unchanged", async () => {
  using world = tempWorld();
  const mock = await startPlexMock({
    sections: [{ type: "movie", title: "Films", movies: 4 }],
  });
  const cli = (args: string[]) => runCli(args, { db: world.db, dataHome: world.dir });
  try {
    expectCode(
      await cli([
        ...["source", "add", "--type", "plex", "--name", "Home", "--base-url", mock.url],
        ...["--token", mock.token, "--discover"],
      ]),
      0,
      "source add",
    );
    expectCode(await cli(["collection", "update", "Films", "--sync-enable"]), 0, "sync");
    const first = JSON.parse(
      expectCode(await cli(["collection", "ingest", "Films", "--json"]), 0, "ingest").stdout,
    );
    assert.equal(first.stats.new, 4);
    const before = dumpDb(world.db);
    mock.sections[0].movies = [];
    const held = expectCode(await cli(["collection", "ingest", "Films", "--json"]), 2, "empty");
    const doc = JSON.parse(held.stdout);
    assert.equal(doc.status, "partial");
    assert.equal(doc.removalGuard.reason, "empty_listing");
    assert.equal(doc.removalGuard.wouldRemove, 4);
    assert.equal(doc.removalGuard.sample.length, 4);
    assert.ok(!held.stdout.includes(mock.token));
    assert.equal(dumpDb(world.db), before);
  } finally {
    await mock.close();
  }
});

Deno.test("cli jellyfin: a library that comes back empty is held back (exit 2), catalog unchanged", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock({
    version: "10.10.7",
    libraries: [{ name: "Films", collectionType: "movies", movies: 4 }],
  });
  const cli = (args: string[]) => runCli(args, { db: world.db, dataHome: world.dir });
  try {
    expectCode(
      await cli([
        ...["source", "add", "--type", "jellyfin", "--name", "Home", "--base-url", mock.url],
        ...["--api-key", mock.apiKey, "--discover"],
      ]),
      0,
      "source add",
    );
    expectCode(await cli(["collection", "update", "Films", "--sync-enable"]), 0, "sync");
    const first = JSON.parse(
      expectCode(await cli(["collection", "ingest", "Films", "--json"]), 0, "ingest").stdout,
    );
    assert.equal(first.stats.new, 4);
    const before = dumpDb(world.db);

    // The library still answers, but lists nothing: drop every item under it.
    const library = mock.nodes.find((n) => n.type === "CollectionFolder" && n.name === "Films");
    assert.ok(library, "the Films library");
    for (let i = mock.nodes.length - 1; i >= 0; i--) {
      const n = mock.nodes[i];
      if (n.libraryId === library.id && n.id !== library.id) mock.nodes.splice(i, 1);
    }
    mock.changed();

    const held = expectCode(await cli(["collection", "ingest", "Films", "--json"]), 2, "empty");
    const doc = JSON.parse(held.stdout);
    assert.equal(doc.status, "partial");
    assert.equal(doc.removalGuard.code, "REMOVAL_GUARD");
    assert.equal(doc.removalGuard.reason, "empty_listing");
    assert.equal(doc.removalGuard.wouldRemove, 4);
    assert.equal(doc.removalGuard.sample.length, 4);
    assert.ok(!held.stdout.includes(mock.apiKey));
    assert.ok(!held.stderr.includes(mock.apiKey));
    assert.equal(dumpDb(world.db), before);
  } finally {
    await mock.close();
  }
});
