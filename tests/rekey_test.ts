/**
 * Identity that survives re-keying (issue #14): an asset that comes back
 * under a new external id keeps its RetroVue id, ambiguous candidates never
 * merge, and a file swapped under the same item shows as changed.
 *
 * In process against the Plex and Jellyfin mocks and a real folder (the
 * importer modules wrapped as ingest clients), with a fake client for the
 * edge cases, then once through the CLI against the Plex mock.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { ImportedAsset, Importer, ImporterConfig } from "../core/contract.ts";
import { openMemoryDatabase } from "../core/db.ts";
import { assetId } from "../ingest/normalize.ts";
import {
  type IngestClient,
  ingestCollection,
  type IngestOptions,
  type IngestResult,
} from "../ingest/pipeline.ts";
import { createPlexImporter } from "../importers/plex/mod.ts";
import filesystem from "../importers/filesystem/mod.ts";
import { configOf as jellyfinConfig, fastJellyfin, libraryId } from "./_jellyfin.ts";
import { type CliResult, runCli, tempWorld } from "./_cli.ts";
import { type MockLeaf, type PlexMock, startPlexMock } from "./mocks/plex_server.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";

const SOURCE = "fake-00000001";
const plex = createPlexImporter({ timeoutMs: 3000, retries: 2, backoffMs: 5 });

function memoryDb(): DatabaseSync {
  const db = openMemoryDatabase();
  const t = "2024-01-01T00:00:00.000Z";
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES (?, ?, 'fake', '{}', ?, ?)",
  ).run(SOURCE, "Home", t, t);
  return db;
}

/** Adds a sync-enabled collection and returns its id. */
function addCollection(
  db: DatabaseSync,
  id: string,
  o: { externalId: string; kind: "movies" | "shows" },
): string {
  const t = "2024-01-01T00:00:00.000Z";
  db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
  ).run(id, SOURCE, o.externalId, `Library ${id}`, o.kind, t, t);
  return id;
}

/** An importer module, called directly, as an ingest client; `map` edits what it reports. */
function importerClient(
  importer: Importer,
  config: ImporterConfig,
  map: (a: ImportedAsset) => ImportedAsset = (a) => a,
): IngestClient {
  return {
    manifest: {
      typeId: importer.typeId,
      displayName: importer.displayName,
      params: importer.params,
      capabilities: importer.capabilities,
    } as IngestClient["manifest"],
    async *fetchAssets(request, options) {
      const signal = options?.signal ?? new AbortController().signal;
      for await (
        const batch of importer.fetchAssets(config, {
          signal,
          warn: () => {},
          skipped: () => {},
          collection: request.collection,
          filters: request.filters,
        })
      ) {
        yield [batch].flat().map(map);
      }
    },
  };
}

let tick = 0;
function ingest(
  db: DatabaseSync,
  client: IngestClient,
  collection: string,
  extra: Partial<IngestOptions> = {},
): Promise<IngestResult> {
  return ingestCollection(db, {
    client,
    collection,
    now: () => new Date(Date.UTC(2024, 0, 2, 0, 0, tick++)),
    ...extra,
  });
}

interface Row {
  id: string;
  external_id: string;
  external_ids: string;
  path: string | null;
  size: number | null;
  modified: string | null;
  file_fingerprint: string;
  state: string;
  deleted_at: string | null;
}

function rows(db: DatabaseSync, collection: string): Row[] {
  return db.prepare(
    `SELECT id, external_id, external_ids, path, size, modified, file_fingerprint, state, deleted_at
     FROM assets WHERE collection_id = ? ORDER BY id`,
  ).all(collection) as unknown as Row[];
}

/** Live asset ids by a key derived from their row. */
function idsBy(db: DatabaseSync, collection: string, key: (r: Row) => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows(db, collection)) if (r.deleted_at === null) out.set(key(r), r.id);
  return out;
}

const plexGuid = (r: Row) => String(JSON.parse(r.external_ids).plex);

