/**
 * The example importer (`examples/json_importer/json_file.ts`): called
 * directly, then through the registry in its real sandbox, and ingested.
 *
 * Needs `--allow-read --allow-write --allow-run` (the sandbox tests start a
 * plugin-host subprocess).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallContext, ImportedAsset, ImporterConfig } from "../core/contract.ts";
import { validateConfig } from "../core/config.ts";
import { insertSource, setSyncEnabled, upsertDiscoveredCollections } from "../core/catalog.ts";
import { openMemoryDatabase } from "../core/db.ts";
import { importedAssetSchema } from "../core/schemas.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import { loadRegistry, pluginDirsFromEnv } from "../registry/mod.ts";
import importer, { type Catalog } from "../examples/json_importer/json_file.ts";

const EXAMPLE_DIR = fileURLToPath(new URL("../examples/json_importer/", import.meta.url));
const CATALOG = join(EXAMPLE_DIR, "catalog.json");
const TYPE_ID = "json-file";

interface Recorded extends CallContext {
  warnings: string[];
  skips: [string, string][];
}

function _context(): Recorded {
  const warnings: string[] = [];
  const skips: [string, string][] = [];
  return {
    signal: new AbortController().signal,
    warn: (message) => warnings.push(message),
    skipped: (item, reason) => skips.push([item, reason]),
    warnings,
    skips,
  };
}

async function _fetch(
  config: ImporterConfig,
  collection: string,
  options: { filters?: Record<string, string | number>; context?: Recorded } = {},
): Promise<ImportedAsset[]> {
  const context = options.context ?? _context();
  const out: ImportedAsset[] = [];
  const request = {
    ...context,
    collection: { externalId: collection, kind: "shows" as const, name: collection },
    filters: options.filters ?? {},
  };
  for await (const item of importer.fetchAssets(config, request)) {
    out.push(...(Array.isArray(item) ? item : [item]));
  }
  return out;
}

function _tempCatalog(value: unknown): { file: string; [Symbol.dispose](): void } {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-json-" });
  const file = join(dir, "catalog.json");
  Deno.writeTextFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
  return { file, [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }) };
}

const config: ImporterConfig = { file: CATALOG };

Deno.test("example: manifest declares one read-granting path param and its filters", () => {
  assert.equal(importer.typeId, TYPE_ID);
  assert.deepEqual(importer.params.map((p) => [p.flag, p.kind, p.grants, p.required]), [
    ["--file", "path", "read", true],
  ]);
  assert.deepEqual(importer.capabilities.filters.shows, ["title", "season", "episode"]);
});

Deno.test("example: validateConnection and listCollections read the catalog", async () => {
  const info = await importer.validateConnection(config, _context());
  assert.equal(info.serverName, "catalog.json (3 collections)");
  const collections = await importer.listCollections(config, _context());
  assert.deepEqual(collections.map((c) => [c.externalId, c.kind, c.ingestible ?? true]), [
    ["movies", "movies", true],
    ["tv", "shows", true],
    ["music", "other", false],
  ]);
  assert.equal(collections[2].reason, "music is not video");
});

Deno.test("example: every sample asset is valid and ids are unique", async () => {
  const catalog = JSON.parse(Deno.readTextFileSync(CATALOG)) as Catalog;
  for (const c of catalog.collections) {
    const assets = await _fetch(config, c.id);
    assert.equal(assets.length, c.assets.length);
    for (const a of assets) assert.ok(importedAssetSchema.safeParse(a).success, a.externalId);
    assert.equal(new Set(assets.map((a) => a.externalId)).size, assets.length);
  }
});

Deno.test("example: filters are pushed down (title case-insensitive, season, episode range)", async () => {
  const ids = async (filters: Record<string, string | number>) =>
    (await _fetch(config, "tv", { filters })).map((a) => a.externalId);
  assert.deepEqual(await ids({ title: "the twilight zone", season: 2 }), [
    "tz-s02e01",
    "tz-s02e02",
  ]);
  assert.deepEqual(await ids({ title: "Looney Tunes", season: 1, episode: 2 }), ["lt-s01e01"]);
  assert.deepEqual(await ids({ title: "Looney Tunes", season: 0 }), ["lt-s00e01"]);
  assert.deepEqual(await ids({ title: "Nope" }), []);
  assert.equal((await _fetch(config, "movies", { filters: { title: "ALIEN" } })).length, 1);
});

Deno.test("example: typed errors for a bad file and an unknown collection", async () => {
  await assert.rejects(
    _fetch(config, "nope"),
    (e: Error & { code?: string }) => e.code === "COLLECTION_NOT_FOUND" && /nope/.test(e.message),
  );
  await assert.rejects(
    importer.validateConnection({ file: "/nonexistent/catalog.json" }, _context()),
    { code: "CONFIG_INVALID" },
  );
  {
    using bad = _tempCatalog("{ not json");
    await assert.rejects(importer.listCollections({ file: bad.file }, _context()), {
      code: "CONFIG_INVALID",
    });
  }
  {
    using bad = _tempCatalog({ collections: [{ id: "x", name: "X", kind: "films", assets: [] }] });
    await assert.rejects(
      importer.validateConnection({ file: bad.file }, _context()),
      (e: Error & { code?: string }) => e.code === "CONFIG_INVALID" && /kind/.test(e.message),
    );
  }
});

Deno.test("example: a non-object item is reported as skipped", async () => {
  using cat = _tempCatalog({
    collections: [{
      id: "m",
      name: "M",
      kind: "movies",
      assets: [42, { externalId: "a", kind: "movie", title: "A" }],
    }],
  });
  const context = _context();
  const assets = await _fetch({ file: cat.file }, "m", { context });
  assert.deepEqual(assets.map((a) => a.externalId), ["a"]);
  assert.deepEqual(context.skips, [["42", "not an object"]]);
});

Deno.test("example: runs in its sandbox from a plugin folder, with typed errors crossing it", async () => {
  const registry = await loadRegistry({
    builtinDir: EXAMPLE_DIR,
    pluginDirs: pluginDirsFromEnv(""),
    timeoutMs: 10_000,
  });
  try {
    assert.deepEqual(registry.types.map((t) => [t.typeId, t.status]), [[TYPE_ID, "available"]]);
    const info = registry.get(TYPE_ID)!;
    const valid = validateConfig(info.manifest.params, { file: CATALOG }, { cwd: "/" });
    const client = await registry.open(TYPE_ID, valid);
    try {
      assert.equal((await client.validateConnection()).serverName, "catalog.json (3 collections)");
      assert.equal((await client.listCollections()).length, 3);
      const items: unknown[] = [];
      const collection = { externalId: "tv", kind: "shows" as const, name: "TV Shows" };
      for await (
        const batch of client.fetchAssets({ collection, filters: { title: "Looney Tunes" } })
      ) {
        items.push(...batch);
      }
      assert.equal(items.length, 3);
      const missing = { externalId: "nope", kind: "shows" as const, name: "Nope" };
      await assert.rejects(
        (async () => {
          for await (const _ of client.fetchAssets({ collection: missing, filters: {} })) {
            // Not reached.
          }
        })(),
        { code: "COLLECTION_NOT_FOUND" },
      );
    } finally {
      await client.close();
    }
    const gone = validateConfig(info.manifest.params, { file: "/nonexistent.json" }, {
      cwd: "/",
    });
    const broken = await registry.open(TYPE_ID, gone);
    try {
      await assert.rejects(broken.validateConnection(), { code: "CONFIG_INVALID" });
    } finally {
      await broken.close();
    }
  } finally {
    await registry.close();
  }
});

Deno.test("example: ingests through the pipeline (dry run writes nothing, then a real run)", async () => {
  const registry = await loadRegistry({ builtinDir: EXAMPLE_DIR, timeoutMs: 10_000 });
  const db = openMemoryDatabase();
  try {
    const info = registry.get(TYPE_ID)!;
    const valid = validateConfig(info.manifest.params, { file: CATALOG }, { cwd: "/" });
    const source = insertSource(db, { name: "Example", typeId: TYPE_ID, config: valid });
    const client = await registry.open(TYPE_ID, valid);
    try {
      const found = upsertDiscoveredCollections(db, source.id, {
        found: await client.listCollections(),
      });
      const tv = found.added.find((c) => c.externalId === "tv")!;
      setSyncEnabled(db, tv.id, { enabled: true });
      const count = () => Number(db.prepare("SELECT count(*) AS n FROM assets").get()!.n);
      const dry = await ingestCollection(db, { client, collection: tv.id, dryRun: true });
      assert.equal(dry.stats.new, 8);
      assert.equal(count(), 0);
      const real = await ingestCollection(db, { client, collection: tv.id });
      assert.equal(real.stats.new, 8);
      assert.equal(real.stats.invalid, 0);
      assert.equal(count(), 8);
    } finally {
      await client.close();
    }
  } finally {
    db.close();
    await registry.close();
  }
});
