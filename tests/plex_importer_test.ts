/**
 * The Plex importer module against the Plex mock, called directly (no sandbox).
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type {
  AssetFilters,
  CollectionKind,
  ImportedAsset,
  ImporterConfig,
} from "../core/contract.ts";
import plex, { createPlexImporter } from "../importers/plex/mod.ts";
import { plexClientId } from "../importers/plex/_http.ts";
import { isPlexSkip, mapPlexItem, mapPlexSection } from "../importers/plex/_map.ts";
import { normalizeAsset } from "../ingest/normalize.ts";
import { importedAssetSchema } from "../core/schemas.ts";
import { type PlexMock, type SectionSpec, startPlexMock } from "./mocks/plex_server.ts";
import { makeTestCertificates } from "./mocks/plex_tls.ts";

const REFERENCE = fileURLToPath(new URL("../../shared/reference/plex/", import.meta.url));

/** Short timeouts and backoffs so fault tests stay fast. */
const fast = createPlexImporter({ timeoutMs: 3000, retries: 2, backoffMs: 5 });

interface Ctx {
  signal: AbortSignal;
  warnings: string[];
  skips: [string, string][];
  warn(message: string): void;
  skipped(item: string, reason: string): void;
}

function ctx(signal = new AbortController().signal): Ctx {
  const c: Ctx = {
    signal,
    warnings: [],
    skips: [],
    warn: (m) => c.warnings.push(m),
    skipped: (i, r) => c.skips.push([i, r]),
  };
  return c;
}

function configOf(mock: PlexMock, extra: ImporterConfig = {}): ImporterConfig {
  return { base_url: mock.url, token: mock.token, verify_ssl: true, page_size: 4, ...extra };
}

interface Fetched {
  pages: ImportedAsset[][];
  assets: ImportedAsset[];
  context: Ctx;
}

async function fetchAll(
  mock: PlexMock,
  collection: { externalId: string; kind: CollectionKind; name?: string },
  options: { filters?: AssetFilters; config?: ImporterConfig; importer?: typeof plex } = {},
): Promise<Fetched> {
  const context = ctx();
  const pages: ImportedAsset[][] = [];
  const importer = options.importer ?? fast;
  const iterable = importer.fetchAssets(configOf(mock, options.config), {
    ...context,
    collection: { name: collection.name ?? "Library", ...collection },
    filters: options.filters ?? {},
  });
  for await (const value of iterable) {
    assert.ok(Array.isArray(value), "the Plex importer yields whole pages");
    pages.push(value);
  }
  return { pages, assets: pages.flat(), context };
}

async function withMock(
  sections: SectionSpec[] | undefined,
  fn: (mock: PlexMock) => Promise<void>,
): Promise<void> {
  const mock = await startPlexMock(sections ? { sections } : {});
  try {
    await fn(mock);
  } finally {
    await mock.close();
  }
}

function assertNoTokenLeak(mock: PlexMock, ...texts: string[]): void {
  for (const r of mock.requests) {
    assert.ok(!r.url.includes(mock.token), `token in URL ${r.url}`);
    assert.ok(!/x-plex-token/i.test(r.url), `token parameter in URL ${r.url}`);
  }
  for (const t of texts) assert.ok(!t.includes(mock.token), `token leaked in: ${t}`);
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  mock?: PlexMock,
): Promise<Error & { code: string; retryable?: boolean }> {
  try {
    await promise;
  } catch (error) {
    const e = error as Error & { code: string; retryable?: boolean };
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (mock) assertNoTokenLeak(mock, e.message, String(e.stack));
    return e;
  }
  throw new assert.AssertionError({ message: `expected a ${code} rejection` });
}

async function drain(iterable: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of iterable) { /* drain */ }
}

const MOVIES_AND_SHOWS: SectionSpec[] = [
  { key: "1", type: "movie", title: "Movies", movies: 10, multiPartEvery: 4 },
  {
    key: "2",
    type: "show",
    title: "TV Shows",
    shows: 2,
    seasonsPerShow: 2,
    episodesPerSeason: 3,
    specialsPerShow: 1,
  },
  { key: "3", type: "artist", title: "Music", locations: ["/media/music", "/mnt/more-music"] },
  { key: "4", type: "movie", title: "Empty", movies: 0 },
];

Deno.test("plex: manifest declares params, grants and pushdown", () => {
  assert.equal(plex.typeId, "plex");
  const byName = Object.fromEntries(plex.params.map((p) => [p.name, p]));
  assert.equal(byName.base_url.grants, "net");
  assert.equal(byName.base_url.required, true);
  assert.equal(byName.token.secret, true);
  assert.equal(byName.verify_ssl.verifiesTls, true);
  assert.equal(byName.verify_ssl.default, true);
  assert.equal(byName.ca_file.grants, "read");
  assert.equal(typeof byName.page_size.default, "number");
  assert.ok(!("client_id" in byName), "the client id is derived, not a param");
  assert.deepEqual(plex.capabilities.filters.shows, ["title", "season", "episode"]);
  assert.deepEqual(plex.capabilities.filters.movies, ["title"]);
});

Deno.test("plex: client identifier is stable per base URL and distinct between servers", async () => {
  const a = await plexClientId("http://10.0.0.5:32400");
  assert.equal(a, await plexClientId("http://10.0.0.5:32400"));
  assert.notEqual(a, await plexClientId("http://10.0.0.6:32400"));
  assert.match(a, /^retrovue-[0-9a-f]{32}$/);
});

