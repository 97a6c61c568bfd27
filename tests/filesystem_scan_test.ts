/**
 * The filesystem walk on a richer tree than the importer tests: symlink
 * loops (direct and mutual), links that escape or are broken, folder names
 * that are Object.prototype members, sidecars, multi-part movies, extras;
 * `scanFolder` on its own (errors); cancellation; and the date
 * formatting that replaces `toISOString` on the hot path.
 */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import type { ImportedAsset } from "../core/contract.ts";
import { isoTime, walkAssets, type WalkOptions } from "../importers/filesystem/_walk.ts";
import { scanFolder, type ScanOptions } from "../importers/filesystem/_scan.ts";
import { VIDEO_EXTENSIONS } from "../importers/shared/naming/mod.ts";

const base = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "retrovue_scan_test_" }));
const lib = `${base}/lib`;
const outside = `${base}/outside`;

function file(rel: string, content = ""): void {
  const path = `${lib}/${rel}`;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  Deno.writeTextFileSync(path, content);
}

for (let s = 1; s <= 3; s++) {
  for (let e = 1; e <= 40; e++) {
    file(`Show ${s} (2001) {tvdb-${s}}/Season 0${s % 3}/Show ${s} - S0${s % 3}E${e} - Ep.mkv`, "x");
  }
}
file("Show 1 (2001) {tvdb-1}/tvshow.nfo", "<tvshow><title>Show One</title></tvshow>");
file(
  "Show 1 (2001) {tvdb-1}/Season 01/Show 1 - S01E1 - Ep.nfo",
  "<episodedetails><title>Named</title></episodedetails>",
);
file("Show 1 (2001) {tvdb-1}/Featurettes/Making of.mkv");
file("Show 2 (2001) {tvdb-2}/Season 02/.hidden.mkv");
file("Show 2 (2001) {tvdb-2}/Season 02/Show 2 - S02E99-sample.mkv");
file("Movie (1999)/Movie (1999) - cd1.mkv", "aa");
file("Movie (1999)/Movie (1999) - cd2.mkv", "bbb");
file("Movie (1999)/Movie (1999)-trailer.mkv");
file("Shorts/Short One (2010)/Short One (2010).mkv");
// Names of Object.prototype members are ordinary folders, not extras folders.
file("Constructor/Season 1/Constructor S01E01.mkv");
file("Constructor/__proto__/toString.mkv");
for (let m = 0; m < 300; m++) file(`Films/Film ${m} (19${m % 90 + 10})/Film ${m}.mp4`, "y");
for (let m = 0; m < 150; m++) file(`Top ${m} (2000)/Top ${m} (2000).mkv`, "z");
Deno.mkdirSync(outside);
Deno.writeTextFileSync(`${outside}/stolen.mkv`, "");
Deno.symlinkSync(outside, `${lib}/Escape`);
Deno.symlinkSync(`${lib}/Films`, `${lib}/Films/Film 1 (1911)/loop`);
Deno.symlinkSync(`${lib}/missing`, `${lib}/Broken.mkv`);
// Two folders linking to each other: each link is followed once, then it is a loop.
Deno.mkdirSync(`${lib}/Ping`);
Deno.mkdirSync(`${lib}/Pong`);
Deno.symlinkSync(`${lib}/Pong`, `${lib}/Ping/to pong`);
Deno.symlinkSync(`${lib}/Ping`, `${lib}/Pong/to ping`);

interface Run {
  assets: ImportedAsset[];
  warnings: string[];
  skipped: Array<[string, string]>;
}

/** Options for a full walk of the fixture library. */
function walkOptions(overrides: Partial<WalkOptions>): WalkOptions {
  return {
    rootPath: lib,
    rootReal: lib,
    rootName: "lib",
    hint: "auto",
    extensions: new Set(VIDEO_EXTENSIONS),
    includeHidden: false,
    filters: {},
    signal: new AbortController().signal,
    warn: () => {},
    skipped: () => {},
    ...overrides,
  };
}

function walk(batchSize = 500): Run {
  const run: Run = { assets: [], warnings: [], skipped: [] };
  const options = walkOptions({
    warn: (m) => run.warnings.push(m),
    skipped: (item, reason) => run.skipped.push([item, reason]),
    batchSize,
  });
  for (const batch of walkAssets(options)) run.assets.push(...batch);
  return run;
}

const SCAN_OPTIONS: ScanOptions = {
  rootReal: lib,
  extensions: new Set(VIDEO_EXTENSIONS),
  includeHidden: false,
};

