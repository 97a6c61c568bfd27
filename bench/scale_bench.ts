/**
 * Scale benchmark: the real CLI (`main.ts` with the task's flags) ingesting
 * the synthetic importer (`bench/plugins/synthetic.ts`) through the sandbox,
 * at growing collection sizes, against an insert floor measured in the same
 * run.
 *
 * For each size N: a full ingest into a fresh catalog, an unchanged
 * re-ingest, and a one-season targeted ingest (the importer pushes the
 * filter down: 100 assets stream, whatever N is). Each run's peak RSS is
 * that of the whole process tree (the CLI, the plugin host and anything they
 * start), sampled from `/proc` every 10 ms. The floor is plain prepared
 * inserts of the same N rows into the same `assets` table in one
 * transaction, in its own process (rows generated inside the timed loop),
 * written as the apply writes them: ids derived as the ingest derives them
 * (hashes, so the id index fills in no particular order), in external id
 * order, with the apply's page cache. (Until 2026-12 the floor gave its rows
 * sequential ids, `a-000…`, which no ingest writes and which index far more
 * cheaply: at 1M, 13.1–15.3 s against 17.8–18.2 s, 3 interleaved rounds.)
 * Rounds interleave every scenario with the floor; figures are the median
 * and min over rounds, and ratios are taken within a round.
 *
 * Sizes: 100k and 300k by default (`--sizes`); `--million` adds 1M (a few
 * minutes). Then the Plex rows (`runPlexScale`; `--no-plex` leaves them out,
 * `--plex-only` runs only them). `--help` lists the options.
 *
 * Run: `deno task bench scale [--million]`, or
 * `deno run --no-prompt -A bench/scale_bench.ts [--million] [--rounds N]`.
 *
 * @module
 */

import { join } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../core/db.ts";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { syntheticAsset } from "./plugins/synthetic.ts";
import { PLEX_PRODUCT } from "../importers/plex/mod.ts";
import { DEFAULT_PAGE_SIZE } from "../importers/plex/mod.ts";
import { startPlexMock } from "./plex_bench.ts";
import { median } from "./_stats.ts";
import { processTree } from "./_proc.ts";
import { runDrain } from "./_drain.ts";
import { assetId } from "../ingest/normalize.ts";
import { APPLY_CACHE_KIB } from "../ingest/apply.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const PLUGINS = join(REPO, "bench", "plugins");

/** One measured process run. */
interface _Run {
  ms: number;
  peakRssMb: number;
}

/** Options for {@link runScaleBench}. */
export interface ScaleBenchOptions {
  /** Collection sizes (default 100k and 300k). */
  sizes?: number[];
  /** Interleaved rounds per size (default 3; 1 for sizes ≥ 1M). */
  rounds?: number;
  /** Also the Plex rows (default true). */
  plex?: boolean;
}