Deno.test("plex: validateConnection reads identity, then proves the token", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const info = await fast.validateConnection(configOf(mock), ctx());
    assert.equal(info.serverId, mock.machineIdentifier);
    assert.equal(info.serverName, "RetroVue Mock PMS");
    assert.ok(info.version);
    assert.deepEqual(mock.requests.map((r) => r.path), ["/identity", "/"]);
    const h = mock.requests[1].headers;
    assert.equal(h["x-plex-token"], mock.token);
    assert.equal(h["accept"], "application/json");
    assert.equal(h["x-plex-product"], "RetroVue");
    assert.ok(h["x-plex-version"]);
    assert.equal(h["x-plex-client-identifier"], await plexClientId(mock.url));
    assertNoTokenLeak(mock);
  });
});

Deno.test("plex: a bad token is AUTH_FAILED at once, never retried, never echoed", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const bad = "wrong-token-0123456789";
    const config = { ...configOf(mock), token: bad };
    const e = await rejectsWith(fast.validateConnection(config, ctx()), "AUTH_FAILED", mock);
    assert.match(e.message, /--token/);
    assert.ok(!e.message.includes(bad));
    assert.deepEqual(mock.requests.map((r) => [r.path, r.status]), [["/identity", 200], [
      "/",
      401,
    ]]);
    mock.resetRequests();
    await rejectsWith(fast.listCollections(config, ctx()), "AUTH_FAILED");
    await rejectsWith(
      drain(fast.fetchAssets(config, {
        ...ctx(),
        collection: { externalId: "1", kind: "movies", name: "Movies" },
        filters: {},
      })),
      "AUTH_FAILED",
    );
    assert.equal(mock.requestCount(), 2, "one request each, no retry of a 401");
  });
});

Deno.test("plex: refused connection is UNREACHABLE naming --base-url", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const e = await rejectsWith(
    fast.validateConnection({ base_url: `http://127.0.0.1:${port}`, token: "t0ken-secret" }, ctx()),
    "UNREACHABLE",
  );
  assert.match(e.message, /--base-url/);
  assert.ok(!e.message.includes("t0ken-secret"));
  assert.equal(e.retryable, true);
});

Deno.test("plex: a web server that is not Plex, or a body that is not a MediaContainer, is MALFORMED_RESPONSE", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    mock.setFault({ kind: "html" });
    let e = await rejectsWith(fast.validateConnection(configOf(mock), ctx()), "MALFORMED_RESPONSE");
    assert.match(e.message, /--base-url/);
    mock.setFault({ kind: "no-container" });
    e = await rejectsWith(fast.listCollections(configOf(mock), ctx()), "MALFORMED_RESPONSE");
    assert.match(e.message, /MediaContainer/);
    mock.setFault({ kind: "truncate", path: "/library/sections" });
    await rejectsWith(fast.listCollections(configOf(mock), ctx()), "MALFORMED_RESPONSE", mock);
    mock.setFault({ kind: "status", status: 404, path: "/identity" });
    e = await rejectsWith(fast.validateConnection(configOf(mock), ctx()), "MALFORMED_RESPONSE");
    assert.match(e.message, /Plex Media Server/);
  });
});

Deno.test("plex: listCollections maps movie and show sections, lists the rest as not ingestible", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const list = await fast.listCollections(configOf(mock), ctx());
    assert.deepEqual(list.map((c) => [c.externalId, c.kind, c.name, c.ingestible]), [
      ["1", "movies", "Movies", undefined],
      ["2", "shows", "TV Shows", undefined],
      ["3", "other", "Music", false],
      ["4", "movies", "Empty", undefined],
    ]);
    assert.deepEqual(list[0].locations, ["/media/Movies"]);
    assert.deepEqual(list[2].locations, ["/media/music", "/mnt/more-music"]);
    assert.match(list[2].reason ?? "", /artist/);
  });
});

Deno.test("plex: full movie fetch pages through type=1 with Guids, keeps every part", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const { pages, assets } = await fetchAll(mock, { externalId: "1", kind: "movies" });
    assert.deepEqual(pages.map((p) => p.length), [4, 4, 2]);
    assert.equal(assets.length, 10);
    const listed = mock.requests.map((r) => new URL(r.url, mock.url));
    assert.equal(listed.length, 3);
    for (const [i, u] of listed.entries()) {
      assert.equal(u.pathname, "/library/sections/1/all");
      assert.equal(u.searchParams.get("type"), "1");
      assert.equal(u.searchParams.get("includeGuids"), "1");
      assert.equal(u.searchParams.get("X-Plex-Container-Start"), String(i * 4));
      assert.equal(u.searchParams.get("X-Plex-Container-Size"), "4");
    }
    const src = mock.sections[0].movies;
    const fourth = assets[3];
    assert.equal(fourth.externalId, src[3].ratingKey);
    assert.equal(fourth.kind, "movie");
    assert.equal(fourth.title, src[3].title);
    assert.equal(fourth.year, src[3].year);
    assert.equal(fourth.durationMs, src[3].duration);
    assert.deepEqual(fourth.parts, src[3].media[0].map((p) => p.file));
    assert.equal(fourth.parts?.length, 2, "the 4th movie is a two-part stack");
    assert.equal(fourth.path, src[3].media[0][0].file);
    assert.equal(fourth.size, src[3].media[0][0].size + src[3].media[0][1].size);
    // updatedAt, then the media and part ids (a file swapped under the item gets new ones).
    const media = Number(src[3].ratingKey) * 10;
    assert.equal(
      fourth.modified,
      `${src[3].updatedAt} parts=${media}:${media * 10},${media * 10 + 1}`,
    );
    assert.equal(fourth.externalIds?.imdb, src[3].externalIds.imdb);
    assert.equal(fourth.externalIds?.tmdb, src[3].externalIds.tmdb);
    assert.equal(fourth.externalIds?.plex, src[3].guid);
    // Technical fields come from the listing's Media: the 3 listing pages were all the requests.
    assert.equal(fourth.tech?.container, "mkv");
    assert.equal(fourth.tech?.bitrate, 8_000_000);
    assert.deepEqual(fourth.tech?.audio, [{
      codec: "eac3",
      channels: 6,
      language: null,
      default: true,
    }]);
    assertNoTokenLeak(mock);
  });
});

