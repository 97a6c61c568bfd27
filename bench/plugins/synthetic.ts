/**
 * A benchmark importer that makes up `--count` episodes without any I/O, so
 * the registry benchmark measures the sandbox boundary and nothing else.
 *
 * @module
 */

import type { ImportedAsset, Importer } from "../../core/contract.ts";

/** The asset the benchmark streams, also built in-process for the floor. */
export function syntheticAsset(i: number): ImportedAsset {
  return {
    externalId: `ep-${i}`,
    kind: "episode",
    title: `Episode ${i % 100}`,
    seriesTitle: `Show ${Math.floor(i / 1000)}`,
    season: Math.floor(i / 100) % 10,
    episode: i % 100,
    year: 1990 + (i % 30),
    durationMs: 1_320_000,
    externalIds: { tvdb: String(100000 + i) },
    path: `/media/tv/Show ${Math.floor(i / 1000)}/Season ${Math.floor(i / 100) % 10}/e${i}.mkv`,
    size: 700_000_000 + i,
    modified: "2024-01-01T00:00:00Z",
  };
}

const importer: Importer = {
  typeId: "synthetic",
  displayName: "Synthetic (benchmarks)",
  params: [{
    name: "count",
    flag: "--count",
    kind: "integer",
    description: "how many",
    default: 1000,
  }],
  // Title and season pushed down, as Plex's and Jellyfin's importers do: a
  // one-season ingest streams 100 assets whatever the count.
  capabilities: { filters: { shows: ["title", "season"] } },
  validateConnection: () => Promise.resolve({ serverName: "synthetic" }),
  listCollections: () => Promise.resolve([{ externalId: "all", name: "All", kind: "shows" }]),
  async *fetchAssets(config, request) {
    const count = Number(config.count);
    let [from, to] = [0, count];
    const show = /^show (\d+)$/i.exec(request.filters.title ?? "");
    if (request.filters.title !== undefined) {
      if (!show) return;
      [from, to] = [Number(show[1]) * 1000, Math.min(count, Number(show[1]) * 1000 + 1000)];
    }
    const season = request.filters.season;
    const page = 1000;
    for (let i = from; i < to; i += page) {
      const batch: ImportedAsset[] = [];
      for (let j = i; j < Math.min(to, i + page); j++) {
        if (season === undefined || Math.floor(j / 100) % 10 === season) {
          batch.push(syntheticAsset(j));
        }
      }
      if (batch.length) yield batch;
    }
  },
};

export default importer;