function plexLeaves(mock: PlexMock): MockLeaf[] {
  return mock.sections.flatMap((s) => [
    ...s.movies,
    ...s.shows.flatMap((show) => show.seasons.flatMap((season) => season.episodes)),
  ]);
}

/** What a library deleted and added again looks like: new ratingKeys (and part ids), same guids. */
function rebuildPlexLibrary(mock: PlexMock, offset: number): void {
  for (const section of mock.sections) {
    for (const show of section.shows) {
      show.ratingKey = String(Number(show.ratingKey) + offset);
      for (const season of show.seasons) {
        season.ratingKey = String(Number(season.ratingKey) + offset);
      }
    }
  }
  for (const leaf of plexLeaves(mock)) {
    leaf.ratingKey = String(Number(leaf.ratingKey) + offset);
    leaf.addedAt += 86_400;
    if (leaf.updatedAt !== undefined) leaf.updatedAt += 86_400;
  }
}

const PLEX_SECTIONS = [
  { type: "movie" as const, title: "Films", movies: 6, multiPartEvery: 3 },
  {
    type: "show" as const,
    title: "TV",
    shows: 2,
    seasonsPerShow: 2,
    episodesPerSeason: 4,
    specialsPerShow: 1,
  },
];

// ------------------------------------------------------------------- Plex

Deno.test("plex: a library deleted and added again (every ratingKey new, same guids) keeps every asset id", async () => {
  const mock = await startPlexMock({ sections: PLEX_SECTIONS });
  try {
    const db = memoryDb();
    const films = addCollection(db, "c-000000000f", { externalId: "1", kind: "movies" });
    const tv = addCollection(db, "c-000000000e", { externalId: "2", kind: "shows" });
    const client = importerClient(plex, { base_url: mock.url, token: mock.token, page_size: 5 });
    const first = { films: await ingest(db, client, films), tv: await ingest(db, client, tv) };
    assert.equal(first.films.stats.new, 6);
    assert.equal(first.tv.stats.new, 18);
    const before = { films: idsBy(db, films, plexGuid), tv: idsBy(db, tv, plexGuid) };
    const keysBefore = new Set(rows(db, tv).map((r) => r.external_id));

    rebuildPlexLibrary(mock, 100_000);
    for (const [collection, n] of [[films, 6], [tv, 18]] as const) {
      const result = await ingest(db, client, collection);
      assert.equal(result.status, "ok");
      assert.equal(result.removalGuard, null, "rekeyed assets are not removals");
      assert.deepEqual(
        [result.stats.rekeyed, result.stats.new, result.stats.removed, result.stats.changed],
        [n, 0, 0, 0],
      );
      assert.equal(result.stats.discovered, n);
      assert.deepEqual(result.errors, []);
    }
    assert.deepEqual(idsBy(db, films, plexGuid), before.films, "every movie kept its id");
    assert.deepEqual(idsBy(db, tv, plexGuid), before.tv, "every episode kept its id");
    const after = rows(db, tv);
    assert.equal(after.length, 18, "no row was added");
    for (const r of after) {
      assert.ok(!keysBefore.has(r.external_id), "each took its new ratingKey");
      assert.notEqual(r.id, assetId(tv, r.external_id), "the id was not derived again");
      assert.equal(r.state, "new");
    }
    // Next run: plain unchanged, and the lookups by the new external ids work.
    const again = await ingest(db, client, tv);
    assert.deepEqual([again.stats.unchanged, again.stats.rekeyed, again.stats.new], [18, 0, 0]);
  } finally {
    await mock.close();
  }
});

