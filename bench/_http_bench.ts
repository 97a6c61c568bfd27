/**
 * The frame shared by the HTTP importer benchmarks (Plex, Jellyfin): a mock
 * server in its own process serving a generated library, a floor measured
 * in the same run (the importer's page URLs fetched and parsed, nothing
 * else), the importer's full fetch, a page-size sweep, and a one-season
 * targeted fetch. Each run counts the mock's requests and samples this
 * process's peak RSS.
 *
 * @module
 */

import type { Importer, ImporterConfig } from "../core/contract.ts";

/** Options of an HTTP importer benchmark. */
export interface HttpBenchOptions {
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
export interface HttpBenchRun {
  /** Items received. */
  items: number;
  /** HTTP requests the mock answered. */
  requests: number;
  /** Wall time in milliseconds. */
  ms: number;
  /** Peak resident set size seen during the run, in bytes. */
  peakRss: number;
}

/** What an HTTP importer benchmark measured. */
export interface HttpBenchResult {
  /** Episodes in the library. */
  episodes: number;
  /** Page size of the floor/importer comparison (the importer's default). */
  pageSize: number;
  /** The same pages, fetched and parsed only. */
  floor: HttpBenchRun;
  /** Through the importer. */
  importer: HttpBenchRun;
  /** importer.ms / floor.ms. */
  ratio: number;
  /** Importer runs per page size. */
  pageSizes: { pageSize: number; run: HttpBenchRun }[];
  /** Requests of a one-season targeted fetch. */
  targetedSeasonRequests: number;
  /** Episodes it returned. */
  targetedSeasonItems: number;
}

/** A mock server process and the first line it printed (its URL and credentials). */
export interface MockServer {
  /** Base URL. */
  url: string;
  /** Everything the mock announced on its first line. */
  info: Record<string, string>;
  /** The mock's process. */
  child: Deno.ChildProcess;
}

/** Starts a mock server script (`tests/mocks/…`) with `--episodes N` and waits for its first line. */
export async function startMockServer(script: URL, episodes: number): Promise<MockServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      "--allow-net=127.0.0.1",
      script.pathname,
      "--episodes",
      String(episodes),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!buffered.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the mock ${script.pathname} exited before it was ready`);
    buffered += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  const info = JSON.parse(buffered.split("\n")[0]);
  return { url: info.url, info, child };
}

async function _count(mock: MockServer): Promise<number> {
  const res = await fetch(`${mock.url}/__mock/requests`);
  return (await res.json()).count;
}

/** Times `body` (which returns an item count), counting the mock's requests and peak RSS. */
export async function measureRun(
  mock: MockServer,
  body: (sample: () => void) => Promise<number>,
): Promise<HttpBenchRun> {
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

/** What a concrete benchmark plugs into {@link runHttpBench}. */
export interface HttpBenchSpec {
  /** Name in the report ("plex"). */
  name: string;
  /** The running mock. */
  mock: MockServer;
  /** The importer under test. */
  importer: Importer;
  /** The shows library's external id. */
  collectionId: string;
  /** The importer's config for a page size. */
  config(pageSize: number): ImporterConfig;
  /** The floor: the importer's page URLs at `pageSize`, fetched and parsed only. */
  floor(pageSize: number): Promise<HttpBenchRun>;
  /** The importer's default page size. */
  defaultPageSize: number;
  /** A show of the mock library, for the targeted fetch. */
  targetTitle: string;
}

/** One importer fetch (full, or season 1 of `title`), measured. */
function _importerRun(spec: HttpBenchSpec, pageSize: number, title?: string) {
  return measureRun(spec.mock, async (sample) => {
    let items = 0;
    const iterable = spec.importer.fetchAssets(spec.config(pageSize), {
      signal: new AbortController().signal,
      warn: () => {},
      skipped: () => {},
      collection: { externalId: spec.collectionId, kind: "shows", name: "Shows" },
      filters: title === undefined ? {} : { title, season: 1 },
    });
    for await (const batch of iterable) {
      items += Array.isArray(batch) ? batch.length : 1;
      sample();
    }
    return items;
  });
}

function _best(runs: HttpBenchRun[]): HttpBenchRun {
  return runs.reduce((a, b) => (b.ms < a.ms ? b : a));
}

/** Runs the floor, the importer, the page-size sweep and the targeted fetch; prints by default. */
export async function runHttpBench(
  spec: HttpBenchSpec,
  options: HttpBenchOptions & { episodes: number },
): Promise<HttpBenchResult> {
  const rounds = options.rounds ?? 2;
  const floors: HttpBenchRun[] = [];
  const imps: HttpBenchRun[] = [];
  for (let r = 0; r < rounds; r++) {
    floors.push(await spec.floor(spec.defaultPageSize));
    imps.push(await _importerRun(spec, spec.defaultPageSize));
  }
  const floor = _best(floors);
  const importer = _best(imps);
  if (importer.items !== floor.items || importer.items !== options.episodes) {
    throw new Error(`item counts differ: floor ${floor.items}, importer ${importer.items}`);
  }
  const pageSizes = [];
  for (const pageSize of options.pageSizes ?? [100, 250, 500, 1000, 2000]) {
    const runs = [];
    for (let r = 0; r < rounds; r++) runs.push(await _importerRun(spec, pageSize));
    pageSizes.push({ pageSize, run: _best(runs) });
  }
  const targeted = await _importerRun(spec, spec.defaultPageSize, spec.targetTitle);
  const result: HttpBenchResult = {
    episodes: options.episodes,
    pageSize: spec.defaultPageSize,
    floor,
    importer,
    ratio: importer.ms / floor.ms,
    pageSizes,
    targetedSeasonRequests: targeted.requests,
    targetedSeasonItems: targeted.items,
  };
  if (options.print ?? true) _print(spec.name, result);
  return result;
}

const _mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function _print(name: string, r: HttpBenchResult): void {
  const line = (label: string, run: HttpBenchRun) =>
    `  ${label.padEnd(26)} ${String(run.requests).padStart(6)} req  ${
      run.ms.toFixed(0).padStart(6)
    } ms  peak rss ${_mb(run.peakRss).padStart(8)}  ${run.items} items`;
  console.log(
    `${name}: full fetch of ${r.episodes} episodes over loopback, page size ${r.pageSize}`,
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
