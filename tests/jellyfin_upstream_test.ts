/**
 * Jellyfin and Emby as they behave today (issue #14), against the versioned
 * mock: Jellyfin 10.11 lists no episodes under a parent for an API key
 * without a user (jellyfin/jellyfin#15107), so every listing names one;
 * Jellyfin 12.0 reads only `Authorization: MediaBrowser Token=…` while Emby
 * wants `X-Emby-Token`; and upstream items are parsed tolerantly, one item
 * at a time, with a page of a shape we do not know a `MALFORMED_RESPONSE`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { importedAssetSchema } from "../core/schemas.ts";
import {
  isJellyfinSkip,
  mapJellyfinItem,
  missingRequiredField,
  REQUIRED_FIELDS,
} from "../importers/shared/jellyfin_family/mod.ts";
import type { JellyfinMock, JfNode } from "./mocks/jellyfin_server.ts";
import {
  configOf,
  ctx,
  fastEmby,
  fastJellyfin,
  fetchAll,
  itemRequests,
  libraryId,
  rejectsWith,
  withMock,
} from "./_jellyfin.ts";

/** `TotalRecordCount` and item count of a raw `/Items` call to the mock. */
async function rawItems(
  mock: JellyfinMock,
  query: string,
  headers: Record<string, string>,
): Promise<{ status: number; total?: number; items?: number }> {
  const res = await fetch(`${mock.url}/Items?${query}`, { headers });
  if (res.status !== 200) {
    await res.body?.cancel();
    return { status: res.status };
  }
  const body = await res.json();
  return { status: 200, total: body.TotalRecordCount, items: body.Items.length };
}

function mediaBrowser(token: string): Record<string, string> {
  return { Authorization: `MediaBrowser Token="${token}", Client="test"` };
}

function episodeFiles(mock: JellyfinMock): JfNode[] {
  return mock.nodes.filter((n) => n.type === "Episode" && n.locationType !== "Virtual");
}

// ---------------------------------------------------------------------------
// Jellyfin 10.11: an API key lists episodes only with a user.

Deno.test("jellyfin 10.11 mock: an API key's /Items under a parent without userId has no episodes", async () => {
  await withMock({ version: "10.11.11" }, async (mock) => {
    const lib = libraryId(mock, "Shows");
    const admin = mock.users.find((u) => u.admin)!;
    const query = `ParentId=${lib}&Recursive=true&IncludeItemTypes=Episode&Limit=100`;
    const files = mock.nodes.filter((n) => n.type === "Episode").length;
    assert.deepEqual(
      await rawItems(mock, query, mediaBrowser(mock.apiKey)),
      { status: 200, total: 0, items: 0 },
      "a valid, empty page, as the real server answers",
    );
    assert.deepEqual(
      await rawItems(mock, `${query}&userId=${admin.id}`, mediaBrowser(mock.apiKey)),
      { status: 200, total: files, items: files },
    );
    assert.deepEqual(
      await rawItems(mock, query, mediaBrowser(admin.token)),
      { status: 200, total: files, items: files },
      "a user token needs no userId",
    );
    const series = `ParentId=${lib}&Recursive=true&IncludeItemTypes=Series`;
    assert.deepEqual(
      await rawItems(mock, series, mediaBrowser(mock.apiKey)),
      { status: 200, total: 2, items: 2 },
      "other item types are still listed",
    );
  });
  await withMock({ version: "10.10.7" }, async (mock) => {
    const lib = libraryId(mock, "Shows");
    const r = await rawItems(
      mock,
      `ParentId=${lib}&Recursive=true&IncludeItemTypes=Episode`,
      mediaBrowser(mock.apiKey),
    );
    assert.ok((r.total ?? 0) > 0, "10.10 still lists them");
  });
});

for (const version of ["10.11.11", "12.0.0"] as const) {
  Deno.test(`jellyfin ${version}: an API key's TV fetch lists as the first enabled administrator`, async () => {
    const users = [
      { name: "retired", admin: true, disabled: true },
      { name: "viewer", admin: false },
      { name: "boss", admin: true },
    ];
    await withMock({ version, users }, async (mock) => {
      const boss = mock.users.find((u) => u.name === "boss")!;
      const lib = libraryId(mock, "Shows");
      const { assets, context } = await fetchAll(mock, { externalId: lib, kind: "shows" });
      assert.equal(assets.length, episodeFiles(mock).length);
      assert.equal(assets.length, 14);
      assert.deepEqual(context.warnings, []);
      const listings = itemRequests(mock);
      assert.ok(listings.length > 0);
      for (const u of listings) assert.equal(u.searchParams.get("userId"), boss.id, u.href);
      assert.ok(mock.requests.some((r) => r.path === "/Users" && r.status === 200));

      mock.resetRequests();
      const season = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
        filters: { title: "Series 00001", season: 1 },
      });
      assert.deepEqual(season.assets.map((a) => a.episode), [1, 2, 4]);
      for (const u of itemRequests(mock)) assert.equal(u.searchParams.get("userId"), boss.id);
    });
  });
}

