/**
 * The filesystem importer, called in-process with a hand-made context.
 * Fixtures are built at load time (the runner has write permission); each
 * test that reads them runs with read permission limited to the fixture
 * library (least privilege, as in the sandboxed worker).
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import importer from "../importers/filesystem/mod.ts";
import type { AssetFilters, ImportedAsset, ImporterConfig } from "../core/contract.ts";

const base = Deno.makeTempDirSync({ prefix: "retrovue_fs_test_" });
const lib = `${base}/lib`;
const outside = `${base}/outside`;
const empty = `${base}/empty`;
const missing = `${base}/missing`;
const office = "The Office (2005) {tvdb-73244}";

/** Writes `content` to `rel` under `root`, making its folders. */
function fileIn(root: string, rel: string, content = ""): void {
  const path = `${root}/${rel}`;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, content);
}

function file(rel: string, content = ""): void {
  fileIn(lib, rel, content);
}

file(`${office}/Season 01/The Office - S01E01 - Pilot.mkv`, "12345");
file(`${office}/Season 01/The Office - S01E02-E03 - Diversity Day.mkv`);
file(`${office}/Season 02/The Office - S02E01.mkv`);
file(
  `${office}/Season 02/The Office - S02E01.nfo`,
  `<episodedetails><title>The Dundies</title><season>2</season><episode>1</episode>` +
    `<uniqueid type="tvdb">12345</uniqueid></episodedetails>`,
);
file(`${office}/Specials/The Office - S00E01 - Bloopers.mkv`);
file(`${office}/Featurettes/Making of.mkv`);
file(`${office}/tvshow.nfo`, `<tvshow><title>The Office (US)</title><year>2005</year></tvshow>`);
file("Alien (1979)/Alien (1979).mkv", "abc");
file("Alien (1979)/Alien (1979)-trailer.mkv");
file("Alien (1979)/sample.mkv");
file("Alien (1979)/movie.nfo", `<movie><title>Alien</title><imdbid>tt0078748</imdbid></movie>`);
file("Kill Bill (2003)/Kill Bill (2003) - part1.mkv", "11");
file("Kill Bill (2003)/Kill Bill (2003) - part2.mkv", "222");
file("Escapee/Season 1/Escapee S01E01.mkv");
file(".secret.mkv");
file("notes.txt", "not a video");
Deno.mkdirSync(outside);
Deno.writeTextFileSync(`${outside}/stolen.mkv`, "outside");
Deno.symlinkSync(`${outside}/stolen.mkv`, `${lib}/Escapee/Season 1/Escapee S01E02.mkv`);
Deno.symlinkSync(outside, `${lib}/Outside Link`);
Deno.mkdirSync(empty);

/** Whether chmod 000 actually denies reads here (it does not for root). */
const lockedDir = `${base}/locked_probe`;
Deno.mkdirSync(lockedDir);
Deno.chmodSync(lockedDir, 0o000);
let chmodDenies = false;
try {
  Deno.readDirSync(lockedDir);
} catch {
  chmodDenies = true;
}
Deno.chmodSync(lockedDir, 0o755);

const LIB_ONLY: Deno.PermissionOptions = { read: [lib] };

interface Run {
  assets: ImportedAsset[];
  warnings: string[];
  skipped: Array<[string, string]>;
}

function context() {
  const warnings: string[] = [];
  const skipped: Array<[string, string]> = [];
  return {
    warnings,
    skipped,
    ctx: {
      signal: new AbortController().signal,
      warn: (m: string) => warnings.push(m),
      skipped: (item: string, reason: string) => skipped.push([item, reason]),
    },
  };
}

async function fetchAll(
  config: ImporterConfig,
  options: { root?: string; filters?: AssetFilters; kind?: "mixed" | "shows" | "movies" } = {},
): Promise<Run> {
  const { warnings, skipped, ctx } = context();
  const assets: ImportedAsset[] = [];
  const collection = {
    externalId: options.root ?? lib,
    kind: options.kind ?? "mixed",
    name: "lib",
  } as const;
  for await (
    const batch of importer.fetchAssets(config, {
      ...ctx,
      collection,
      filters: options.filters ?? {},
    })
  ) {
    assets.push(...[batch].flat());
  }
  return { assets, warnings, skipped };
}

const config: ImporterConfig = { root: [lib], kind: "auto", include_hidden: false };
const ids = (run: Run) => run.assets.map((a) => a.externalId);

Deno.test({
  name: "listCollections: one collection per root, NAME=PATH, detected kind, missing root",
  permissions: { read: [lib, empty] },
  async fn() {
    const { ctx } = context();
    const cols = await importer.listCollections(
      { root: [`Cartoons=${lib}`, empty, missing], kind: "auto" },
      ctx,
    );
    equal(cols.length, 3);
    deepStrictEqual(
      cols.map((c) => [c.externalId, c.name, c.kind, c.ingestible]),
      [[lib, "Cartoons", "mixed", true], [empty, "empty", "mixed", true], [
        missing,
        "missing",
        "mixed",
        false,
      ]],
    );
    match(cols[2].reason ?? "", /^root folder not found.*: .*missing$/);
    const shows = await importer.listCollections({ root: [lib], kind: "shows" }, ctx);
    equal(shows[0].kind, "shows");
  },
});

Deno.test({
  name: "config: an unknown --kind is CONFIG_INVALID",
  permissions: LIB_ONLY,
  async fn() {
    const { ctx } = context();
    await rejects(
      importer.listCollections({ root: [lib], kind: "music" }, ctx),
      (e: Error & { code?: string }) => e.code === "CONFIG_INVALID" && /--kind/.test(e.message),
    );
    await rejects(
      fetchAll({ root: [lib], kind: "auto", extensions: "mkv, bad ext" }),
      (e: Error & { code?: string }) => e.code === "CONFIG_INVALID",
    );
  },
});

