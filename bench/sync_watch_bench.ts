/**
 * Filesystem watching benchmark: how long from a file landing in a watched
 * root of 100k files to its asset being in the catalog, through the real
 * `retrovue sync` process.
 *
 * Generates a tree of empty episode files (shows × 4 seasons × 50 episodes),
 * adds it as a `filesystem` source, ingests it once through the CLI, starts
 * `sync --debounce-ms D`, then, round after round, writes one new episode
 * into an existing season and polls the catalog (a read-only connection,
 * every 10 ms) until the asset is there. The floor is the debounce itself
 * (sync waits that long for quiet on purpose): the figure is the latency,
 * its ratio to D, and what it costs beyond D (aim: at most 1 s, the
 * season-scoped ingest of one season among 100k files). Reports the median
 * and the min of the rounds. Not run in CI; cleans up after itself.
 *
 * `deno task bench sync-watch`, or `deno run -A bench/sync_watch_bench.ts [--files N] [--rounds N] [--debounce-ms D]`.
 *
 * @module
 */

import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { parseArgs } from "node:util";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { medianMin } from "./_stats.ts";

/** Options for {@link runSyncWatchBench}. */
export interface SyncWatchBenchOptions {
  /** Files in the watched root (rounded to whole seasons). Default 100_000. */
  files?: number;
  /** Files landed and timed. Default 7. */
  rounds?: number;
  /** The sync's debounce in milliseconds. Default 1000. */
  debounceMs?: number;
  /** Where to print. Default `console.log`. */
  log?: (line: string) => void;
}

/** What the benchmark measured, in milliseconds. */
export interface SyncWatchBenchResult {
  /** Files in the root. */
  files: number;
  /** The debounce (the floor). */
  debounceMs: number;
  /** Landing-to-catalog latency, median and min over the rounds. */
  latencyMs: { median: number; min: number };
  /** Median latency / debounce. */
  ratio: number;
  /** Median latency minus the debounce (aim ≤ 1000). */
  overDebounceMs: number;
}

const _PER_SEASON = 50;
const _SEASONS = 4;

/** Runs the benchmark and prints its figures. */
export async function runSyncWatchBench(
  options: SyncWatchBenchOptions = {},
): Promise<SyncWatchBenchResult> {
  const log = options.log ?? console.log;
  const debounceMs = options.debounceMs ?? 1000;
  const rounds = options.rounds ?? 7;
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-sync-bench-" });
  const root = join(dir, "shows");
  const db = join(dir, "retrovue.db");
  let sync: Deno.ChildProcess | undefined;
  try {
    const shows = Math.max(1, Math.round((options.files ?? 100_000) / (_PER_SEASON * _SEASONS)));
    const files = _tree(root, shows);
    log(`sync watch: ${files} files under ${root}; debounce ${debounceMs} ms`);
    await _cli(db, [
      ...["source", "add", "--type", "filesystem", "--name", "Bench", "--root", root, "--discover"],
    ]);
    const collection = JSON.parse(await _cli(db, ["collection", "list", "--json"]))
      .collections[0].id as string;
    await _cli(db, ["collection", "update", collection, "--sync-enable"]);
    const t0 = performance.now();
    await _cli(db, ["collection", "ingest", collection]);
    log(`  first full ingest through the CLI: ${(performance.now() - t0).toFixed(0)} ms`);

    sync = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...retrovueTaskFlags(),
        _MAIN,
        "--db",
        db,
        "sync",
        "--debounce-ms",
        String(debounceMs),
      ],
      env: { RETROVUE_PLUGIN_PATH: "" },
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const lines = _lines(sync.stdout);
    await lines.waitFor(/watch: watching /);
    const reader = new DatabaseSync(db, { readOnly: true });
    const found = reader.prepare(
      "SELECT 1 FROM assets WHERE collection_id = ? AND external_id = ? AND deleted_at IS NULL",
    );
    const latencies: number[] = [];
    try {
      for (let i = 0; i < rounds; i++) {
        const show = _show((i * 7919) % shows);
        const season = (i % _SEASONS) + 1;
        const rel = `${show}/Season 0${season}/${show} - S0${season}E${90 + i} - New.mkv`;
        const done = lines.count(/^\S+ done: /);
        Deno.writeFileSync(join(root, rel), new Uint8Array(1));
        const landed = performance.now();
        while (!found.get(collection, rel)) {
          if (performance.now() - landed > 120_000) {
            throw new Error(`${rel} never reached the catalog:\n${lines.text()}`);
          }
          await _sleep(10);
        }
        latencies.push(performance.now() - landed);
        // Let the ingest finish logging before the next file lands.
        await lines.waitFor(/^\S+ done: /m, done + 1);
      }
    } finally {
      reader.close();
    }
    const latency = medianMin(latencies);
    const result: SyncWatchBenchResult = {
      files,
      debounceMs,
      latencyMs: latency,
      ratio: latency.median / debounceMs,
      overDebounceMs: latency.median - debounceMs,
    };
    log(
      `  file landed → asset in catalog: median ${latency.median.toFixed(0)} ms, min ` +
        `${latency.min.toFixed(0)} ms over ${rounds} files = ${result.ratio.toFixed(2)}× the ` +
        `debounce floor (${debounceMs} ms); ${result.overDebounceMs.toFixed(0)} ms beyond it ` +
        `(aim ≤ 1000)`,
    );
    return result;
  } finally {
    if (sync) {
      try {
        sync.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      await sync.status;
    }
    Deno.removeSync(dir, { recursive: true });
  }
}

const _MAIN = new URL("../main.ts", import.meta.url).pathname;

function _show(n: number): string {
  return `Show ${String(n).padStart(4, "0")}`;
}

/** Writes `shows` × 4 seasons × 50 empty episodes under `root`; returns the file count. */
function _tree(root: string, shows: number): number {
  const empty = new Uint8Array();
  let files = 0;
  for (let n = 0; n < shows * _SEASONS; n++) {
    const show = _show(Math.floor(n / _SEASONS));
    const season = `0${(n % _SEASONS) + 1}`;
    const folder = join(root, show, `Season ${season}`);
    Deno.mkdirSync(folder, { recursive: true });
    for (let e = 1; e <= _PER_SEASON; e++) {
      Deno.writeFileSync(
        join(folder, `${show} - S${season}E${String(e).padStart(2, "0")}.mkv`),
        empty,
      );
      files++;
    }
  }
  return files;
}

async function _cli(db: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), _MAIN, "--db", db, ...args],
    env: { RETROVUE_PLUGIN_PATH: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`retrovue ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Collects a process's output lines as they come. */
function _lines(stream: ReadableStream<Uint8Array>) {
  let text = "";
  (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const count = (re: RegExp) => text.split("\n").filter((l) => re.test(l)).length;
  return {
    count,
    /** Everything so far. */
    text: () => text,
    /** Waits (up to a minute) until `re` matches `times` lines. */
    async waitFor(re: RegExp, times = 1): Promise<void> {
      const deadline = performance.now() + 60_000;
      while (count(new RegExp(re.source)) < times) {
        if (performance.now() > deadline) throw new Error(`sync never printed ${re}:\n${text}`);
        await _sleep(10);
      }
    },
  };
}

function _sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      files: { type: "string" },
      rounds: { type: "string" },
      "debounce-ms": { type: "string" },
    },
  });
  await runSyncWatchBench({
    files: values.files ? Number(values.files) : undefined,
    rounds: values.rounds ? Number(values.rounds) : undefined,
    debounceMs: values["debounce-ms"] ? Number(values["debounce-ms"]) : undefined,
  });
}