Deno.test("jellyfin 10.11: --user and a user token choose the listing user; no enabled user is CONFIG_INVALID", async () => {
  await withMock({ version: "10.11.11" }, async (mock) => {
    const viewer = mock.users.find((u) => !u.admin)!;
    const lib = libraryId(mock, "Shows");
    const named = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
      config: { user: "Viewer" },
    });
    assert.equal(named.assets.length, 14);
    for (const u of itemRequests(mock)) assert.equal(u.searchParams.get("userId"), viewer.id);

    mock.resetRequests();
    const own = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
      config: { api_key: viewer.token },
    });
    assert.equal(own.assets.length, 14);
    for (const u of itemRequests(mock)) assert.equal(u.searchParams.get("userId"), viewer.id);
    assert.ok(!mock.requests.some((r) => r.path === "/Users"), "/Users/Me named the user");
  });
  await withMock({
    version: "10.11.11",
    users: [{ name: "gone", admin: true, disabled: true }],
  }, async (mock) => {
    const e = await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Shows"), kind: "shows" }),
      "CONFIG_INVALID",
    );
    assert.match(e.message, /--user/);
    assert.equal(itemRequests(mock).length, 0, "no listing without a user");
  });
});

// ---------------------------------------------------------------------------
// Jellyfin 12.0: only the Authorization header; Emby: X-Emby-Token.

/** Every way a client can send the key, and whether 12.0 reads it. */
function authForms(key: string): { name: string; headers: HeadersInit; query: string }[] {
  return [
    { name: "Authorization: MediaBrowser", headers: mediaBrowser(key), query: "" },
    { name: "?ApiKey=", headers: {}, query: `?ApiKey=${key}` },
    { name: "X-Emby-Token", headers: { "X-Emby-Token": key }, query: "" },
    { name: "X-MediaBrowser-Token", headers: { "X-MediaBrowser-Token": key }, query: "" },
    {
      name: "X-Emby-Authorization",
      headers: { "X-Emby-Authorization": `MediaBrowser Token="${key}"` },
      query: "",
    },
    { name: "Authorization: Emby", headers: { Authorization: `Emby Token="${key}"` }, query: "" },
    { name: "?api_key=", headers: {}, query: `?api_key=${key}` },
  ];
}

Deno.test("jellyfin mock: 12.0 reads only Authorization: MediaBrowser and ?ApiKey=; 10.11 reads every form", async () => {
  const modern = ["Authorization: MediaBrowser", "?ApiKey="];
  for (const version of ["12.0.0", "10.11.11"]) {
    await withMock({ version }, async (mock) => {
      for (const form of authForms(mock.apiKey)) {
        const res = await fetch(`${mock.url}/System/Info${form.query}`, { headers: form.headers });
        const expected = version === "10.11.11" || modern.includes(form.name) ? 200 : 401;
        assert.equal(res.status, expected, `${version} ${form.name}`);
        if (res.status === 401) assert.equal(await res.text(), "", "an empty 401 body");
        else await res.body?.cancel();
      }
      mock.resetRequests(); // the probes put the key in URLs on purpose
    });
  }
});

Deno.test("jellyfin 12.0: discovery and fetches send the key only as Authorization: MediaBrowser", async () => {
  await withMock({ version: "12.0.0" }, async (mock) => {
    const config = configOf(mock);
    await fastJellyfin.validateConnection(config, ctx());
    const collections = await fastJellyfin.listCollections(config, ctx());
    const shows = collections.find((c) => c.kind === "shows")!;
    const { assets } = await fetchAll(mock, shows);
    assert.equal(assets.length, 14);
    assert.ok(mock.requests.every((r) => r.status !== 401), "nothing was refused");
    for (const r of mock.requests) {
      assert.equal(r.headers["x-emby-token"], undefined, r.path);
      assert.equal(r.headers["x-emby-authorization"], undefined, r.path);
      assert.ok(!/api_?key=/i.test(r.url), r.url);
      if (r.path === "/System/Info/Public") continue;
      assert.match(r.headers.authorization, /^MediaBrowser Token="[^"]+", Client="RetroVue"/);
    }
  });
});