Deno.test({
  name: "fetchAssets: full walk yields every video, skips and reports the rest",
  permissions: LIB_ONLY,
  async fn() {
    const run = await fetchAll(config);
    deepStrictEqual(ids(run), [
      "Alien (1979)/Alien (1979).mkv",
      "Escapee/Season 1/Escapee S01E01.mkv",
      "Kill Bill (2003)/Kill Bill (2003) - part1.mkv",
      `${office}/Season 01/The Office - S01E01 - Pilot.mkv`,
      `${office}/Season 01/The Office - S01E02-E03 - Diversity Day.mkv`,
      `${office}/Season 02/The Office - S02E01.mkv`,
      `${office}/Specials/The Office - S00E01 - Bloopers.mkv`,
    ]);
    const reasons = new Map(run.skipped);
    equal(reasons.get(".secret.mkv"), "hidden");
    equal(reasons.get("Alien (1979)/sample.mkv"), "sample");
    equal(reasons.get("Alien (1979)/Alien (1979)-trailer.mkv"), "extra (trailer)");
    equal(reasons.get(`${office}/Featurettes/`), "extras folder");
    equal(reasons.get("Escapee/Season 1/Escapee S01E02.mkv"), "symlink leaves the root");
    equal(reasons.get("Outside Link"), "symlink leaves the root");
    deepStrictEqual(run.warnings, []);

    const byId = new Map(run.assets.map((a) => [a.externalId, a]));
    const pilot = byId.get(`${office}/Season 01/The Office - S01E01 - Pilot.mkv`)!;
    deepStrictEqual(
      [pilot.kind, pilot.seriesTitle, pilot.title, pilot.season, pilot.episode, pilot.year],
      ["episode", "The Office (US)", "Pilot", 1, 1, 2005],
    );
    equal(pilot.size, 5);
    equal(pilot.path, `${lib}/${office}/Season 01/The Office - S01E01 - Pilot.mkv`);
    equal(pilot.externalIds?.series_tvdb, "73244");
    equal(pilot.modified, Deno.statSync(`${lib}/${pilot.externalId}`).mtime?.toISOString());
    const multi = byId.get(`${office}/Season 01/The Office - S01E02-E03 - Diversity Day.mkv`)!;
    deepStrictEqual([multi.episode, multi.episodeEnd], [2, 3]);
    const dundies = byId.get(`${office}/Season 02/The Office - S02E01.mkv`)!;
    deepStrictEqual([dundies.title, dundies.externalIds?.tvdb], ["The Dundies", "12345"]);
    equal(byId.get(`${office}/Specials/The Office - S00E01 - Bloopers.mkv`)!.season, 0);
    const alien = byId.get("Alien (1979)/Alien (1979).mkv")!;
    deepStrictEqual([alien.kind, alien.title, alien.year, alien.externalIds], [
      "movie",
      "Alien",
      1979,
      { imdb: "tt0078748" },
    ]);
    const bill = byId.get("Kill Bill (2003)/Kill Bill (2003) - part1.mkv")!;
    deepStrictEqual(bill.parts, [
      `${lib}/Kill Bill (2003)/Kill Bill (2003) - part1.mkv`,
      `${lib}/Kill Bill (2003)/Kill Bill (2003) - part2.mkv`,
    ]);
    equal(bill.size, 5);
    ok(!run.assets.some((a) => a.path?.includes("stolen")));
  },
});

Deno.test({
  name: "filters: title prunes other title folders, season prunes season folders, episode",
  permissions: LIB_ONLY,
  async fn() {
    const show = await fetchAll(config, { filters: { title: "the office (us)" } });
    equal(show.assets.length, 4);
    ok(show.assets.every((a) => a.seriesTitle === "The Office (US)"));
    // The Escapee folder (with its escaping symlink) was never read.
    ok(!show.skipped.some(([item]) => item.startsWith("Escapee")));
    ok(!show.skipped.some(([item]) => item.startsWith("Alien")));

    const movie = await fetchAll(config, { filters: { title: "ALIEN" } });
    deepStrictEqual(ids(movie), ["Alien (1979)/Alien (1979).mkv"]);

    const season = await fetchAll(config, { filters: { title: "The Office (US)", season: 0 } });
    deepStrictEqual(ids(season), [`${office}/Specials/The Office - S00E01 - Bloopers.mkv`]);
    ok(!season.skipped.some(([item]) => item.includes("Season 0")));

    const episode = await fetchAll(config, {
      filters: { title: "The Office (US)", season: 1, episode: 3 },
    });
    deepStrictEqual(ids(episode), [
      `${office}/Season 01/The Office - S01E02-E03 - Diversity Day.mkv`,
    ]);
    const none = await fetchAll(config, { filters: { title: "Nothing Like This" } });
    deepStrictEqual(none.assets, []);
  },
});

Deno.test({
  name: "determinism: two runs give identical output",
  permissions: LIB_ONLY,
  async fn() {
    const a = await fetchAll(config);
    const b = await fetchAll(config);
    deepStrictEqual(a, b);
  },
});

Deno.test({
  name: "kind shows: every file is an episode; include-hidden ingests hidden files",
  permissions: LIB_ONLY,
  async fn() {
    const shows = await fetchAll({ ...config, kind: "shows" });
    ok(shows.assets.every((a) => a.kind === "episode"));
    const hidden = await fetchAll({ ...config, include_hidden: true });
    ok(ids(hidden).includes(".secret.mkv"));
  },
});

Deno.test({
  name: "unreadable folder: reported as a warning, the rest still ingested",
  permissions: { read: [lib], write: [lib] },
  ignore: false,
  async fn() {
    if (!chmodDenies) {
      console.log("skipped: chmod 000 does not deny reads here (running as root)");
      return;
    }
    const locked = `${lib}/Locked (2000)`;
    Deno.mkdirSync(locked);
    Deno.writeTextFileSync(`${locked}/Locked (2000).mkv`, "");
    Deno.chmodSync(locked, 0o000);
    try {
      const run = await fetchAll(config);
      equal(run.assets.length, 7);
      equal(run.warnings.length, 1);
      match(run.warnings[0], /cannot read folder 'Locked \(2000\)'/);
    } finally {
      Deno.chmodSync(locked, 0o755);
      Deno.removeSync(locked, { recursive: true });
    }
  },
});