Deno.test("plex: full show fetch uses type=4 and maps numbering, incl. specials", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const { assets } = await fetchAll(mock, { externalId: "2", kind: "shows" }, {
      config: { page_size: 5 },
    });
    assert.equal(assets.length, 14);
    assert.equal(mock.requestCount(), 3);
    const u = new URL(mock.requests[0].url, mock.url);
    assert.equal(u.searchParams.get("type"), "4");
    assert.equal(u.searchParams.get("includeGuids"), "1");
    const show = mock.sections[1].shows[0];
    const special = assets[0];
    assert.equal(special.kind, "episode");
    assert.equal(special.seriesTitle, show.title);
    assert.equal(special.season, 0);
    assert.equal(special.episode, 1);
    const e = show.seasons[2].episodes[1];
    const s2e2 = assets.find((a) => a.externalId === e.ratingKey);
    assert.ok(s2e2);
    assert.equal(s2e2.season, 2);
    assert.equal(s2e2.episode, 2);
    assert.equal(s2e2.title, e.title);
    assert.equal(s2e2.path, e.media[0][0].file);
    assert.equal(s2e2.externalIds?.tvdb, e.externalIds.tvdb);
    assert.equal(new Set(assets.map((a) => a.externalId)).size, 14);
    // Episodes without updatedAt fall back to addedAt as the change marker.
    const noUpdate = show.seasons.flatMap((s) => s.episodes).find((x) => x.updatedAt === undefined);
    if (noUpdate) {
      assert.match(
        assets.find((a) => a.externalId === noUpdate.ratingKey)?.modified ?? "",
        new RegExp(`^${noUpdate.addedAt} parts=\\d+:\\d+$`),
      );
    }
  });
});

Deno.test("plex: pagination edges: empty library, exact multiple of the page size", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const empty = await fetchAll(mock, { externalId: "4", kind: "movies" });
    assert.equal(empty.assets.length, 0);
    assert.equal(mock.requestCount(), 1);
    mock.resetRequests();
    const short = await fetchAll(mock, { externalId: "1", kind: "movies" }, {
      config: { page_size: 4 },
    });
    assert.deepEqual(short.pages.map((p) => p.length), [4, 4, 2]);
    assert.equal(mock.requestCount(), 3, "a short last page: no request past totalSize");
    mock.resetRequests();
    const exact = await fetchAll(mock, { externalId: "1", kind: "movies" }, {
      config: { page_size: 5 },
    });
    assert.deepEqual(exact.pages.map((p) => p.length), [5, 5]);
    // A full page reaching totalSize may hide a low total: one request past it, answered empty.
    const starts = mock.requests.map((r) =>
      new URL(r.url, mock.url).searchParams.get("X-Plex-Container-Start")
    );
    assert.deepEqual(starts, ["0", "5", "10"]);
    assert.deepEqual(exact.context.warnings, []);
  });
});

Deno.test("plex: a totalSize below what the library lists: the items past it are read, not removed", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    // Low by 1: the last page (full) brings the item past the total, then one more is asked
    // for; low by 5 or 6: only the page asked for past the total finds the rest.
    for (const low of [1, 5, 6]) {
      mock.resetRequests();
      mock.setFault({ kind: "low-total", count: low, path: "/library/sections/1" });
      const { assets, context } = await fetchAll(mock, { externalId: "1", kind: "movies" }, {
        config: { page_size: 5 },
      });
      mock.setFault();
      const all = mock.sections[0].movies.map((m) => m.ratingKey);
      assert.deepEqual(assets.map((a) => a.externalId).sort(), [...all].sort(), `low by ${low}`);
      assert.equal(context.warnings.length, 1, `low by ${low}`);
      assert.match(
        context.warnings[0],
        new RegExp(
          `^Plex listed 10 items of Plex library 'Library', more than the ${10 - low} it counts`,
        ),
      );
    }
  });
});

Deno.test("plex: totalSize shrinking between pages re-reads, so no remaining item is missed", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    mock.setFault({ kind: "shrink", count: 3, page: 0, times: 1, path: "/library/sections/1" });
    const { assets, context } = await fetchAll(mock, { externalId: "1", kind: "movies" });
    const remaining = mock.sections[0].movies.map((m) => m.ratingKey);
    assert.equal(remaining.length, 7);
    const got = assets.map((a) => a.externalId);
    for (const rk of remaining) assert.ok(got.includes(rk), `missing ${rk}`);
    assert.equal(new Set(got).size, got.length, "no duplicates");
    assert.equal(context.warnings.length, 1);
    assert.match(context.warnings[0], /changed while it was read \(10 → 7/);
  });
});