Deno.test("emby mock: X-Emby-Token and api_key are read; the importer sends X-Emby-Token", async () => {
  const emby = ["X-Emby-Token", "X-Emby-Authorization", "?api_key="];
  await withMock({ flavor: "emby" }, async (mock) => {
    for (const form of authForms(mock.apiKey).filter((f) => emby.includes(f.name))) {
      const res = await fetch(`${mock.url}/emby/System/Info${form.query}`, {
        headers: form.headers,
      });
      assert.equal(res.status, 200, form.name);
      await res.body?.cancel();
    }
    const none = await fetch(`${mock.url}/emby/System/Info`);
    assert.equal(none.status, 401);
    await none.body?.cancel();
    mock.resetRequests();
    const movies = await fetchAll(mock, { externalId: libraryId(mock, "Movies"), kind: "movies" });
    assert.equal(movies.assets.length, 5);
    for (const r of mock.requests.filter((r) => r.path !== "/emby/System/Info/Public")) {
      assert.match(r.headers["x-emby-authorization"], /^Emby Client="RetroVue"/, r.path);
      assert.equal(r.headers["x-emby-token"], mock.apiKey, r.path);
      assert.equal(r.headers.authorization, undefined, r.path);
    }
  });
});

// ---------------------------------------------------------------------------
// Tolerant parsing.

const MOVIE = {
  Id: "0123456789abcdef0123456789abcdef",
  Type: "Movie",
  Name: "Heat",
  ProductionYear: 1995,
  RunTimeTicks: 102_000_000_000,
  Path: "/movies/Heat (1995)/Heat (1995).mkv",
  Etag: "e-1",
  ProviderIds: { Imdb: "tt0113277" },
  MediaSources: [{ Path: "/movies/Heat (1995)/Heat (1995).mkv", Size: 42 }],
};

const EPISODE = {
  Id: "fedcba9876543210fedcba9876543210",
  Type: "Episode",
  Name: "Pilot",
  SeriesName: "Columbo",
  ParentIndexNumber: 1,
  IndexNumber: 2,
  Path: "/tv/Columbo/Season 01/Columbo - S01E02.mkv",
};

Deno.test("jellyfin mapping: unknown fields are ignored; missing or null optional fields are null", () => {
  const plain = mapJellyfinItem(MOVIE, "movie");
  assert.ok(!isJellyfinSkip(plain));
  const future = mapJellyfinItem({
    ...MOVIE,
    TrickplayManifest: { "320": { Width: 320 } },
    ChapterImages: [1, 2, 3],
    Studios: null,
    SomeFlag: true,
  }, "movie");
  assert.deepEqual(future, plain, "fields no version had change nothing");

  const bare = mapJellyfinItem({ Id: MOVIE.Id, Type: "Movie", Name: "Heat" }, "movie");
  assert.deepEqual(bare, {
    externalId: MOVIE.Id,
    kind: "movie",
    title: "Heat",
    year: null,
    durationMs: null,
    path: null,
    size: null,
    modified: null,
  });
  const nulls = mapJellyfinItem({
    Id: MOVIE.Id,
    Type: "Movie",
    Name: "Heat",
    ProductionYear: null,
    RunTimeTicks: null,
    Path: null,
    Etag: null,
    ProviderIds: null,
    MediaSources: null,
    LocationType: null,
  }, "movie");
  assert.deepEqual(nulls, bare);

  const episode = mapJellyfinItem(
    { ...EPISODE, ParentIndexNumber: null, IndexNumber: undefined },
    "episode",
  );
  assert.ok(!isJellyfinSkip(episode));
  assert.equal(episode.season, null);
  assert.equal(episode.episode, null);
  assert.equal(episode.episodeEnd, null);
  assert.equal(episode.seriesTitle, "Columbo");
  assert.ok(importedAssetSchema.safeParse(episode).success);
});

