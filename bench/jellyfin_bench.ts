/**
 * Jellyfin importer benchmark: a full fetch of a 100k-episode TV library
 * from the Jellyfin mock over loopback, through the importer module
 * in-process (every page requested, parsed, mapped and yielded), against a
 * floor measured in the same run: the very same page URLs fetched with
 * `fetch` + `res.json()` and nothing else.
 *
 * The mock runs in its own process so the peak RSS reported is this
 * process's alone. Also measures several page sizes (the evidence for the
 * importer's default) and the requests of a one-season targeted fetch.
 *
 * Run: `deno run --no-prompt --allow-read --allow-run --allow-net=127.0.0.1 bench/jellyfin_bench.ts`
 *
 * @module
 */

import type { ImporterConfig } from "../core/contract.ts";
import jellyfin from "../importers/jellyfin.ts";
import { DEFAULT_PAGE_SIZE, ITEM_FIELDS } from "../importers/_jellyfin_importer.ts";
import { jellyfinAuthHeaders } from "../importers/_jellyfin_client.ts";

/** Options for {@link runJellyfinBench}. */
export interface JellyfinBenchOptions {
  /** Episodes in the mock library. Default 100 000. */
  episodes?: number;
  /** Page sizes to compare. Default 100, 250, 500, 1000, 2000. */
  pageSizes?: number[];
  /** Rounds per measurement (the fastest is kept). Default 2. */
  rounds?: number;
  /** Print the report. Default true. */
  print?: boolean;
}

/** One measured run. */
export interface JellyfinBenchRun {
  /** Items received. */
  items: number;
  /** HTTP requests the mock answered. */
  requests: number;
  /** Wall time in milliseconds. */
  ms: number;
  /** Peak resident set size seen during the run, in bytes. */
  peakRss: number;
}

/** What {@link runJellyfinBench} measured. */
export interface JellyfinBenchResult {
  /** Episodes in the library. */
  episodes: number;
  /** Page size of the floor/importer comparison (the importer's default). */
  pageSize: number;
  /** The same pages, fetched and parsed only. */
  floor: JellyfinBenchRun;
  /** Through the importer. */
  importer: JellyfinBenchRun;
  /** importer.ms / floor.ms. */
  ratio: number;
  /** Importer runs per page size. */
  pageSizes: { pageSize: number; run: JellyfinBenchRun }[];
  /** Requests of a one-season targeted fetch. */
  targetedSeasonRequests: number;
  /** Episodes it returned. */
  targetedSeasonItems: number;
}

interface _Mock {
  url: string;
  apiKey: string;
  child: Deno.ChildProcess;
}

async function _startMock(episodes: number): Promise<_Mock> {
  const script = new URL("../tests/mocks/jellyfin_server.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-net=127.0.0.1", script, "--episodes", String(episodes)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the Jellyfin mock exited before it was ready");
    buffered += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const { url, apiKey } = JSON.parse(buffered.split("\n")[0]);
  return { url, apiKey, child };
}

async function _count(mock: _Mock): Promise<number> {
  const res = await fetch(`${mock.url}/__mock/requests`);
  return (await res.json()).count;
}

async function _measure(
  mock: _Mock,
  body: (sample: () => void) => Promise<number>,
): Promise<JellyfinBenchRun> {
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

/** The floor: the importer's page URLs, fetched and parsed one after the other. */
function _floor(mock: _Mock, libraryId: string, pageSize: number): Promise<JellyfinBenchRun> {
  const headers = {
    Accept: "application/json",
    ...jellyfinAuthHeaders("jellyfin", mock.apiKey, "retrovue-bench"),
  };
  return _measure(mock, async (sample) => {
    let items = 0;
    for (let start = 0;; start += pageSize) {
      const q = new URLSearchParams({
        ParentId: libraryId,
        Recursive: "true",
        IncludeItemTypes: "Episode",
        Fields: ITEM_FIELDS,
        SortBy: "SeriesSortName,ParentIndexNumber,IndexNumber,SortName,DateCreated",
        SortOrder: "Ascending",
        ExcludeLocationTypes: "Virtual",
        EnableImages: "false",
        EnableUserData: "false",
        EnableTotalRecordCount: "true",
        StartIndex: String(start),
        Limit: String(pageSize),
      });
      const page = await (await fetch(`${mock.url}/Items?${q}`, { headers })).json();
      items += page.Items.length;
      sample();
      if (start + pageSize >= page.TotalRecordCount) return items;
    }
  });
}

function _importer(
  mock: _Mock,
  libraryId: string,
  config: ImporterConfig,
  title?: string,
): Promise<JellyfinBenchRun> {
  return _measure(mock, async (sample) => {
    let items = 0;
    const iterable = jellyfin.fetchAssets(config, {
      signal: new AbortController().signal,
      warn: () => {},
      skipped: () => {},
      collection: { externalId: libraryId, kind: "shows", name: "Shows" },
      filters: title === undefined ? {} : { title, season: 1 },
    });
    for await (const batch of iterable) {
      items += Array.isArray(batch) ? batch.length : 1;
      sample();
    }
    return items;
  });
}

function _best(runs: JellyfinBenchRun[]): JellyfinBenchRun {
  return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
}

const _mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Runs the benchmark and returns (and by default prints) what it measured. */
export async function runJellyfinBench(
  options: JellyfinBenchOptions = {},
): Promise<JellyfinBenchResult> {
  const episodes = options.episodes ?? 100_000;
  const rounds = options.rounds ?? 2;
  const sizes = options.pageSizes ?? [100, 250, 500, 1000, 2000];
  const mock = await _startMock(episodes);
  try {
    const headers = { Authorization: `MediaBrowser Token="${mock.apiKey}"` };
    const folders = await (await fetch(`${mock.url}/Library/VirtualFolders`, { headers })).json();
    const libraryId: string = folders.find((f: { CollectionType: string }) =>
      f.CollectionType === "tvshows"
    ).ItemId;
    const config = (pageSize: number): ImporterConfig => ({
      base_url: mock.url,
      api_key: mock.apiKey,
      verify_ssl: true,
      page_size: pageSize,
    });
    const floors: JellyfinBenchRun[] = [];
    const imps: JellyfinBenchRun[] = [];
    for (let r = 0; r < rounds; r++) {
      floors.push(await _floor(mock, libraryId, DEFAULT_PAGE_SIZE));
      imps.push(await _importer(mock, libraryId, config(DEFAULT_PAGE_SIZE)));
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
        runs.push(await _importer(mock, libraryId, config(pageSize)));
      }
      pageSizes.push({ pageSize, run: _best(runs) });
    }
    const targeted = await _importer(mock, libraryId, config(DEFAULT_PAGE_SIZE), "Series 00001");
    const result: JellyfinBenchResult = {
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

function _print(r: JellyfinBenchResult): void {
  const line = (name: string, run: JellyfinBenchRun) =>
    `  ${name.padEnd(26)} ${String(run.requests).padStart(6)} req  ${
      run.ms.toFixed(0).padStart(6)
    } ms  peak rss ${_mb(run.peakRss).padStart(8)}  ${run.items} items`;
  console.log(
    `jellyfin: full fetch of ${r.episodes} episodes over loopback, page size ${r.pageSize}`,
  );
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
  await runJellyfinBench();
}