/** Runs the scale benchmark and prints its table. */
export async function runScaleBench(options: ScaleBenchOptions = {}): Promise<void> {
  const sizes = options.sizes ?? [100_000, 300_000];
  console.log("scale bench: real CLI + sandboxed synthetic importer; RSS of the process tree");
  console.log(
    "size".padStart(8) + "  scenario".padEnd(12) + "median ms".padStart(11) +
      "min ms".padStart(9) + "  x floor (med/min)" + "  peak RSS MB (med)",
  );
  const peaks = new Map<number, number>();
  for (const n of sizes) {
    const rounds = options.rounds ?? (n >= 1_000_000 ? 1 : 3);
    const runs: Record<string, _Run[]> = { floor: [], full: [], unchanged: [], season: [] };
    for (let r = 0; r < rounds; r++) {
      runs.floor.push(await _floor(n));
      const world = await _world(n);
      try {
        runs.full.push(await _ingest(world, []));
        runs.unchanged.push(await _ingest(world, []));
        runs.season.push(await _ingest(world, ["--title", "Show 0", "--season", "1"]));
      } finally {
        Deno.removeSync(world.dir, { recursive: true });
      }
    }
    for (const name of ["floor", "full", "unchanged", "season"]) {
      const list = runs[name];
      const ratios = list.map((run, i) => run.ms / runs.floor[i].ms);
      const ms = list.map((run) => run.ms);
      const rss = median(list.map((run) => run.peakRssMb));
      if (name === "full") peaks.set(n, rss);
      console.log(
        String(n).padStart(8) + `  ${name}`.padEnd(12) + _fmt(median(ms)).padStart(11) +
          _fmt(Math.min(...ms)).padStart(9) +
          `  ${median(ratios).toFixed(2)} / ${Math.min(...ratios).toFixed(2)}`.padEnd(20) +
          _fmtMb(rss).padStart(18),
      );
    }
  }
  if ([...peaks.values()].some(Number.isNaN)) {
    console.log("  (peak RSS n/a: /proc cannot be read here; Deno lets only -A read it)");
  }
  const small = peaks.get(sizes[0])!;
  for (const n of Number.isNaN(small) ? [] : sizes.slice(1)) {
    console.log(
      `peak RSS of a full ingest at ${n} / at ${sizes[0]}: ${(peaks.get(n)! / small).toFixed(2)}`,
    );
  }
  console.log(
    "  (season: one season of one show, filter pushed down to the importer; " +
      "floor: N prepared inserts in one transaction, own process)",
  );
  if (options.plex !== false) await runPlexScale(options.rounds ?? 3);
}

/**
 * The Plex rows: the real CLI ingesting a 100k-episode show library from the
 * Plex mock (its own process), against floors measured in the same rounds:
 * fetching and parsing the same pages with `fetch` + `res.json()` (the
 * fetch+parse floor) and the insert floor of the very rows the round's full
 * ingest stored (read back before the clock, see `_floorFromProcess`; until
 * 2026-12 it inserted as many synthetic rows, which are smaller than Plex
 * episodes' and had sequential ids). Full ingest ÷ (fetch+parse + insert),
 * unchanged re-ingest ÷ fetch+parse. Each round also runs the plugin side
 * alone (`_drain.ts`, its own process: the registry, the sandboxed importer
 * and the frames parsed, no ingest) ÷ fetch+parse: the part of an unchanged
 * re-ingest no ingest work can remove.
 */