Deno.test({
  name: "empty root: no assets, one warning naming the root (an unmounted mount point is empty)",
  permissions: { read: [empty] },
  async fn() {
    const run = await fetchAll({ root: [empty] }, { root: empty });
    deepStrictEqual(run, {
      assets: [],
      warnings: [
        `root folder ${empty} is empty; if a drive or network share should be mounted there, ` +
        "it is not mounted",
      ],
      skipped: [],
    });
    // A targeted listing that finds nothing is the host's SCOPE_EMPTY, not a warning.
    const targeted = await fetchAll({ root: [empty] }, { root: empty, filters: { title: "X" } });
    deepStrictEqual(targeted, { assets: [], warnings: [], skipped: [] });
  },
});

Deno.test({
  name: "a root with files but no video: no assets, a warning naming the root",
  permissions: { read: [lib] },
  async fn() {
    const run = await fetchAll({ root: [lib], extensions: "xyz" }, { root: lib });
    deepStrictEqual(run.assets, []);
    deepStrictEqual(run.warnings, [`no video files found under root folder ${lib}`]);
  },
});

Deno.test({
  name: "missing root: fetchAssets throws UNREACHABLE naming the path, never lists it empty",
  permissions: { read: [base] },
  async fn() {
    await rejects(
      fetchAll({ root: [missing] }, { root: missing }),
      (e: Error & { code?: string; retryable?: boolean }) =>
        e.code === "UNREACHABLE" && e.retryable === true &&
        e.message ===
          `root folder not found: ${missing} (is the drive or network share that holds it mounted?)`,
    );
    await rejects(
      fetchAll({ root: [lib] }, { root: empty }),
      (e: Error & { code?: string }) => e.code === "COLLECTION_NOT_FOUND",
    );
  },
});

Deno.test({
  name: "validateConnection: ok with one readable root, CONFIG_INVALID when none is",
  permissions: { read: [base] },
  async fn() {
    const { ctx, warnings } = context();
    const info = await importer.validateConnection({ root: [`TV=${lib}`, missing] }, ctx);
    equal(info.serverName, "2 folders");
    equal(warnings.length, 1);
    await rejects(
      importer.validateConnection({ root: [missing] }, ctx),
      (e: Error & { code?: string }) => e.code === "CONFIG_INVALID",
    );
  },
});

/** A root of 45 movie folders that sort before 3 show folders (the 40-entry sample bug). */
const crowded = `${base}/crowded`;
for (let i = 1; i <= 45; i++) {
  const name = `A Movie ${String(i).padStart(2, "0")} (${1950 + i})`;
  Deno.mkdirSync(`${crowded}/${name}`, { recursive: true });
  Deno.writeTextFileSync(`${crowded}/${name}/${name}.mkv`, "m");
}
for (const show of ["Zebra Show", "Zulu Show (2001)", "Zz Top Show"]) {
  for (const [season, ep] of [[1, 1], [1, 2], [2, 1]]) {
    const dir = `${crowded}/${show}/Season ${season}`;
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(`${dir}/${show} - S0${season}E0${ep}.mkv`, "e");
  }
}
/** Only episodes, and only movies: the two roots whose every file agrees. */
const onlyShows = `${base}/only_shows`;
const onlyMovies = `${base}/only_movies`;
for (const rel of ["Show/Season 1/Show - S01E01.mkv", "Show/Season 1/02 - Second.mkv"]) {
  Deno.mkdirSync(`${onlyShows}/${rel.slice(0, rel.lastIndexOf("/"))}`, { recursive: true });
  Deno.writeTextFileSync(`${onlyShows}/${rel}`, "e");
}
Deno.mkdirSync(`${onlyMovies}/Alien (1979)`, { recursive: true });
Deno.writeTextFileSync(`${onlyMovies}/Alien (1979)/Alien (1979).mkv`, "m");
/** A DVD folder and a Blu-ray folder. */
const discs = `${base}/discs`;
for (
  const [rel, content] of [
    ["Movie (1999)/VIDEO_TS/VIDEO_TS.VOB", "1"],
    ["Movie (1999)/VIDEO_TS/VTS_01_1.VOB", "22"],
    ["Movie (1999)/VIDEO_TS/VTS_01_2.VOB", "333"],
    ["Show/Show - S02E13/BDMV/STREAM/00001.m2ts", "4444"],
    ["Show/Show - S02E13/BDMV/STREAM/00002.m2ts", "55555"],
    ["Show/Show - S02E13/BDMV/STREAM/00003.m2ts", "666"],
    // Menus, a title set of extras, and the feature in title set 2.
    ["Alien (1979)/VIDEO_TS/VIDEO_TS.VOB", "m"],
    ["Alien (1979)/VIDEO_TS/VTS_01_0.VOB", "menu"],
    ["Alien (1979)/VIDEO_TS/VTS_01_1.VOB", "extra"],
    ["Alien (1979)/VIDEO_TS/VTS_02_0.VOB", "mm"],
    ["Alien (1979)/VIDEO_TS/VTS_02_1.VOB", "feature-1"],
    ["Alien (1979)/VIDEO_TS/VTS_02_2.VOB", "feature-2"],
  ]
) fileIn(discs, rel, content);

