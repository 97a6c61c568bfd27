/**
 * The `jellyfin` and `emby` importer modules against the Jellyfin mock,
 * called directly (no sandbox): discovery, full and targeted fetches, the
 * route differences between Jellyfin 10.8, 10.10+, 12.0 and Emby, every error
 * path, pagination edges, and the key never in a URL or a message.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { CollectionInfo } from "../core/contract.ts";
import { importedAssetSchema } from "../core/schemas.ts";
import jellyfin from "../importers/jellyfin/mod.ts";
import emby from "../importers/emby/mod.ts";
import {
  createJellyfinImporter,
  DEFAULT_PAGE_SIZE,
  isJellyfinSkip,
  mapJellyfinItem,
} from "../importers/shared/jellyfin_family/mod.ts";
import {
  jellyfinAuthHeaders,
  jellyfinDeviceId,
} from "../importers/shared/jellyfin_family/_client.ts";
import type { JfLibrarySpec } from "./mocks/jellyfin_server.ts";
import {
  configOf,
  ctx,
  drain,
  fastEmby,
  fastJellyfin,
  fetchAll,
  itemRequests,
  libraryId,
  rejectsWith,
  VERSIONS,
  withMock,
} from "./_jellyfin.ts";

const REFERENCE = fileURLToPath(new URL("../../shared/reference/jellyfin/", import.meta.url));

// ---------------------------------------------------------------------------

Deno.test("jellyfin: manifests declare params, grants, secrets and pushdown", () => {
  for (const [importer, typeId] of [[jellyfin, "jellyfin"], [emby, "emby"]] as const) {
    assert.equal(importer.typeId, typeId);
    const byName = Object.fromEntries(importer.params.map((p) => [p.name, p]));
    assert.equal(byName.base_url.flag, "--base-url");
    assert.equal(byName.base_url.grants, "net");
    assert.equal(byName.base_url.required, true);
    assert.equal(byName.api_key.secret, true);
    assert.equal(byName.api_key.required, true);
    assert.equal(byName.user.required, undefined);
    assert.equal(byName.verify_ssl.kind, "boolean");
    assert.equal(byName.verify_ssl.default, true);
    assert.equal(byName.verify_ssl.verifiesTls, true);
    assert.equal(byName.page_size.default, DEFAULT_PAGE_SIZE);
    assert.deepEqual(importer.capabilities.filters.shows, ["title", "season", "episode"]);
    assert.deepEqual(importer.capabilities.filters.movies, ["title"]);
    assert.equal(importer.params.filter((p) => p.grants).length, 1, "nothing else is granted");
  }
  assert.match(emby.description ?? "", /Emby Server 4\.7 and 4\.8/);
});

Deno.test("jellyfin: DeviceId is stable per source and auth headers per flavor", async () => {
  const a = await jellyfinDeviceId("jellyfin", "http://10.0.0.2:8096");
  assert.equal(a, await jellyfinDeviceId("jellyfin", "http://10.0.0.2:8096"));
  assert.notEqual(a, await jellyfinDeviceId("jellyfin", "http://10.0.0.3:8096"));
  assert.notEqual(a, await jellyfinDeviceId("emby", "http://10.0.0.2:8096"));
  assert.match(a, /^retrovue-[0-9a-f]{32}$/);
  const jf = jellyfinAuthHeaders("jellyfin", { apiKey: "k3y", deviceId: a });
  assert.equal(
    jf.Authorization,
    `MediaBrowser Token="k3y", Client="RetroVue", Device="RetroVue", DeviceId="${a}", ` +
      `Version="0.1.0"`,
  );
  const em = jellyfinAuthHeaders("emby", { apiKey: "k3y", deviceId: a });
  assert.equal(em["X-Emby-Token"], "k3y");
  assert.match(em["X-Emby-Authorization"], /^Emby Client="RetroVue", .*DeviceId="retrovue-/);
  assert.ok(!em["X-Emby-Authorization"].includes("k3y"));
});

for (const version of VERSIONS) {
  Deno.test(`jellyfin ${version}: validateConnection reads the public info, then proves the key`, async () => {
    await withMock({ version }, async (mock) => {
      const info = await fastJellyfin.validateConnection(configOf(mock), ctx());
      assert.deepEqual(info, {
        serverName: "RetroVue Mock Jellyfin",
        version,
        serverId: mock.serverId,
      });
      const [pub, sys] = mock.requests;
      assert.equal(pub.path, "/System/Info/Public");
      assert.equal(pub.headers.authorization, undefined, "the anonymous call carries no key");
      assert.equal(sys.path, "/System/Info");
      assert.match(sys.headers.authorization, /^MediaBrowser Token="[^"]+", Client="RetroVue"/);
      assert.equal(sys.headers["x-emby-token"], undefined);
    });
  });
}

Deno.test("jellyfin: a bad key is AUTH_FAILED at once, never retried, never echoed", async () => {
  await withMock({}, async (mock) => {
    const key = "wrong-key-0123456789abcdef";
    for (const op of ["validateConnection", "listCollections"] as const) {
      mock.resetRequests();
      const e = await rejectsWith(
        fastJellyfin[op](configOf(mock, { api_key: key }), ctx()),
        "AUTH_FAILED",
      );
      assert.ok(!e.message.includes(key), e.message);
      assert.match(e.message, /--api-key/);
      assert.equal(mock.requests.filter((r) => r.status === 401).length, 1, "no retry of a 401");
    }
    mock.resetRequests();
    const it = fastJellyfin.fetchAssets(configOf(mock, { api_key: key }), {
      ...ctx(),
      collection: { externalId: libraryId(mock, "Movies"), kind: "movies", name: "Movies" },
      filters: {},
    });
    const e = await rejectsWith(drain(it), "AUTH_FAILED");
    assert.ok(!e.message.includes(key));
    for (const r of mock.requests) assert.ok(!r.url.includes(key));
  });
});

Deno.test("jellyfin: 401 answers have an empty body in the mock (as Jellyfin's)", async () => {
  await withMock({}, async (mock) => {
    const res = await fetch(`${mock.url}/Items`);
    assert.equal(res.status, 401);
    assert.equal(await res.text(), "");
  });
});

Deno.test("jellyfin: a refused connection is UNREACHABLE naming --base-url", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const e = await rejectsWith(
    fastJellyfin.validateConnection(
      { base_url: `http://127.0.0.1:${port}`, api_key: "secret-key-xyz", page_size: 10 },
      ctx(),
    ),
    "UNREACHABLE",
  );
  assert.match(e.message, /--base-url/);
  assert.equal((e as { retryable?: boolean }).retryable, true);
  assert.ok(!e.message.includes("secret-key-xyz"));
});

Deno.test("jellyfin: not JSON, truncated JSON and a missing Items list are MALFORMED_RESPONSE", async () => {
  await withMock({}, async (mock) => {
    mock.setFault({ kind: "html", path: "/System/Info/Public" });
    await rejectsWith(fastJellyfin.validateConnection(configOf(mock), ctx()), "MALFORMED_RESPONSE");
    mock.setFault({ kind: "truncate", path: "/UserViews" });
    const e = await rejectsWith(
      fastJellyfin.listCollections(configOf(mock, { user: "admin" }), ctx()),
      "MALFORMED_RESPONSE",
    );
    assert.match(e.message, /not JSON/);
    assert.ok(!e.message.includes(mock.apiKey));
    mock.setFault({ kind: "status", status: 404, path: "/System/Info/Public" });
    await rejectsWith(fastJellyfin.validateConnection(configOf(mock), ctx()), "MALFORMED_RESPONSE");
  });
});

Deno.test("jellyfin: the wrong flavor for the server is UNSUPPORTED naming the right type", async () => {
  await withMock({ flavor: "emby" }, async (mock) => {
    const e = await rejectsWith(
      fastJellyfin.validateConnection(configOf(mock), ctx()),
      "UNSUPPORTED",
    );
    assert.match(e.message, /--type emby/);
  });
  await withMock({}, async (mock) => {
    const e = await rejectsWith(fastEmby.validateConnection(configOf(mock), ctx()), "UNSUPPORTED");
    assert.match(e.message, /--type jellyfin/);
  });
});

for (const version of VERSIONS) {
  Deno.test(`jellyfin ${version}: listCollections uses the version's views route and adds locations`, async () => {
    await withMock({ version }, async (mock) => {
      const admin = mock.users.find((u) => u.admin)!;
      const c = ctx();
      const list = await fastJellyfin.listCollections(configOf(mock, { user: "ADMIN" }), c);
      const expected: CollectionInfo[] = [
        {
          externalId: libraryId(mock, "Movies"),
          name: "Movies",
          kind: "movies",
          locations: ["/media/Movies"],
        },
        {
          externalId: libraryId(mock, "Shows"),
          name: "Shows",
          kind: "shows",
          locations: ["/media/Shows"],
        },
        {
          externalId: libraryId(mock, "Music"),
          name: "Music",
          kind: "other",
          locations: ["/media/Music"],
          ingestible: false,
          reason: "a music library; only movie and TV libraries are imported",
        },
      ];
      assert.deepEqual(list, expected);
      assert.deepEqual(c.warnings, []);
      const paths = mock.requests.map((r) => r.path);
      if (version === "10.8.13") {
        assert.ok(paths.includes(`/Users/${admin.id}/Views`), paths.join(" "));
        assert.ok(!paths.includes("/UserViews"));
      } else {
        assert.ok(paths.includes("/UserViews"), paths.join(" "));
        const views = mock.requests.find((r) => r.path === "/UserViews")!;
        assert.equal(new URL(views.url, mock.url).searchParams.get("userId"), admin.id);
      }
    });
  });
}

Deno.test("jellyfin: an API key without --user lists libraries from the admin folder list", async () => {
  await withMock({ version: "10.11.11" }, async (mock) => {
    const list = await fastJellyfin.listCollections(configOf(mock), ctx());
    assert.deepEqual(list.map((c) => [c.name, c.kind, c.locations]), [
      ["Movies", "movies", ["/media/Movies"]],
      ["Shows", "shows", ["/media/Shows"]],
      ["Music", "other", ["/media/Music"]],
    ]);
    assert.ok(mock.requests.some((r) => r.path === "/Users/Me" && r.status === 400));
  });
});

Deno.test("jellyfin: a non-admin user's token lists its views without locations and says why", async () => {
  await withMock({}, async (mock) => {
    const viewer = mock.users.find((u) => !u.admin)!;
    const c = ctx();
    const list = await fastJellyfin.listCollections(configOf(mock, { api_key: viewer.token }), c);
    assert.equal(list.length, 3);
    assert.ok(list.every((x) => x.locations === undefined));
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0], /not an administrator/);
    assert.ok(mock.requests.some((r) => r.path === "/Library/VirtualFolders" && r.status === 403));
  });
});

Deno.test("jellyfin: 403 for another user's items is AUTH_FAILED about the key's rights", async () => {
  await withMock({ version: "10.8.13" }, async (mock) => {
    const viewer = mock.users.find((u) => !u.admin)!;
    const admin = mock.users.find((u) => u.admin)!;
    const e = await rejectsWith(
      drain(fastJellyfin.fetchAssets(configOf(mock, { api_key: viewer.token, user: admin.id }), {
        ...ctx(),
        collection: { externalId: libraryId(mock, "Movies"), kind: "movies", name: "Movies" },
        filters: {},
      })),
      "AUTH_FAILED",
    );
    assert.match(e.message, /lacks the rights/);
    assert.match(e.message, /403/);
    assert.ok(!e.message.includes(viewer.token));
  });
});

Deno.test("jellyfin: --user by id works; an unknown user name is CONFIG_INVALID", async () => {
  await withMock({ version: "10.8.13" }, async (mock) => {
    const viewer = mock.users.find((u) => !u.admin)!;
    const dashed = viewer.id.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
    const list = await fastJellyfin.listCollections(configOf(mock, { user: dashed }), ctx());
    assert.equal(list.length, 3);
    assert.ok(mock.requests.some((r) => r.path === `/Users/${viewer.id}/Views`));
    const e = await rejectsWith(
      fastJellyfin.validateConnection(configOf(mock, { user: "nobody" }), ctx()),
      "CONFIG_INVALID",
    );
    assert.match(e.message, /--user/);
  });
});

for (const version of VERSIONS) {
  Deno.test(`jellyfin ${version}: full movie fetch pages through the version's items route`, async () => {
    await withMock({ version }, async (mock) => {
      const lib = libraryId(mock, "Movies");
      const { assets, pages } = await fetchAll(mock, { externalId: lib, kind: "movies" });
      assert.equal(assets.length, 5);
      assert.deepEqual(pages.map((p) => p.length), [4, 1]);
      assert.deepEqual(assets.map((a) => a.title), [1, 2, 3, 4, 5].map((n) => `Movie 00000${n}`));
      const node = mock.nodes.find((n) => n.name === "Movie 000003")!;
      const third = assets[2];
      assert.equal(third.externalId, node.id);
      assert.equal(third.kind, "movie");
      assert.equal(third.path, node.path, "the first version's path");
      assert.equal(third.parts, undefined, "other versions are not parts");
      assert.equal(third.durationMs, node.ticks! / 10_000);
      assert.equal(third.modified, node.etag);
      assert.equal(third.year, node.year);
      assert.deepEqual(third.externalIds, {
        imdb: node.providerIds.Imdb,
        tmdb: node.providerIds.Tmdb,
      });
      const reqs = itemRequests(mock);
      assert.equal(reqs.length, 2);
      const admin = mock.users.find((u) => u.admin)!;
      for (const [i, u] of reqs.entries()) {
        assert.equal(
          u.pathname,
          version === "10.8.13" ? `/Users/${admin.id}/Items` : "/Items",
        );
        const q = u.searchParams;
        assert.equal(q.get("ParentId"), lib);
        assert.equal(q.get("Recursive"), "true");
        assert.equal(q.get("IncludeItemTypes"), "Movie");
        assert.equal(q.get("Fields"), "Path,ProviderIds,MediaSources,DateCreated,Etag");
        assert.equal(q.get("SortBy"), "SortName,ProductionYear,DateCreated");
        assert.equal(q.get("ExcludeLocationTypes"), "Virtual");
        assert.equal(q.get("StartIndex"), String(i * 4));
        assert.equal(q.get("Limit"), "4");
      }
    });
  });
}

Deno.test("jellyfin: full TV fetch maps numbering, specials and double episodes; skips placeholders", async () => {
  await withMock({}, async (mock) => {
    const lib = libraryId(mock, "Shows");
    const { assets } = await fetchAll(mock, { externalId: lib, kind: "shows" });
    const files = mock.nodes.filter((n) => n.type === "Episode" && n.locationType !== "Virtual");
    assert.equal(assets.length, files.length);
    assert.equal(assets.length, 14, "2 series × (1 special + 2 × 3), no virtual placeholders");
    const codes = assets.filter((a) => a.seriesTitle === "Series 00001").map((a) =>
      `${a.season}:${a.episode}${a.episodeEnd ? "-" + a.episodeEnd : ""}`
    );
    assert.deepEqual(codes, ["0:1", "1:1", "1:2", "1:4-5", "2:1", "2:2", "2:4-5"]);
    const special = assets[0];
    assert.equal(special.kind, "episode");
    assert.equal(special.title, "Episode 1");
    assert.match(special.path ?? "", /Specials\/Series 00001 - S00E01/);
    assert.deepEqual(Object.keys(special.externalIds ?? {}).sort(), ["imdb", "tvdb"]);
    const q = itemRequests(mock)[0].searchParams;
    assert.equal(q.get("IncludeItemTypes"), "Episode");
    assert.equal(
      q.get("SortBy"),
      "SeriesSortName,ParentIndexNumber,IndexNumber,SortName,DateCreated",
    );
  });
});

Deno.test("jellyfin: placeholders a server still sends are skipped and reported", () => {
  const virtual = {
    Id: "aa",
    Type: "Episode",
    Name: "Missing",
    SeriesName: "S",
    ParentIndexNumber: 1,
    IndexNumber: 3,
    LocationType: "Virtual",
  };
  const out = mapJellyfinItem(virtual, "episode");
  assert.ok(isJellyfinSkip(out));
  assert.match(out.reason, /Virtual/);
  assert.equal(out.item, "S S01E03");
  const wrong = mapJellyfinItem({ Id: "b", Type: "Series", Name: "S" }, "episode");
  assert.ok(isJellyfinSkip(wrong));
  // The type without regard to case: skipped as of another type, it would keep no stored asset.
  const cased = mapJellyfinItem({ Id: "m", Type: "movie", Name: "Cased" }, "movie");
  assert.ok(!isJellyfinSkip(cased), JSON.stringify(cased));
  const noSeries = mapJellyfinItem({ Id: "c", Type: "Episode", Name: "x" }, "episode");
  assert.ok(isJellyfinSkip(noSeries));
  const daily = mapJellyfinItem({
    Id: "d",
    Type: "Episode",
    Name: "News",
    SeriesName: "Daily",
    ParentIndexNumber: 2024,
    PremiereDate: "2024-03-05T00:00:00.0000000Z",
    RunTimeTicks: 18_000_000_000,
    ProviderIds: { Tvdb: 12, "Bad Key!": "x", Empty: "" },
    MediaSources: [{ Path: "/tv/Daily/2024-03-05.mkv", Size: 10, ETag: "e1" }],
  }, "episode");
  assert.ok(!isJellyfinSkip(daily));
  assert.equal(daily.airDate, "2024-03-05");
  assert.equal(daily.durationMs, 1_800_000);
  assert.equal(daily.path, "/tv/Daily/2024-03-05.mkv", "MediaSources[0].Path when Path is absent");
  assert.equal(daily.modified, "e1", "the media source ETag when the item has none");
  assert.deepEqual(daily.externalIds, { tvdb: "12" });
});

Deno.test("jellyfin: a movie without Etag or Path falls back to its first media source", async () => {
  const libraries: JfLibrarySpec[] = [{
    name: "Movies",
    collectionType: "movies",
    movies: [{ name: "Plain", year: 1999, noEtag: true, noPath: true, versions: 2 }],
  }];
  await withMock({ libraries }, async (mock) => {
    const { assets } = await fetchAll(mock, {
      externalId: libraryId(mock, "Movies"),
      kind: "movies",
    });
    assert.equal(assets.length, 1);
    assert.match(assets[0].path ?? "", /Plain \(1999\) - 1080p\.mkv$/);
    assert.match(assets[0].modified ?? "", /^[0-9a-f]{32}$/);
    // The listing's Fields carry the streams: technical fields need no request per item.
    assert.equal(assets[0].tech?.video?.codec, "h264");
    assert.deepEqual(assets[0].tech?.audio?.map((a) => a.language), ["eng"]);
  });
});

Deno.test("jellyfin: pagination edges: empty library, exact multiple, page size 1", async () => {
  const libraries: JfLibrarySpec[] = [
    { name: "Empty", collectionType: "movies", movies: 0 },
    { name: "Eight", collectionType: "movies", movies: 8 },
  ];
  await withMock({ libraries }, async (mock) => {
    const empty = await fetchAll(mock, { externalId: libraryId(mock, "Empty"), kind: "movies" });
    assert.equal(empty.assets.length, 0);
    assert.equal(itemRequests(mock).length, 1);
    mock.resetRequests();
    const eight = await fetchAll(mock, { externalId: libraryId(mock, "Eight"), kind: "movies" });
    assert.equal(eight.assets.length, 8);
    // A full page reaching TotalRecordCount may hide a low count: one request past it, empty.
    assert.deepEqual(itemRequests(mock).map((u) => u.searchParams.get("StartIndex")), [
      "0",
      "4",
      "8",
    ]);
    assert.deepEqual(eight.context.warnings, []);
    mock.resetRequests();
    const seven = await fetchAll(mock, { externalId: libraryId(mock, "Eight"), kind: "movies" }, {
      config: { page_size: 5 },
    });
    assert.equal(seven.assets.length, 8);
    assert.equal(itemRequests(mock).length, 2, "a short last page: no request past the total");
    mock.resetRequests();
    const ones = await fetchAll(mock, {
      externalId: libraryId(mock, "Eight"),
      kind: "movies",
    }, { config: { page_size: 1 } });
    assert.equal(ones.pages.length, 8);
    assert.equal(new Set(ones.assets.map((a) => a.externalId)).size, 8);
  });
});

Deno.test("jellyfin: a TotalRecordCount below what the library lists (jellyfin#2116): every item read", async () => {
  const libraries: JfLibrarySpec[] = [{ name: "M", collectionType: "movies", movies: 8 }];
  await withMock({ libraries }, async (mock) => {
    for (const low of [1, 4, 5]) {
      mock.setFault({ kind: "low-total", count: low, path: "/Items" });
      const { assets, context } = await fetchAll(mock, {
        externalId: libraryId(mock, "M"),
        kind: "movies",
      });
      const all = mock.nodes.filter((n) => n.type === "Movie").map((n) => n.id);
      assert.deepEqual(assets.map((a) => a.externalId).sort(), all.sort(), `low by ${low}`);
      assert.equal(context.warnings.length, 1, `low by ${low}`);
      assert.match(
        context.warnings[0],
        new RegExp(`listed 8 items of .*, more than the ${8 - low}`),
      );
    }
  });
});

Deno.test("jellyfin: items added or removed between pages: every remaining item exactly once", async () => {
  for (const kind of ["grow", "shrink"] as const) {
    const libraries: JfLibrarySpec[] = [{ name: "M", collectionType: "movies", movies: 10 }];
    await withMock({ libraries }, async (mock) => {
      mock.setFault({ kind, count: 3, page: 0, times: 1, path: "/Items" });
      const { assets, context } = await fetchAll(mock, {
        externalId: libraryId(mock, "M"),
        kind: "movies",
      });
      const live = mock.nodes.filter((n) => n.type === "Movie").map((n) => n.id);
      const got = new Set(assets.map((a) => a.externalId));
      for (const id of live) assert.ok(got.has(id), `${kind}: ${id} was missed`);
      assert.equal(assets.length, new Set(assets.map((a) => a.externalId)).size, "no duplicates");
      assert.ok(context.warnings.some((w) => /changed while it was read/.test(w)));
    });
  }
});

Deno.test("jellyfin: a 500 on page 1 is retried and the fetch completes", async () => {
  await withMock({}, async (mock) => {
    mock.setFault({ kind: "status", status: 500, page: 1, times: 1, path: "/Items" });
    const { assets } = await fetchAll(mock, {
      externalId: libraryId(mock, "Movies"),
      kind: "movies",
    });
    assert.equal(assets.length, 5);
    const statuses = mock.requests.filter((r) => r.path === "/Items").map((r) => r.status);
    assert.deepEqual(statuses, [200, 500, 200]);
  });
});

Deno.test("jellyfin: a dropped connection is retried; a persistent 503 gives up as UNREACHABLE", async () => {
  await withMock({}, async (mock) => {
    mock.setFault({ kind: "drop", page: 0, times: 1, path: "/Items" });
    const { assets } = await fetchAll(mock, {
      externalId: libraryId(mock, "Movies"),
      kind: "movies",
    });
    assert.equal(assets.length, 5);
    mock.resetRequests();
    mock.setFault({ kind: "status", status: 503, path: "/Items" });
    const e = await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Movies"), kind: "movies" }),
      "UNREACHABLE",
    );
    assert.match(e.message, /503/);
    assert.equal(mock.requests.filter((r) => r.path === "/Items").length, 3, "1 + 2 retries");
  });
});

Deno.test("jellyfin: a slow answer times out as UNREACHABLE", async () => {
  await withMock({}, async (mock) => {
    mock.setFault({ kind: "slow", delayMs: 2000, path: "/System/Info" });
    const slow = createJellyfinImporter({
      flavor: "jellyfin",
      tuning: { timeoutMs: 100, retries: 1, backoffMs: 1 },
    });
    const e = await rejectsWith(slow.validateConnection(configOf(mock), ctx()), "UNREACHABLE");
    assert.match(e.message, /did not answer/);
  });
});

Deno.test("jellyfin: cancelling the context stops a fetch without further requests", async () => {
  const libraries: JfLibrarySpec[] = [{ name: "M", collectionType: "movies", movies: 40 }];
  await withMock({ libraries }, async (mock) => {
    const controller = new AbortController();
    const context = ctx(controller.signal);
    const it = fastJellyfin.fetchAssets(configOf(mock), {
      ...context,
      collection: { externalId: libraryId(mock, "M"), kind: "movies", name: "M" },
      filters: {},
    });
    let pages = 0;
    await assert.rejects(async () => {
      for await (const _ of it) {
        pages++;
        controller.abort(new Error("operator cancelled"));
      }
    }, /operator cancelled/);
    assert.equal(pages, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(itemRequests(mock).length <= 2, "at most the page ahead was requested");
  });
});

Deno.test("jellyfin: targeted movie fetch pushes the title down and matches it exactly", async () => {
  const libraries: JfLibrarySpec[] = [{
    name: "Movies",
    collectionType: "movies",
    movies: [{ name: "Alien" }, { name: "Aliens" }, { name: "Alien 3" }, { name: "Heat" }],
  }];
  await withMock({ libraries }, async (mock) => {
    const { assets } = await fetchAll(mock, {
      externalId: libraryId(mock, "Movies"),
      kind: "movies",
    }, { filters: { title: "alien" } });
    assert.deepEqual(assets.map((a) => a.title), ["Alien"]);
    const q = itemRequests(mock)[0].searchParams;
    assert.equal(q.get("SearchTerm"), "alien");
  });
});

for (const version of ["10.8.13", "10.11.11"]) {
  Deno.test(`jellyfin ${version}: targeted show fetch: series by name, then its episodes by season and episode`, async () => {
    const libraries: JfLibrarySpec[] = [{
      name: "Shows",
      collectionType: "tvshows",
      series: [
        { name: "The Office", seasons: { 0: 1, 1: 4, 2: 3 }, doubleEvery: 2 },
        { name: "The Office (UK)", seasons: { 1: 2 } },
      ],
    }];
    await withMock({ version, libraries }, async (mock) => {
      const lib = libraryId(mock, "Shows");
      const series = mock.nodes.find((n) => n.name === "The Office")!;
      const season = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
        filters: { title: "the office", season: 1 },
      });
      assert.deepEqual(
        season.assets.map((a) => `${a.season}:${a.episode}-${a.episodeEnd ?? ""}`),
        ["1:1-", "1:2-3", "1:4-", "1:5-6"],
      );
      // Four episodes fill the page of four: one more request past the total, answered empty.
      const eps = mock.requests.filter((r) => r.path.endsWith("/Episodes"));
      assert.deepEqual(
        eps.map((r) => new URL(r.url, mock.url).searchParams.get("StartIndex")),
        ["0", "4"],
      );
      const q = new URL(eps[0].url, mock.url).searchParams;
      assert.equal(eps[0].path, `/Shows/${series.id}/Episodes`);
      assert.equal(q.get("Season"), "1");
      assert.equal(q.get("IsMissing"), "false");
      const search = itemRequests(mock).find((u) =>
        u.searchParams.get("IncludeItemTypes") === "Series"
      );
      assert.equal(search?.searchParams.get("SearchTerm"), "the office");

      mock.resetRequests();
      const one = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
        filters: { title: "The Office", season: 1, episode: 3 },
      });
      assert.deepEqual(one.assets.map((a) => [a.episode, a.episodeEnd]), [[2, 3]]);
      const specials = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
        filters: { title: "The Office", season: 0 },
      });
      assert.deepEqual(specials.assets.map((a) => [a.season, a.episode]), [[0, 1]]);
      const whole = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
        filters: { title: "The Office" },
      });
      assert.equal(whole.assets.length, 8);
      assert.ok(whole.assets.every((a) => a.seriesTitle === "The Office"));
      const none = await fetchAll(mock, { externalId: lib, kind: "shows" }, {
        filters: { title: "Nope" },
      });
      assert.equal(none.assets.length, 0);
    });
  });
}

Deno.test("jellyfin: unknown collection is COLLECTION_NOT_FOUND; other kinds are UNSUPPORTED", async () => {
  await withMock({}, async (mock) => {
    const e = await rejectsWith(
      fetchAll(mock, { externalId: "0123456789abcdef0123456789abcdef", kind: "movies" }),
      "COLLECTION_NOT_FOUND",
    );
    assert.match(e.message, /discovery/);
    await rejectsWith(
      fetchAll(mock, { externalId: libraryId(mock, "Music"), kind: "other" }),
      "UNSUPPORTED",
    );
  });
});

Deno.test("jellyfin 12.0: legacy auth forms are refused by the server; the importer still works", async () => {
  await withMock({ version: "12.0.0" }, async (mock) => {
    const legacy = await fetch(`${mock.url}/System/Info`, {
      headers: { "X-Emby-Token": mock.apiKey },
    });
    assert.equal(legacy.status, 401);
    await legacy.body?.cancel();
    const { assets } = await fetchAll(mock, {
      externalId: libraryId(mock, "Movies"),
      kind: "movies",
    });
    assert.equal(assets.length, 5);
  });
  await withMock({ version: "10.11.11" }, async (mock) => {
    const legacy = await fetch(`${mock.url}/System/Info`, {
      headers: { "X-Emby-Token": mock.apiKey },
    });
    assert.equal(legacy.status, 200, "10.x still reads X-Emby-Token");
    await legacy.body?.cancel();
  });
});

Deno.test("jellyfin mock: query parameter names are case-insensitive; 10.10+ rejects unknown sortBy", async () => {
  await withMock({}, async (mock) => {
    const headers = { Authorization: `MediaBrowser Token="${mock.apiKey}"` };
    const lib = libraryId(mock, "Shows");
    const count = async (query: string) => {
      const res = await fetch(`${mock.url}/Items?${query}`, { headers });
      return [res.status, (await res.json()).TotalRecordCount];
    };
    assert.deepEqual(
      await count(`parentid=${lib}&recursive=true&includeitemtypes=episode&limit=0`),
      await count(`ParentId=${lib}&Recursive=true&IncludeItemTypes=Episode&Limit=0`),
    );
    assert.deepEqual((await count(`ParentId=${lib}&SortBy=Bogus`))[0], 400);
  });
});

Deno.test("emby: /emby routes, X-Emby-Token, user routes and numeric ids", async () => {
  await withMock({ flavor: "emby" }, async (mock) => {
    const info = await fastEmby.validateConnection(configOf(mock), ctx());
    assert.equal(info.version, "4.8.10.0");
    const list = await fastEmby.listCollections(configOf(mock), ctx());
    assert.deepEqual(list.map((c) => [c.kind, c.locations]), [
      ["movies", ["/media/Movies"]],
      ["shows", ["/media/Shows"]],
      ["other", ["/media/Music"]],
    ]);
    const shows = list[1];
    const { assets } = await fetchAll(mock, shows);
    assert.equal(assets.length, 14);
    assert.ok(assets.every((a) => /^\d+$/.test(a.externalId)), "Emby ids are numeric");
    const admin = mock.users.find((u) => u.admin)!;
    for (const r of mock.requests) {
      assert.match(r.path, /^\/emby\//, r.path);
      if (r.path === "/emby/System/Info/Public") continue;
      assert.equal(r.headers["x-emby-token"], mock.apiKey);
      assert.match(r.headers["x-emby-authorization"], /^Emby Client="RetroVue"/);
      assert.equal(r.headers.authorization, undefined);
    }
    assert.ok(mock.requests.some((r) => r.path === `/emby/Users/${admin.id}/Items`));
    assert.ok(!mock.requests.some((r) => r.path === "/emby/Users/Me"), "Emby has no /Users/Me");
    const targeted = await fetchAll(mock, shows, {
      filters: { title: "Series 00002", season: 1, episode: 2 },
    });
    assert.deepEqual(targeted.assets.map((a) => [a.seriesTitle, a.episode]), [["Series 00002", 2]]);
  });
});

Deno.test("emby: a base URL already ending in /emby is not doubled; a bad key is AUTH_FAILED", async () => {
  await withMock({ flavor: "emby" }, async (mock) => {
    await fastEmby.validateConnection(configOf(mock, { base_url: `${mock.url}/emby` }), ctx());
    assert.ok(mock.requests.every((r) => !r.path.startsWith("/emby/emby")));
    const e = await rejectsWith(
      fastEmby.validateConnection(configOf(mock, { api_key: "nope-nope-nope" }), ctx()),
      "AUTH_FAILED",
    );
    assert.match(e.message, /^Emby at/);
  });
});

Deno.test("jellyfin: mapping of the real Jellyfin movie capture (reference data)", async (t) => {
  let text: string;
  try {
    text = await Deno.readTextFile(
      `${REFERENCE}captures/tunarr__movie-with-external-subtitles.json`,
    );
  } catch {
    console.log(`skipped: reference capture not found under ${REFERENCE}`);
    return;
  }
  await t.step("BaseItemDto → asset", () => {
    const raw = JSON.parse(text);
    const asset = mapJellyfinItem(raw, "movie");
    assert.ok(!isJellyfinSkip(asset));
    assert.equal(asset.externalId, "856ca382f09d9481464c88baca4862f0");
    assert.equal(asset.title, "The 40 Year Old Virgin");
    assert.equal(asset.year, 2005);
    assert.equal(asset.durationMs, 7_947_520, "79475200000 ticks = 2 h 12 min 27.52 s");
    assert.deepEqual(asset.externalIds, { imdb: "tt0405422", tmdb: "6957" });
    assert.equal(asset.modified, "a8dc84f8a11e9ee55bce8bde2eb871ce");
    assert.equal(asset.size, 22_210_344_622);
    assert.match(asset.path ?? "", /^\/data\/media\/movies\/The 40 Year Old Virgin \(2005\)\//);
    assert.ok(importedAssetSchema.safeParse(asset).success);
  });
  await t.step("technical fields from the first media source's streams", () => {
    const asset = mapJellyfinItem(JSON.parse(text), "movie");
    assert.ok(!isJellyfinSkip(asset));
    const tech = asset.tech!;
    assert.equal(tech.container, "mkv");
    assert.equal(tech.bitrate, 26_261_316);
    assert.deepEqual(tech.video, {
      codec: "h264",
      profile: "High",
      width: 1920,
      height: 1080,
      frameRate: 23.976,
      scanType: "progressive",
      hdr: "sdr",
    });
    assert.deepEqual(tech.audio, [{ codec: "dts", channels: 6, language: "eng", default: true }]);
    // Two external SubRip files, then five embedded PGS tracks; the embedded image is not a stream.
    assert.equal(tech.subtitles?.length, 7);
    assert.deepEqual(tech.subtitles?.[0], {
      codec: "subrip",
      language: "eng",
      forced: false,
      external: true,
    });
    assert.deepEqual(
      tech.subtitles?.slice(2).map((s) => [s.codec, s.language, s.external]),
      [
        ["PGSSUB", "eng", false],
        ["PGSSUB", "spa", false],
        ["PGSSUB", "fra", false],
        ["PGSSUB", "spa", false],
        ["PGSSUB", "fra", false],
      ],
    );
  });
});

Deno.test("jellyfin: odd stream values become unknown; too many streams are cut to the bound", () => {
  const stream = (i: number) => ({ Type: "Audio", Codec: "aac", Channels: i, IsDefault: "yes" });
  const asset = mapJellyfinItem({
    Id: "1",
    Type: "Movie",
    Name: "Odd",
    MediaSources: [{
      Container: 7,
      Bitrate: -5,
      MediaStreams: [
        { Type: "Video", Codec: "x".repeat(100), Width: 0, Height: "1080", IsInterlaced: true },
        ...Array.from({ length: 70 }, (_, i) => stream(i)),
        { Type: "Subtitle", Codec: "ass", Language: "jpn", IsForced: true },
      ],
    }],
  }, "movie");
  assert.ok(!isJellyfinSkip(asset));
  assert.equal(asset.tech?.container, null);
  assert.equal(asset.tech?.bitrate, null);
  assert.deepEqual(asset.tech?.video, {
    codec: null,
    profile: null,
    width: null,
    height: null,
    frameRate: null,
    scanType: "interlaced",
    hdr: null,
  });
  assert.equal(asset.tech?.audio?.length, 64);
  assert.equal(asset.tech?.audio?.[0].channels, null, "0 channels means unknown");
  assert.equal(asset.tech?.audio?.[0].default, false);
  assert.deepEqual(asset.tech?.subtitles, [{
    codec: "ass",
    language: "jpn",
    forced: true,
    external: false,
  }]);
  assert.ok(importedAssetSchema.safeParse(asset).success, "within the host's bounds");
  const bare = mapJellyfinItem({ Id: "2", Type: "Movie", Name: "Bare" }, "movie");
  assert.ok(!isJellyfinSkip(bare));
  assert.equal(bare.tech, undefined, "nothing known: no tech");
});

for (const flavor of ["jellyfin", "emby"] as const) {
  Deno.test(`${flavor}: a movie split into files has every part, and their size and duration`, async () => {
    const libraries: JfLibrarySpec[] = [{
      name: "Movies",
      collectionType: "movies",
      movies: [
        { name: "Kill Bill", year: 2003, parts: 3 },
        { name: "Plain", year: 1999 },
        { name: "Orphan", year: 2009 },
      ],
    }];
    await withMock({ flavor, libraries }, async (mock) => {
      // A PartCount the server cannot back up: its parts route lists nothing for it.
      const orphan = mock.nodes.find((n) => n.name === "Orphan")!;
      orphan.dtoPatch = { PartCount: 2 };
      const { assets, context } = await fetchAll(mock, {
        externalId: libraryId(mock, "Movies"),
        kind: "movies",
      });
      const bill = assets.find((a) => a.title === "Kill Bill")!;
      const node = mock.nodes.find((n) => n.name === "Kill Bill")!;
      const others = node.additionalParts!;
      assert.equal(others.length, 2);
      assert.deepEqual(bill.parts, [node.path, ...others.map((p) => p.path)]);
      assert.match(bill.parts![2], /Kill Bill \(2003\) - cd3\.mkv$/);
      assert.equal(bill.path, node.path, "the first part is the asset's path");
      const ticks = [node.ticks!, ...others.map((p) => p.ticks!)];
      assert.equal(bill.durationMs, ticks.reduce((a, b) => a + b) / 10_000);
      assert.equal(bill.size, node.size! + others.reduce((sum, p) => sum + p.size!, 0));
      const plain = assets.find((a) => a.title === "Plain")!;
      assert.equal(plain.parts, undefined);
      const partRequests = mock.requests.filter((r) => /\/additionalparts$/i.test(r.path));
      assert.equal(partRequests.length, 2, "one request per stacked item, none for the others");
      const kept = assets.find((a) => a.title === "Orphan")!;
      assert.equal(kept.parts, undefined);
      assert.equal(kept.durationMs, orphan.ticks! / 10_000);
      assert.equal(context.warnings.length, 1);
      assert.match(
        context.warnings[0],
        /^'Orphan' \(id .+\) is split into 2 files, but the server listed 0 readable additional part\(s\) of the 1 expected; only its first file is imported$/,
      );
    });
  });
}

Deno.test("jellyfin: stacked parts that repeat a file, or more than 100, keep the first file with a warning", async () => {
  const libraries: JfLibrarySpec[] = [{
    name: "Movies",
    collectionType: "movies",
    movies: [{ name: "Twice", year: 2001, parts: 2 }, { name: "Many", year: 2002 }],
  }];
  await withMock({ libraries }, async (mock) => {
    const twice = mock.nodes.find((n) => n.name === "Twice")!;
    // The server lists the first file again as the second part.
    twice.additionalParts![0].path = twice.path;
    mock.nodes.find((n) => n.name === "Many")!.dtoPatch = { PartCount: 101 };
    const { assets, context } = await fetchAll(mock, {
      externalId: libraryId(mock, "Movies"),
      kind: "movies",
    });
    for (const a of assets) {
      assert.equal(a.parts, undefined, `${a.title} keeps its first file only`);
    }
    assert.equal(assets.find((a) => a.title === "Twice")!.size, twice.size);
    assert.deepEqual(context.warnings.map((w) => w.replace(/ \(id [^)]+\)/, "")).sort(), [
      "'Many' is split into 101 files, more than the 100 an asset may have; only its first file is imported",
      "'Twice' is split into 2 files, but the server listed a file twice among them; only its first file is imported",
    ]);
  });
});

Deno.test("jellyfin: an item listed with its Id but malformed keeps that stored asset only", async () => {
  const libraries: JfLibrarySpec[] = [{ name: "Movies", collectionType: "movies", movies: 6 }];
  await withMock({ libraries }, async (mock) => {
    const lib = libraryId(mock, "Movies");
    const whole = await fetchAll(mock, { externalId: lib, kind: "movies" });
    assert.deepEqual(whole.context.unlistedIds, []);
    const bad = mock.nodes.find((n) => n.name === "Movie 000002")!;
    const nameless = mock.nodes.find((n) => n.name === "Movie 000004")!;
    const virtual = mock.nodes.find((n) => n.name === "Movie 000005")!;
    bad.dtoPatch = { Name: ["not", "text"] };
    nameless.dtoPatch = { Name: "" };
    // A missing-item placeholder is not unreadable: it is gone, and its asset may go.
    virtual.dtoPatch = { LocationType: "Virtual" };
    const { assets, context } = await fetchAll(mock, { externalId: lib, kind: "movies" });
    assert.equal(assets.length, 3);
    assert.deepEqual(context.unlistedIds.sort(), [bad.id, nameless.id].sort());
    assert.deepEqual(context.unlistedPrefixes, []);
    assert.equal(context.skips.length, 3);
  });
});

Deno.test("jellyfin: an item listed without an Id keeps every stored asset this run (unlisted '')", async () => {
  const libraries: JfLibrarySpec[] = [{ name: "Movies", collectionType: "movies", movies: 6 }];
  await withMock({ libraries }, async (mock) => {
    const lib = libraryId(mock, "Movies");
    const whole = await fetchAll(mock, { externalId: lib, kind: "movies" });
    assert.deepEqual(whole.context.unlistedPrefixes, []);
    // The server leaves one item's Id out: skipped as malformed, and its stored asset, which
    // cannot be told apart, must not be taken as removed.
    mock.nodes.find((n) => n.name === "Movie 000005")!.dtoPatch = { Id: undefined };
    const { assets, context } = await fetchAll(mock, { externalId: lib, kind: "movies" });
    assert.equal(assets.length, 5);
    assert.deepEqual(context.unlistedPrefixes, [""]);
    assert.ok(
      context.warnings.some((w) =>
        w.endsWith(
          " listed 1 item(s) of Jellyfin library 'Library' without an Id; as their stored " +
            "assets cannot be told apart, none is removed in this ingest",
        )
      ),
      context.warnings.join("\n"),
    );
  });
});
