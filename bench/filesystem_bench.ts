/**
 * Filesystem importer benchmark: generates a tree of 100k empty video files
 * (shows × seasons × episodes, plus movie folders) in a temp folder, then
 * times, in the same run and on the same tree:
 *
 * - the floor: `find ROOT -type f -printf '%s %T@\n'` (readdir + stat of every file);
 * - a bare synchronous walk (readDirSync + statSync, no rules), for reference;
 * - the importer's walk: its disk reads (`scanFolder`: readdir, the hidden /
 *   extras / symlink rules, a stat of every video file), without names;
 * - `listCollections` (discovery) and a full `fetchAssets` of the importer
 *   (the walk plus name parsing and asset building), in-process;
 * - the name parser alone, folder by folder as the walk calls it, in µs per
 *   path, against a floor that only splits each path into folder and name
 *   (budget: about 2.5 µs per path);
 * - the operator's flow through the CLI, each command a fresh process with
 *   the sandboxed importer: `source add --discover` once, then, in rounds
 *   interleaved with `find`, `collection ingest` of a fresh copy of that
 *   catalog (every asset new) and again (every asset unchanged). Each round
 *   also runs the plugin side alone (`_drain.ts`: a process that loads the
 *   registry, streams the collection out of the sandboxed importer and drops
 *   it), which tells the sandbox's share of an ingest from the ingest's. The
 *   enrichers discovery attaches (ffprobe, when it is on `PATH`) are
 *   detached first: probing every file is enrichment, measured by
 *   `enrich_bench.ts`, not the ingest.
 *
 * In-process times are the best of N interleaved rounds; the CLI rows give
 * the median and min of their time and of their ratio to the same round's
 * `find`. The aims: the importer's walk within 1.5× of `find`, a full CLI
 * ingest within 3×. Cleans up after itself.
 *
 * Run: `deno task bench filesystem`, or
 * `deno run --no-prompt -A bench/filesystem_bench.ts [--files N] [--rounds N] [--cli-rounds N]`.
 *
 * @module
 */

import importer from "../importers/filesystem/mod.ts";
import { scanFolder, type ScanOptions, subfolderChain } from "../importers/filesystem/mod.ts";
import { VIDEO_EXTENSIONS } from "../importers/shared/naming/mod.ts";
import { parseFolderFiles } from "../importers/shared/naming/mod.ts";
import { parseArgs } from "node:util";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { median } from "./_stats.ts";
import { type DrainSpec, runDrain } from "./_drain.ts";

/** Options for {@link runFilesystemBench}. */
export interface FilesystemBenchOptions {
  /** Number of files to generate (rounded to whole seasons). Default 100_000. */
  files?: number;
  /** Rounds of measurements (each measures everything once); the best is kept. Default 5. */
  runs?: number;
  /** Rounds of the CLI ingests, each with its own `find`. Default 3. */
  cliRounds?: number;
  /** Where to print. Default `console.log`. */
  log?: (line: string) => void;
}

/** What one benchmark run measured (milliseconds, best of N). */
export interface FilesystemBenchResult {
  files: number;
  findMs: number;
  bareWalkMs: number;
  /** The importer's walk: its disk reads and rules, without names. */
  walkMs: number;
  discoveryMs: number;
  fetchMs: number;
  assets: number;
  /** fetchMs / findMs. */
  ratio: number;
  /** The name parser over every path, folder by folder, in µs per path. */
  namingUsPerPath: number;
  /** The floor for {@link namingUsPerPath}: splitting each path into folder and name. */
  namingFloorUsPerPath: number;
  /** `source add --discover` through the CLI. */
  cliDiscoverMs: number;
  /** `collection ingest` of a fresh catalog (every asset new), median over rounds. */
  cliIngestMs: number;
  /** Its ratio to the same round's `find`: median and min over rounds. */
  cliIngestRatio: { median: number; min: number };
  /** `collection ingest` again (every asset unchanged), median over rounds. */
  cliReingestMs: number;
  /** Its ratio to the same round's `find`: median and min over rounds. */
  cliReingestRatio: { median: number; min: number };
  /** The plugin side alone (`_drain.ts`, a process of its own), median over rounds. */
  drainMs: number;
  /** Its ratio to the same round's `find`: median and min over rounds. */
  drainRatio: { median: number; min: number };
}