export async function runPlexScale(rounds: number, episodes = 100_000): Promise<void> {
  const mock = await startPlexMock(episodes);
  try {
    const headers = {
      Accept: "application/json",
      "X-Plex-Token": mock.info.token,
      "X-Plex-Product": PLEX_PRODUCT,
    };
    const sections = await (await fetch(`${mock.url}/library/sections`, { headers })).json();
    const key: string = sections.MediaContainer.Directory
      .find((d: { type: string }) => d.type === "show").key;
    const fetchFloor = async () => {
      const started = performance.now();
      for (let start = 0;; start += DEFAULT_PAGE_SIZE) {
        const url = `${mock.url}/library/sections/${key}/all?type=4&includeGuids=1` +
          `&X-Plex-Container-Start=${start}&X-Plex-Container-Size=${DEFAULT_PAGE_SIZE}`;
        const mc = (await (await fetch(url, { headers })).json()).MediaContainer;
        if (start + DEFAULT_PAGE_SIZE >= mc.totalSize) break;
      }
      return performance.now() - started;
    };
    const full: number[] = [];
    const unchanged: number[] = [];
    const drained: number[] = [];
    const rss: number[] = [];
    const ms = {
      fetch: [] as number[],
      insert: [] as number[],
      full: [] as number[],
      again: [] as number[],
      drain: [] as number[],
    };
    for (let r = 0; r < rounds; r++) {
      const fetchMs = await fetchFloor();
      const dir = Deno.makeTempDirSync({ prefix: "retrovue-plex-scale-" });
      try {
        Deno.writeTextFileSync(join(dir, "token"), mock.info.token);
        const env = {
          RETROVUE_DB: join(dir, "catalog.db"),
          XDG_DATA_HOME: join(dir, "data"),
          HOME: Deno.env.get("HOME") ?? dir,
          NODE_V8_COVERAGE: Deno.env.get("NODE_V8_COVERAGE") ?? "",
        };
        await _cli([
          "source",
          "add",
          "--type",
          "plex",
          "--name",
          "P",
          "--base-url",
          mock.url,
          "--token-file",
          join(dir, "token"),
          "--discover",
        ], env);
        const list = await _cliJson(["collection", "list", "--json"], env);
        const show = (list.collections as { id: string; kind: string }[])
          .find((c) => c.kind === "shows")!;
        await _cli(["collection", "update", show.id, "--sync-enable"], env);
        const first = await _cli(["collection", "ingest", show.id], env);
        const again = await _cli(["collection", "ingest", show.id], env);
        const drain = await runDrain({
          type: "plex",
          config: { base_url: mock.url, token: mock.info.token },
          collection: { externalId: key, kind: "shows", name: "TV Shows" },
        }, env);
        if (drain.assets !== episodes) {
          throw new Error(`the drain streamed ${drain.assets} episodes, expected ${episodes}`);
        }
        const insertMs = (await _floorFrom(env.RETROVUE_DB, show.id)).ms;
        full.push(first.ms / (fetchMs + insertMs));
        unchanged.push(again.ms / fetchMs);
        drained.push(drain.ms / fetchMs);
        ms.drain.push(drain.ms);
        rss.push(first.peakRssMb);
        ms.fetch.push(fetchMs);
        ms.insert.push(insertMs);
        ms.full.push(first.ms);
        ms.again.push(again.ms);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    }
    console.log(
      `plex ${episodes}: full ingest ÷ (fetch+parse + insert floors) median ` +
        `${median(full).toFixed(2)} min ${Math.min(...full).toFixed(2)}; ` +
        `unchanged re-ingest ÷ fetch+parse floor median ${median(unchanged).toFixed(2)} ` +
        `min ${Math.min(...unchanged).toFixed(2)}; full ingest peak tree RSS ` +
        `${_fmtMb(median(rss))} MB (${rounds} rounds)`,
    );
    console.log(
      `  plugin side alone (bench/_drain.ts: the sandboxed importer streaming to a process ` +
        `that drops every episode, no ingest) ÷ fetch+parse floor median ` +
        `${median(drained).toFixed(2)} min ${Math.min(...drained).toFixed(2)}`,
    );
    console.log(
      `  medians: fetch+parse floor ${_fmt(median(ms.fetch))} ms, insert floor ` +
        `${_fmt(median(ms.insert))} ms, full ingest ${_fmt(median(ms.full))} ms, ` +
        `unchanged re-ingest ${_fmt(median(ms.again))} ms, plugin side alone ` +
        `${_fmt(median(ms.drain))} ms`,
    );
  } finally {
    mock.child.kill();
    await mock.child.status;
  }
}

async function _cliJson(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), join(REPO, "main.ts"), ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

interface _World {
  dir: string;
  env: Record<string, string>;
  collection: string;
}

/** A fresh catalog with the synthetic source of `n` episodes, discovered and sync-enabled. */
async function _world(n: number): Promise<_World> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-scale-" });
  const env = {
    RETROVUE_DB: join(dir, "catalog.db"),
    RETROVUE_PLUGIN_PATH: PLUGINS,
    XDG_DATA_HOME: join(dir, "data"),
    HOME: Deno.env.get("HOME") ?? dir,
    NODE_V8_COVERAGE: Deno.env.get("NODE_V8_COVERAGE") ?? "",
    RETROVUE_MAX_ASSETS: String(Math.max(5_000_000, n)),
  };
  const add = ["source", "add", "--type", "synthetic", "--name", "S", "--count", String(n)];
  await _cli([...add, "--discover"], env);
  await _cli(["collection", "update", "All", "--sync-enable"], env);
  return { dir, env, collection: "All" };
}

