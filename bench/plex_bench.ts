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

import plex, { DEFAULT_PAGE_SIZE } from "../importers/plex/mod.ts";
import { PLEX_PRODUCT } from "../importers/plex/mod.ts";
import {
  type HttpBenchOptions,
  type HttpBenchResult,
  measureRun,
  type MockServer,
  runHttpBench,
  startMockServer,
} from "./_http_bench.ts";

/** The floor: the importer's page URLs, fetched and parsed one after the other. */
function _floor(mock: MockServer, sectionKey: string, pageSize: number) {
  const headers = {
    Accept: "application/json",
    "X-Plex-Token": mock.info.token,
    "X-Plex-Product": PLEX_PRODUCT,
  };
  return measureRun(mock, async (sample) => {
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

/** Starts the Plex mock in its own process, serving a show library of `episodes` episodes. */
export function startPlexMock(episodes: number): Promise<MockServer> {
  return startMockServer(new URL("../tests/mocks/plex_server.ts", import.meta.url), episodes);
}

/** Runs the benchmark and returns (and by default prints) what it measured. */
export async function runPlexBench(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const episodes = options.episodes ?? 100_000;
  const mock = await startPlexMock(episodes);
  try {
    const sections = await (await fetch(`${mock.url}/library/sections`, {
      headers: { Accept: "application/json", "X-Plex-Token": mock.info.token },
    })).json();
    const sectionKey: string = sections.MediaContainer.Directory.find((d: { type: string }) =>
      d.type === "show"
    ).key;
    return await runHttpBench({
      name: "plex",
      mock,
      importer: plex,
      collectionId: sectionKey,
      config: (pageSize) => ({
        base_url: mock.url,
        token: mock.info.token,
        verify_ssl: true,
        page_size: pageSize,
      }),
      floor: (pageSize) => _floor(mock, sectionKey, pageSize),
      defaultPageSize: DEFAULT_PAGE_SIZE,
      targetTitle: "Show 00001",
    }, { ...options, episodes });
  } finally {
    mock.child.kill();
    await mock.child.status;
  }
}

if (import.meta.main) {
  await runPlexBench();
}