/** One CLI round's times, with the `find` measured next to them. */
interface _CliRound {
  findMs: number;
  ingestMs: number;
  reingestMs: number;
  /** The plugin side alone (`_drain.ts`): its whole process, and its stream. */
  drainMs: number;
  drainStreamMs: number;
}

/** Runs one CLI command against `db` and returns its wall time; throws on failure. */
async function _cli(db: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), main, "--db", db, ...args],
    env: { RETROVUE_PLUGIN_PATH: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(
      `retrovue ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return { ms, stdout: new TextDecoder().decode(out.stdout) };
}

/** Times `find ROOT -type f -printf '%s %T@\n'`: readdir and stat of every file. */
async function _find(root: string): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command("find", {
    args: [root, "-type", "f", "-printf", "%s %T@\n"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) throw new Error("find failed");
  return performance.now() - t0;
}

/**
 * Detaches every enricher of `collection` in `db` (and enables its sync), so
 * that an ingest is timed without the enrichment that follows it.
 */
async function _prepareCollection(db: string, collection: string): Promise<void> {
  const shown = JSON.parse((await _cli(db, ["collection", "show", collection, "--json"])).stdout);
  const enrichers = (shown.collection?.enrichers ?? []) as Array<{ typeId: string }>;
  await _cli(db, [
    "collection",
    "update",
    collection,
    "--sync-enable",
    ...enrichers.flatMap((e) => ["--remove-enricher", e.typeId]),
  ]);
}

/**
 * `rounds` rounds of: `find`, the plugin side alone (`drain`: the sandboxed
 * importer streaming the collection to a process that drops it), a full CLI
 * ingest of a fresh copy of `template` (every asset new), then the same
 * ingest again (unchanged).
 */
async function _cliRounds(
  template: string,
  options: { root: string; files: number; rounds: number; drain: DrainSpec },
): Promise<_CliRound[]> {
  const out: _CliRound[] = [];
  for (let r = 0; r < options.rounds; r++) {
    const findMs = await _find(options.root);
    const drained = await runDrain(options.drain, { RETROVUE_PLUGIN_PATH: "" });
    if (drained.assets !== options.files) {
      throw new Error(`the drain streamed ${drained.assets} assets, expected ${options.files}`);
    }
    const db = `${template}.round.db`;
    Deno.copyFileSync(template, db);
    try {
      const ingest = await _cli(db, ["collection", "ingest", "Library", "--json"]);
      const created = JSON.parse(ingest.stdout).stats?.new;
      if (created !== options.files) {
        throw new Error(`ingest created ${created} assets, expected ${options.files}`);
      }
      const reingest = await _cli(db, ["collection", "ingest", "Library", "--json"]);
      out.push({
        findMs,
        ingestMs: ingest.ms,
        reingestMs: reingest.ms,
        drainMs: drained.ms,
        drainStreamMs: drained.streamMs,
      });
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) _removeIfThere(`${db}${suffix}`);
    }
  }
  return out;
}

function _removeIfThere(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
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

function _scanOptions(root: string): ScanOptions {
  return {
    rootReal: root,
    extensions: new Set(VIDEO_EXTENSIONS),
    includeHidden: false,
  };
}

/** The importer's disk reads (its rules, then a stat per video file, as the walk does); returns the number of video files. */
function _walkHere(root: string): number {
  const options = _scanOptions(root);
  let files = 0;
  const stack: Array<[string, string, string[]]> = [[root, "", [root]]];
  while (stack.length) {
    const [abs, rel, chain] = stack.pop()!;
    const folder = scanFolder({ abs, rel, chain }, options);
    for (const name of folder.files) Deno.statSync(`${abs}/${name}`);
    files += folder.files.length;
    for (let i = folder.folders.length - 1; i >= 0; i--) {
      const name = folder.folders[i];
      stack.push([`${abs}/${name}`, rel ? `${rel}/${name}` : name, subfolderChain(folder, i)]);
    }
  }
  return files;
}

/** Every video file's name, by its folder relative to the root (as the walk sees them). */
function _pathsByFolder(root: string): Map<string, string[]> {
  const options = _scanOptions(root);
  const out = new Map<string, string[]>();
  const stack: Array<[string, string, string[]]> = [[root, "", [root]]];
  while (stack.length) {
    const [abs, rel, chain] = stack.pop()!;
    const folder = scanFolder({ abs, rel, chain }, options);
    if (folder.files.length) out.set(rel, folder.files);
    for (let i = folder.folders.length - 1; i >= 0; i--) {
      const name = folder.folders[i];
      stack.push([`${abs}/${name}`, rel ? `${rel}/${name}` : name, subfolderChain(folder, i)]);
    }
  }
  return out;
}

/** The parser over every folder's files, with a fresh folder cache (one walk's worth). */
function _parseAll(byFolder: Map<string, string[]>): number {
  const cache = new Map<string, unknown>();
  let n = 0;
  for (const [rel, names] of byFolder) {
    n += parseFolderFiles(rel, names, { hint: "auto", cache }).length;
  }
  return n;
}

/** The floor for {@link _parseAll}: build each path and split it into folder and name again. */
function _splitAll(byFolder: Map<string, string[]>): number {
  let n = 0;
  for (const [rel, names] of byFolder) {
    for (const name of names) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const cut = path.lastIndexOf("/");
      if (path.slice(cut + 1).length + path.slice(0, Math.max(cut, 0)).length >= 0) n++;
    }
  }
  return n;
}

/**
 * Runs every measurement once per round, `rounds` times, and keeps each
 * one's best: interleaving gives all of them the same machine conditions
 * (this matters on a shared or throttled machine).
 */
async function _bestInterleaved<K extends string>(
  rounds: number,
  measures: Record<K, () => Promise<unknown> | unknown>,
): Promise<Record<K, number>> {
  const best = {} as Record<K, number>;
  for (const key of Object.keys(measures) as K[]) best[key] = Infinity;
  for (let i = 0; i < rounds; i++) {
    for (const key of Object.keys(measures) as K[]) {
      const t0 = performance.now();
      await measures[key]();
      best[key] = Math.min(best[key], performance.now() - t0);
    }
  }
  return best;
}

/** Generates the tree, measures, prints, cleans up, and returns the numbers. */
export async function runFilesystemBench(
  options: FilesystemBenchOptions = {},
): Promise<FilesystemBenchResult> {
  const log = options.log ?? console.log;
  const runs = options.runs ?? 5;
  const base = Deno.makeTempDirSync({ prefix: "retrovue_fs_bench_" });
  const root = `${base}/library`;
  Deno.mkdirSync(root);
  try {
    const t0 = performance.now();
    const files = _generate(root, options.files ?? 100_000);
    log(`filesystem bench: generated ${files} files in ${(performance.now() - t0).toFixed(0)} ms`);

    const noop = () => {};
    const ctx = { signal: new AbortController().signal, warn: noop, skipped: noop };
    const config = { root: [root], kind: "auto", include_hidden: false };
    let kind: "mixed" | "shows" | "movies" | "other" = "mixed";
    let assets = 0;
    const byFolder = _pathsByFolder(root);
    let parsed = 0;
    const best = await _bestInterleaved(runs, {
      naming: () => {
        parsed = _parseAll(byFolder);
      },
      namingFloor: () => _splitAll(byFolder),
      find: () => _find(root),
      bare: () => _bareWalk(root),
      walk: () => {
        if (_walkHere(root) !== files) throw new Error("walk missed files");
      },
      discovery: async () => {
        kind = (await importer.listCollections(config, ctx))[0].kind;
      },
      fetch: async () => {
        assets = 0;
        const request = {
          ...ctx,
          collection: { externalId: root, kind, name: "library" },
          filters: {},
        };
        for await (const batch of importer.fetchAssets(config, request)) {
          assets += Array.isArray(batch) ? batch.length : 1;
        }
      },
    });
    const {
      find: findMs,
      bare: bareWalkMs,
      walk: walkMs,
      discovery: discoveryMs,
      fetch: fetchMs,
      naming: namingMs,
      namingFloor: namingFloorMs,
    } = best;
    if (parsed !== files) throw new Error(`parsed ${parsed} paths, expected ${files}`);
    const namingUsPerPath = (namingMs * 1000) / files;
    const namingFloorUsPerPath = (namingFloorMs * 1000) / files;
    if (assets !== files) throw new Error(`expected ${files} assets, got ${assets}`);
    const ratio = fetchMs / findMs;

    const db = `${base}/bench.db`;
    const discover = await _cli(db, [
      "source",
      "add",
      "--type",
      "filesystem",
      "--name",
      "Bench",
      "--root",
      `Library=${root}`,
      "--discover",
    ]);
    await _prepareCollection(db, "Library");
    const rounds = await _cliRounds(db, {
      root,
      files,
      rounds: options.cliRounds ?? 3,
      drain: {
        type: "filesystem",
        config: { root: [`Library=${root}`] },
        collection: { externalId: root, kind, name: "Library" },
      },
    });
    const ratios = (key: "ingestMs" | "reingestMs" | "drainMs" | "drainStreamMs") => {
      const each = rounds.map((r) => r[key] / r.findMs);
      return { median: median(each), min: Math.min(...each) };
    };
    const cliIngestMs = median(rounds.map((r) => r.ingestMs));
    const cliReingestMs = median(rounds.map((r) => r.reingestMs));
    const cliIngestRatio = ratios("ingestMs");
    const cliReingestRatio = ratios("reingestMs");

    const row = (label: string, ms: number, note = "") =>
      log(
        `  ${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  ${
          (ms / findMs).toFixed(2)
        }x${note}`,
      );
    row("find -printf (floor)", findMs);
    row("bare readDir+stat walk", bareWalkMs);
    row(
      "importer walk (disk reads + rules)",
      walkMs,
      `  (aim: within 1.5x of find; ${(walkMs / bareWalkMs).toFixed(2)}x the bare walk)`,
    );
    log(`  ${"listCollections".padEnd(34)} ${discoveryMs.toFixed(0).padStart(6)} ms`);
    row(`fetchAssets: walk + names (${assets})`, fetchMs);
    log(
      `  ${"name parser (µs per path)".padEnd(34)} ${namingUsPerPath.toFixed(2).padStart(6)} µs  ${
        (namingUsPerPath / namingFloorUsPerPath).toFixed(1)
      }x the floor (split into folder + name: ${
        namingFloorUsPerPath.toFixed(2)
      } µs; budget ~2.5 µs)`,
    );
    row("CLI source add --discover", discover.ms);
    const cliRow = (label: string, ms: number, ratio: { median: number; min: number }) =>
      log(
        `  ${label.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  ${ratio.median.toFixed(2)}x ` +
          `(min ${ratio.min.toFixed(2)}x) the same round's find, median of ${rounds.length}`,
      );
    log(
      `  ${"CLI rounds: find (median)".padEnd(34)} ${
        median(rounds.map((r) => r.findMs)).toFixed(0).padStart(6)
      } ms`,
    );
    cliRow(
      "plugin side alone (process)",
      median(rounds.map((r) => r.drainMs)),
      ratios("drainMs"),
    );
    cliRow(
      "  of which the stream",
      median(rounds.map((r) => r.drainStreamMs)),
      ratios("drainStreamMs"),
    );
    log(
      `  ${"".padEnd(34)}         (the sandboxed importer streaming to a process that drops ` +
        "every asset: no ingest; bench/_drain.ts)",
    );
    cliRow("CLI collection ingest (all new)", cliIngestMs, cliIngestRatio);
    log(`  ${"".padEnd(34)}         (aim: within 3x of find)`);
    cliRow("CLI collection ingest (unchanged)", cliReingestMs, cliReingestRatio);
    return {
      files,
      findMs,
      bareWalkMs,
      walkMs,
      discoveryMs,
      fetchMs,
      assets,
      ratio,
      namingUsPerPath,
      namingFloorUsPerPath,
      cliDiscoverMs: discover.ms,
      cliIngestMs,
      cliIngestRatio,
      cliReingestMs,
      cliReingestRatio,
      drainMs: median(rounds.map((r) => r.drainMs)),
      drainRatio: ratios("drainMs"),
    };
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
}

const _USAGE = `Usage: deno run --no-prompt -A bench/filesystem_bench.ts [options]

Generates a tree of video files and times the filesystem importer against find.

  --files N       files to generate (default 100000)
  --rounds N      in-process rounds, best kept (default 5)
  --cli-rounds N  CLI ingest rounds, each next to its own find (default 3)
  --help          this text`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      files: { type: "string" },
      rounds: { type: "string" },
      "cli-rounds": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const numbers = [values.files, values.rounds, values["cli-rounds"]].map((v) =>
    v === undefined ? undefined : Number(v)
  );
  if (values.help) {
    console.log(_USAGE);
  } else if (numbers.some((n) => n !== undefined && (!Number.isSafeInteger(n) || n < 1))) {
    console.error("Error: --files, --rounds and --cli-rounds take positive whole numbers");
    Deno.exit(2);
  } else {
    const [files, runs, cliRounds] = numbers;
    await runFilesystemBench({ files, runs, cliRounds });
  }
}
