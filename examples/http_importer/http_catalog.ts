/**
 * An example importer for a small JSON-over-HTTP catalog API: the second
 * worked example of `docs/importers.md`, next to the file-based `json-file`.
 *
 * What it shows that a file cannot: a URL param that grants the sandbox one
 * host (`grants: "net"`), a secret API key sent as a header, paging until the
 * server says there is no more, filters pushed down as query parameters, and
 * typed errors for each way a server fails. `_mock_server.ts` in this folder
 * serves the API for its tests and for `importer check`.
 *
 * The API (every request carries `X-Api-Key`; a wrong key is 401):
 *
 * - `GET /api/v1/server` → `{ "name", "version", "id" }`
 * - `GET /api/v1/libraries` → `{ "libraries": [{ "id", "name", "type" }] }`, type `movies`,
 *   `shows` or anything else (not video: listed, not ingestible)
 * - `GET /api/v1/libraries/{id}/items?page=1&per_page=50[&title=…&season=…&episode=…]` →
 *   `{ "items": [...], "page", "total_pages", "total_items" }`, 404 for an unknown library; items
 *   `{ "id", "type": "movie" | "episode", "title", "year"?, "show"?, "season"?, "episode"?,
 *   "runtime_seconds"?, "file"? }` in a stable order
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

/** The catalog's header carrying the API key. */
export const API_KEY_HEADER = "X-Api-Key";

/** One item of a library page, as the API sends it. */
export interface CatalogItem {
  /** Stable id. */
  id: string;
  /** What it is. */
  type: "movie" | "episode";
  /** Movie title, or the episode's own title. */
  title: string;
  /** Release year (movies). */
  year?: number;
  /** Series title (episodes). */
  show?: string;
  /** Season number (episodes). */
  season?: number;
  /** Episode number (episodes). */
  episode?: number;
  /** Running time in seconds. */
  runtime_seconds?: number;
  /** The media file's path on the server. */
  file?: string;
}

/** One page of a library's items. */
interface _Page {
  items: unknown[];
  page: number;
  total_pages: number;
  total_items?: number;
}

const KINDS: Readonly<Record<string, CollectionKind>> = { movies: "movies", shows: "shows" };

function _fail(code: ImporterErrorCode, message: string, retryable = false): never {
  throw Object.assign(new Error(message), { code, retryable });
}

/**
 * GETs `path` from the configured server with the API key and returns its
 * JSON. Each way it can fail becomes a typed error; a sandbox denial is
 * rethrown as it is (a missing grant is this plugin's bug, not the server's).
 * A 404 is returned as `null`, for the caller to name what was not found.
 */
async function _get(config: ImporterConfig, path: string, signal: AbortSignal): Promise<unknown> {
  const url = `${config.base_url}${path}`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { [API_KEY_HEADER]: String(config.api_key), accept: "application/json" },
      signal,
    });
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || signal.aborted) throw error;
    _fail("UNREACHABLE", `cannot reach ${config.base_url}: ${(error as Error).message}`, true);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    _fail("AUTH_FAILED", `${config.base_url} refused the API key (HTTP ${response.status})`);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) {
    await response.body?.cancel();
    _fail("UNREACHABLE", `${config.base_url} answered HTTP ${response.status} for ${path}`, true);
  }
  try {
    return await response.json();
  } catch {
    _fail("MALFORMED_RESPONSE", `${config.base_url} sent a response that is not JSON for ${path}`);
  }
}

/** The query of a library page: paging plus the filters pushed down to the server. */
function _query(page: number, perPage: number, filters: AssetFilters): string {
  const query = new URLSearchParams({ page: String(page), per_page: String(perPage) });
  if (filters.title !== undefined) query.set("title", filters.title);
  if (filters.season !== undefined) query.set("season", String(filters.season));
  if (filters.episode !== undefined) query.set("episode", String(filters.episode));
  return query.toString();
}

/** Maps one API item to the contract's asset, or says why it is skipped. */
export function toAsset(item: CatalogItem): ImportedAsset | string {
  const durationMs = typeof item.runtime_seconds === "number"
    ? item.runtime_seconds * 1000
    : undefined;
  const common = { externalId: item.id, title: item.title, durationMs, path: item.file };
  if (item.type === "movie") return { ...common, kind: "movie", year: item.year };
  if (item.type === "episode") {
    const { show: seriesTitle, season, episode } = item;
    return { ...common, kind: "episode", seriesTitle, season, episode };
  }
  return `not a movie or an episode (type '${String((item as { type?: unknown }).type)}')`;
}

