/**
 * After a targeted ingest, the local-path report looks only at the ingested
 * title, season or episode (so its cost does not grow with the collection).
 */

import assert from "node:assert/strict";
import { ingestCollection } from "../ingest/pipeline.ts";
import { itemsClient, SEEDED_COLLECTION, seededCatalog } from "./_catalog.ts";
import { checkLocalPaths } from "../cli/path_checks.ts";

Deno.test("checkLocalPaths with a scope counts and samples only that scope", async () => {
  const db = seededCatalog({ kind: "shows", name: "TV" });
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
  await ingestCollection(db, { client: itemsClient(items), collection: SEEDED_COLLECTION });
  const all = await checkLocalPaths(db, SEEDED_COLLECTION, { mappings: [] });
  assert.equal(all.withPath, 12);
  const season = await checkLocalPaths(db, SEEDED_COLLECTION, {
    mappings: [],
    scope: { title: "alpha", season: 2 },
  });
  assert.equal(season.withPath, 3);
  assert.ok(season.missing.every((m) => m.path.startsWith("/nowhere/Alpha/S2")), "only its files");
  const title = await checkLocalPaths(db, SEEDED_COLLECTION, {
    mappings: [],
    scope: { title: "Beta" },
  });
  assert.equal(title.withPath, 6);
  const episode = await checkLocalPaths(db, SEEDED_COLLECTION, {
    mappings: [],
    scope: { title: "Beta", season: 1, episode: 3 },
  });
  assert.deepEqual(episode.missing.map((m) => m.path), ["/nowhere/Beta/S1E3.mkv"]);
});

Deno.test("checkLocalPaths with a title alone finds its episodes and a movie of that title", async () => {
  const db = seededCatalog({ kind: "mixed", name: "Library" });
  const items: unknown[] = [
    { externalId: "m-heat", kind: "movie", title: "Heat", path: "/nowhere/Heat.mkv" },
    { externalId: "m-other", kind: "movie", title: "Other", path: "/nowhere/Other.mkv" },
  ];
  for (const series of ["Heat", "Alpha"]) {
    for (let episode = 1; episode <= 3; episode++) {
      items.push({
        externalId: `${series}-${episode}`,
        kind: "episode",
        title: `E${episode}`,
        seriesTitle: series,
        season: 1,
        episode,
        path: `/nowhere/${series}/S1E${episode}.mkv`,
      });
    }
  }
  await ingestCollection(db, { client: itemsClient(items), collection: SEEDED_COLLECTION });
  const heat = await checkLocalPaths(db, SEEDED_COLLECTION, {
    mappings: [],
    scope: { title: "HEAT" },
  });
  assert.equal(heat.withPath, 4);
  assert.deepEqual(heat.missing.map((m) => m.path).sort(), [
    "/nowhere/Heat.mkv",
    "/nowhere/Heat/S1E1.mkv",
    "/nowhere/Heat/S1E2.mkv",
    "/nowhere/Heat/S1E3.mkv",
  ]);
  // A soft-deleted asset of the title is not counted.
  db.exec("UPDATE assets SET deleted_at = 'x' WHERE external_id = 'm-heat'");
  const after = await checkLocalPaths(db, SEEDED_COLLECTION, {
    mappings: [],
    scope: { title: "Heat" },
  });
  assert.equal(after.withPath, 3);
});