Deno.test("plex: totalSize growing between pages yields every item exactly once", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    mock.setFault({ kind: "grow", count: 3, page: 1, times: 1 });
    const { assets, context } = await fetchAll(mock, { externalId: "1", kind: "movies" });
    const all = mock.sections[0].movies.map((m) => m.ratingKey);
    assert.equal(all.length, 13);
    assert.deepEqual(assets.map((a) => a.externalId).sort(), [...all].sort());
    assert.equal(context.warnings.length, 1);
  });
});

Deno.test("plex: a 500 on page 1 is retried once and the fetch completes", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    mock.setFault({ kind: "status", status: 500, page: 1, times: 1 });
    const { assets } = await fetchAll(mock, { externalId: "1", kind: "movies" });
    assert.equal(assets.length, 10);
    assert.deepEqual(mock.requests.map((r) => r.status), [200, 500, 200, 200]);
  });
});

Deno.test("plex: a dropped connection is retried; a persistent 5xx gives up as UNREACHABLE", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    mock.setFault({ kind: "drop", page: 2, times: 1 });
    const { assets } = await fetchAll(mock, { externalId: "1", kind: "movies" });
    assert.equal(assets.length, 10);
    assert.equal(mock.requestCount(), 4);
    mock.resetRequests();
    mock.setFault({ kind: "status", status: 503 });
    const e = await rejectsWith(
      fetchAll(mock, { externalId: "1", kind: "movies" }),
      "UNREACHABLE",
      mock,
    );
    assert.match(e.message, /HTTP 503/);
    assert.equal(e.retryable, true);
    assert.equal(mock.requestCount(), 3, "first attempt + 2 retries, then stop");
  });
});

Deno.test("plex: a slow answer times out as UNREACHABLE", async () => {
  const importer = createPlexImporter({ timeoutMs: 150, retries: 1, backoffMs: 5 });
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    mock.setFault({ kind: "slow", delayMs: 5_000, path: "/library/sections" });
    const e = await rejectsWith(importer.listCollections(configOf(mock), ctx()), "UNREACHABLE");
    assert.match(e.message, /did not answer/);
    assert.equal(mock.requestCount(), 2, "timeouts are retried, boundedly");
  });
});

Deno.test("plex: cancelling the context stops a fetch without further requests", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const controller = new AbortController();
    const context = ctx(controller.signal);
    const iterable = fast.fetchAssets(configOf(mock), {
      ...context,
      collection: { externalId: "1", kind: "movies", name: "Movies" },
      filters: {},
    });
    let pages = 0;
    await assert.rejects(async () => {
      for await (const _ of iterable) {
        pages++;
        controller.abort(new DOMException("stop", "AbortError"));
      }
    }, (e: Error) => e.name === "AbortError");
    assert.equal(pages, 1);
    assert.ok(mock.requestCount() <= 2, "at most the prefetched page");
  });
});

Deno.test("plex: targeted movie fetch pushes the title down and matches it exactly", async () => {
  const sections: SectionSpec[] = [{
    key: "1",
    type: "movie",
    title: "Movies",
    movies: [{ title: "Alien" }, { title: "Aliens" }, { title: "ALIEN", year: 2001 }, {
      title: "Heat",
    }],
  }];
  await withMock(sections, async (mock) => {
    const { assets } = await fetchAll(mock, { externalId: "1", kind: "movies" }, {
      filters: { title: "alien" },
    });
    assert.deepEqual(assets.map((a) => a.title).sort(), ["ALIEN", "Alien"]);
    assert.equal(mock.requestCount(), 1);
    assert.equal(new URL(mock.requests[0].url, mock.url).searchParams.get("title"), "alien");
  });
});

Deno.test("plex: targeted show fetch: title → show → allLeaves, then season and episode", async () => {
  const sections: SectionSpec[] = [{
    key: "5",
    type: "show",
    title: "TV",
    shows: [
      { title: "Alice in Borderland", seasons: { 0: 2, 1: 8, 2: 8 } },
      { title: "Alice", seasons: { 1: 3 } },
      { title: "Bob", seasons: { 1: 3 } },
    ],
  }];
  await withMock(sections, async (mock) => {
    const season = await fetchAll(mock, { externalId: "5", kind: "shows" }, {
      filters: { title: "alice in borderland", season: 2 },
      config: { page_size: 500 },
    });
    assert.equal(season.assets.length, 8);
    assert.ok(
      season.assets.every((a) => a.season === 2 && a.seriesTitle === "Alice in Borderland"),
    );
    const show = mock.sections[0].shows[0];
    assert.deepEqual(mock.requests.map((r) => r.path), [
      "/library/sections/5/all",
      `/library/metadata/${show.ratingKey}/allLeaves`,
    ]);
    const first = new URL(mock.requests[0].url, mock.url).searchParams;
    assert.equal(first.get("type"), "2");
    assert.equal(first.get("title"), "alice in borderland");

    mock.resetRequests();
    const specials = await fetchAll(mock, { externalId: "5", kind: "shows" }, {
      filters: { title: "Alice in Borderland", season: 0, episode: 2 },
    });
    assert.deepEqual(specials.assets.map((a) => [a.season, a.episode]), [[0, 2]]);

    const none = await fetchAll(mock, { externalId: "5", kind: "shows" }, {
      filters: { title: "Nobody" },
    });
    assert.equal(none.assets.length, 0);
  });
});

