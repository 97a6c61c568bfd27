/**
 * Isolation benchmark (issue #13): what OS isolation (each plugin host under
 * bubblewrap, see `registry/_isolation.ts`) costs against Deno permissions
 * alone. The floor is the same work at level `deno`, measured in the same
 * run: the two levels alternate within every round (deno first in even
 * rounds, os first in odd ones), so a machine whose speed drifts slows both
 * alike, and the report gives each level's median and min and the median and
 * min of the round-by-round comparisons.
 *
 * - Per source opened: `registry.open` (plugin-host process, worker,
 *   handshake) + a first RPC (`validateConnection`) + `close`, for the Plex
 *   importer against the Plex mock (a `net` grant: the sandbox shares the
 *   network) and the filesystem importer on a tiny temp folder (a `read`
 *   grant: a new network namespace). Aim: at most 50 ms added. Two parts of
 *   it, measured alike: `bwrap` itself (`bwrap … deno --version`, the
 *   registry's probe, against `deno --version`), and the empty module cache
 *   (under bubblewrap `DENO_DIR` is a fresh tmpfs, so every module is
 *   transpiled again: the plex importer's modules run as a program with an
 *   empty `DENO_DIR` against the module cache).
 * - A 100k-episode Plex ingest, the operator's `collection ingest`: open the
 *   source, stream every page from the mock through the sandbox, validate,
 *   classify and write into a fresh catalog (a copy of one seeded with the
 *   source and its discovered collections), close. Aim: os/deno at most 1.05.
 *
 * A warm-up (one open per importer and level, one ingest) is not measured.
 * Where OS isolation is unavailable (the probe gives level `deno`) it prints
 * one line saying why and measures nothing.
 *
 * Run: `deno task bench isolation`, or
 * `deno run --no-prompt --allow-read --allow-write --allow-run --allow-env --allow-net=127.0.0.1 bench/isolation_bench.ts`
 *
 * @module
 */

import { dirname, join } from "node:path";
import { HOST_RUN_FLAGS } from "../registry/mod.ts";
import { fileURLToPath } from "node:url";
import { insertSource, setSyncEnabled, upsertDiscoveredCollections } from "../core/catalog.ts";
import { type RawValue, secretValues, validateConfig } from "../core/config.ts";
import type { ImporterConfig } from "../core/contract.ts";
import { openDatabase } from "../core/db.ts";
import { ingestCollection } from "../ingest/mod.ts";
import { bwrapArgs } from "../registry/mod.ts";
import {
  type Isolation,
  type IsolationLevel,
  loadRegistry,
  probeIsolation,
  type Registry,
} from "../registry/mod.ts";
import { measureRun, type MockServer } from "./_http_bench.ts";
import { startPlexMock } from "./plex_bench.ts";
import { median } from "./_stats.ts";

/** Options of {@link runIsolationBench}. */
export interface IsolationBenchOptions {
  /** Episodes in the Plex mock library for the ingest. Default 100 000. */
  episodes?: number;
  /** Rounds of the per-source comparison (each opens every case at both levels). Default 12. */
  openRounds?: number;
  /** Rounds of the ingest comparison (each ingests once at both levels). Default 5. */
  rounds?: number;
  /** Print the report. Default true. */
  print?: boolean;
}

/** One comparison: a time per round at each level (milliseconds, round order). */
export interface LevelComparison {
  /** Level `deno` (the floor). */
  deno: number[];
  /** Level `os`. */
  os: number[];
}

/** What the benchmark measured; only `isolation` when OS isolation is unavailable. */
export interface IsolationBenchResult {
  /** What the probe found on this machine. */
  isolation: Isolation;
  /** Per source opened (open + first RPC + close), by case. */
  open?: Record<string, LevelComparison>;
  /** `bwrap … deno --version` (os) against `deno --version` (deno). */
  bwrap?: LevelComparison;
  /** The plex importer's modules run with the module cache (deno) and with an empty one (os). */
  modules?: LevelComparison;
  /** The full Plex ingest. */
  ingest?: LevelComparison & { episodes: number };
}

const LEVELS: readonly IsolationLevel[] = ["deno", "os"];

/** Runs every round, alternating which level goes first; returns the times by level. */
async function _interleaved<K extends string>(
  rounds: number,
  measures: Record<K, (level: IsolationLevel) => Promise<number>>,
): Promise<Record<K, LevelComparison>> {
  const keys = Object.keys(measures) as K[];
  const out = {} as Record<K, LevelComparison>;
  for (const key of keys) out[key] = { deno: [], os: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? LEVELS : [...LEVELS].reverse();
    for (const key of keys) {
      for (const level of order) out[key][level].push(await measures[key](level));
    }
  }
  return out;
}

async function _timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function _min(xs: readonly number[]): number {
  return Math.min(...xs);
}

/** Round-by-round os − deno and os / deno. */
function _pairs(c: LevelComparison): { diffs: number[]; ratios: number[] } {
  return {
    diffs: c.os.map((os, i) => os - c.deno[i]),
    ratios: c.os.map((os, i) => os / c.deno[i]),
  };
}