Deno.test({
  name: "kind auto: 45 movie folders sorted before 3 show folders; every episode stays one",
  permissions: { read: [base] },
  async fn() {
    const { ctx } = context();
    const [col] = await importer.listCollections({ root: [crowded], kind: "auto" }, ctx);
    equal(col.kind, "mixed");
    // Whatever kind discovery recorded, `auto` reads each file from its own path.
    for (const recorded of ["movies", "mixed", "shows"] as const) {
      const run = await fetchAll({ root: [crowded], kind: "auto" }, {
        root: crowded,
        kind: recorded,
      });
      const episodes = run.assets.filter((a) => a.kind === "episode");
      const movies = run.assets.filter((a) => a.kind === "movie");
      equal(episodes.length, 9, `recorded ${recorded}`);
      equal(movies.length, 45, `recorded ${recorded}`);
      ok(episodes.every((e) => e.externalId.startsWith("Z") && e.season !== null));
      deepStrictEqual(
        new Set(episodes.map((e) => e.seriesTitle)),
        new Set(["Zebra Show", "Zulu Show", "Zz Top Show"]),
      );
    }
  },
});

Deno.test({
  name: "kind auto: a collection is shows or movies only when every file agrees",
  permissions: { read: [base] },
  async fn() {
    const { ctx } = context();
    const cols = await importer.listCollections(
      { root: [onlyShows, onlyMovies, crowded], kind: "auto" },
      ctx,
    );
    deepStrictEqual(cols.map((c) => c.kind), ["shows", "movies", "mixed"]);
  },
});

Deno.test({
  name: "kind movies is a hint: an S01E02 name is still an episode, with one warning",
  permissions: { read: [base] },
  async fn() {
    const run = await fetchAll({ root: [crowded], kind: "movies" }, {
      root: crowded,
      kind: "movies",
    });
    equal(run.assets.filter((a) => a.kind === "episode").length, 9);
    equal(run.assets.filter((a) => a.kind === "movie").length, 45);
    equal(run.warnings.length, 1);
    match(
      run.warnings[0],
      /^9 file\(s\) named like episodes .*--kind movies.*'Zebra Show\/Season 1\//,
    );
    const shows = await fetchAll({ root: [crowded], kind: "shows" }, { root: crowded });
    ok(shows.assets.every((a) => a.kind === "episode"));
    equal(shows.warnings.length, 0);
  },
});

Deno.test({
  name: "disc folders: a DVD or Blu-ray folder is one asset named by the folder holding it",
  permissions: { read: [base] },
  async fn() {
    const run = await fetchAll({ root: [discs], kind: "auto" }, { root: discs });
    const byTitle = Object.fromEntries(run.assets.map((a) => [a.title, a]));
    const file = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    equal(run.assets.length, 3);
    // One asset each, named by its first file as before, holding the main title's files only:
    // the menus (VIDEO_TS.VOB, VTS_xx_0.VOB) and a title set of extras would play inside it.
    const movie = byTitle["Movie"];
    deepStrictEqual([movie.year, movie.externalId, movie.size], [
      1999,
      "Movie (1999)/VIDEO_TS/VIDEO_TS.VOB",
      5,
    ]);
    deepStrictEqual(movie.parts?.map(file), ["VTS_01_1.VOB", "VTS_01_2.VOB"]);
    equal(file(movie.path ?? ""), "VTS_01_1.VOB");
    const alien = byTitle["Alien"];
    deepStrictEqual(alien.parts?.map(file), ["VTS_02_1.VOB", "VTS_02_2.VOB"]);
    equal(alien.size, 18);
    // A Blu-ray's largest stream file is its feature.
    const episode = run.assets.find((a) => a.kind === "episode")!;
    deepStrictEqual(
      [episode.seriesTitle, episode.season, episode.episode, episode.externalId],
      ["Show", 2, 13, "Show/Show - S02E13/BDMV/STREAM/00001.m2ts"],
    );
    deepStrictEqual([episode.parts?.map(file), episode.size], [["00002.m2ts"], 5]);
  },
});

const split = `${base}/split`;
for (
  const [rel, content] of [
    // Plex's split episode: `- pt1`, `- pt2` (stacked like a movie's parts), named out of order.
    ["Show (2010)/Season 01/Show (2010) - S01E01 - Pilot - pt2.mkv", "22"],
    ["Show (2010)/Season 01/Show (2010) - S01E01 - Pilot - pt1.mkv", "1"],
    // Jellyfin's two-part episode: `S02E03 Part 1`, `Part 2`.
    ["Show (2010)/Season 02/Show S02E03 Part 1.mkv", "333"],
    ["Show (2010)/Season 02/Show S02E03 Part 2.mkv", "4444"],
    // A lone part, and a next episode whose title says Part 2: each an episode of its own.
    ["Show (2010)/Season 02/Show S02E04 - The Return Part 1.mkv", ""],
    ["Show (2010)/Season 02/Show S02E05 - The Return Part 2.mkv", ""],
  ] as const
) fileIn(split, rel, content);

Deno.test({
  name: "split episodes: an episode's parts (- pt1, Part 1) are one asset, parts in order",
  permissions: { read: [split] },
  async fn() {
    const run = await fetchAll({ root: [split], kind: "auto" }, { root: split });
    const season1 = `${split}/Show (2010)/Season 01`;
    const season2 = `${split}/Show (2010)/Season 02`;
    deepStrictEqual(
      run.assets.map((a) => [a.season, a.episode, a.title, a.parts ?? null, a.size]),
      [
        [1, 1, "Pilot", [
          `${season1}/Show (2010) - S01E01 - Pilot - pt1.mkv`,
          `${season1}/Show (2010) - S01E01 - Pilot - pt2.mkv`,
        ], 3],
        [2, 3, "", [`${season2}/Show S02E03 Part 1.mkv`, `${season2}/Show S02E03 Part 2.mkv`], 7],
        [2, 4, "The Return", null, 0],
        [2, 5, "The Return", null, 0],
      ],
    );
    // The asset is named by its first part, whatever order the folder listed them in.
    equal(run.assets[0].externalId, "Show (2010)/Season 01/Show (2010) - S01E01 - Pilot - pt1.mkv");
  },
});

