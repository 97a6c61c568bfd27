/**
 * Plex importer benchmark: a full fetch of a 100k-episode show library from
 * the Plex mock over loopback, through the importer module in-process (the
 * ingest side of a full ingest: every page requested, parsed, mapped and
 * yielded), against a floor measured in the same run: the same pages fetched
 * and parsed with `fetch` + `res.json()` and nothing else.
 *
 * The mock runs in its own process so the reported memory is this process's
 * only. Also measures a few page sizes (the evidence for the importer's
 * default) and the requests of a one-season targeted fetch.
 *
 * Run: `deno run --no-prompt --allow-read --allow-run --allow-net=127.0.0.1 bench/plex_bench.ts`
 *
 * @module
 */

import type { ImporterConfig } from "../core/contract.ts";
import plex, { DEFAULT_PAGE_SIZE } from "../importers/plex.ts";
import { PLEX_PRODUCT } from "../importers/_plex_http.ts";

/** Options for {@link runPlexBench}. */
export interface PlexBenchOptions {
  /** Episodes in the mock library. Default 100 000. */
  episodes?: number;
  /** Page sizes to compare. Default 100, 250, 500, 1000, 2000. */
  pageSizes?: number[];
  /** Rounds per measurement (the best is kept). Default 2. */
  rounds?: number;
  /** Print the report. Default true. */
  print?: boolean;
}

/** One measured run. */
export interface PlexBenchRun {
  /** Items received. */
  items: number;
  /** HTTP requests the server answered. */
  requests: number;
  /** Wall time in milliseconds. */
  ms: number;
  /** Peak resident set size seen during the run, in bytes. */
  peakRss: number;
}

/** What {@link runPlexBench} measured. */
export interface PlexBenchResult {
  /** Episodes in the library. */
  episodes: number;
  /** Page size of the floor/importer comparison (the importer's default). */
  pageSize: number;
  /** Same pages, fetched and parsed only. */
  floor: PlexBenchRun;
  /** Through the importer. */
  importer: PlexBenchRun;
  /** importer.ms / floor.ms. */
  ratio: number;
  /** Importer runs per page size. */
  pageSizes: { pageSize: number; run: PlexBenchRun }[];
  /** Requests of a one-season targeted fetch. */
  targetedSeasonRequests: number;
  /** Episodes it returned. */
  targetedSeasonItems: number;
}

interface _Mock {
  url: string;
  token: string;
  child: Deno.ChildProcess;
}