/** Runs a command to completion and returns its wall time; throws on failure. */
async function _command(
  cmd: string,
  args: string[],
  env?: Record<string, string>,
): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return ms;
}

/** One source opened: open, a first RPC, close. */
async function _openOnce(registry: Registry, typeId: string, config: ImporterConfig) {
  const client = await registry.open(typeId, config);
  try {
    await client.validateConnection();
  } finally {
    await client.close();
  }
}

function _config(registry: Registry, typeId: string, raw: Record<string, RawValue>) {
  const info = registry.get(typeId);
  if (!info) throw new Error(`the built-in '${typeId}' importer is not available`);
  return validateConfig(info.manifest.params, raw, { cwd: "/" });
}

/** A catalog with the Plex source and its discovered collections, the shows library sync-enabled. */
async function _seedCatalog(
  path: string,
  registry: Registry,
  config: ImporterConfig,
): Promise<string> {
  const db = openDatabase(path);
  try {
    const source = insertSource(db, { name: "Bench Plex", typeId: "plex", config });
    const client = await registry.open("plex", config);
    let found;
    try {
      found = await client.listCollections();
    } finally {
      await client.close();
    }
    const { added } = upsertDiscoveredCollections(db, source.id, { found });
    const shows = added.find((c) => c.kind === "shows");
    if (!shows) throw new Error("the Plex mock has no shows library");
    setSyncEnabled(db, shows.id, { enabled: true });
    return shows.id;
  } finally {
    db.close();
  }
}

/** One full ingest into a fresh copy of the seeded catalog: open, ingest, close. */
async function _ingestOnce(
  mock: MockServer,
  registry: Registry,
  options: { seed: string; copy: string; collection: string; config: ImporterConfig },
) {
  Deno.copyFileSync(options.seed, options.copy);
  const db = openDatabase(options.copy);
  try {
    const secrets = secretValues(registry.get("plex")!.manifest.params, options.config);
    return await measureRun(mock, async (sample) => {
      const client = await registry.open("plex", options.config);
      try {
        const result = await ingestCollection(db, {
          client,
          collection: options.collection,
          onProgress: sample,
          secrets,
        });
        return result.stats.new;
      } finally {
        await client.close();
      }
    });
  } finally {
    db.close();
    Deno.removeSync(options.copy);
  }
}

/** Probes, measures both levels interleaved, prints (by default) and returns the figures. */
export async function runIsolationBench(
  options: IsolationBenchOptions = {},
): Promise<IsolationBenchResult> {
  const print = options.print ?? true;
  const log = (line: string) => print && console.log(line);
  const executable = Deno.execPath();
  const isolation = await probeIsolation({ mode: "auto", executable });
  if (isolation.level !== "os") {
    log(`isolation: OS isolation unavailable here, comparison skipped (${isolation.reason})`);
    return { isolation };
  }
  const episodes = options.episodes ?? 100_000;
  const openRounds = options.openRounds ?? 12;
  const rounds = options.rounds ?? 5;

  const base = Deno.makeTempDirSync({ prefix: "retrovue-isolation-bench-" });
  const media = join(base, "media", "Show (2000)", "Season 01");
  Deno.mkdirSync(media, { recursive: true });
  for (let e = 1; e <= 3; e++) {
    Deno.writeFileSync(join(media, `Show - S01E0${e}.mkv`), new Uint8Array());
  }
  const mock = await startPlexMock(episodes);
  const registries = {} as Record<IsolationLevel, Registry>;
  try {
    for (const level of LEVELS) {
      // As the CLI runs them: with the registry's cache folder (under OS isolation,
      // built-in importers' hosts keep their compiled modules there).
      registries[level] = await loadRegistry({
        isolation: { level, mode: "auto" },
        cacheDir: join(base, "cache"),
      });
    }
    const plexConfig = _config(registries.deno, "plex", {
      base_url: mock.url,
      token: mock.info.token,
    });
    const fsConfig = _config(registries.deno, "filesystem", { root: [join(base, "media")] });

    // Warm-up (module caches, page cache), not measured.
    for (const level of LEVELS) {
      await _openOnce(registries[level], "plex", plexConfig);
      await _openOnce(registries[level], "filesystem", fsConfig);
    }
    const versionArgs = bwrapArgs(
      { executable, readOnly: [], readWrite: [], net: false },
      { cmd: executable, args: ["--version"] },
    );
    // The plex importer's modules run as a program with the host's flags: with
    // the module cache (level deno's plugin hosts) and with an empty DENO_DIR
    // (under bubblewrap, DENO_DIR is a fresh tmpfs: every module is transpiled again).
    const plexModule = fileURLToPath(new URL("../importers/plex/mod.ts", import.meta.url));
    const moduleArgs = [
      "run",
      ...HOST_RUN_FLAGS,
      "--no-config",
      `--allow-read=${dirname(plexModule)}`,
      plexModule,
    ];
    await _command(executable, moduleArgs);
    let coldDirs = 0;
    const opened = await _interleaved(openRounds, {
      plex: (level) => _timed(() => _openOnce(registries[level], "plex", plexConfig)),
      filesystem: (level) => _timed(() => _openOnce(registries[level], "filesystem", fsConfig)),
      bwrap: (level) =>
        level === "os" ? _command("bwrap", versionArgs) : _command(executable, ["--version"]),
      modules: async (level) => {
        if (level === "deno") return await _command(executable, moduleArgs);
        const denoDir = join(base, `deno-dir-${coldDirs++}`);
        Deno.mkdirSync(denoDir);
        try {
          return await _command(executable, moduleArgs, { DENO_DIR: denoDir });
        } finally {
          Deno.removeSync(denoDir, { recursive: true });
        }
      },
    });

    const seed = join(base, "seed.db");
    const collection = await _seedCatalog(seed, registries.deno, plexConfig);
    let requests: number | undefined;
    const ingestAt = async (level: IsolationLevel) => {
      const run = await _ingestOnce(mock, registries[level], {
        seed,
        copy: join(base, `${level}.db`),
        collection,
        config: plexConfig,
      });
      if (run.items !== episodes) {
        throw new Error(`the ${level} ingest stored ${run.items} new assets, not ${episodes}`);
      }
      if (requests !== undefined && run.requests !== requests) {
        throw new Error(`request counts differ: ${requests} and ${run.requests}`);
      }
      requests = run.requests;
      return run.ms;
    };
    // Warm-up (the mock's and this process's JIT), not measured.
    await ingestAt("deno");
    const ingest = await _interleaved(rounds, { ingest: ingestAt });

    const result: IsolationBenchResult = {
      isolation,
      open: { plex: opened.plex, filesystem: opened.filesystem },
      bwrap: opened.bwrap,
      modules: opened.modules,
      ingest: { ...ingest.ingest, episodes },
    };
    if (print) _print(result, { openRounds, rounds, requests: requests ?? 0 });
    return result;
  } finally {
    for (const level of LEVELS) await registries[level]?.close();
    mock.child.kill();
    await mock.child.status;
    Deno.removeSync(base, { recursive: true });
  }
}