Deno.test("plex: several shows with the same title are all ingested and reported", async () => {
  const sections: SectionSpec[] = [{
    key: "5",
    type: "show",
    title: "TV",
    shows: [
      { title: "The Office", year: 2001, seasons: { 1: 2 } },
      { title: "The Office", year: 2005, seasons: { 1: 3 } },
    ],
  }];
  await withMock(sections, async (mock) => {
    const { assets, context } = await fetchAll(mock, { externalId: "5", kind: "shows" }, {
      filters: { title: "the office", season: 1 },
    });
    assert.equal(assets.length, 5);
    assert.equal(context.warnings.length, 1);
    assert.match(context.warnings[0], /matches 2 shows/);
  });
});

Deno.test("plex: unknown section is COLLECTION_NOT_FOUND; other kinds are UNSUPPORTED", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const e = await rejectsWith(
      fetchAll(mock, { externalId: "99", kind: "movies", name: "Gone" }),
      "COLLECTION_NOT_FOUND",
      mock,
    );
    assert.match(e.message, /Gone/);
    await rejectsWith(
      fetchAll(mock, { externalId: "99", kind: "shows" }, { filters: { title: "x" } }),
      "COLLECTION_NOT_FOUND",
    );
    await rejectsWith(fetchAll(mock, { externalId: "3", kind: "other" }), "UNSUPPORTED");
  });
});

Deno.test("plex: the mock answers XML without Accept: application/json and 401 HTML on a missing token", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const xml = await fetch(`${mock.url}/library/sections`, {
      headers: { "X-Plex-Token": mock.token },
    });
    assert.match(await xml.text(), /^<\?xml[^]*<Directory [^>]*key="1"/);
    const unauth = await fetch(`${mock.url}/library/sections`, {
      headers: { Accept: "application/json" },
    });
    assert.equal(unauth.status, 401);
    assert.match(unauth.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await unauth.text(), /401 Unauthorized/);
    const probe = await fetch(
      `${mock.url}/library/sections/1/all?X-Plex-Container-Start=0&X-Plex-Container-Size=0`,
      { headers: { "X-Plex-Token": mock.token, Accept: "application/json" } },
    );
    const mc = (await probe.json()).MediaContainer;
    assert.deepEqual([mc.size, mc.totalSize, mc.Metadata.length], [0, 10, 0]);
  });
});

Deno.test("plex: ca file: missing file is CONFIG_INVALID", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const e = await rejectsWith(
      fast.validateConnection(configOf(mock, { ca_file: "/nonexistent/ca.pem" }), ctx()),
      "CONFIG_INVALID",
    );
    assert.match(e.message, /--ca-file/);
  });
});

Deno.test("plex: HTTPS with --ca-file works; an unknown certificate is UNREACHABLE naming the fix", async () => {
  const certs = await makeTestCertificates();
  if (!certs) {
    console.log("skipped: openssl is not available to make a test certificate");
    return;
  }
  const mock = await startPlexMock({ tls: { cert: certs.cert, key: certs.key } });
  try {
    const info = await fast.validateConnection(configOf(mock, { ca_file: certs.caFile }), ctx());
    assert.equal(info.serverId, mock.machineIdentifier);
    const e = await rejectsWith(fast.validateConnection(configOf(mock), ctx()), "UNREACHABLE");
    assert.match(e.message, /certificate/);
    assert.match(e.message, /--ca-file/);
    assert.match(e.message, /--verify-ssl/);
    assert.equal(e.retryable, false);
    // http:// to the HTTPS server: its TLS bytes are no HTTP answer; the error says to try https.
    const plain = { ...configOf(mock), base_url: mock.url.replace(/^https:/, "http:") };
    const h = await rejectsWith(fast.validateConnection(plain, ctx()), "UNREACHABLE");
    assert.match(h.message, /the server may speak HTTPS: try https:\/\/ in --base-url/);
  } finally {
    await mock.close();
    await Deno.remove(certs.dir, { recursive: true });
  }
});

Deno.test("plex: a duration missing on the item and its version is the sum of its parts", () => {
  const item = (parts: unknown[]) => ({
    ratingKey: "9",
    type: "movie",
    title: "Stacked",
    Media: [{ id: 1, Part: parts }],
  });
  const two = mapPlexItem(
    item([{ id: 1, file: "/m/a.mkv", duration: 1000 }, {
      id: 2,
      file: "/m/b.mkv",
      duration: 2500,
    }]),
    "movie",
  ) as ImportedAsset;
  assert.equal(two.durationMs, 3500);
  const gap = mapPlexItem(
    item([{ id: 1, file: "/m/a.mkv", duration: 1000 }, { id: 2, file: "/m/b.mkv" }]),
    "movie",
  ) as ImportedAsset;
  assert.equal(gap.durationMs, null, "a part without a duration leaves the total unknown");
  assert.equal(gap.tech, null, "a version with no stream facts reports no tech");
});