function _isItem(value: unknown): value is CatalogItem {
  const v = value as CatalogItem | null;
  return typeof v === "object" && v !== null && typeof v.id === "string" && v.id !== "" &&
    typeof v.title === "string";
}

/** The assets of one page; items it cannot use are reported skipped. */
function _pageAssets(page: _Page, context: CallContext): ImportedAsset[] {
  const out: ImportedAsset[] = [];
  for (const raw of page.items) {
    if (!_isItem(raw)) {
      context.skipped(JSON.stringify(raw).slice(0, 80), "an item without an id or a title");
      continue;
    }
    const asset = toAsset(raw);
    if (typeof asset === "string") context.skipped(raw.id, asset);
    else out.push(asset);
  }
  return out;
}

function _isPage(value: unknown): value is _Page {
  const v = value as _Page | null;
  return typeof v === "object" && v !== null && Array.isArray(v.items) &&
    Number.isInteger(v.page) && Number.isInteger(v.total_pages);
}

const importer: Importer = {
  typeId: "http-catalog",
  displayName: "HTTP catalog (example)",
  description: "Reads libraries from a small JSON-over-HTTP catalog API with an API key. The " +
    "second example importer of docs/importers.md; it can reach only --base-url.",
  version: "1.0.0",
  params: [
    {
      name: "base_url",
      flag: "--base-url",
      kind: "url",
      required: true,
      grants: "net",
      description: "The catalog server, e.g. http://127.0.0.1:8765",
    },
    {
      name: "api_key",
      flag: "--api-key",
      kind: "string",
      required: true,
      secret: true,
      description: "The catalog's API key (sent as the X-Api-Key header)",
    },
    {
      name: "page_size",
      flag: "--page-size",
      kind: "integer",
      default: 50,
      min: 1,
      max: 100,
      description: "Items per request",
    },
  ],
  capabilities: {
    filters: { movies: ["title"], shows: ["title", "season", "episode"] },
  },

  async validateConnection(config, context) {
    const info = await _get(config, "/api/v1/server", context.signal) as
      | { name?: unknown; version?: unknown; id?: unknown }
      | null;
    if (!info || typeof info.name !== "string") {
      _fail("MALFORMED_RESPONSE", `${config.base_url} is not a catalog server (no /api/v1/server)`);
    }
    return {
      serverName: info.name,
      version: typeof info.version === "string" ? info.version : undefined,
      serverId: typeof info.id === "string" ? info.id : undefined,
    };
  },

  async listCollections(config, context) {
    const body = await _get(config, "/api/v1/libraries", context.signal) as
      | { libraries?: unknown }
      | null;
    if (!body || !Array.isArray(body.libraries)) {
      _fail("MALFORMED_RESPONSE", `${config.base_url} sent no "libraries" list`);
    }
    return body.libraries.map((raw): CollectionInfo => {
      const lib = raw as { id?: unknown; name?: unknown; type?: unknown };
      if (typeof lib.id !== "string" || typeof lib.name !== "string") {
        _fail("MALFORMED_RESPONSE", "a library without an id or a name");
      }
      const kind = KINDS[String(lib.type)];
      return kind ? { externalId: lib.id, name: lib.name, kind } : {
        externalId: lib.id,
        name: lib.name,
        kind: "other",
        ingestible: false,
        reason: `a '${String(lib.type)}' library holds no movies or episodes`,
      };
    });
  },

  async *fetchAssets(config, request) {
    const id = request.collection.externalId;
    const perPage = Number(config.page_size ?? 50);
    const base = `/api/v1/libraries/${encodeURIComponent(id)}/items`;
    for (let page = 1;; page++) {
      const body = await _get(
        config,
        `${base}?${_query(page, perPage, request.filters)}`,
        request.signal,
      );
      if (body === null) _fail("COLLECTION_NOT_FOUND", `the catalog has no library '${id}'`);
      if (!_isPage(body) || body.page !== page) {
        _fail("MALFORMED_RESPONSE", `page ${page} of library '${id}' is not a page of items`);
      }
      if (page === 1 && Number.isInteger(body.total_items)) request.total?.(body.total_items!);
      yield _pageAssets(body, request);
      if (page >= body.total_pages) return;
    }
  },
};

export default importer;