Deno.test({
  name: "walk: loops, escapes, prototype names, sidecars and parts; any batch size, same output",
  permissions: { read: [base] },
  fn() {
    const run = walk(7);
    equal(run.assets.length, 3 * 40 + 1 + 1 + 2 + 300 + 150);
    deepStrictEqual(run.warnings, []);
    deepStrictEqual(walk(), run, "batching does not change the output");
    const reasons = new Map(run.skipped);
    equal(reasons.get("Escape"), "symlink leaves the root");
    equal(reasons.get("Broken.mkv"), "broken symlink");
    equal(reasons.get("Films/Film 1 (1911)/loop"), "symlink loop");
    equal(reasons.get("Ping/to pong/to ping"), "symlink loop");
    equal(reasons.get("Pong/to ping/to pong"), "symlink loop");
    equal(reasons.get("Show 1 (2001) {tvdb-1}/Featurettes/"), "extras folder");
    equal(reasons.get("Show 2 (2001) {tvdb-2}/Season 02/.hidden.mkv"), "hidden");
    equal(reasons.get("Movie (1999)/Movie (1999)-trailer.mkv"), "extra (trailer)");
    const ids = new Set(run.assets.map((a) => a.externalId));
    ok(ids.has("Shorts/Short One (2010)/Short One (2010).mkv"));
    ok(ids.has("Constructor/__proto__/toString.mkv"));
    ok(![...ids].some((id) => id.includes("loop/")), "nothing is read through a loop");
    const named = run.assets.find((a) => a.title === "Named");
    equal(named?.seriesTitle, "Show One");
    equal(named?.externalIds?.series_tvdb, "1");
    const movie = run.assets.find((a) => a.parts !== undefined);
    deepStrictEqual([movie?.parts?.length, movie?.size], [2, 5]);
  },
});

Deno.test({
  name: "walk: a cancelled walk stops with the abort reason",
  permissions: { read: [base] },
  fn() {
    const controller = new AbortController();
    const seen: number[] = [];
    const options = walkOptions({ signal: controller.signal, batchSize: 10 });
    throws(() => {
      for (const batch of walkAssets(options)) {
        seen.push(batch.length);
        controller.abort(new Error("stop here"));
      }
    }, /stop here/);
    equal(seen.length, 1);
  },
});

Deno.test({
  name: "walk: a folder that cannot be read (here: gone mid-walk) is a warning, the rest ingested",
  permissions: { read: [base], write: [base] },
  fn() {
    // chmod cannot make a folder unreadable for root, which CI runs as; a folder removed
    // between the listing of its parent and its own read fails the same way, for anyone.
    const root = `${base}/vanishing`;
    for (const name of ["A", "B", "C"]) {
      Deno.mkdirSync(`${root}/${name} (2000)`, { recursive: true });
      Deno.writeTextFileSync(`${root}/${name} (2000)/${name} (2000).mkv`, "");
    }
    const warnings: string[] = [];
    const ids: string[] = [];
    const options = walkOptions({
      rootPath: root,
      rootReal: root,
      batchSize: 1,
      warn: (m) => warnings.push(m),
    });
    for (const batch of walkAssets(options)) {
      ids.push(...batch.map((a) => a.externalId));
      if (ids.length === 1) Deno.removeSync(`${root}/B (2000)`, { recursive: true });
    }
    deepStrictEqual(ids, ["A (2000)/A (2000).mkv", "C (2000)/C (2000).mkv"]);
    equal(warnings.length, 1);
    match(warnings[0], /^cannot read folder 'B \(2000\)': /);
  },
});

Deno.test({
  name: "scanFolder: an unreadable folder is an error, not a throw",
  permissions: { read: [base] },
  fn() {
    const missing = scanFolder(
      { abs: `${base}/nope`, rel: "nope", chain: [`${base}/nope`] },
      SCAN_OPTIONS,
    );
    match(missing.error ?? "", /No such file|not found/i);
    deepStrictEqual([missing.files, missing.folders], [[], []]);
  },
});

Deno.test("isoTime: same text as toISOString, across days, years and edges", () => {
  const days = new Map<number, string>();
  const samples = [0, -1, 1, 86_399_999, 86_400_000, 951_782_400_000, 1_700_000_000_123];
  samples.push(-62_198_755_200_000, 253_402_300_799_999, 253_402_300_800_000);
  for (let i = 0; i < 2000; i++) samples.push(Math.floor((Math.random() - 0.3) * 4e12));
  for (const ms of samples) equal(isoTime(ms, days), new Date(ms).toISOString(), String(ms));
  equal(isoTime(NaN, days), null);
  equal(isoTime(Infinity, days), null);
});

Deno.test({
  name: "walk: cleanup",
  permissions: { read: true, write: true },
  fn() {
    Deno.removeSync(base, { recursive: true });
  },
});