function _ingest(world: _World, extra: string[]): Promise<_Run> {
  return _cli(["collection", "ingest", world.collection, ...extra], world.env);
}

async function _cli(args: string[], env: Record<string, string>): Promise<_Run> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), join(REPO, "main.ts"), ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  });
  return await _measure(command, `retrovue ${args.join(" ")}`);
}

function _floor(n: number): Promise<_Run> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(import.meta.url), "--floor", String(n)],
    stdout: "piped",
    stderr: "piped",
  });
  return _measure(command, "floor");
}

/** Runs a process, sampling its tree's RSS; its time is what it prints as `ms=…`, else wall. */
async function _measure(command: Deno.Command, label: string): Promise<_Run> {
  const started = performance.now();
  const child = command.spawn();
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, _treeRssKb(child.pid));
  }, 10);
  const out = await child.output();
  clearInterval(timer);
  const wall = performance.now() - started;
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${label} failed (exit ${out.code}): ${err}`);
  }
  const printed = /ms=([\d.]+)/.exec(new TextDecoder().decode(out.stdout));
  return { ms: printed ? Number(printed[1]) : wall, peakRssMb: peak / 1024 };
}

/** Megabytes as a table cell: `n/a` when they could not be sampled. */
function _fmtMb(mb: number): string {
  return Number.isNaN(mb) ? "n/a" : mb.toFixed(0);
}

/**
 * Sum of VmRSS (KiB) of `pid` and all its descendants, read from /proc; NaN
 * where /proc cannot be listed (not Linux, or run without `-A`).
 */
function _treeRssKb(pid: number): number {
  let tree: number[];
  try {
    tree = processTree(pid);
  } catch {
    return NaN;
  }
  let total = 0;
  for (const p of tree) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${p}/status`));
      if (m) total += Number(m[1]);
    } catch {
      // Gone.
    }
  }
  return total;
}

/** A fresh catalog in `dir` with one source and the collection `collectionId`, for a floor. */
function _floorCatalog(dir: string, collectionId: string): DatabaseSync {
  const db = openDatabase(join(dir, "floor.db"));
  const now = "2024-01-01T00:00:00.000Z";
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES ('s', 'S', 'x', '{}', ?, ?)",
  ).run(now, now);
  db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, created_at, updated_at)
     VALUES (?, 's', 'all', 'All', 'shows', ?, ?)`,
  ).run(collectionId, now, now);
  return db;
}

/** The indices of N synthetic assets in the order of their external ids (SQLite's binary order). */
function _externalIdOrder(n: number): number[] {
  const keys = Array.from({ length: n }, (_, i) => syntheticAsset(i).externalId);
  return Array.from({ length: n }, (_, i) => i).sort((x, y) =>
    keys[x] < keys[y] ? -1 : keys[x] > keys[y] ? 1 : 0
  );
}

/** The floor, in its own process: N prepared inserts of the synthetic rows in one transaction. */
function _floorProcess(n: number): void {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-floor-" });
  try {
    const db = _floorCatalog(dir, "c");
    const now = "2024-01-01T00:00:00.000Z";
    const insert = db.prepare(
      `INSERT INTO assets (id, collection_id, external_id, kind, title, series_title, season,
        episode, episode_end, year, air_date, duration_ms, external_ids, path, parts, local_path,
        size, modified, fingerprint, file_fingerprint, state, first_seen, last_seen, updated_at)
       VALUES (?, 'c', ?, ?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?)`,
    );
    // As the apply writes: with its page cache, in external id order (the
    // order is worked out before the clock; each row is built inside it).
    db.exec(`PRAGMA cache_size = -${APPLY_CACHE_KIB}`);
    const order = _externalIdOrder(n);
    const started = performance.now();
    db.exec("BEGIN IMMEDIATE");
    for (const i of order) {
      const a = syntheticAsset(i);
      insert.run(
        assetId("c", a.externalId),
        a.externalId,
        a.kind,
        a.title,
        a.seriesTitle ?? null,
        a.season ?? null,
        a.episode ?? null,
        a.year ?? null,
        a.durationMs ?? null,
        JSON.stringify(a.externalIds),
        a.path ?? null,
        JSON.stringify([a.path]),
        a.path ?? null,
        a.size ?? null,
        a.modified ?? null,
        "0123456789abcdef",
        "0123456789abcdef",
        now,
        now,
        now,
      );
    }
    db.exec("COMMIT");
    console.log(`ms=${(performance.now() - started).toFixed(1)}`);
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * The insert floor of rows an ingest stored, in its own process: the
 * collection's asset rows are read from the catalog at `from` (before the
 * clock), then inserted with prepared statements into a fresh catalog in one
 * transaction, in external id order, with the apply's page cache.
 */
function _floorFromProcess(from: string, collectionId: string): void {
  const source = new DatabaseSync(from, { readOnly: true });
  const rows = source.prepare(
    "SELECT * FROM assets WHERE collection_id = ? ORDER BY external_id",
  ).all(collectionId) as Record<string, SQLInputValue>[];
  source.close();
  if (rows.length === 0) throw new Error(`no assets of ${collectionId} in ${from}`);
  const columns = Object.keys(rows[0]);
  const values = rows.map((row) => columns.map((c) => row[c]));
  rows.length = 0;
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-floor-" });
  try {
    const db = _floorCatalog(dir, collectionId);
    const insert = db.prepare(
      `INSERT INTO assets (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    );
    db.exec(`PRAGMA cache_size = -${APPLY_CACHE_KIB}`);
    const started = performance.now();
    db.exec("BEGIN IMMEDIATE");
    for (const row of values) insert.run(...row);
    db.exec("COMMIT");
    console.log(`ms=${(performance.now() - started).toFixed(1)}`);
    db.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** {@link _floorFromProcess} of the ingested catalog at `from`. */
