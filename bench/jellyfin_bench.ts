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

import jellyfin from "../importers/jellyfin/mod.ts";
import { DEFAULT_PAGE_SIZE, ITEM_FIELDS } from "../importers/shared/jellyfin_family/mod.ts";
import { jellyfinAuthHeaders } from "../importers/shared/jellyfin_family/mod.ts";
import {
  type HttpBenchOptions,
  type HttpBenchResult,
  type HttpBenchRun,
  measureRun,
  type MockServer,
  runHttpBench,
  startMockServer,
} from "./_http_bench.ts";

/** The floor: the importer's page URLs, fetched and parsed one after the other. */
function _floor(mock: MockServer, libraryId: string, pageSize: number): Promise<HttpBenchRun> {
  const headers = {
    Accept: "application/json",
    ...jellyfinAuthHeaders("jellyfin", { apiKey: mock.info.apiKey, deviceId: "retrovue-bench" }),
  };
  return measureRun(mock, async (sample) => {
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

/** Runs the benchmark and returns (and by default prints) what it measured. */
export async function runJellyfinBench(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const episodes = options.episodes ?? 100_000;
  const mock = await startMockServer(
    new URL("../tests/mocks/jellyfin_server.ts", import.meta.url),
    episodes,
  );
  try {
    const headers = { Authorization: `MediaBrowser Token="${mock.info.apiKey}"` };
    const folders = await (await fetch(`${mock.url}/Library/VirtualFolders`, { headers })).json();
    const libraryId: string = folders.find((f: { CollectionType: string }) =>
      f.CollectionType === "tvshows"
    ).ItemId;
    return await runHttpBench({
      name: "jellyfin",
      mock,
      importer: jellyfin,
      collectionId: libraryId,
      config: (pageSize) => ({
        base_url: mock.url,
        api_key: mock.info.apiKey,
        verify_ssl: true,
        page_size: pageSize,
      }),
      floor: (pageSize) => _floor(mock, libraryId, pageSize),
      defaultPageSize: DEFAULT_PAGE_SIZE,
      targetTitle: "Series 00001",
    }, { ...options, episodes });
  } finally {
    mock.child.kill();
    await mock.child.status;
  }
}

if (import.meta.main) {
  await runJellyfinBench();
}