const versions = `${base}/versions`;
{
  const files: [string, string][] = [
    // Versions as Jellyfin names them: the folder's name, then " - " or a bracketed label.
    // (Each group's first file here is the one imported, whether the filesystem keeps
    // creation times, the order written, or not, by name: all times are set alike below.)
    ["Heat (1995)/Heat (1995) - 1080p.mkv", "10"],
    ["Heat (1995)/Heat (1995) - 720p.mkv", "7"],
    ["Heat (1995)/Heat (1995) [Director's Cut].mkv", "dc"],
    // The file named after the folder alone is the one imported.
    ["Alien (1979)/Alien (1979).mkv", "a"],
    ["Alien (1979)/Alien (1979) - 4K.mkv", "4k"],
    // The file that came first stays the one imported, whatever is added later.
    ["Ran (1985)/Ran (1985) - 720p.mkv", "old"],
    ["Ran (1985)/Ran (1985) - 4K.mkv", "new"],
    // Named after the folder, but different movies: each imported, even with a movie.nfo
    // that gives them one title.
    ["Star Wars/Star Wars - A New Hope.mkv", "4"],
    ["Star Wars/Star Wars - The Empire Strikes Back.mkv", "5"],
    ["Star Wars/movie.nfo", "<movie><title>Star Wars</title></movie>"],
    // A movie's parts are one asset, not versions; so are lettered parts (Kodi stacks them).
    ["Up (2009)/Up (2009) - part1.mkv", "1"],
    ["Up (2009)/Up (2009) - part2.mkv", "2"],
    ["Kill (2003)/Kill (2003) - Part A.mkv", "a"],
    ["Kill (2003)/Kill (2003) - Part B.mkv", "b"],
    // One episode twice in a season folder (as Plex and Jellyfin 12 show it: one item).
    ["Lost/Season 01/Lost.S01E01.1080p.WEB-DL.mkv", "10"],
    ["Lost/Season 01/Lost - S01E01 - Pilot - 720p.mkv", "7"],
    // Not the same: a double episode starting there, the next episode, a split episode's parts.
    ["Lost/Season 01/Lost - S01E01-E02 - Pilot.mkv", "12"],
    ["Lost/Season 01/Lost - S01E02 - Walkabout.mkv", "2"],
    ["Lost/Season 01/Lost - S01E03 - Tabula Rasa - pt1.mkv", "3"],
    ["Lost/Season 01/Lost - S01E03 - Tabula Rasa - pt2.mkv", "3"],
    // Nor two shows whose names differ by year, nor segments with titles of their own.
    ["Mixed/Doctor Who (1963) S01E01.mkv", "63"],
    ["Mixed/Doctor Who (2005) S01E01.mkv", "05"],
    ["Mixed/Sponge S01E01 - Help Wanted.mkv", "h"],
    ["Mixed/Sponge S01E01 - Reef Blower.mkv", "r"],
  ];
  const when = new Date("2024-01-01T00:00:00Z");
  for (const [rel, content] of files) {
    // File times tick coarsely (a few ms): Ran's 4K comes well after its 720p.
    if (rel.startsWith("Ran (1985)/Ran (1985) - 4K")) {
      const at = Date.now();
      while (Date.now() - at < 25) Deno.statSync(versions);
    }
    fileIn(versions, rel, content);
    Deno.utimeSync(`${versions}/${rel}`, when, when);
  }
}
/** Whether this filesystem keeps creation times (the order the files above were written). */
const versionsByBirth = (() => {
  const ran = `${versions}/Ran (1985)/Ran (1985) - 720p.mkv`;
  if (Deno.statSync(ran).birthtime === null) {
    const older = new Date("2023-01-01T00:00:00Z");
    Deno.utimeSync(ran, older, older);
    return false;
  }
  // A tag written into the imported file (a newer modification time) changes nothing.
  const later = new Date("2025-01-01T00:00:00Z");
  Deno.utimeSync(ran, later, later);
  return true;
})();

Deno.test({
  name:
    "versions: a movie's versions in its folder, or an episode's, are one asset, the others skipped",
  permissions: { read: [versions] },
  async fn() {
    if (!versionsByBirth) {
      console.log("this filesystem keeps no creation times: Ran's 720p is made older by mtime");
    }
    const run = await fetchAll({ root: [versions], kind: "auto" }, { root: versions });
    deepStrictEqual(run.assets.map((a) => a.externalId), [
      "Alien (1979)/Alien (1979).mkv",
      "Heat (1995)/Heat (1995) - 1080p.mkv",
      "Kill (2003)/Kill (2003) - Part A.mkv",
      "Lost/Season 01/Lost - S01E01-E02 - Pilot.mkv",
      "Lost/Season 01/Lost - S01E02 - Walkabout.mkv",
      "Lost/Season 01/Lost - S01E03 - Tabula Rasa - pt1.mkv",
      "Lost/Season 01/Lost.S01E01.1080p.WEB-DL.mkv",
      "Mixed/Doctor Who (1963) S01E01.mkv",
      "Mixed/Doctor Who (2005) S01E01.mkv",
      "Mixed/Sponge S01E01 - Help Wanted.mkv",
      "Mixed/Sponge S01E01 - Reef Blower.mkv",
      "Ran (1985)/Ran (1985) - 720p.mkv",
      "Star Wars/Star Wars - A New Hope.mkv",
      "Star Wars/Star Wars - The Empire Strikes Back.mkv",
      "Up (2009)/Up (2009) - part1.mkv",
    ]);
    deepStrictEqual(run.skipped.sort(), [
      ["Alien (1979)/Alien (1979) - 4K.mkv", "another version of a movie"],
      ["Heat (1995)/Heat (1995) - 720p.mkv", "another version of a movie"],
      ["Heat (1995)/Heat (1995) [Director's Cut].mkv", "another version of a movie"],
      ["Lost/Season 01/Lost - S01E01 - Pilot - 720p.mkv", "another version of an episode"],
      ["Ran (1985)/Ran (1985) - 4K.mkv", "another version of a movie"],
    ]);
  },
});

