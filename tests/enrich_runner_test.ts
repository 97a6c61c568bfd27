/**
 * The enrichment runner (ingest/enrich.ts) with stand-in enrichers, so each
 * rule is tested on its own and deterministically: a result for a file that
 * changed meanwhile is discarded, enrichers merge by priority, kinds and
 * folders are respected, missing files are recorded without a call, and a
 * collection larger than one page is enriched once per asset.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { getCollection, insertSource, upsertDiscoveredCollections } from "../core/catalog.ts";
import type { EnrichTarget } from "../core/enricher_contract.ts";
import { openDatabase } from "../core/db.ts";
import type { ValidEnrichResult } from "../core/schemas.ts";
import { enrichCollection, type EnrichOptions, localRoots } from "../ingest/enrich.ts";
import { attachEnricher, listAttachedEnrichers } from "../ingest/enrich_attach.ts";
import { PAGE_SIZE } from "../ingest/enrich_select.ts";
import type { EnricherRegistry } from "../registry/_enrichers.ts";
import type { EnricherClient } from "../registry/_types.ts";
import { tempWorld } from "./_cli.ts";

type Fake = (target: EnrichTarget) => ValidEnrichResult | Promise<ValidEnrichResult>;

/** A registry whose enrichers are plain functions (no sandbox: the runner alone is tested). */
function _registry(fakes: Record<string, { appliesTo: ("movie" | "episode")[]; fn: Fake }>) {
  const calls: string[] = [];
  const registry = {
    types: [],
    isBuiltin: () => true,
    isolation: () => Promise.resolve({ level: "deno", mode: "auto" }),
    get: (typeId: string) =>
      fakes[typeId]
        ? {
          status: "available",
          typeId,
          file: `/fake/${typeId}.ts`,
          manifest: { typeId, displayName: typeId, params: [], appliesTo: fakes[typeId].appliesTo },
        }
        : undefined,
    resolveConfig: (_: string, config: Record<string, unknown>) => config,
    open: (typeId: string) =>
      Promise.resolve(
        {
          alive: true,
          enrich: async (target: EnrichTarget) => {
            calls.push(`${typeId}:${target.title}`);
            return await fakes[typeId].fn(target);
          },
          close: () => Promise.resolve(),
        } as unknown as EnricherClient,
      ),
  } as unknown as EnricherRegistry;
  return { registry, calls };
}

interface Catalog {
  db: DatabaseSync;
  collectionId: string;
  root: string;
}

/** A catalog with one movies collection rooted at `<dir>/movies` and `titles` as movie assets. */
function _catalog(dir: string, titles: readonly string[], kind = "movie"): Catalog {
  const root = join(dir, "movies");
  Deno.mkdirSync(root, { recursive: true });
  const db = openDatabase(join(dir, "catalog.db"));
  const source = insertSource(db, { name: "fs", typeId: "filesystem", config: { root: [root] } });
  const { added } = upsertDiscoveredCollections(db, source.id, {
    found: [
      { externalId: root, name: "movies", kind: "movies", locations: [root] },
    ],
  });
  const now = new Date().toISOString();
  const insert = db.prepare(
    `INSERT INTO assets (id, collection_id, external_id, kind, title, series_title, season,
       episode, path, parts, local_path, fingerprint, file_fingerprint, first_seen, last_seen,
       updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, 'f', ?, ?, ?, ?)`,
  );
  titles.forEach((title, i) => {
    const path = join(root, `${title}.mkv`);
    Deno.writeTextFileSync(path, "x");
    const episode = kind === "episode";
    insert.run(
      `a-${String(i).padStart(12, "0")}`,
      added[0].id,
      title,
      kind,
      title,
      episode ? "Show" : null,
      episode ? 1 : null,
      episode ? i + 1 : null,
      path,
      path,
      `file-${i}`,
      now,
      now,
      now,
    );
  });
  return { db, collectionId: added[0].id, root };
}

