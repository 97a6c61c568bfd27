/**
 * An example importer whose upstream is one JSON catalog file.
 *
 * It is small on purpose: everything a real importer does (a param that
 * grants the sandbox access, a connection check, collections, streamed
 * assets with filters pushed down, typed errors) without a server. Use it as
 * a plugin folder: `RETROVUE_PLUGIN_PATH=examples/json_importer`. See
 * `docs/importers.md` for the walk-through.
 *
 * The file's shape:
 *
 * ```json
 * { "collections": [
 *   { "id": "movies", "name": "Movies", "kind": "movies",
 *     "assets": [{ "externalId": "m1", "kind": "movie", "title": "Alien", "year": 1979 }] }
 * ] }
 * ```
 *
 * @module
 */

import type {
  AssetFilters,
  CallContext,
  CollectionInfo,
  CollectionKind,
  ImportedAsset,
  Importer,
  ImporterConfig,
  ImporterErrorCode,
} from "../../core/contract.ts";

/** One collection in the catalog file. */
export interface CatalogCollection {
  /** Stable id, used as the collection's external id. */
  id: string;
  /** Human name. */
  name: string;
  /** What it holds. */
  kind: CollectionKind;
  /** Set to false for a collection RetroVue must not ingest. */
  ingestible?: boolean;
  /** Why it is not ingestible. */
  reason?: string;
  /** The assets, in the shape of the contract's `ImportedAsset`. */
  assets: unknown[];
}

/** The catalog file. */
export interface Catalog {
  /** Every collection. */
  collections: CatalogCollection[];
}

const KINDS: readonly CollectionKind[] = ["movies", "shows", "mixed", "other"];

/** How many assets go to the host per yield: a page, as a paging API would give. */
const PAGE = 100;

/** Runs `fn` so that whatever it throws becomes a rejected promise, as callers expect. */
function _promise<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

function _fail(code: ImporterErrorCode, message: string): never {
  throw Object.assign(new Error(message), { code });
}

/**
 * Reads and checks the catalog. The file is the only thing this importer's
 * sandbox may read (its param `grants: "read"`), and it is read synchronously:
 * inside a worker that is faster and blocks nobody else.
 */
function _readCatalog(config: ImporterConfig): Catalog {
  const file = String(config.file);
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    // A path that does not exist grants nothing, so "not found" can arrive as a denial.
    const why = error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable
      ? "it does not exist or is not readable"
      : (error as Error).message;
    _fail("CONFIG_INVALID", `cannot read catalog file '${file}': ${why}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    _fail("CONFIG_INVALID", `catalog file '${file}' is not JSON: ${(error as Error).message}`);
  }
  const collections = (data as { collections?: unknown })?.collections;
  if (!Array.isArray(collections)) {
    _fail("CONFIG_INVALID", `catalog file '${file}' has no "collections" list`);
  }
  collections.forEach((c, i) => {
    const ok = typeof c === "object" && c !== null && typeof c.id === "string" && c.id !== "" &&
      typeof c.name === "string" && KINDS.includes(c.kind) && Array.isArray(c.assets);
    if (!ok) {
      _fail(
        "CONFIG_INVALID",
        `catalog file '${file}': collection #${i + 1} needs an id, a name, a kind ` +
          `(${KINDS.join(", ")}) and an assets list`,
      );
    }
  });
  return { collections: collections as CatalogCollection[] };
}

/** Whether an asset lies inside the requested scope (titles: case-insensitive, exact). */
export function matchesFilters(asset: ImportedAsset, filters: AssetFilters): boolean {
  if (filters.title !== undefined) {
    const own = asset.kind === "episode" ? asset.seriesTitle ?? "" : asset.title;
    if (own.trim().toLowerCase() !== filters.title.trim().toLowerCase()) return false;
  }
  if (filters.season !== undefined && asset.season !== filters.season) return false;
  if (filters.episode !== undefined) {
    const first = asset.episode;
    if (first === undefined || first === null) return false;
    const last = asset.episodeEnd ?? first;
    if (filters.episode < first || filters.episode > last) return false;
  }
  return true;
}

function _isAsset(value: unknown, context: CallContext): value is ImportedAsset {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return true;
  context.skipped(String(value).slice(0, 80), "not an object");
  return false;
}

const importer: Importer = {
  typeId: "json-file",
  displayName: "JSON catalog file (example)",
  description: "Reads collections and assets from one JSON file. The example importer of " +
    "docs/importers.md; it can read only that file.",
  version: "1.0.0",
  params: [
    {
      name: "file",
      flag: "--file",
      kind: "path",
      required: true,
      grants: "read",
      description: "The JSON catalog file",
    },
  ],
  capabilities: {
    filters: {
      movies: ["title"],
      shows: ["title", "season", "episode"],
      mixed: ["title", "season", "episode"],
    },
  },

  validateConnection(config) {
    return _promise(() => {
      const catalog = _readCatalog(config);
      const file = String(config.file);
      const name = file.slice(file.lastIndexOf("/") + 1);
      return { serverName: `${name} (${catalog.collections.length} collections)` };
    });
  },

  listCollections(config) {
    return _promise(() =>
      _readCatalog(config).collections.map((c): CollectionInfo => ({
        externalId: c.id,
        name: c.name,
        kind: c.kind,
        ...(c.ingestible === false
          ? { ingestible: false, reason: c.reason ?? "marked not ingestible in the catalog" }
          : {}),
      }))
    );
  },

  async *fetchAssets(config, request) {
    const id = request.collection.externalId;
    const collection = _readCatalog(config).collections.find((c) => c.id === id);
    if (!collection) _fail("COLLECTION_NOT_FOUND", `no collection '${id}' in the catalog file`);
    let page: ImportedAsset[] = [];
    for (const raw of collection.assets) {
      request.signal.throwIfAborted();
      if (!_isAsset(raw, request)) continue;
      if (!matchesFilters(raw, request.filters)) continue;
      page.push(raw); // The host validates every field; invalid assets are reported and skipped.
      if (page.length === PAGE) {
        yield page;
        page = [];
      }
    }
    if (page.length) yield page;
  },
};

export default importer;
