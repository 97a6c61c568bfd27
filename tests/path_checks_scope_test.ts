/**
 * After a targeted ingest, the local-path report looks only at the ingested
 * title, season or episode (so its cost does not grow with the collection).
 */

import assert from "node:assert/strict";
import { openMemoryDatabase } from "../core/db.ts";
import { type IngestClient, ingestCollection } from "../ingest/pipeline.ts";
import { checkLocalPaths } from "../cli/path_checks.ts";

Deno.test("checkLocalPaths with a scope counts and samples only that scope", async () => {
  const db = openMemoryDatabase();
  const t = "2024-01-01T00:00:00.000Z";
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES ('s', 'S', 'fake', '{}', ?, ?)",
  ).run(t, t);
  db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES ('c-1', 's', 'x', 'TV', 'shows', 1, ?, ?)`,
  ).run(t, t);
  const items: unknown[] = [];
  for (const series of ["Alpha", "Beta"]) {
    for (let season = 1; season <= 2; season++) {
      for (let episode = 1; episode <= 3; episode++) {
        items.push({
          externalId: `${series}-${season}-${episode}`,
          kind: "episode",
          title: `E${episode}`,
          seriesTitle: series,
          season,
          episode,
          path: `/nowhere/${series}/S${season}E${episode}.mkv`,
        });
      }
    }
  }
  const client: IngestClient = {
    manifest: { typeId: "fake", displayName: "Fake", params: [], capabilities: { filters: {} } },
    async *fetchAssets() {
      await Promise.resolve();
      yield items;
    },
  };
  await ingestCollection(db, { client, collection: "c-1" });
  const all = await checkLocalPaths(db, "c-1", { mappings: [] });
  assert.equal(all.withPath, 12);
  const season = await checkLocalPaths(db, "c-1", {
    mappings: [],
    scope: { title: "alpha", season: 2 },
  });
  assert.equal(season.withPath, 3);
  assert.ok(season.missing.every((m) => m.path.startsWith("/nowhere/Alpha/S2")), "only its files");
  const title = await checkLocalPaths(db, "c-1", { mappings: [], scope: { title: "Beta" } });
  assert.equal(title.withPath, 6);
  const episode = await checkLocalPaths(db, "c-1", {
    mappings: [],
    scope: { title: "Beta", season: 1, episode: 3 },
  });
  assert.deepEqual(episode.missing.map((m) => m.path), ["/nowhere/Beta/S1E3.mkv"]);
});