Deno.test("jellyfin mapping: an unreadable descriptive field is null; the item is kept", () => {
  const out = mapJellyfinItem({
    ...MOVIE,
    ProductionYear: "1995",
    RunTimeTicks: "long",
    Path: 17,
    Etag: { v: 1 },
    ProviderIds: ["tt0113277"],
    MediaSources: "none",
    PremiereDate: 1995,
  }, "movie");
  assert.ok(!isJellyfinSkip(out));
  assert.equal(out.year, null);
  assert.equal(out.durationMs, null);
  assert.equal(out.path, null);
  assert.equal(out.modified, null);
  assert.equal(out.externalIds, undefined);
  assert.equal(out.size, null);
  const huge = mapJellyfinItem({ ...MOVIE, RunTimeTicks: 1e300, Etag: "x".repeat(600) }, "movie");
  assert.ok(!isJellyfinSkip(huge));
  assert.equal(huge.durationMs, null, "a duration the host would refuse is left out");
  assert.equal(huge.modified, null, "an Etag the host would refuse is left out");
  assert.ok(importedAssetSchema.safeParse(huge).success);
});

Deno.test("jellyfin mapping: a malformed item is skipped with the field and value that broke it", () => {
  const cases: [unknown, "movie" | "episode", RegExp][] = [
    [
      { ...EPISODE, IndexNumber: "x" },
      "episode",
      /^malformed: IndexNumber is not a whole number \("x"\)$/,
    ],
    [
      { ...EPISODE, ParentIndexNumber: -1 },
      "episode",
      /ParentIndexNumber is not a whole number \(-1\)/,
    ],
    [
      { ...EPISODE, IndexNumberEnd: 2.5 },
      "episode",
      /IndexNumberEnd is not a whole number \(2\.5\)/,
    ],
    [{ ...EPISODE, SeriesName: 7 }, "episode", /SeriesName is not text \(7\)/],
    [{ ...MOVIE, Name: ["Heat"] }, "movie", /Name is not text/],
    [{ ...MOVIE, Id: undefined }, "movie", /^malformed: no Id$/],
    [{ ...MOVIE, Id: "" }, "movie", /^malformed: no Id$/],
    [{ ...MOVIE, Id: { v: 1 } }, "movie", /^malformed: Id is not an id/],
    [{ ...MOVIE, Type: undefined }, "movie", /^malformed: no Type$/],
    [null, "movie", /^malformed: an item that is not an object$/],
    ["Heat", "movie", /^malformed/],
  ];
  for (const [raw, kind, reason] of cases) {
    const out = mapJellyfinItem(raw, kind);
    assert.ok(isJellyfinSkip(out), `skipped: ${JSON.stringify(raw)}`);
    assert.match(out.reason, reason);
  }
  const bad = mapJellyfinItem({ ...EPISODE, IndexNumber: "x", IndexNumberEnd: "y" }, "episode");
  assert.ok(isJellyfinSkip(bad));
  assert.equal(bad.item, `Pilot (Id ${EPISODE.Id})`, "named so the operator can find it");
  assert.match(bad.reason, /IndexNumber .*; IndexNumberEnd/, "every problem is named");
  const emby = mapJellyfinItem({ ...EPISODE, Id: 4711 }, "episode");
  assert.ok(!isJellyfinSkip(emby));
  assert.equal(emby.externalId, "4711", "Emby's numeric ids are ids");
});

Deno.test("jellyfin mapping: a required field missing from every item of a page is named", () => {
  const good = { ...MOVIE };
  const noId = { ...MOVIE, Id: undefined };
  assert.equal(missingRequiredField([], REQUIRED_FIELDS.movie), undefined, "an empty page is fine");
  assert.equal(missingRequiredField([good, noId, null], REQUIRED_FIELDS.movie), undefined);
  assert.equal(missingRequiredField([noId, noId], REQUIRED_FIELDS.movie), "Id");
  assert.equal(missingRequiredField([{ ...MOVIE, Id: {} }], REQUIRED_FIELDS.movie), "Id");
  assert.equal(missingRequiredField([1, "x", null], REQUIRED_FIELDS.movie), "Id");
  const renamed = { ...EPISODE, SeriesName: undefined, Series: { Name: "Columbo" } };
  assert.equal(missingRequiredField([renamed, renamed], REQUIRED_FIELDS.episode), "SeriesName");
  assert.equal(
    missingRequiredField([{ ...EPISODE, Name: undefined }], REQUIRED_FIELDS.episode),
    undefined,
    "an episode's own title is optional",
  );
  assert.equal(missingRequiredField([{ ...MOVIE, Type: "" }], REQUIRED_FIELDS.movie), "Type");
});