const twoStacks = `${base}/two_stacks`;
for (
  const rel of [
    "Heat (1995)/Heat (1995) - 1080p - part1.mkv",
    "Heat (1995)/Heat (1995) - 1080p - part2.mkv",
    "Heat (1995)/Heat (1995) - 720p - part1.mkv",
    "Heat (1995)/Heat (1995) - 720p - part2.mkv",
  ]
) fileIn(twoStacks, rel, "x");

Deno.test({
  name: "versions: two stacks of one movie are two stacks, not one of four parts interleaved",
  permissions: { read: [twoStacks] },
  async fn() {
    const run = await fetchAll({ root: [twoStacks], kind: "auto" }, { root: twoStacks });
    const folder = `${twoStacks}/Heat (1995)`;
    deepStrictEqual(run.assets.map((a) => a.parts), [
      [`${folder}/Heat (1995) - 1080p - part1.mkv`, `${folder}/Heat (1995) - 1080p - part2.mkv`],
      [`${folder}/Heat (1995) - 720p - part1.mkv`, `${folder}/Heat (1995) - 720p - part2.mkv`],
    ]);
  },
});

const oddNfo = `${base}/odd_nfo`;
fileIn(oddNfo, "Big (2001)/Big (2001).mkv", "m");
fileIn(
  oddNfo,
  "Big (2001)/Big (2001).nfo",
  "<movie><title>Not read</title></movie>".padEnd(2 << 20),
);
fileIn(oddNfo, "Pipe (2002)/Pipe (2002).mkv", "m");
// A FIFO named like a sidecar: opening it would block until something writes to it.
const fifo = new Deno.Command("mkfifo", { args: [`${oddNfo}/Pipe (2002)/Pipe (2002).nfo`] })
  .outputSync().success;

Deno.test({
  name: "an .nfo over 1 MiB is skipped with a warning; a FIFO named .nfo is never opened",
  permissions: { read: [oddNfo] },
  async fn() {
    if (!fifo) console.log("mkfifo is not available here: only the oversized .nfo is tried");
    // With the FIFO opened, this would not return.
    const run = await fetchAll({ root: [oddNfo], kind: "auto" }, { root: oddNfo });
    deepStrictEqual(run.assets.map((a) => [a.title, a.year]), [["Big", 2001], ["Pipe", 2002]]);
    equal(run.warnings.length, 1, run.warnings.join("\n"));
    match(
      run.warnings[0],
      /^'Big \(2001\)\/Big \(2001\)\.nfo' not read: 2097152 bytes, over the 1 MiB/,
    );
  },
});

const badNames = `${base}/bad_names`;
fileIn(badNames, "Good (2001)/Good (2001).mkv", "m");
// Names that are not UTF-8 (made by the shell: a Deno path is always UTF-8).
const madeBadNames = new Deno.Command("sh", {
  args: [
    "-c",
    `mkdir -p "$1/Bad $(printf '\\377') Show/Season 01" && ` +
    `: > "$1/Bad $(printf '\\377') Show/Season 01/Bad - S01E01.mkv" && ` +
    `: > "$1/Good (2001)/Good $(printf '\\376') (2001) - cd2.mkv"`,
    "sh",
    badNames,
  ],
}).outputSync().success;

Deno.test({
  name: "a file or folder whose name is not UTF-8 is skipped by that reason, not a missing file",
  permissions: { read: [badNames] },
  async fn() {
    if (!madeBadNames) {
      console.log("the shell could not make non-UTF-8 names here: test not run");
      return;
    }
    const run = await fetchAll({ root: [badNames], kind: "auto" }, { root: badNames });
    deepStrictEqual(run.assets.map((a) => a.externalId), ["Good (2001)/Good (2001).mkv"]);
    deepStrictEqual(run.warnings, []);
    deepStrictEqual(run.skipped, [
      ["Bad \uFFFD Show/", "name not valid UTF-8"],
      ["Good (2001)/Good \uFFFD (2001) - cd2.mkv", "name not valid UTF-8"],
    ]);
  },
});

const unreadableVersion = `${base}/unreadable_version`;
fileIn(unreadableVersion, "Heat (1995)/Heat (1995) - 720p.mkv", "old");
fileIn(unreadableVersion, "Heat (1995)/Heat (1995) - 1080p.mkv", "new");

Deno.test({
  name: "versions: a version that is there but cannot be read keeps its stored asset",
  permissions: { read: [unreadableVersion] },
  async fn() {
    // The 720p, perhaps the version imported so far, fails its stat (an I/O error, a permission
    // root does not feel): it is not taken for the newest and dropped, its asset is kept.
    const failing = `${unreadableVersion}/Heat (1995)/Heat (1995) - 720p.mkv`;
    const statSync = Deno.statSync;
    const unlisted: string[] = [];
    const { warnings, skipped, ctx } = context();
    const assets: string[] = [];
    Deno.statSync = (path: string | URL) => {
      if (path === failing) throw new Deno.errors.PermissionDenied("stat refused");
      return statSync.call(Deno, path);
    };
    try {
      for await (
        const batch of importer.fetchAssets({ root: [unreadableVersion], kind: "auto" }, {
          ...ctx,
          unlisted: (prefix: string) => unlisted.push(prefix),
          collection: { externalId: unreadableVersion, kind: "mixed", name: "lib" },
          filters: {},
        })
      ) assets.push(...[batch].flat().map((a) => a.externalId));
    } finally {
      Deno.statSync = statSync;
    }
    deepStrictEqual(assets, ["Heat (1995)/Heat (1995) - 1080p.mkv"]);
    deepStrictEqual(unlisted, ["Heat (1995)/Heat (1995) - 720p.mkv"]);
    deepStrictEqual(skipped, [[
      "Heat (1995)/Heat (1995) - 720p.mkv",
      "another version of a movie",
    ]]);
    ok(warnings.some((w) => w.startsWith("cannot read 'Heat (1995)/Heat (1995) - 720p.mkv'")));
  },
});

