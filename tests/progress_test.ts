/**
 * Progress that looks alive: the progress line's text (total, ETA, phases),
 * the importer's total hint through the pipeline, and the Plex importer
 * reporting the server's total.
 */

import assert from "node:assert/strict";
import { progressLine } from "../cli/ingest_commands.ts";
import { type IngestClient, ingestCollection, type IngestProgress } from "../ingest/pipeline.ts";
import { createPlexImporter } from "../importers/plex/mod.ts";
import { startPlexMock } from "./mocks/plex_server.ts";
import { SEEDED_COLLECTION, seededCatalog } from "./_catalog.ts";

Deno.test("the progress line: connecting, counts, total with time left, saving", () => {
  const p = (o: Partial<IngestProgress>): IngestProgress => ({
    seen: 0,
    elapsedMs: 0,
    phase: "listing",
    ...o,
  });
  assert.equal(progressLine("TV", p({ elapsedMs: 300 })), "Ingesting 'TV': connecting… 0.3s");
  assert.equal(
    progressLine("TV", p({ seen: 500, elapsedMs: 2000 })),
    "Ingesting 'TV': 500 assets seen, 250/s, 2.0s",
  );
  assert.equal(
    progressLine("TV", p({ seen: 500, elapsedMs: 2000, total: 2000 })),
    "Ingesting 'TV': 500 assets seen of 2000 (25%), 250/s, 2.0s, about 6s left",
  );
  assert.match(
    progressLine("TV", p({ seen: 1000, elapsedMs: 1000, total: 1_000_000 })),
    /about 16m39s left$/,
  );
  // A total below what already came is a wrong hint: not shown.
  assert.equal(
    progressLine("TV", p({ seen: 50, elapsedMs: 1000, total: 10 })),
    "Ingesting 'TV': 50 assets seen, 50/s, 1.0s",
  );
  assert.equal(
    progressLine("TV", p({ seen: 50, elapsedMs: 1000, phase: "saving" })),
    "Ingesting 'TV': 50 assets seen; saving… 1.0s",
  );
});

Deno.test("the pipeline reports progress at once, with the importer's total, then saving", async () => {
  const db = seededCatalog({ kind: "movies" });
  const client: IngestClient = {
    manifest: { typeId: "fake", displayName: "Fake", params: [], capabilities: { filters: {} } },
    async *fetchAssets(_request, options) {
      options?.onNotice?.({ kind: "total", count: 2 });
      await Promise.resolve();
      yield [{ externalId: "a", kind: "movie", title: "A" }];
      yield [{ externalId: "b", kind: "movie", title: "B" }];
    },
  };
  const seen: IngestProgress[] = [];
  const result = await ingestCollection(db, {
    client,
    collection: SEEDED_COLLECTION,
    onProgress: (p) => seen.push({ ...p }),
  });
  assert.equal(result.stats.new, 2);
  assert.deepEqual(seen[0], { ...seen[0], seen: 0, phase: "listing" }, "drawn before any item");
  assert.equal(seen[0].total, undefined);
  assert.ok(seen.some((p) => p.phase === "listing" && p.total === 2 && p.seen === 1));
  assert.deepEqual(
    [seen.at(-1)!.phase, seen.at(-1)!.seen, seen.at(-1)!.total],
    ["saving", 2, 2],
  );
  // The total hint is not a warning.
  assert.deepEqual(result.notices.warnings, []);
});

Deno.test("plex: a full listing tells the host the server's total", async () => {
  const mock = await startPlexMock();
  try {
    const plex = createPlexImporter({ timeoutMs: 3000, retries: 1, backoffMs: 5 });
    const config = { base_url: mock.url, token: mock.token, verify_ssl: true, page_size: 2 };
    const base = { signal: new AbortController().signal, warn() {}, skipped() {} };
    const collections = await plex.listCollections(config, base);
    const shows = collections.find((c) => c.kind === "shows");
    assert.ok(shows, "the mock has a show library");
    const totals: number[] = [];
    let count = 0;
    for await (
      const page of plex.fetchAssets(config, {
        ...base,
        total: (n) => totals.push(n),
        collection: { externalId: shows.externalId, kind: "shows", name: shows.name },
        filters: {},
      })
    ) count += (page as unknown[]).length;
    assert.equal(totals.length, 1, `told once: ${totals}`);
    assert.ok(totals[0] >= count && count > 0, `total ${totals[0]} for ${count} assets`);
  } finally {
    await mock.close();
  }
});
