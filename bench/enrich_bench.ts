/**
 * Enrichment benchmark (issue #17): what the enricher runtime costs around
 * ffprobe, how much parallelism buys, and what a re-enrich of an unchanged
 * collection costs.
 *
 * Media: one tiny real file (1 s of test pattern and tone at 64x48, h264/aac
 * in mkv) is generated with FFmpeg and copied to `--files N` paths (default
 * 100: one ffprobe run costs ~100-300 ms of process start on a 2-core
 * machine, so 1,000 files take minutes per measured run; `--files 1000` for
 * the figure. Copying keeps generation at a second, and ffprobe reads
 * every copy as it would distinct files). They are
 * ingested once with the filesystem importer into a temporary catalog, and
 * the collection gets the `ffprobe` enricher.
 *
 * - Throughput: `collection enrich --force` (the runner: a sandboxed worker,
 *   one probe per core, results written one by one) against a bare loop of
 *   the same `ffprobe -v error -print_format json -show_format -show_streams`
 *   commands over the same files at the same parallelism, output parsed.
 *   The two alternate within every round (bare first in even rounds), so a
 *   drifting machine slows both alike; reported: each one's median and min,
 *   and the median and min of the round-by-round ratios. Aim: ≤ 1.2×.
 * - Parallelism: the runner at `--jobs 1` against one per core, same rounds.
 * - Re-enrich of the unchanged collection: selects and probes 0 files.
 *   Aim: ≤ 1 s.
 *
 * Without FFmpeg it prints one line saying so and measures nothing.
 *
 * Run: `deno task bench enrich`, or
 * `deno run --no-prompt --allow-read --allow-write --allow-run --allow-env bench/enrich_bench.ts [--files N] [--rounds N]`
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { insertSource, setSyncEnabled, upsertDiscoveredCollections } from "../core/catalog.ts";
import { validateConfig } from "../core/config.ts";
import { openDatabase } from "../core/db.ts";
import {
  attachEnricher,
  enrichCollection,
  type EnrichReport,
  ingestCollection,
  listAttachedEnrichers,
} from "../ingest/mod.ts";
import { loadEnricherRegistry } from "../registry/mod.ts";
import { loadRegistry } from "../registry/mod.ts";
import { findFfprobe, makeMedia } from "../tests/fixtures/enrichers/_media.ts";
import type { CollectionRecord } from "../core/catalog.ts";
import type { DatabaseSync } from "node:sqlite";
import { median } from "./_stats.ts";

/** Options of {@link runEnrichBench}. */
export interface EnrichBenchOptions {
  /** Media files. Default 100. */
  files?: number;
  /** Rounds of each comparison. Default 3. */
  rounds?: number;
}