Deno.test("plex: implausible Media values are dropped, not passed on to fail the item", () => {
  const mapped = mapPlexItem({
    ratingKey: "7",
    type: "movie",
    title: "Odd",
    Media: [{ id: 1, container: "x".repeat(200), audioChannels: 500, audioCodec: "aac", Part: [] }],
  }, "movie") as ImportedAsset;
  assert.deepEqual(mapped.tech, {
    container: null,
    bitrate: null,
    video: null,
    audio: [{ codec: "aac", channels: null, language: null, default: true }],
  });
  assert.ok(normalizeAsset(mapped, []).ok);
});

Deno.test("plex: an item's type is read without regard to case; another type is still skipped", () => {
  // Skipped as of another type, an item keeps no stored asset: a server writing "Movie" would
  // have its movies removed.
  const movie = mapPlexItem({ ratingKey: "8", type: "Movie", title: "Cased" }, "movie");
  assert.ok(!isPlexSkip(movie), JSON.stringify(movie));
  assert.equal((movie as ImportedAsset).title, "Cased");
  const show = mapPlexItem({ ratingKey: "9", type: "show", title: "Not one" }, "movie");
  assert.ok(isPlexSkip(show));
  assert.match(show.reason, /not a movie \(type "show"\)/);
});

Deno.test("plex: mapping of real Plex captures (reference data)", async (t) => {
  const dir = join(REFERENCE, "captures_plex-api-spec");
  let episodes: { MediaContainer: { Metadata: unknown[] } };
  let movies: { MediaContainer: { Metadata: unknown[] } };
  let sections: { MediaContainer: { Directory: unknown[] } };
  try {
    episodes = JSON.parse(await Deno.readTextFile(join(dir, "library_sections_id_all__3.json")));
    movies = JSON.parse(await Deno.readTextFile(join(dir, "library_sections_id_all_b__6.json")));
    sections = JSON.parse(await Deno.readTextFile(join(dir, "library_sections__1.json")));
  } catch {
    console.log(`skipped: reference captures not found under ${dir}`);
    return;
  }
  await t.step("type=4 episodes", () => {
    const mapped = episodes.MediaContainer.Metadata.map((m) => mapPlexItem(m, "episode"));
    const first = mapped[0];
    assert.ok(!isPlexSkip(first));
    assert.equal(first.externalId, "45522");
    assert.equal(first.seriesTitle, "Alice in Borderland");
    assert.deepEqual([first.season, first.episode, first.durationMs], [1, 1, 2911520]);
    assert.deepEqual(first.externalIds, {
      imdb: "tt13015952",
      tmdb: "2434012",
      tvdb: "7945991",
      plex: "plex://episode/5f68d2a93109960041ef8aed",
    });
    assert.match(first.path ?? "", /S01E01/);
    // Some real episodes have no updatedAt: the change marker falls back to addedAt.
    assert.match(first.modified ?? "", /^1633811171 parts=\d+:\d+$/);
  });
  await t.step("multi-part movie keeps every part; other types are skipped", () => {
    const bears = movies.MediaContainer.Metadata.map((m) => mapPlexItem(m, "movie")).find((a) =>
      !isPlexSkip(a) && a.title.startsWith("Care Bears Movie II")
    ) as ImportedAsset;
    assert.equal(bears.parts?.length, 4);
    assert.match(bears.parts?.[3] ?? "", /part4\.mkv$/);
    assert.equal(bears.path, bears.parts?.[0]);
    assert.equal(bears.size, 389591971 * 3 + 389591973);
    assert.ok(isPlexSkip(mapPlexItem(movies.MediaContainer.Metadata[0], "episode")));
  });
  await t.step("technical fields come from Media, in the host's bounds", () => {
    const first = mapPlexItem(episodes.MediaContainer.Metadata[0], "episode") as ImportedAsset;
    assert.deepEqual(first.tech, {
      container: "mkv",
      bitrate: 11_961_000, // Plex reports kbit/s
      video: {
        codec: "hevc",
        profile: "main 10",
        width: 3840,
        height: 2160,
        frameRate: 24,
        scanType: "progressive",
        hdr: null,
      },
      audio: [{ codec: "eac3", channels: 6, language: null, default: true }],
    });
    const byTitle = (title: string) =>
      movies.MediaContainer.Metadata.map((m) => mapPlexItem(m, "movie")).find((a) =>
        !isPlexSkip(a) && a.title === title
      ) as ImportedAsset;
    assert.deepEqual(
      [
        byTitle("Berlin Syndrome").tech?.video?.frameRate,
        byTitle("Alien Overlords").tech?.video?.frameRate,
      ],
      [25, 29.97],
      "PAL and NTSC classes",
    );
    // Every real item the mapper produces passes the host's validation, tech included.
    for (const item of [...episodes.MediaContainer.Metadata, ...movies.MediaContainer.Metadata]) {
      const mapped = mapPlexItem(
        item,
        (item as { type?: string }).type === "episode" ? "episode" : "movie",
      );
      if (isPlexSkip(mapped)) continue;
      const outcome = normalizeAsset(mapped, []);
      assert.ok(outcome.ok, `${mapped.externalId}: ${outcome.ok ? "" : outcome.reason}`);
      assert.equal(outcome.asset.tech === null, mapped.tech === null, mapped.externalId);
    }
  });
  await t.step("sections", () => {
    const list = sections.MediaContainer.Directory.map(mapPlexSection);
    const music = list.find((c) => c?.name === "Music");
    assert.equal(music?.kind, "other");
    assert.equal(music?.ingestible, false);
    const tv = list.find((c) => c?.externalId === "2");
    assert.equal(tv?.name, "TV Series", "trailing space trimmed");
    assert.equal(tv?.kind, "shows");
    assert.ok((tv?.locations ?? []).length > 0);
  });
});