function _run(c: Catalog, options: Pick<EnrichOptions, "registry"> & Partial<EnrichOptions>) {
  const collection = getCollection(c.db, c.collectionId)!;
  return enrichCollection(c.db, collection, {
    attached: listAttachedEnrichers(c.db, c.collectionId),
    cores: 2,
    // What the filesystem source's config grants: its root.
    grantedRoots: [c.root],
    ...options,
  });
}

function _row(db: DatabaseSync, title: string) {
  return db.prepare(
    "SELECT tech, tech_source, probed_duration_ms, enrichment_error FROM assets WHERE title = ?",
  ).get(title) as Record<string, string | number | null>;
}

Deno.test("a result for a file that changed during the probe is discarded", async () => {
  using world = tempWorld();
  const c = _catalog(world.dir, ["Moved", "Kept"]);
  attachEnricher(c.db, { collectionId: c.collectionId, typeId: "probe" });
  const { registry } = _registry({
    probe: {
      appliesTo: ["movie"],
      fn: (t) => {
        // An ingest changes this asset's file while it is being probed.
        if (t.title === "Moved") {
          c.db.prepare("UPDATE assets SET file_fingerprint = 'new' WHERE id = ?").run(t.assetId);
        }
        return { durationMs: 5000, tech: { container: "mkv" } };
      },
    },
  });
  const report = await _run(c, { registry });
  assert.deepEqual([report.enriched, report.discarded, report.failed], [1, 1, 0]);
  assert.equal(_row(c.db, "Moved").tech, null);
  assert.equal(_row(c.db, "Kept").probed_duration_ms, 5000);
  // The changed asset still needs enrichment; the other does not.
  const again = await _run(c, { registry, dryRun: true });
  assert.equal(again.selected, 1);
  c.db.close();
});

Deno.test("enrichers run by priority; each field comes from the first that reports it", async () => {
  using world = tempWorld();
  const c = _catalog(world.dir, ["Heat"]);
  attachEnricher(c.db, { collectionId: c.collectionId, typeId: "second" }, { priority: 5 });
  attachEnricher(c.db, { collectionId: c.collectionId, typeId: "first" }, { priority: 1 });
  const { registry, calls } = _registry({
    first: {
      appliesTo: ["movie"],
      fn: () => ({ durationMs: null, tech: { container: "first", video: null, audio: [] } }),
    },
    second: {
      appliesTo: ["movie"],
      fn: () => ({
        durationMs: 7000,
        tech: {
          container: "second",
          video: { codec: "h264" },
          audio: [{ codec: "aac", channels: 2, language: null, default: true }],
        },
      }),
    },
  });
  const report = await _run(c, { registry });
  assert.deepEqual(report.enrichers, ["first", "second"]);
  assert.deepEqual(calls, ["first:Heat", "second:Heat"]);
  const row = _row(c.db, "Heat");
  assert.equal(row.tech_source, "first+second");
  assert.equal(row.probed_duration_ms, 7000);
  const tech = JSON.parse(String(row.tech));
  assert.equal(tech.container, "first");
  assert.deepEqual(tech.video, { codec: "h264" });
  assert.equal(tech.audio.length, 1);
  c.db.close();
});