function _ms(n: number, sign = false): string {
  return `${sign && n >= 0 ? "+" : ""}${n.toFixed(0)}`;
}

function _print(
  r: IsolationBenchResult,
  info: { openRounds: number; rounds: number; requests: number },
): void {
  console.log(
    "isolation: OS isolation (bubblewrap + Deno permissions) against Deno permissions alone " +
      "(the floor), levels alternating within each round",
  );
  console.log(
    `  per source opened: open + validateConnection + close, ${info.openRounds} rounds` +
      "      (ms: median / min)",
  );
  console.log(
    `  ${"".padEnd(36)} ${"deno".padStart(11)} ${"os".padStart(11)}   ${
      "added by os".padStart(11)
    }   os/deno`,
  );
  const row = (label: string, c: LevelComparison) => {
    const { diffs, ratios } = _pairs(c);
    const pair = (xs: number[]) => `${_ms(median(xs)).padStart(4)} / ${_ms(_min(xs)).padEnd(4)}`;
    console.log(
      `  ${label.padEnd(36)} ${pair(c.deno)} ${pair(c.os)}   ${
        `${_ms(median(diffs), true)} / ${_ms(_min(c.os) - _min(c.deno), true)}`.padStart(11)
      }   ${median(ratios).toFixed(2)} / ${_min(ratios).toFixed(2)}`,
    );
  };
  row("plex importer (net grant)", r.open!.plex);
  row("filesystem importer (read grant)", r.open!.filesystem);
  row("part: bwrap itself (deno --version)", r.bwrap!);
  row("part: empty module cache (plex.ts)", r.modules!);
  for (
    const note of [
      "(added by os: median of the round-by-round differences / os min - deno min;",
      " os/deno: median / min of the round-by-round ratios; aim: at most +50 ms per source opened.",
      " Parts: bwrap around `deno --version` against it alone; the plex importer's modules run",
      " as a program with an empty DENO_DIR, as under bwrap, against the module cache)",
    ]
  ) console.log(`  ${note}`);
  const ing = r.ingest!;
  const { ratios } = _pairs(ing);
  console.log(
    `  ${ing.episodes}-episode Plex ingest: open + ${info.requests} requests through the sandbox ` +
      `+ validate + write a fresh catalog + close, ${info.rounds} rounds`,
  );
  console.log(
    `  ${"deno (floor)".padEnd(14)} median ${_ms(median(ing.deno)).padStart(6)} ms   min ${
      _ms(_min(ing.deno)).padStart(6)
    } ms`,
  );
  console.log(
    `  ${"os".padEnd(14)} median ${_ms(median(ing.os)).padStart(6)} ms   min ${
      _ms(_min(ing.os)).padStart(6)
    } ms`,
  );
  console.log(
    `  ratio os/deno: median ${median(ratios).toFixed(3)}, min ${
      _min(ratios).toFixed(3)
    } (aim: at most 1.05)`,
  );
}

if (import.meta.main) {
  await runIsolationBench();
}