function _floorFrom(from: string, collectionId: string): Promise<_Run> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(import.meta.url), "--floor-from", from, collectionId],
    stdout: "piped",
    stderr: "piped",
  });
  return _measure(command, "floor");
}

function _fmt(ms: number): string {
  return ms.toFixed(0);
}

const _USAGE = `Usage: deno run --no-prompt -A bench/scale_bench.ts [options]

The real CLI ingesting the sandboxed synthetic importer at growing sizes, and
a 100k-episode Plex library from the mock, against floors measured in the
same rounds (see the module doc of bench/scale_bench.ts).

Options:
  --sizes N,N…   collection sizes (default 100000,300000)
  --million      add 1000000 to the sizes (a few minutes)
  --rounds N     interleaved rounds per size and for Plex (default 3; 1 at 1M)
  --no-plex      leave out the Plex rows
  --plex-only    only the Plex rows
  --help         this text`;

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      floor: { type: "string" },
      "floor-from": { type: "string" },
      sizes: { type: "string" },
      million: { type: "boolean", default: false },
      "no-plex": { type: "boolean", default: false },
      "plex-only": { type: "boolean", default: false },
      rounds: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  const sizes = (values.sizes ?? "100000,300000").split(",").map(Number);
  if (values.million) sizes.push(1_000_000);
  if (values.help) {
    console.log(_USAGE);
  } else if (values.floor !== undefined) {
    _floorProcess(Number(values.floor));
  } else if (values["floor-from"] !== undefined) {
    _floorFromProcess(values["floor-from"], positionals[0]);
  } else if ([...sizes, rounds ?? 1].some((n) => !Number.isSafeInteger(n) || n < 1)) {
    console.error("Error: --sizes and --rounds take positive whole numbers (see --help)");
    Deno.exit(2);
  } else if (values["plex-only"]) {
    await runPlexScale(rounds ?? 3);
  } else {
    await runScaleBench({ sizes, rounds, plex: !values["no-plex"] });
  }
}