const rootExtras = `${base}/root_extras`;
for (
  const rel of [
    "Extras/Season 1/Extras - S01E01 - Ben Stiller.mkv",
    "Trailers/Season 1/Trailers - S01E01.mkv",
    "Samples/sample.mkv",
    "Heat (1995)/Heat (1995).mkv",
    "Heat (1995)/Extras/Making of.mkv",
    "Lost/Season 1/Extras/Bloopers.mkv",
    "Lost/Season 1/Lost - S01E01.mkv",
  ]
) fileIn(rootExtras, rel, "x");

Deno.test({
  name: "a show named like an extras folder, directly under the root, is a show",
  permissions: { read: [rootExtras] },
  async fn() {
    const run = await fetchAll({ root: [rootExtras], kind: "auto" }, { root: rootExtras });
    deepStrictEqual(run.assets.map((a) => [a.externalId, a.seriesTitle ?? null]), [
      ["Extras/Season 1/Extras - S01E01 - Ben Stiller.mkv", "Extras"],
      ["Heat (1995)/Heat (1995).mkv", null],
      ["Lost/Season 1/Lost - S01E01.mkv", "Lost"],
      ["Trailers/Season 1/Trailers - S01E01.mkv", "Trailers"],
    ]);
    // Inside a movie's or a show's folder they hold extras; samples are skipped anywhere.
    deepStrictEqual(run.skipped.sort(), [
      ["Heat (1995)/Extras/", "extras folder"],
      ["Lost/Season 1/Extras/", "extras folder"],
      ["Samples/", "sample folder"],
    ]);
  },
});

const kodiStacks = `${base}/kodi_stacks`;
for (
  const rel of [
    "Heat.1995.DVDRip.XviD-GRP/Heat.1995.DVDRip.XviD.CD2-GRP.avi",
    "Heat.1995.DVDRip.XviD-GRP/Heat.1995.DVDRip.XviD.CD1-GRP.avi",
    "Alien (1979)/alien-cd1-xvid.avi",
    "Alien (1979)/alien-cd2-xvid.avi",
    "Ran (1985)/Ran (1985)-partB.avi",
    "Ran (1985)/Ran (1985)-partA.avi",
    "Potter/Harry Potter Part 1 (2010).mkv",
    "Potter/Harry Potter Part 2 (2011).mkv",
    "Solo (2018)/Solo.2018.CD1.x264.avi",
    "Solo (2018)/Solo.2018.CD2.x264.mkv",
    // Not parts: a title's `Part.1` inside a release name, disc sizes, letters inside a title.
    "HP/Harry.Potter.and.the.Deathly.Hallows.Part.1.1080p.BluRay.x264-GRP.mkv",
    "HP/Harry.Potter.and.the.Deathly.Hallows.Part.2.1080p.BluRay.x264-GRP.mkv",
    "Amelie (2001)/Amelie.2001.PAL.DVD5.x264-GRP.mkv",
    "Amelie (2001)/Amelie.2001.PAL.DVD9.x264-GRP.mkv",
    "Days/Take Part A Day.mkv",
    "Days/Take Part B Day.mkv",
  ]
) fileIn(kodiStacks, rel, "xx");

Deno.test({
  name: "Kodi's stacking: names that differ only in a part, anywhere, are one movie in parts",
  permissions: { read: [kodiStacks] },
  async fn() {
    const run = await fetchAll({ root: [kodiStacks], kind: "auto" }, { root: kodiStacks });
    const file = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    deepStrictEqual(
      run.assets.map((a) => [a.externalId, a.title, (a.parts ?? []).map(file)]),
      [
        ["Alien (1979)/alien-cd1-xvid.avi", "Alien", ["alien-cd1-xvid.avi", "alien-cd2-xvid.avi"]],
        ["Amelie (2001)/Amelie.2001.PAL.DVD5.x264-GRP.mkv", "Amelie", []],
        ["Amelie (2001)/Amelie.2001.PAL.DVD9.x264-GRP.mkv", "Amelie", []],
        ["Days/Take Part A Day.mkv", "Take Part A Day", []],
        ["Days/Take Part B Day.mkv", "Take Part B Day", []],
        [
          "HP/Harry.Potter.and.the.Deathly.Hallows.Part.1.1080p.BluRay.x264-GRP.mkv",
          "Harry Potter and the Deathly Hallows Part 1",
          [],
        ],
        [
          "HP/Harry.Potter.and.the.Deathly.Hallows.Part.2.1080p.BluRay.x264-GRP.mkv",
          "Harry Potter and the Deathly Hallows Part 2",
          [],
        ],
        [
          "Heat.1995.DVDRip.XviD-GRP/Heat.1995.DVDRip.XviD.CD1-GRP.avi",
          "Heat",
          ["Heat.1995.DVDRip.XviD.CD1-GRP.avi", "Heat.1995.DVDRip.XviD.CD2-GRP.avi"],
        ],
        // Different after the part: two movies. Different extensions: no stack.
        ["Potter/Harry Potter Part 1 (2010).mkv", "Harry Potter Part 1", []],
        ["Potter/Harry Potter Part 2 (2011).mkv", "Harry Potter Part 2", []],
        ["Ran (1985)/Ran (1985)-partA.avi", "Ran", [
          "Ran (1985)-partA.avi",
          "Ran (1985)-partB.avi",
        ]],
        ["Solo (2018)/Solo.2018.CD1.x264.avi", "Solo", []],
        ["Solo (2018)/Solo.2018.CD2.x264.mkv", "Solo", []],
      ],
    );
    equal(run.assets.find((a) => a.externalId.startsWith("Alien"))?.size, 4);
  },
});

