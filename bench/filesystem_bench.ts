/**
 * Filesystem importer benchmark: generates a tree of 100k empty video files
 * (shows × seasons × episodes, plus movie folders) in a temp folder, then
 * times, in the same run and on the same tree:
 *
 * - the floor: `find ROOT -type f -printf '%s %T@\n'` (readdir + stat of every file);
 * - a bare synchronous walk (readDirSync + statSync, no parsing), for reference;
 * - `listCollections` (discovery) and a full `fetchAssets` of the importer, in-process.
 *
 * Prints each time (best of N) and its ratio to `find`; the aim is the
 * importer's walk within 1.5× of `find`. Cleans up after itself.
 *
 * @module
 */

import importer from "../importers/filesystem.ts";

/** Options for {@link runFilesystemBench}. */
export interface FilesystemBenchOptions {
  /** Number of files to generate (rounded to whole seasons). Default 100_000. */
  files?: number;
  /** Runs per measurement; the best is kept. Default 3. */
  runs?: number;
  /** Where to print. Default `console.log`. */
  log?: (line: string) => void;
}

/** What one benchmark run measured (milliseconds, best of N). */
export interface FilesystemBenchResult {
  files: number;
  findMs: number;
  bareWalkMs: number;
  discoveryMs: number;
  fetchMs: number;
  assets: number;
  /** fetchMs / findMs. */
  ratio: number;
}

function _generate(root: string, target: number): number {
  const perSeason = 50;
  const seasons = 4;
  const movies = Math.floor(target * 0.1);
  const shows = Math.max(1, Math.round((target - movies) / (perSeason * seasons)));
  let count = 0;
  const empty = new Uint8Array();
  for (let s = 0; s < shows; s++) {
    const show = `${root}/Show ${String(s).padStart(4, "0")} (${1950 + (s % 70)})`;
    for (let season = 1; season <= seasons; season++) {
      const dir = `${show}/Season ${String(season).padStart(2, "0")}`;
      Deno.mkdirSync(dir, { recursive: true });
      for (let e = 1; e <= perSeason; e++) {
        const code = `S${String(season).padStart(2, "0")}E${String(e).padStart(2, "0")}`;
        Deno.writeFileSync(`${dir}/Show ${s} - ${code} - Episode Title.mkv`, empty);
        count++;
      }
    }
  }
  for (let m = 0; m < movies; m++) {
    const name = `Movie Number ${m} (${1950 + (m % 70)})`;
    Deno.mkdirSync(`${root}/${name}`);
    Deno.writeFileSync(`${root}/${name}/${name}.mkv`, empty);
    count++;
  }
  return count;
}

function _bareWalk(dir: string): number {
  let n = 0;
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) n += _bareWalk(path);
    else if (e.isFile) {
      Deno.statSync(path);
      n++;
    }
  }
  return n;
}

async function _best(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** Generates the tree, measures, prints, cleans up, and returns the numbers. */
export async function runFilesystemBench(
  options: FilesystemBenchOptions = {},
): Promise<FilesystemBenchResult> {
  const log = options.log ?? console.log;
  const runs = options.runs ?? 3;
  const base = Deno.makeTempDirSync({ prefix: "retrovue_fs_bench_" });
  const root = `${base}/library`;
  Deno.mkdirSync(root);
  try {
    const t0 = performance.now();
    const files = _generate(root, options.files ?? 100_000);
    log(`filesystem bench: generated ${files} files in ${(performance.now() - t0).toFixed(0)} ms`);

    const findMs = await _best(runs, async () => {
      const out = await new Deno.Command("find", {
        args: [root, "-type", "f", "-printf", "%s %T@\n"],
        stdout: "piped",
        stderr: "null",
      }).output();
      if (!out.success) throw new Error("find failed");
    });
    const bareWalkMs = await _best(runs, () => _bareWalk(root));

    const noop = () => {};
    const ctx = { signal: new AbortController().signal, warn: noop, skipped: noop };
    const config = { root: [root], kind: "auto", include_hidden: false };
    let kind: "mixed" | "shows" | "movies" | "other" = "mixed";
    const discoveryMs = await _best(runs, async () => {
      kind = (await importer.listCollections(config, ctx))[0].kind;
    });
    let assets = 0;
    const fetchMs = await _best(runs, async () => {
      assets = 0;
      const request = {
        ...ctx,
        collection: { externalId: root, kind, name: "library" },
        filters: {},
      };
      for await (const batch of importer.fetchAssets(config, request)) {
        assets += Array.isArray(batch) ? batch.length : 1;
      }
    });
    if (assets !== files) throw new Error(`expected ${files} assets, got ${assets}`);
    const ratio = fetchMs / findMs;
    log(`  find -printf (floor)     ${findMs.toFixed(0).padStart(6)} ms  1.00x`);
    log(
      `  bare readDir+stat walk   ${bareWalkMs.toFixed(0).padStart(6)} ms  ${
        (bareWalkMs / findMs).toFixed(2)
      }x`,
    );
    log(`  listCollections          ${discoveryMs.toFixed(0).padStart(6)} ms`);
    log(
      `  fetchAssets (${assets} assets) ${fetchMs.toFixed(0).padStart(6)} ms  ${
        ratio.toFixed(2)
      }x ` +
        `(aim: within 1.5x of find)`,
    );
    return { files, findMs, bareWalkMs, discoveryMs, fetchMs, assets, ratio };
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
}

if (import.meta.main) {
  await runFilesystemBench();
}