/** An array nested `depth` levels deep: `String()` or `JSON.stringify` of it overflows the stack. */
function nested(depth = 10_000): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Maps `raw` as `expected`, asserting it is a skip. */
function skipOf(raw: unknown, expected: "movie" | "episode") {
  const mapped = mapPlexItem(raw, expected);
  assert.ok(isPlexSkip(mapped), `expected a skip, got ${JSON.stringify(mapped)}`);
  return mapped;
}

/** Asserts the host's schema accepts a mapped asset, and returns it. */
function accepted(mapped: ReturnType<typeof mapPlexItem>): ImportedAsset {
  assert.ok(!isPlexSkip(mapped), `expected an asset, got ${JSON.stringify(mapped)}`);
  const parsed = importedAssetSchema.safeParse(mapped);
  assert.ok(parsed.success, parsed.success ? "" : parsed.error.message);
  return mapped;
}

Deno.test("plex: a type nested 10000 arrays deep is skipped with a readable reason", () => {
  for (const expected of ["movie", "episode"] as const) {
    const skip = skipOf({ ratingKey: "41", type: nested(), title: "Deep" }, expected);
    assert.equal(skip.reason, "malformed: type is an array");
    assert.equal(skip.item, "Deep (ratingKey 41)");
  }
  assert.equal(
    skipOf({ ratingKey: "42", type: { a: nested() } }, "movie").reason,
    "malformed: type is an object",
  );
  // The rest of a listing is unaffected: each item is mapped on its own.
  const page = [
    { ratingKey: "1", type: nested(), title: "Bad" },
    { ratingKey: "2", type: "movie", title: "Good" },
  ].map((m) => mapPlexItem(m, "movie"));
  assert.ok(isPlexSkip(page[0]));
  assert.equal(accepted(page[1]).title, "Good");
});

Deno.test("plex: deep nesting in the other fields the mapper reads never throws", () => {
  const deep = nested();
  for (const [field, expected] of [["title", "movie"], ["ratingKey", "movie"]] as const) {
    const skip = skipOf({ ratingKey: "5", type: expected, title: "T", [field]: deep }, expected);
    assert.equal(skip.reason, `malformed: ${field} is an array`);
  }
  const episode = skipOf(
    { ratingKey: "6", type: "episode", grandparentTitle: deep, title: { x: deep } },
    "episode",
  );
  assert.equal(episode.reason, "malformed: title is an object; grandparentTitle is an array");
  assert.equal(episode.item, "? S?E? (ratingKey 6)");
  // Lists and numbers nested deep are unreadable, so unknown; the item is kept.
  const base = { ratingKey: "7", type: "movie", title: "Kept", guid: deep, year: deep };
  for (
    const extra of [
      { Guid: deep },
      { Guid: [deep, { id: deep }] },
      { Media: deep },
      { Media: [deep] },
      { Media: [{ id: deep, Part: deep, duration: deep, bitrate: deep, videoCodec: deep }] },
      { Media: [{ Part: [deep, { id: deep, file: deep, size: deep, duration: deep }] }] },
      { duration: deep, updatedAt: deep, addedAt: deep },
    ]
  ) {
    const asset = accepted(mapPlexItem({ ...base, ...extra }, "movie"));
    assert.deepEqual(
      [asset.title, asset.year, asset.durationMs, asset.size, asset.path, asset.externalIds],
      ["Kept", null, null, null, null, {}],
    );
  }
});

Deno.test("plex: a skip quotes at most 100 characters of upstream text", () => {
  const long = "x".repeat(1_000_000);
  const movie = skipOf({ ratingKey: long, type: long, title: long }, "movie");
  const episode = skipOf({ ratingKey: "1", type: "episode", grandparentTitle: long }, "movie");
  for (const skip of [movie, episode]) {
    assert.ok(skip.item.length <= 250, `item ${skip.item.length} characters`);
    assert.ok(skip.reason.length <= 250, `reason ${skip.reason.length} characters`);
  }
  assert.match(movie.reason, /^not a movie \(type "x{99}…"\)$/);
  assert.match(episode.item, /^x{99}… S\?E\? \(ratingKey 1\)$/);
  const section = mapPlexSection({ key: "9", type: long, title: "Odd" });
  assert.ok((section?.reason ?? "").length <= 250);
});