Deno.test("kinds, folders and missing files are settled without calling the enricher", async () => {
  using world = tempWorld();
  const c = _catalog(world.dir, ["Here", "Gone", "Elsewhere"]);
  Deno.removeSync(join(c.root, "Gone.mkv"));
  const outside = join(world.dir, "outside.mkv");
  Deno.writeTextFileSync(outside, "x");
  c.db.prepare("UPDATE assets SET path = ? WHERE title = 'Elsewhere'").run(outside);
  attachEnricher(c.db, { collectionId: c.collectionId, typeId: "probe" });
  const { registry, calls } = _registry({
    probe: { appliesTo: ["movie"], fn: () => ({ durationMs: 1, tech: {} }) },
  });
  const report = await _run(c, { registry });
  assert.deepEqual(calls, ["probe:Here"]);
  assert.deepEqual([report.selected, report.probed, report.enriched, report.failed], [3, 1, 1, 2]);
  assert.equal(_row(c.db, "Gone").enrichment_error, `missing_file: ${join(c.root, "Gone.mkv")}`);
  assert.match(
    String(_row(c.db, "Elsewhere").enrichment_error),
    /outside the folders this collection's enrichers may read/,
  );

  const shows = _catalog(join(world.dir, "tv"), ["Pilot"], "episode");
  attachEnricher(shows.db, { collectionId: shows.collectionId, typeId: "probe" });
  const skipped = await _run(shows, { registry });
  assert.deepEqual([skipped.skipped, skipped.probed], [1, 0]);
  c.db.close();
  shows.db.close();
});

Deno.test("a collection larger than a page is enriched once per asset", async () => {
  using world = tempWorld();
  const titles = Array.from({ length: PAGE_SIZE * 2 + 7 }, (_, i) => `M${i}`);
  const c = _catalog(world.dir, titles);
  attachEnricher(c.db, { collectionId: c.collectionId, typeId: "probe" });
  const { registry, calls } = _registry({
    probe: { appliesTo: ["movie"], fn: () => ({ durationMs: 1, tech: {} }) },
  });
  const report = await _run(c, { registry, jobs: 3 });
  assert.equal(report.enriched, titles.length);
  assert.equal(new Set(calls).size, titles.length);
  assert.equal(calls.length, titles.length);
  assert.equal((await _run(c, { registry })).selected, 0);
  c.db.close();
});

Deno.test("an interrupted run keeps what it wrote and starts nothing new", async () => {
  using world = tempWorld();
  const c = _catalog(world.dir, ["A", "B", "C", "D"]);
  attachEnricher(c.db, { collectionId: c.collectionId, typeId: "probe" });
  const stop = new AbortController();
  const { registry, calls } = _registry({
    probe: {
      appliesTo: ["movie"],
      fn: () => {
        stop.abort(); // Ctrl-C while the first asset is probed
        return { durationMs: 1, tech: {} };
      },
    },
  });
  await assert.rejects(
    _run(c, { registry, jobs: 1, signal: stop.signal }),
    (e: Error & { code?: string }) => e.code === "CANCELLED" && /1 of 4/.test(e.message),
  );
  assert.deepEqual(calls, ["probe:A"]);
  assert.equal(_row(c.db, "A").probed_duration_ms, 1);
  assert.equal((await _run(c, { registry, dryRun: true })).selected, 3);
  c.db.close();
});

Deno.test("enrichers read only where the operator granted: locations narrow the grants, never widen them", () => {
  const roots = (locations: string[], granted: string[], mappings: [string, string][] = []) =>
    localRoots({
      id: "c",
      locations,
      pathMappings: mappings.map(([externalPrefix, localPrefix]) => ({
        externalPrefix,
        localPrefix,
      })),
    }, granted);
  // A location inside a granted folder is kept; one outside every grant grants nothing.
  assert.deepEqual(roots(["/media/tv", "/home/me/.ssh"], ["/media"]), ["/media/tv"]);
  // A granted folder inside a broader location is what is read.
  assert.deepEqual(roots(["/"], ["/media/tv/"]), ["/media/tv"]);
  // A mapped location is read where it is mapped to; the mapping is the operator's grant.
  assert.deepEqual(roots(["/data/tv"], [], [["/data", "/mnt/nas"]]), ["/mnt/nas/tv"]);
  // Unmapped, an importer's location alone grants nothing.
  assert.deepEqual(roots(["/data/tv"], []), []);
  // Without locations: the granted folders themselves.
  assert.deepEqual(roots([], ["/media/tv"], [["/data", "/mnt/nas"]]), ["/mnt/nas", "/media/tv"]);
});