for (const flavor of ["jellyfin", "emby"] as const) {
  Deno.test(`${flavor}: one malformed item is skipped and reported; the rest of its page is imported`, async () => {
    await withMock({ flavor }, async (mock) => {
      const files = episodeFiles(mock);
      files[1].dtoPatch = { IndexNumber: "x" };
      files[5].dtoPatch = { Id: undefined };
      files[6].dtoPatch = { SeriesName: { Name: "?" } };
      files[9].dtoPatch = {
        FutureField: { Nested: [1, 2] },
        RunTimeTicks: null,
        Etag: null,
        MediaSources: null,
      };
      mock.changed();
      const { assets, pages, context } = await fetchAll(mock, {
        externalId: libraryId(mock, "Shows"),
        kind: "shows",
      });
      assert.equal(assets.length, files.length - 3);
      const ids = new Set(assets.map((a) => a.externalId));
      for (const [i, f] of files.entries()) {
        assert.equal(ids.has(f.id), ![1, 5, 6].includes(i), `file ${i} (${f.id})`);
      }
      const tolerated = assets.find((a) => a.externalId === files[9].id)!;
      assert.equal(tolerated.durationMs, null);
      assert.equal(tolerated.modified, null);
      assert.equal(tolerated.size, null);
      assert.equal(tolerated.path, files[9].path);
      assert.equal(tolerated.episode, files[9].index);
      assert.equal(context.skips.length, 3);
      const reasons = context.skips.map(([, r]) => r);
      assert.ok(reasons.some((r) => /IndexNumber is not a whole number \("x"\)/.test(r)));
      assert.ok(reasons.some((r) => r === "malformed: no Id"));
      assert.ok(reasons.some((r) => /SeriesName is not text/.test(r)));
      assert.ok(context.skips.some(([item]) => item.includes(files[1].id)), "the item is named");
      assert.ok(pages.length >= 3, "every page after the bad ones was read");
    });
  });
}

Deno.test("jellyfin: a page whose items all lack an Id is MALFORMED_RESPONSE, not an empty library", async () => {
  await withMock({}, async (mock) => {
    const movies = mock.nodes.filter((n) => n.type === "Movie");
    for (const m of movies) m.dtoPatch = { Id: undefined };
    mock.changed();
    const e = await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Movies"), kind: "movies" }),
      "MALFORMED_RESPONSE",
    );
    assert.match(e.message, /none of them with a usable Id/);
    assert.match(e.message, /10\.11\.11/, "names the server version");
    assert.ok(!e.message.includes(mock.apiKey));

    for (const m of movies) m.dtoPatch = undefined;
    const shows = mock.nodes.filter((n) => n.type === "Episode");
    for (const n of shows) n.dtoPatch = { SeriesName: undefined };
    mock.changed();
    const renamed = await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Shows"), kind: "shows" }),
      "MALFORMED_RESPONSE",
    );
    assert.match(renamed.message, /usable SeriesName/);
    const series = mock.nodes.filter((n) => n.type === "Series");
    for (const n of series) n.dtoPatch = { Id: undefined };
    mock.changed();
    const targeted = await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Shows"), kind: "shows" }, {
        filters: { title: "Series 00001" },
      }),
      "MALFORMED_RESPONSE",
    );
    assert.match(targeted.message, /usable Id/, "the series search is checked too");
  });
});

Deno.test("jellyfin: a later page of only Id-less items fails the fetch after the good pages", async () => {
  const libraries = [{ name: "M", collectionType: "movies" as const, movies: 8 }];
  await withMock({ libraries }, async (mock) => {
    const movies = mock.nodes.filter((n) => n.type === "Movie");
    for (const m of movies.slice(4)) m.dtoPatch = { Id: null };
    mock.changed();
    const context = ctx();
    const yielded: unknown[][] = [];
    const it = fastJellyfin.fetchAssets(configOf(mock), {
      ...context,
      collection: { externalId: libraryId(mock, "M"), kind: "movies", name: "M" },
      filters: {},
    });
    await rejectsWith(
      (async () => {
        for await (const page of it) yielded.push(page as unknown[]);
      })(),
      "MALFORMED_RESPONSE",
    );
    assert.deepEqual(yielded.map((p) => p.length), [4], "the first page came through");
    assert.deepEqual(context.skips, [], "the bad page is an error, not four skips");
  });
});

Deno.test("emby: a page whose items all lack an Id is MALFORMED_RESPONSE too", async () => {
  await withMock({ flavor: "emby" }, async (mock) => {
    const movies = mock.nodes.filter((n) => n.type === "Movie");
    for (const m of movies) m.dtoPatch = { Id: undefined };
    mock.changed();
    await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Movies"), kind: "movies" }, {
        importer: fastEmby,
      }),
      "MALFORMED_RESPONSE",
    );
  });
});
