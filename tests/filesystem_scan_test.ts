/**
 * The filesystem walk's two scanners: a full fetch reads the disk in a
 * helper worker, a targeted one in its own thread. Both must give the same
 * assets, warnings and skips, in the same order. Also the date formatting
 * that replaces `toISOString` on the hot path.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import type { ImportedAsset } from "../core/contract.ts";
import { isoTime, walkAssets, type WalkOptions } from "../importers/_filesystem_walk.ts";
import {
  scanFolder,
  type ScannedFolder,
  type ScanOptions,
  subfolderChain,
} from "../importers/_filesystem_scan.ts";
import { startScanPool } from "../importers/_filesystem_scan_pool.ts";
import { EXTRA_FOLDERS, VIDEO_EXTENSIONS } from "../importers/_naming_tokens.ts";

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
Deno.mkdirSync(outside);
Deno.writeTextFileSync(`${outside}/stolen.mkv`, "");
Deno.symlinkSync(outside, `${lib}/Escape`);
Deno.symlinkSync(`${lib}/Films`, `${lib}/Films/Film 1 (1911)/loop`);
Deno.symlinkSync(`${lib}/missing`, `${lib}/Broken.mkv`);

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

async function walk(scanner: "worker" | "thread", batchSize = 500): Promise<Run> {
  const run: Run = { assets: [], warnings: [], skipped: [] };
  const options = walkOptions({
    warn: (m) => run.warnings.push(m),
    skipped: (item, reason) => run.skipped.push([item, reason]),
    batchSize,
    scanner,
    scanWorkers: 2,
  });
  for await (const batch of walkAssets(options)) run.assets.push(...batch);
  return run;
}

const SCAN_OPTIONS: ScanOptions = {
  rootReal: lib,
  extensions: new Set(VIDEO_EXTENSIONS),
  includeHidden: false,
  stat: true,
  extraFolders: EXTRA_FOLDERS,
  topLevelKeep: new Set(),
};

/** The folders in walk order, read in this thread. */
function scanHere(): ScannedFolder[] {
  const out: ScannedFolder[] = [];
  const stack: Array<[string, string, string[]]> = [[lib, "", [lib]]];
  while (stack.length) {
    const [abs, rel, chain] = stack.pop()!;
    const folder = scanFolder(abs, rel, SCAN_OPTIONS, chain);
    out.push(folder);
    for (let i = folder.folders.length - 1; i >= 0; i--) {
      const name = folder.folders[i];
      stack.push([`${abs}/${name}`, rel ? `${rel}/${name}` : name, subfolderChain(folder, i)]);
    }
  }
  return out;
}

Deno.test({
  name: "scanners: the helper worker and this thread give identical output",
  permissions: { read: [base] },
  async fn() {
    const inWorker = await walk("worker", 7);
    const inThread = await walk("thread");
    equal(inWorker.assets.length, 3 * 40 + 1 + 1 + 2 + 300);
    deepStrictEqual(inWorker, inThread);
    const reasons = new Map(inWorker.skipped);
    equal(reasons.get("Escape"), "symlink leaves the root");
    equal(reasons.get("Broken.mkv"), "broken symlink");
    equal(reasons.get("Films/Film 1 (1911)/loop"), "symlink loop");
    equal(reasons.get("Show 1 (2001) {tvdb-1}/Featurettes/"), "extras folder");
    equal(reasons.get("Show 2 (2001) {tvdb-2}/Season 02/.hidden.mkv"), "hidden");
    equal(reasons.get("Movie (1999)/Movie (1999)-trailer.mkv"), "extra (trailer)");
    ok(
      inWorker.assets.some((a) => a.externalId === "Shorts/Short One (2010)/Short One (2010).mkv"),
    );
    ok(inWorker.assets.some((a) => a.externalId === "Constructor/__proto__/toString.mkv"));
    const named = inWorker.assets.find((a) => a.title === "Named");
    equal(named?.seriesTitle, "Show One");
    equal(named?.externalIds?.series_tvdb, "1");
    const movie = inWorker.assets.find((a) => a.parts !== undefined);
    deepStrictEqual([movie?.parts?.length, movie?.size], [2, 5]);
  },
});

Deno.test({
  name: "scan pool: any number of workers, tiny chunks, one in flight: the walk order",
  permissions: { read: [base] },
  async fn() {
    const expected = scanHere();
    ok(expected.length > 300);
    for (const workers of [1, 2, 3]) {
      // A stall fails the test instead of hanging it.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(new Error("scan pool stalled")), 30_000);
      const pool = startScanPool(SCAN_OPTIONS, {
        workers,
        signal: deadline.signal,
        chunkEntries: 5,
        window: 1,
      });
      ok(pool, "a worker can be started here");
      const got: ScannedFolder[] = [];
      try {
        for await (const folders of pool) {
          got.push(...folders);
          // A consumer that waits (as the RPC does) lets replies arrive between two yields.
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      } finally {
        clearTimeout(timer);
      }
      deepStrictEqual(got, expected, `${workers} workers`);
    }
  },
});

Deno.test({
  name: "scanners: a cancelled full walk stops with the abort reason",
  permissions: { read: [base] },
  async fn() {
    const controller = new AbortController();
    const seen: number[] = [];
    const options = walkOptions({ signal: controller.signal, batchSize: 10, scanner: "worker" });
    await rejects(
      (async () => {
        for await (const batch of walkAssets(options)) {
          seen.push(batch.length);
          controller.abort(new Error("stop here"));
        }
      })(),
      /stop here/,
    );
    equal(seen.length, 1);
  },
});

Deno.test({
  name: "scanFolder: an unreadable folder is an error, not a throw",
  permissions: { read: [base] },
  fn() {
    const scanned = scanFolder(`${base}/nope`, "nope", {
      rootReal: lib,
      extensions: new Set(["mkv"]),
      includeHidden: false,
      stat: true,
      extraFolders: EXTRA_FOLDERS,
      topLevelKeep: new Set(),
    }, [`${base}/nope`]);
    match(scanned.error ?? "", /No such file|not found/i);
    deepStrictEqual([scanned.files, scanned.folders], [[], []]);
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
  name: "scanners: cleanup",
  permissions: { read: true, write: true },
  fn() {
    Deno.removeSync(base, { recursive: true });
  },
});