const partFolders = `${base}/part_folders`;
for (
  const [rel, content] of [
    ["Alien (1979)/CD2/alien.avi", "xxx"],
    ["Alien (1979)/CD1/alien.avi", "xx"],
    ["Alien (1979)/CD1/alien.srt", "s"], // a sidecar beside a part is no second video file
    ["Ran (1985)/Part 1/ran.mkv", "x"],
    ["Ran (1985)/Part 2/ran.mkv", "x"],
    ["Ran (1985)/Part 3/ran.mkv", "x"],
    // Not a stack: a show's discs of episodes, disc sizes, a gap in the numbers, two files.
    ["Firefly (2002)/Season 01/Disc 1/Firefly - S01E01.mkv", "x"],
    ["Firefly (2002)/Season 01/Disc 2/Firefly - S01E05.mkv", "x"],
    ["Amelie (2001)/DVD5/amelie.mkv", "x"],
    ["Amelie (2001)/DVD9/amelie.mkv", "x"],
    ["Heat (1995)/CD1/heat.avi", "x"],
    ["Heat (1995)/CD3/heat.avi", "x"],
    ["Solo (2018)/CD1/solo.avi", "x"],
    ["Solo (2018)/CD2/solo.avi", "x"],
    ["Solo (2018)/CD2/solo.extended.avi", "x"],
  ]
) fileIn(partFolders, rel, content);

Deno.test({
  name: "Kodi's folder stacking: CD1, CD2 folders of one movie file each are one movie in parts",
  permissions: { read: [partFolders] },
  async fn() {
    const run = await fetchAll({ root: [partFolders], kind: "auto" }, { root: partFolders });
    const rows = run.assets.map((a) => [
      a.externalId,
      a.kind,
      a.title,
      a.year,
      a.season ?? null,
      (a.parts ?? []).map((p) => p.slice(partFolders.length + 1)),
    ]);
    deepStrictEqual(rows, [
      ["Alien (1979)/CD1/alien.avi", "movie", "Alien", 1979, null, [
        "Alien (1979)/CD1/alien.avi",
        "Alien (1979)/CD2/alien.avi",
      ]],
      ["Amelie (2001)/DVD5/amelie.mkv", "movie", "Amelie", 2001, null, []],
      ["Amelie (2001)/DVD9/amelie.mkv", "movie", "Amelie", 2001, null, []],
      ["Firefly (2002)/Season 01/Disc 1/Firefly - S01E01.mkv", "episode", "", 2002, 1, []],
      ["Firefly (2002)/Season 01/Disc 2/Firefly - S01E05.mkv", "episode", "", 2002, 1, []],
      ["Heat (1995)/CD1/heat.avi", "movie", "Heat", 1995, null, []],
      ["Heat (1995)/CD3/heat.avi", "movie", "Heat", 1995, null, []],
      ["Ran (1985)/Part 1/ran.mkv", "movie", "Ran", 1985, null, [
        "Ran (1985)/Part 1/ran.mkv",
        "Ran (1985)/Part 2/ran.mkv",
        "Ran (1985)/Part 3/ran.mkv",
      ]],
      ["Solo (2018)/CD1/solo.avi", "movie", "Solo", 2018, null, []],
      ["Solo (2018)/CD2/solo.avi", "movie", "Solo", 2018, null, []],
      ["Solo (2018)/CD2/solo.extended.avi", "movie", "Solo", 2018, null, []],
    ]);
    const alien = run.assets.find((a) => a.externalId.startsWith("Alien"));
    equal(alien?.size, 5, "the parts' sizes add up");
  },
});

const episodeExtras = `${base}/episode_extras`;
for (
  const rel of [
    "Firefly (2002)/Season 01/Firefly - S01E01 - Serenity.mkv",
    "Firefly (2002)/Season 01/Firefly - S01E01 - Deleted Scenes.mkv",
    "Firefly (2002)/Season 01/Firefly.S01E03.Bushwhacked.mkv",
    "Firefly (2002)/Season 01/Firefly.S01E03.Featurette.mkv",
    // Alone, an extras word is the episode's title.
    "Firefly (2002)/Season 01/Firefly - S01E04 - Interview.mkv",
    // A scene sample written first, without its folder.
    "Firefly (2002)/Season 01/sample-firefly.s01e05.720p.hdtv-grp.mkv",
    "Firefly (2002)/Season 01/Firefly.S01E05.720p.HDTV-GRP.mkv",
  ]
) fileIn(episodeExtras, rel, "x");

Deno.test({
  name: "an extras word beside the episode itself is its extra; alone, the episode's title",
  permissions: { read: [episodeExtras] },
  async fn() {
    const run = await fetchAll({ root: [episodeExtras], kind: "auto" }, { root: episodeExtras });
    const folder = "Firefly (2002)/Season 01/";
    deepStrictEqual(run.assets.map((a) => [a.externalId.slice(folder.length), a.episode]), [
      ["Firefly - S01E01 - Serenity.mkv", 1],
      ["Firefly - S01E04 - Interview.mkv", 4],
      ["Firefly.S01E03.Bushwhacked.mkv", 3],
      ["Firefly.S01E05.720p.HDTV-GRP.mkv", 5],
    ]);
    deepStrictEqual(run.skipped.sort(), [
      [`${folder}Firefly - S01E01 - Deleted Scenes.mkv`, "extra (deleted scene)"],
      [`${folder}Firefly.S01E03.Featurette.mkv`, "extra (featurette)"],
      [`${folder}sample-firefly.s01e05.720p.hdtv-grp.mkv`, "sample"],
    ]);
  },
});

Deno.test({
  name: "cleanup: remove the fixture tree",
  permissions: { read: true, write: true },
  fn() {
    Deno.removeSync(base, { recursive: true });
  },
});