/** Runs the benchmark and prints its figures. */
export async function runEnrichBench(options: EnrichBenchOptions = {}): Promise<void> {
  const files = options.files ?? 100;
  const rounds = options.rounds ?? 3;
  console.log(`# Enrichment: ${files} media files, ${rounds} rounds`);
  const ffprobe = findFfprobe();
  if (!ffprobe) {
    console.log("ffmpeg/ffprobe are not installed: nothing measured");
    return;
  }
  const cores = navigator.hardwareConcurrency ?? 1;
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-enrich-bench-" });
  try {
    const root = join(dir, "movies");
    const paths = await _media(root, files);
    const { db, collection } = await _catalog(join(dir, "catalog.db"), root);
    const registry = await loadEnricherRegistry({ searchPath: Deno.env.get("PATH") });
    const attached = listAttachedEnrichers(db, collection.id);
    const enrich = (extra: { force?: boolean; jobs?: number }) =>
      enrichCollection(db, collection, { registry, attached, cores, ...extra });
    const check = (r: EnrichReport) => {
      if (r.enriched !== files) throw new Error(`enriched ${r.enriched} of ${files}`);
    };
    check(await enrich({ force: true })); // warm-up, not measured

    const runner: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const pair = [
        async () => runner.push(await _timed(async () => check(await enrich({ force: true })))),
        async () => bare.push(await _timed(() => _bareLoop(ffprobe, paths, cores))),
      ];
      if (i % 2 === 0) pair.reverse();
      for (const step of pair) await step();
    }
    const ratios = runner.map((r, i) => r / bare[i]);
    console.log(`runner, ${cores} at once:    ${_stats(runner)}  (${_rate(files, runner)})`);
    console.log(`bare ffprobe loop, ${cores} at once: ${_stats(bare)}  (${_rate(files, bare)})`);
    console.log(
      `runner / bare: median ${median(ratios).toFixed(2)}×, min ${
        _min(ratios).toFixed(2)
      }× (aim ≤ 1.2×)`,
    );

    const serial: number[] = [];
    const parallel: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const pair = [
        async () =>
          serial.push(await _timed(async () => check(await enrich({ force: true, jobs: 1 })))),
        async () =>
          parallel.push(
            await _timed(async () => check(await enrich({ force: true, jobs: cores }))),
          ),
      ];
      if (i % 2 === 1) pair.reverse();
      for (const step of pair) await step();
    }
    const speedups = serial.map((s, i) => s / parallel[i]);
    console.log(`runner, 1 at once:          ${_stats(serial)}`);
    console.log(
      `parallelism speed-up (${cores} cores): median ${median(speedups).toFixed(2)}×, max ${
        Math.max(...speedups).toFixed(2)
      }×`,
    );

    const again: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let report: EnrichReport | undefined;
      again.push(await _timed(async () => (report = await enrich({}))));
      if (report!.probed !== 0) throw new Error(`re-enrich probed ${report!.probed}`);
    }
    console.log(`re-enrich unchanged (0 probes): ${_stats(again)} (aim ≤ 1000 ms)`);
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** One real file, copied to `count` movie folders. */
async function _media(root: string, count: number): Promise<string[]> {
  const first = join(root, "Movie 00000 (2000)", "Movie 00000 (2000).mkv");
  await makeMedia(first, { audio: ["eng", "fra"] });
  const paths = [first];
  for (let i = 1; i < count; i++) {
    const name = `Movie ${String(i).padStart(5, "0")} (2000)`;
    const path = join(root, name, `${name}.mkv`);
    Deno.mkdirSync(join(root, name), { recursive: true });
    Deno.copyFileSync(first, path);
    paths.push(path);
  }
  return paths;
}

/** A catalog with a filesystem source over `root`, ingested, with ffprobe attached. */
async function _catalog(
  path: string,
  root: string,
): Promise<{ db: DatabaseSync; collection: CollectionRecord }> {
  const importers = await loadRegistry();
  const info = importers.get("filesystem");
  if (!info) throw new Error("the built-in filesystem importer is not available");
  const config = validateConfig(info.manifest.params, { root }, { cwd: "/" });
  const db = openDatabase(path);
  const source = insertSource(db, { name: "Bench FS", typeId: "filesystem", config });
  const client = await importers.open("filesystem", config);
  try {
    const { added } = upsertDiscoveredCollections(db, source.id, {
      found: await client.listCollections(),
    });
    const collection = added[0];
    setSyncEnabled(db, collection.id, { enabled: true });
    await ingestCollection(db, { client, collection: collection.id });
    attachEnricher(db, { collectionId: collection.id, typeId: "ffprobe" });
    return { db, collection };
  } finally {
    await client.close();
    await importers.close();
  }
}

/** The same ffprobe commands as the enricher, `lanes` at a time, output parsed. */
async function _bareLoop(ffprobe: string, paths: readonly string[], lanes: number) {
  let next = 0;
  const lane = async () => {
    while (next < paths.length) {
      const file = paths[next++];
      const out = await new Deno.Command(ffprobe, {
        args: ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`ffprobe failed on ${file}`);
      JSON.parse(new TextDecoder().decode(out.stdout));
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

async function _timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function _min(xs: readonly number[]): number {
  return Math.min(...xs);
}

function _stats(ms: readonly number[]): string {
  return `median ${median(ms).toFixed(0)} ms, min ${_min(ms).toFixed(0)} ms`;
}

function _rate(files: number, ms: readonly number[]): string {
  return `${Math.round(files / (median(ms) / 1000))} files/s`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { files: { type: "string" }, rounds: { type: "string" } },
  });
  await runEnrichBench({
    files: values.files === undefined ? undefined : Number(values.files),
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
  });
}