async function _startMock(episodes: number): Promise<_Mock> {
  const script = new URL("../tests/mocks/plex_server.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net=127.0.0.1", script, "--episodes", String(episodes)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the Plex mock exited before it was ready");
    buffered += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const { url, token } = JSON.parse(buffered.split("\n")[0]);
  return { url, token, child };
}

async function _count(mock: _Mock): Promise<number> {
  const res = await fetch(`${mock.url}/__mock/requests`);
  return (await res.json()).count;
}

async function _measure(mock: _Mock, body: (sample: () => void) => Promise<number>) {
  let peakRss = Deno.memoryUsage().rss;
  const sample = () => {
    const rss = Deno.memoryUsage().rss;
    if (rss > peakRss) peakRss = rss;
  };
  const timer = setInterval(sample, 5);
  const before = await _count(mock);
  const t0 = performance.now();
  const items = await body(sample);
  const ms = performance.now() - t0;
  clearInterval(timer);
  sample();
  return { items, ms, peakRss, requests: (await _count(mock)) - before };
}

function _floor(mock: _Mock, sectionKey: string, pageSize: number) {
  const headers = {
    Accept: "application/json",
    "X-Plex-Token": mock.token,
    "X-Plex-Product": PLEX_PRODUCT,
  };
  return _measure(mock, async (sample) => {
    let items = 0;
    for (let start = 0;; start += pageSize) {
      const url = `${mock.url}/library/sections/${sectionKey}/all?type=4&includeGuids=1` +
        `&X-Plex-Container-Start=${start}&X-Plex-Container-Size=${pageSize}`;
      const mc = (await (await fetch(url, { headers })).json()).MediaContainer;
      items += mc.Metadata?.length ?? 0;
      sample();
      if (start + pageSize >= mc.totalSize) return items;
    }
  });
}

function _importer(mock: _Mock, sectionKey: string, config: ImporterConfig, title?: string) {
  return _measure(mock, async (sample) => {
    let items = 0;
    const iterable = plex.fetchAssets(config, {
      signal: new AbortController().signal,
      warn: () => {},
      skipped: () => {},
      collection: { externalId: sectionKey, kind: "shows", name: "TV Shows" },
      filters: title === undefined ? {} : { title, season: 1 },
    });
    for await (const batch of iterable) {
      items += Array.isArray(batch) ? batch.length : 1;
      sample();
    }
    return items;
  });
}

function _best(runs: PlexBenchRun[]): PlexBenchRun {
  return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
}

const _mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Runs the benchmark and returns (and by default prints) what it measured. */
export async function runPlexBench(options: PlexBenchOptions = {}): Promise<PlexBenchResult> {
  const episodes = options.episodes ?? 100_000;
  const rounds = options.rounds ?? 2;
  const sizes = options.pageSizes ?? [100, 250, 500, 1000, 2000];
  const mock = await _startMock(episodes);
  try {
    const sections = await (await fetch(`${mock.url}/library/sections`, {
      headers: { Accept: "application/json", "X-Plex-Token": mock.token },
    })).json();
    const sectionKey: string = sections.MediaContainer.Directory.find((d: { type: string }) =>
      d.type === "show"
    ).key;
    const config = (pageSize: number): ImporterConfig => ({
      base_url: mock.url,
      token: mock.token,
      verify_ssl: true,
      page_size: pageSize,
    });
    const floors: PlexBenchRun[] = [];
    const imps: PlexBenchRun[] = [];
    for (let r = 0; r < rounds; r++) {
      floors.push(await _floor(mock, sectionKey, DEFAULT_PAGE_SIZE));
      imps.push(await _importer(mock, sectionKey, config(DEFAULT_PAGE_SIZE)));
    }
    const floor = _best(floors);
    const importer = _best(imps);
    if (importer.items !== floor.items || importer.items !== episodes) {
      throw new Error(`item counts differ: floor ${floor.items}, importer ${importer.items}`);
    }
    const pageSizes = [];
    for (const pageSize of sizes) {
      const runs = [];
      for (let r = 0; r < rounds; r++) {
        runs.push(await _importer(mock, sectionKey, config(pageSize)));
      }
      pageSizes.push({ pageSize, run: _best(runs) });
    }
    const targeted = await _importer(mock, sectionKey, config(DEFAULT_PAGE_SIZE), "Show 00001");
    const result: PlexBenchResult = {
      episodes,
      pageSize: DEFAULT_PAGE_SIZE,
      floor,
      importer,
      ratio: importer.ms / floor.ms,
      pageSizes,
      targetedSeasonRequests: targeted.requests,
      targetedSeasonItems: targeted.items,
    };
    if (options.print ?? true) _print(result);
    return result;
  } finally {
    mock.child.kill();
    await mock.child.status;
  }
}

function _print(r: PlexBenchResult): void {
  const line = (name: string, run: PlexBenchRun) =>
    `  ${name.padEnd(26)} ${String(run.requests).padStart(6)} req  ${
      run.ms.toFixed(0).padStart(6)
    } ms  peak rss ${_mb(run.peakRss).padStart(8)}  ${run.items} items`;
  console.log(`plex: full fetch of ${r.episodes} episodes over loopback, page size ${r.pageSize}`);
  console.log(line("floor (fetch + parse)", r.floor));
  console.log(line("importer", r.importer));
  console.log(`  ratio importer/floor: ${r.ratio.toFixed(2)}`);
  console.log("  page sizes (importer):");
  for (const { pageSize, run } of r.pageSizes) console.log(line(`page size ${pageSize}`, run));
  console.log(
    `  one-season targeted fetch: ${r.targetedSeasonRequests} requests, ` +
      `${r.targetedSeasonItems} episodes`,
  );
  console.log("  (peak rss is of this process; the mock runs in its own; phases run in order)");
}

if (import.meta.main) {
  await runPlexBench();
}