Deno.test("plex: the first ingest after part ids joined the marker is quiet, and stores them", async () => {
  const mock = await startPlexMock({ sections: PLEX_SECTIONS });
  try {
    const db = memoryDb();
    const tv = addCollection(db, "c-000000000e", { externalId: "2", kind: "shows" });
    const config = { base_url: mock.url, token: mock.token, page_size: 5 };
    // What the importer reported before: `modified` was updatedAt (or addedAt) alone.
    const oldShape = importerClient(plex, config, (a) => ({
      ...a,
      modified: a.modified?.replace(/ ?parts=.*$/, "") || null,
    }));
    const first = await ingest(db, oldShape, tv);
    assert.equal(first.stats.new, 18);
    assert.ok(rows(db, tv).every((r) => !r.modified?.includes("parts=")));
    const fingerprints = rows(db, tv).map((r) => r.file_fingerprint);

    const client = importerClient(plex, config);
    const upgraded = await ingest(db, client, tv);
    assert.deepEqual(
      [upgraded.stats.unchanged, upgraded.stats.changed, upgraded.stats.rekeyed],
      [18, 0, 0],
    );
    const stored = rows(db, tv);
    assert.ok(stored.every((r) => /^\d+ parts=\d+:\d+$/.test(r.modified ?? "")), "stored");
    assert.notDeepEqual(stored.map((r) => r.file_fingerprint), fingerprints);
    const again = await ingest(db, client, tv);
    assert.deepEqual([again.stats.unchanged, again.stats.changed], [18, 0]);
  } finally {
    await mock.close();
  }
});

Deno.test("plex: a file swapped under the same item (same updatedAt) shows as changed: new size, new name, new part", async () => {
  const mock = await startPlexMock({ sections: PLEX_SECTIONS });
  try {
    const db = memoryDb();
    const tv = addCollection(db, "c-000000000e", { externalId: "2", kind: "shows" });
    const client = importerClient(plex, { base_url: mock.url, token: mock.token, page_size: 5 });
    await ingest(db, client, tv);
    db.exec("UPDATE assets SET state = 'probed'");
    const episodes = mock.sections[1].shows[0].seasons[1].episodes;
    const swaps: [string, (leaf: MockLeaf) => void][] = [
      ["a bigger file, same name", (leaf) => leaf.media[0][0].size += 1_000_000],
      ["a new file name, same size", (leaf) => {
        leaf.media[0][0].file = leaf.media[0][0].file.replace(/\.mkv$/, " [Bluray-1080p].mkv");
      }],
      ["same name and size, a new part", (leaf) => leaf.media[0][0].id = 987_654],
    ];
    for (const [i, [what, swap]] of swaps.entries()) {
      const leaf = episodes[i];
      const updatedAt = leaf.updatedAt;
      swap(leaf);
      assert.equal(leaf.updatedAt, updatedAt, "Plex does not bump updatedAt");
      const result = await ingest(db, client, tv);
      assert.deepEqual([result.stats.changed, result.stats.unchanged], [1, 17], what);
      const row = rows(db, tv).find((r) => r.external_id === leaf.ratingKey);
      assert.equal(row?.state, "new", `${what}: the file changed, so its state went back to new`);
      assert.equal(row?.id, assetId(tv, leaf.ratingKey));
    }
  } finally {
    await mock.close();
  }
});

// --------------------------------------------------------------- Jellyfin

