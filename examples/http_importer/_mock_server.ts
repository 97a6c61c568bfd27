/**
 * A mock of the catalog API `http_catalog.ts` reads, for its tests and for
 * `importer check` (see `_check_with_mock.ts`). It serves a small fixed
 * catalog on 127.0.0.1, checks the API key, pages in a stable order and
 * applies the title, season and episode filters the way the contract scopes
 * them. `_`-prefixed, so the registry never takes it for a plugin.
 *
 * Run alone: `deno run --allow-net=127.0.0.1 examples/http_importer/_mock_server.ts`.
 *
 * @module
 */

import type { CatalogItem } from "./http_catalog.ts";

/** A library in the mock catalog. */
export interface MockLibrary {
  /** Its id. */
  id: string;
  /** Its name. */
  name: string;
  /** `movies`, `shows`, or another type (not video). */
  type: string;
  /** Its items, in the order pages give them. */
  items: CatalogItem[];
}

function _episode(
  id: string,
  at: { show: string; season: number; episode: number; title: string },
): CatalogItem {
  return { id, type: "episode", runtime_seconds: 1500, file: `/tv/${id}.mkv`, ...at };
}

/** The catalog served by default. */
export const MOCK_LIBRARIES: readonly MockLibrary[] = [
  {
    id: "lib-movies",
    name: "Movies",
    type: "movies",
    items: [
      { id: "mv-1", type: "movie", title: "Alien", year: 1979, runtime_seconds: 7020 },
      { id: "mv-2", type: "movie", title: "Brazil", year: 1985, runtime_seconds: 8520 },
      { id: "mv-3", type: "movie", title: "Metropolis", year: 1927, runtime_seconds: 9180 },
      { id: "mv-4", type: "movie", title: "Solaris", year: 1972, runtime_seconds: 9960 },
    ],
  },
  {
    id: "lib-shows",
    name: "TV Shows",
    type: "shows",
    items: [
      _episode("tz-101", { show: "The Twilight Zone", season: 1, episode: 1, title: "Where" }),
      _episode("tz-102", { show: "The Twilight Zone", season: 1, episode: 2, title: "One" }),
      _episode("tz-103", { show: "The Twilight Zone", season: 1, episode: 3, title: "Mr. D" }),
      _episode("tz-201", { show: "The Twilight Zone", season: 2, episode: 1, title: "King" }),
      _episode("tz-202", { show: "The Twilight Zone", season: 2, episode: 2, title: "Eye" }),
      _episode("op-101", { show: "The Outer Limits", season: 1, episode: 1, title: "Galaxy" }),
      _episode("op-102", { show: "The Outer Limits", season: 1, episode: 2, title: "Hundred" }),
    ],
  },
  { id: "lib-music", name: "Music", type: "music", items: [] },
];

/** Options for {@link startMockCatalog}. */
export interface MockCatalogOptions {
  /** The key requests must carry (default: a fixed demo key). */
  apiKey?: string;
  /** The port (default: any free one). */
  port?: number;
  /** The libraries to serve (default: {@link MOCK_LIBRARIES}). */
  libraries?: readonly MockLibrary[];
}

/** A running mock catalog. */
export interface MockCatalog {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The API key it accepts. */
  apiKey: string;
  /** Path and query of every request it answered, in order (for paging assertions). */
  requests: string[];
  /** Makes the next `count` requests answer `status` (a server failing). */
  failNext(status: number, count?: number): void;
  /** Stops it. */
  close(): Promise<void>;
}

/** The key {@link startMockCatalog} accepts by default. */
export const MOCK_API_KEY = "demo-key-8c1f";

function _json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** Whether an item lies in the scope the query's filters describe. */
function _inScope(item: CatalogItem, query: URLSearchParams): boolean {
  const title = query.get("title");
  if (title !== null) {
    const own = item.type === "episode" ? item.show ?? "" : item.title;
    if (own.trim().toLowerCase() !== title.trim().toLowerCase()) return false;
  }
  const season = query.get("season");
  if (season !== null && item.season !== Number(season)) return false;
  const episode = query.get("episode");
  if (episode !== null && item.episode !== Number(episode)) return false;
  return true;
}

/** Starts the mock on 127.0.0.1. */
export function startMockCatalog(options: MockCatalogOptions = {}): MockCatalog {
  const apiKey = options.apiKey ?? MOCK_API_KEY;
  const libraries = options.libraries ?? MOCK_LIBRARIES;
  const requests: string[] = [];
  let failures: { status: number; count: number } | null = null;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    (request) => {
      const url = new URL(request.url);
      requests.push(url.pathname + url.search);
      if (failures && failures.count > 0) {
        failures.count--;
        return _json(failures.status, { error: "the server is having a bad day" });
      }
      if (request.headers.get("x-api-key") !== apiKey) {
        return _json(401, { error: "invalid API key" });
      }
      if (url.pathname === "/api/v1/server") {
        return _json(200, { name: "Demo Catalog", version: "1.2.0", id: "demo-catalog-1" });
      }
      if (url.pathname === "/api/v1/libraries") {
        return _json(200, {
          libraries: libraries.map(({ id, name, type }) => ({ id, name, type })),
        });
      }
      const match = /^\/api\/v1\/libraries\/([^/]+)\/items$/.exec(url.pathname);
      const library = match && libraries.find((l) => l.id === decodeURIComponent(match[1]));
      if (!library) return _json(404, { error: "not found" });
      const page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
      const perPage = Math.min(100, Math.max(1, Number(url.searchParams.get("per_page") ?? 50)));
      const items = library.items.filter((i) => _inScope(i, url.searchParams));
      return _json(200, {
        items: items.slice((page - 1) * perPage, page * perPage),
        page,
        total_pages: Math.max(1, Math.ceil(items.length / perPage)),
        total_items: items.length,
      });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    apiKey,
    requests,
    failNext(status, count = 1) {
      failures = { status, count };
    },
    close: () => server.shutdown(),
  };
}

if (import.meta.main) {
  const mock = startMockCatalog({ port: Number(Deno.args[0] ?? 8765) });
  console.log(`mock catalog on ${mock.url} (API key ${mock.apiKey}); Ctrl-C stops it`);
}