Deno.test("plex: a 1e308 or negative duration or size is dropped (null), the item kept", () => {
  const item = (duration: unknown, size: unknown, media: Record<string, unknown> = {}) => ({
    ratingKey: "8",
    type: "movie",
    title: "Huge",
    duration,
    Media: [{ id: 1, ...media, Part: [{ id: 2, file: "/m/huge.mkv", size }] }],
  });
  for (const bad of [1e308, -1, -1e308, "1e308", "-5"]) {
    const asset = accepted(mapPlexItem(item(bad, bad), "movie"));
    assert.equal(asset.durationMs, null, `duration ${bad}`);
    assert.equal(asset.size, null, `size ${bad}`);
    assert.equal(asset.path, "/m/huge.mkv");
  }
  const fallback = accepted(mapPlexItem(item(1e308, 2 ** 53 + 2, { duration: 5000 }), "movie"));
  assert.deepEqual([fallback.durationMs, fallback.size], [5000, null], "the version's duration");
  const stacked = (parts: unknown[]) =>
    accepted(
      mapPlexItem(
        { ratingKey: "9", type: "movie", title: "Parts", Media: [{ Part: parts }] },
        "movie",
      ),
    );
  const sums = stacked([{ duration: 6e11, size: 2 ** 52 + 2 }, { duration: 6e11, size: 2 ** 52 }]);
  assert.deepEqual([sums.durationMs, sums.size], [null, null], "sums past the host's bounds");
  const one = stacked([{ duration: 1e308, size: 1e308 }, { duration: 1000, size: 1000 }]);
  assert.deepEqual([one.durationMs, one.size], [null, 1000], "an implausible part is unknown");
  const past = accepted(mapPlexItem(item(1e12 + 1, 2 ** 53 + 2), "movie"));
  assert.deepEqual([past.durationMs, past.size], [null, null], "just past the bounds");
  const fine = accepted(mapPlexItem(item(1e12, Number.MAX_SAFE_INTEGER), "movie"));
  assert.deepEqual(
    [fine.durationMs, fine.size],
    [1e12, Number.MAX_SAFE_INTEGER],
    "the bounds themselves are kept",
  );
  const unsafe = accepted(mapPlexItem(item(1000, 2 ** 53), "movie"));
  assert.equal(unsafe.size, null, "2**53 is no safe integer: unknown");
  assert.equal(accepted(mapPlexItem(item(1000, 1.5), "movie")).size, null, "bytes are whole");
});

Deno.test("plex: every number the mapper emits is within the host schema's bounds", () => {
  const episode = (fields: Record<string, unknown>) =>
    accepted(mapPlexItem({
      ratingKey: "10",
      type: "episode",
      grandparentTitle: "Show",
      title: "Ep",
      ...fields,
    }, "episode"));
  for (const year of [0, 1799, 3001, 99_999, 1e308, -2000, 2000.5]) {
    assert.equal(episode({ year }).year, null, `year ${year}`);
  }
  assert.equal(episode({ year: "1999" }).year, 1999);
  for (const index of [1_000_000_001, 2 ** 53 - 1, 1e308, -1]) {
    const asset = episode({ parentIndex: index, index });
    assert.deepEqual([asset.season, asset.episode], [null, null], `index ${index}`);
  }
  assert.deepEqual(
    [episode({ parentIndex: 1e9, index: 0 }).season, episode({ index: 1e9 }).episode],
    [1e9, 1e9],
  );
  const tech = episode({
    Media: [{
      bitrate: 1e308,
      videoCodec: "h264",
      width: 1e308,
      height: 100_001,
      audioCodec: "aac",
      audioChannels: 65,
      videoFrameRate: "999p",
    }],
  }).tech;
  assert.deepEqual(tech, {
    container: null,
    bitrate: null,
    video: {
      codec: "h264",
      profile: null,
      width: null,
      height: null,
      frameRate: 999,
      scanType: "progressive",
      hdr: null,
    },
    audio: [{ codec: "aac", channels: null, language: null, default: true }],
  });
  assert.equal(episode({ Media: [{ bitrate: 1e9 }] }).tech?.bitrate, 1e12);
});

Deno.test("plex: a page none of whose items has a ratingKey is MALFORMED_RESPONSE, not skipped items", async () => {
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    // From the second page on, the server names the key otherwise: taken as skipped items,
    // a full ingest would remove every one of them.
    for (const movie of mock.sections[0].movies.slice(4)) movie.ratingKey = "";
    const e = await rejectsWith(
      fetchAll(mock, { externalId: "1", kind: "movies", name: "Movies" }),
      "MALFORMED_RESPONSE",
      mock,
    );
    assert.match(
      e.message,
      /^Plex library 'Movies' answered 4 item\(s\) from index 4, none of them with a ratingKey$/,
    );
  });
});

Deno.test("plex: a malformed item with its ratingKey keeps its stored asset; one of another type does not", async () => {
  // The mapper names the held id only for malformed items that carry their ratingKey.
  assert.equal(skipOf({ ratingKey: "12", type: "movie", title: ["x"] }, "movie").heldId, "12");
  assert.equal(skipOf({ ratingKey: 13, type: { a: 1 } }, "movie").heldId, "13");
  assert.equal(
    skipOf({ ratingKey: "14", type: "clip", title: "Trailer" }, "movie").heldId,
    undefined,
  );
  assert.equal(skipOf({ ratingKey: ["15"], type: "movie", title: "T" }, "movie").heldId, undefined);
  // Through the importer: the id is held exactly (Plex's "12" must not hold "123").
  await withMock(MOVIES_AND_SHOWS, async (mock) => {
    const film = mock.sections[0].movies[1];
    film.title = { not: "text" } as unknown as string;
    const held: [string, boolean][] = [];
    const context = ctx();
    const iterable = fast.fetchAssets(configOf(mock), {
      ...context,
      unlisted: (prefix, options) => held.push([prefix, options?.exact === true]),
      collection: { name: "Library", externalId: "1", kind: "movies" },
      filters: {},
    });
    let count = 0;
    for await (const page of iterable) count += Array.isArray(page) ? page.length : 1;
    assert.equal(count, mock.sections[0].movies.length - 1);
    assert.deepEqual(held, [[film.ratingKey, true]]);
    assert.match(context.skips[0][1], /^malformed: title is an object/);
  });
});