Deno.test("jellyfin: a server migration (new item ids and paths; same provider ids and episode numbers) keeps every asset id", async () => {
  const mock = await startJellyfinMock({
    libraries: [{
      name: "Shows",
      collectionType: "tvshows",
      series: 2,
      seasonsPerSeries: 2,
      episodesPerSeason: 3,
    }],
  });
  try {
    // Every episode carries only its show's ids, as some servers report them.
    const episodes = mock.nodes.filter((n) => n.type === "Episode");
    for (const e of episodes) e.providerIds = { Tvdb: `7${e.seriesId?.slice(0, 5)}` };
    mock.changed();
    const db = memoryDb();
    const shows = addCollection(db, "c-00000000a1", {
      externalId: libraryId(mock, "Shows"),
      kind: "shows",
    });
    const client = importerClient(fastJellyfin, jellyfinConfig(mock));
    const first = await ingest(db, client, shows);
    assert.equal(first.stats.new, 12);
    const key = (r: Row) => {
      const a = db.prepare("SELECT series_title, season, episode FROM assets WHERE id = ?").get(
        r.id,
      ) as { series_title: string; season: number; episode: number };
      return `${a.series_title}|${a.season}|${a.episode}`;
    };
    const before = idsBy(db, shows, key);
    assert.equal(before.size, 12);

    for (const [i, e] of episodes.entries()) {
      e.id = `feed${String(i).padStart(28, "0")}`;
      e.path = e.path?.replace(/^\/media\//, "/srv/new-nas/");
    }
    mock.changed();
    const migrated = await ingest(db, client, shows);
    assert.deepEqual(
      [migrated.stats.rekeyed, migrated.stats.new, migrated.stats.removed],
      [12, 0, 0],
    );
    assert.deepEqual(idsBy(db, shows, key), before, "every episode kept its id");
    assert.ok(rows(db, shows).every((r) => r.external_id.startsWith("feed")));
    assert.ok(rows(db, shows).every((r) => r.path?.startsWith("/srv/new-nas/")));
  } finally {
    await mock.close();
  }
});

Deno.test("jellyfin: a file replaced under the same item shows as changed: new size, new name", async () => {
  const mock = await startJellyfinMock({
    libraries: [{ name: "Films", collectionType: "movies", movies: 4 }],
  });
  try {
    const db = memoryDb();
    const films = addCollection(db, "c-00000000a2", {
      externalId: libraryId(mock, "Films"),
      kind: "movies",
    });
    const client = importerClient(fastJellyfin, jellyfinConfig(mock));
    assert.equal((await ingest(db, client, films)).stats.new, 4);
    const movies = mock.nodes.filter((n) => n.type === "Movie");
    const swaps: [string, () => void][] = [
      ["a bigger file", () => movies[0].size = (movies[0].size ?? 0) + 1_000_000],
      ["a new file name", () => movies[1].path = movies[1].path?.replace(/\.mkv$/, ".Remux.mkv")],
    ];
    for (const [i, [what, swap]] of swaps.entries()) {
      const etag = movies[i].etag;
      swap();
      assert.equal(movies[i].etag, etag, "the same Etag");
      mock.changed();
      const result = await ingest(db, client, films);
      assert.deepEqual([result.stats.changed, result.stats.unchanged], [1, 3], what);
      const row = rows(db, films).find((r) => r.external_id === movies[i].id);
      assert.equal(row?.state, "new", what);
    }
  } finally {
    await mock.close();
  }
});

// ------------------------------------------------------------- filesystem

Deno.test("filesystem: a renamed file (same size and time) keeps its id; one replaced in place is changed", async () => {
  const root = await Deno.makeTempDir({ prefix: "rv-rekey-" });
  try {
    const season = join(root, "Alpha", "Season 01");
    await Deno.mkdir(season, { recursive: true });
    for (let e = 1; e <= 3; e++) {
      await Deno.writeFile(join(season, `Alpha - S01E0${e}.mkv`), new Uint8Array(1000 + e));
    }
    const db = memoryDb();
    const tv = addCollection(db, "c-00000000f5", { externalId: root, kind: "shows" });
    const client = importerClient(filesystem, { root: [root], kind: "shows" });
    assert.equal((await ingest(db, client, tv)).stats.new, 3);
    const old = rows(db, tv).find((r) => r.external_id.endsWith("S01E02.mkv"))!;

    await Deno.rename(
      join(season, "Alpha - S01E02.mkv"),
      join(season, "Alpha - S01E02 - The Second One.mkv"),
    );
    const renamed = await ingest(db, client, tv);
    assert.deepEqual(
      [renamed.stats.rekeyed, renamed.stats.new, renamed.stats.removed, renamed.stats.unchanged],
      [1, 0, 0, 2],
    );
    const row = rows(db, tv).find((r) => r.id === old.id)!;
    assert.equal(row.external_id, "Alpha/Season 01/Alpha - S01E02 - The Second One.mkv");
    assert.equal(row.deleted_at, null);
    assert.equal(rows(db, tv).length, 3);

    // The same name, another file (a bigger one): changed, not new.
    await Deno.writeFile(join(season, "Alpha - S01E03.mkv"), new Uint8Array(5000));
    const replaced = await ingest(db, client, tv);
    assert.deepEqual([replaced.stats.changed, replaced.stats.unchanged], [1, 2]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("filesystem: 300 episodes of one size and time in a renamed folder all keep their ids", async () => {
  // Unpacked from one archive, they share the "file size and time" key; each has one compatible
  // candidate (its own episode), found only by looking past the others on that key.
  const root = await Deno.makeTempDir({ prefix: "rv-rekey-" });
  try {
    const season = join(root, "Alpha", "Season 01");
    await Deno.mkdir(season, { recursive: true });
    const when = new Date("2024-01-01T00:00:00Z");
    for (let e = 1; e <= 300; e++) {
      const file = join(season, `Alpha - S01E${String(e).padStart(3, "0")}.mkv`);
      await Deno.writeFile(file, new Uint8Array(100));
      await Deno.utime(file, when, when);
    }
    const db = memoryDb();
    const tv = addCollection(db, "c-00000000f6", { externalId: root, kind: "shows" });
    const client = importerClient(filesystem, { root: [root], kind: "shows" });
    assert.equal((await ingest(db, client, tv)).stats.new, 300);
    const before = idsBy(db, tv, (r) => r.external_id.slice(r.external_id.lastIndexOf("/")));
    await Deno.rename(season, join(root, "Alpha", "Season 1"));
    const renamed = await ingest(db, client, tv, { allowRemoval: true });
    assert.deepEqual([renamed.stats.rekeyed, renamed.stats.new, renamed.stats.removed], [
      300,
      0,
      0,
    ]);
    const after = idsBy(db, tv, (r) => r.external_id.slice(r.external_id.lastIndexOf("/")));
    assert.deepEqual([...after].sort(), [...before].sort());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// --------------------------------------------------------- edge cases

const MOVIES = "c-00000000bb";
const SHOWS = "c-00000000aa";

function fakeClient(upstream: Record<string, unknown[]>): IngestClient {
  return {
    manifest: {
      typeId: "fake",
      displayName: "Fake",
      params: [],
      capabilities: { filters: { shows: ["title", "season", "episode"], movies: ["title"] } },
    },
    async *fetchAssets(request) {
      const f = request.filters;
      const all = (upstream[request.collection.externalId] ?? []) as Record<string, unknown>[];
      yield all.filter((r) =>
        (f.title === undefined || r.seriesTitle === f.title || r.title === f.title) &&
        (f.season === undefined || r.season === f.season)
      );
      await Promise.resolve();
    },
  };
}

function movie(id: string, o: { guid?: string; path?: string; size?: number; tmdb?: string }) {
  const ids: Record<string, string> = {};
  if (o.guid) ids.plex = o.guid;
  if (o.tmdb) ids.tmdb = o.tmdb;
  return {
    externalId: id,
    kind: "movie",
    title: `Movie ${id}`,
    externalIds: ids,
    path: o.path ?? `/movies/${id}.mkv`,
    size: o.size ?? 1000,
    modified: `m-${id}`,
  };
}

function episode(id: string, season: number, ep: number, o: { series?: string; tvdb?: string }) {
  const series = o.series ?? "Alpha";
  return {
    externalId: id,
    kind: "episode",
    title: `Episode ${ep}`,
    seriesTitle: series,
    season,
    episode: ep,
    externalIds: o.tvdb ? { tvdb: o.tvdb } : {},
    path: `/tv/${id}.mkv`,
    size: 5000 + Number(id.replace(/\D/g, "")),
    modified: `m-${id}`,
  };
}

function edgeDb(): DatabaseSync {
  const db = memoryDb();
  addCollection(db, MOVIES, { externalId: "movies", kind: "movies" });
  addCollection(db, SHOWS, { externalId: "tv", kind: "shows" });
  return db;
}

Deno.test("ambiguous candidates never merge: two new for one gone, one new for two gone", async () => {
  const db = edgeDb();
  const g = "plex://movie/aaa";
  await ingest(
    db,
    fakeClient({
      movies: [
        movie("m1", { guid: g, path: "/movies/a1.mkv" }),
        movie("m2", { guid: "plex://movie/bbb", path: "/movies/b.mkv", size: 2 }),
        movie("m3", { guid: "plex://movie/ccc", path: "/movies/c1.mkv", size: 3 }),
        movie("m4", { guid: "plex://movie/ccc", path: "/movies/c2.mkv", size: 4 }),
        movie("m5", { guid: "plex://movie/ddd", size: 5 }),
      ],
    }),
    MOVIES,
  );
  const before = idsBy(db, MOVIES, (r) => r.external_id);
  const result = await ingest(
    db,
    fakeClient({
      movies: [
        // Two new copies of m1's guid: neither takes m1's identity.
        movie("n1", { guid: g, path: "/new/a1.mkv" }),
        movie("n2", { guid: g, path: "/new/a2.mkv", size: 7 }),
        // One new item for m3 and m4 (a guid shared by two copies): no merge either.
        movie("n3", { guid: "plex://movie/ccc", path: "/new/c.mkv", size: 8 }),
        // m2 under a new key: unambiguous.
        movie("n4", { guid: "plex://movie/bbb", path: "/new/b.mkv", size: 2 }),
        movie("m5", { guid: "plex://movie/ddd", size: 5 }),
      ],
    }),
    MOVIES,
  );
  assert.deepEqual(
    [result.stats.rekeyed, result.stats.new, result.stats.removed, result.stats.unchanged],
    [1, 3, 3, 1],
  );
  const after = rows(db, MOVIES);
  assert.equal(after.find((r) => r.id === before.get("m2"))?.external_id, "n4");
  for (const gone of ["m1", "m3", "m4"]) {
    assert.ok(after.find((r) => r.id === before.get(gone))?.deleted_at, `${gone} was removed`);
  }
  const ambiguous = result.errors.filter((e) => e.kind === "ambiguous_identity");
  assert.deepEqual(ambiguous.map((e) => e.externalId), ["n1", "n2", "n3"]);
  assert.match(ambiguous[0].message, new RegExp(`${before.get("m1")}.*same guid`));
  assert.match(ambiguous[2].message, new RegExp(`${before.get("m3")}`));
  assert.match(ambiguous[2].message, new RegExp(`${before.get("m4")}`));
});

Deno.test("thousands of candidates under one key: none merge, each report names ten, a lone pair re-keys", async () => {
  // Each new item could be any of the gone ones (and each gone one any new item). Before the
  // matching stopped at a second candidate, this took ~4 s and ~1.1 GB (now ~0.6 s), and 8000
  // items ran out of memory.
  const n = 3000;
  const shared = (prefix: string, i: number) =>
    movie(`${prefix}${String(i).padStart(5, "0")}`, { path: "/movies/same.mkv", size: 1 });
  const db = edgeDb();
  const lone = (id: string) => movie(id, { path: "/movies/lone.mkv", size: 2 });
  const olds = Array.from({ length: n }, (_, i) => shared("o", i));
  await ingest(db, fakeClient({ movies: [...olds, lone("lone-old")] }), MOVIES);
  const before = idsBy(db, MOVIES, (r) => r.external_id);
  const news = Array.from({ length: n }, (_, i) => shared("n", i));
  const result = await ingest(db, fakeClient({ movies: [...news, lone("lone-new")] }), MOVIES, {
    allowRemoval: true,
  });
  assert.deepEqual(
    [result.stats.rekeyed, result.stats.new, result.stats.removed, result.stats.unchanged],
    [1, n, n, 0],
  );
  assert.equal(idsBy(db, MOVIES, (r) => r.external_id).get("lone-new"), before.get("lone-old"));
  // Reported up to the cap on issues, in external id order, each naming ten candidates.
  const ambiguous = result.errors.filter((e) => e.kind === "ambiguous_identity");
  assert.equal(ambiguous.length, 1000);
  assert.deepEqual(
    ambiguous.map((e) => e.externalId),
    news.slice(0, 1000).map((x) => x.externalId),
  );
  const named = (m: string) => m.match(/a-[0-9a-f]{12}/g) ?? [];
  for (const e of ambiguous) {
    assert.match(
      e.message,
      /^may be the same media as .* and others \(same path\), but not alone;/,
    );
    const ids = named(e.message);
    assert.equal(ids.length, 10);
    assert.deepEqual(ids, [...ids].sort());
  }
  const gone = new Set(olds.map((x) => before.get(x.externalId)));
  assert.ok(named(ambiguous[0].message).every((id) => gone.has(id)));
});

Deno.test("a weaker match never overrides disagreeing ids; a show's ids need the same episode", async () => {
  const db = edgeDb();
  await ingest(
    db,
    fakeClient({
      movies: [movie("m1", { guid: "plex://movie/aaa", path: "/movies/x.mkv" })],
      tv: [episode("e1", 1, 1, { tvdb: "77" }), episode("e2", 1, 2, { tvdb: "77" })],
    }),
    MOVIES,
  );
  await ingest(
    db,
    fakeClient({
      tv: [episode("e1", 1, 1, { tvdb: "77" }), episode("e2", 1, 2, { tvdb: "77" })],
    }),
    SHOWS,
  );
  // Another film at the same path: a different guid, so not the same media.
  const movies = await ingest(
    db,
    fakeClient({ movies: [movie("m9", { guid: "plex://movie/zzz", path: "/movies/x.mkv" })] }),
    MOVIES,
  );
  assert.deepEqual([movies.stats.rekeyed, movies.stats.new, movies.stats.removed], [0, 1, 1]);
  // e2 went, e3 came with the show's tvdb id: another episode, not a re-key.
  const shows = await ingest(
    db,
    fakeClient({
      tv: [episode("e1", 1, 1, { tvdb: "77" }), episode("e3", 1, 3, { tvdb: "77" })],
    }),
    SHOWS,
  );
  assert.deepEqual(
    [shows.stats.rekeyed, shows.stats.new, shows.stats.removed, shows.stats.unchanged],
    [0, 1, 1, 1],
  );
  assert.deepEqual(shows.errors, []);
});

Deno.test("nothing re-keyed: the counts are the plain diff, and an unchanged run stays unchanged", async () => {
  const db = edgeDb();
  const upstream = {
    tv: [episode("e1", 1, 1, {}), episode("e2", 1, 2, {}), episode("e3", 1, 3, {})],
  };
  const first = await ingest(db, fakeClient(upstream), SHOWS);
  assert.deepEqual([first.stats.new, first.stats.rekeyed], [3, 0]);
  const same = await ingest(db, fakeClient(upstream), SHOWS);
  assert.deepEqual(same.stats, {
    discovered: 3,
    new: 0,
    changed: 0,
    unchanged: 3,
    removed: 0,
    rekeyed: 0,
    restored: 0,
    invalid: 0,
  });
  const other = await ingest(
    db,
    fakeClient({ tv: [episode("e1", 1, 1, {}), episode("e2", 1, 2, {}), episode("e4", 1, 4, {})] }),
    SHOWS,
  );
  assert.deepEqual(
    [other.stats.new, other.stats.removed, other.stats.rekeyed, other.stats.unchanged],
    [1, 1, 0, 2],
  );
  assert.deepEqual(other.errors, []);
});

Deno.test("a targeted ingest re-keys inside its scope only; an external id used before gets a fresh id", async () => {
  const db = edgeDb();
  const alpha = (id: string, n: number) => ({
    ...episode(id, 1, n, {}),
    path: `/tv/alpha-${n}.mkv`,
  });
  const beta = { ...episode("b1", 1, 1, { series: "Beta" }), path: "/tv/beta-1.mkv" };
  await ingest(db, fakeClient({ tv: [alpha("a1", 1), alpha("a2", 2), beta] }), SHOWS);
  const ids = idsBy(db, SHOWS, (r) => r.external_id);
  // Alpha's episode 2 came back as "x2"; Beta was not listed (out of scope), so it stays.
  const upstream = { tv: [alpha("a1", 1), alpha("x2", 2)] };
  const targeted = await ingest(db, fakeClient(upstream), SHOWS, { filters: { title: "Alpha" } });
  assert.deepEqual(
    [targeted.stats.rekeyed, targeted.stats.new, targeted.stats.removed],
    [1, 0, 0],
  );
  const after = idsBy(db, SHOWS, (r) => r.external_id);
  assert.equal(after.get("x2"), ids.get("a2"), "kept its id");
  assert.equal(after.get("b1"), ids.get("b1"));
  assert.equal(after.has("a2"), false);

  // "a2" appears again, as a new item: the id it derives belongs to x2 now.
  const back = await ingest(
    db,
    fakeClient({ tv: [alpha("a1", 1), { ...alpha("a2", 2), path: "/tv/other.mkv", size: 1 }] }),
    SHOWS,
    { filters: { title: "Alpha", season: 1 } },
  );
  assert.deepEqual([back.stats.new, back.stats.rekeyed], [1, 0]);
  const fresh = idsBy(db, SHOWS, (r) => r.external_id).get("a2");
  assert.ok(fresh);
  assert.notEqual(fresh, ids.get("a2"));
  assert.equal(idsBy(db, SHOWS, (r) => r.external_id).get("x2"), ids.get("a2"));
});

// -------------------------------------------------------------------- CLI

function expectCode(r: CliResult, code: number, what: string): CliResult {
  assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

Deno.test("cli plex: a rebuilt library is ingested as rekeyed (text and --json); asset show finds the new key", async () => {
  using world = tempWorld();
  const mock = await startPlexMock({ sections: [{ type: "movie", title: "Films", movies: 30 }] });
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
    assert.equal(first.stats.new, 30);
    assert.equal(first.stats.rekeyed, 0);
    const leaf = mock.sections[0].movies[7];
    const shown = JSON.parse(
      expectCode(await cli(["asset", "show", leaf.ratingKey, "--json"]), 0, "show").stdout,
    );

    rebuildPlexLibrary(mock, 50_000);
    const dry = expectCode(await cli(["collection", "ingest", "Films", "--dry-run"]), 0, "dry");
    assert.match(dry.stdout, /0 new, 0 changed, 0 unchanged, 0 removed, 30 rekeyed, /);
    const doc = JSON.parse(
      expectCode(await cli(["collection", "ingest", "Films", "--json"]), 0, "rekey").stdout,
    );
    assert.equal(doc.status, "ok");
    assert.deepEqual(
      [doc.stats.rekeyed, doc.stats.new, doc.stats.removed, doc.removalGuard],
      [30, 0, 0, null],
    );
    const again = JSON.parse(
      expectCode(await cli(["asset", "show", leaf.ratingKey, "--json"]), 0, "show again").stdout,
    );
    assert.ok(shown.asset.id);
    assert.equal(again.asset.id, shown.asset.id, "the same asset, found by its new ratingKey");
    assert.equal(again.asset.externalId, leaf.ratingKey);
    assert.notEqual(shown.asset.externalId, leaf.ratingKey);
  } finally {
    await mock.close();
  }
});
