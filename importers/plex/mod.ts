/**
 * The `plex` importer: movie and show libraries of a Plex Media Server.
 *
 * - Discovery: `/library/sections`; movie and show sections become
 *   collections (external id = section key) with their folder locations;
 *   other section types are listed as not ingestible.
 * - Full fetch: one paged listing per collection, never one request per
 *   show, season or item: `/library/sections/{key}/all?type=1` (movies) or
 *   `type=4` (every episode of a show library), with `includeGuids=1`. Each
 *   page is yielded as it arrives, while the next one is already on its way.
 * - Targeted fetch: the title is pushed down (`title=`, which Plex treats as
 *   "contains"; the exact, case-insensitive match is done here), then for
 *   shows `/library/metadata/{show}/allLeaves` of each matching show, narrowed
 *   to the season and episode asked for.
 * - Stable ids: the `ratingKey` (why: see `_map.ts`).
 *
 * @module
 */

import type {
  CallContext,
  CollectionInfo,
  ConnectionInfo,
  FetchRequest,
  ImportedAsset,
  Importer,
  ImporterConfig,
} from "../../core/contract.ts";
import {
  openPlexSession,
  PLEX_IMPORTER_VERSION,
  plexError,
  type PlexHttpError,
  type PlexHttpTuning,
  type PlexSession,
} from "./_http.ts";
import { isPlexSkip, mapPlexItem, mapPlexSection } from "./_map.ts";
import { pagedListing, plexItemId } from "./_paging.ts";
import { heldSkips, pageMapper, readListing } from "../shared/paged_listing.ts";

/** The product name Plex requests carry; benchmarks send the importer's own headers. */
export { PLEX_PRODUCT } from "./_http.ts";

/**
 * Default items per page, chosen by measurement (`bench/plex_bench.ts`, a
 * 100k-episode library over loopback, best of 2): page size 100 → 1 000
 * requests, 1.87 s; 250 → 1.56 s; 500 → 1.44 s; 1 000 → 1.38 s; 2 000 → 1.30 s.
 * Past 500 the gain is under 10 % while each response grows: a real episode
 * is ~3.2 KB of JSON (the reference captures carry summaries, images and
 * credits), so ~1.6 MB per page at 500 and ~6.4 MB at 2 000, which a real
 * server on a NAS must build in one query before it answers, within our
 * per-request timeout. 500 is the knee of the curve.
 */
export const DEFAULT_PAGE_SIZE = 500;

/** Most times a listing is read again when the library changes while it is read. */
const MAX_EXTRA_PASSES = 2;

interface _Config {
  baseUrl: string;
  token: string;
  pageSize: number;
  caFile?: string;
}

function _config(config: ImporterConfig): _Config {
  const baseUrl = config.base_url;
  const token = config.token;
  if (typeof baseUrl !== "string" || !/^https?:\/\//.test(baseUrl)) {
    throw plexError("CONFIG_INVALID", "--base-url must be the http(s) URL of the Plex server");
  }
  if (typeof token !== "string" || token === "") {
    throw plexError("CONFIG_INVALID", "--token is required");
  }
  const pageSize = config.page_size ?? DEFAULT_PAGE_SIZE;
  if (typeof pageSize !== "number" || !Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw plexError("CONFIG_INVALID", "--page-size must be a positive integer");
  }
  const caFile = config.ca_file;
  if (caFile !== undefined && typeof caFile !== "string") {
    throw plexError("CONFIG_INVALID", "--ca-file must be a path");
  }
  return { baseUrl: baseUrl.replace(/\/+$/, ""), token, pageSize, caFile };
}

function _readCa(path: string): string {
  let pem: string;
  try {
    pem = Deno.readTextFileSync(path);
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound ? "does not exist" : "cannot be read";
    throw plexError("CONFIG_INVALID", `--ca-file ${path} ${why}; give a PEM CA certificate file`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw plexError("CONFIG_INVALID", `--ca-file ${path} holds no PEM certificate`);
  }
  return pem;
}

async function _open(
  config: ImporterConfig,
  signal: AbortSignal,
  tuning: PlexHttpTuning,
): Promise<{ session: PlexSession; config: _Config }> {
  const c = _config(config);
  const caPem = c.caFile ? _readCa(c.caFile) : undefined;
  try {
    const session = await openPlexSession({
      ...tuning,
      baseUrl: c.baseUrl,
      token: c.token,
      caPem,
      signal,
    });
    return { session, config: c };
  } catch (error) {
    if ((error as { code?: unknown }).code) throw error;
    throw plexError(
      "CONFIG_INVALID",
      `--ca-file ${c.caFile} could not be used: ${(error as Error).message}`,
    );
  }
}

function _is404(error: unknown): boolean {
  return (error as PlexHttpError)?.status === 404;
}

function _sameTitle(a: unknown, wanted: string): boolean {
  return typeof a === "string" &&
    a.normalize("NFC").trim().toLowerCase() === wanted.normalize("NFC").trim().toLowerCase();
}

async function _validateConnection(
  config: ImporterConfig,
  context: CallContext,
  tuning: PlexHttpTuning,
): Promise<ConnectionInfo> {
  const { session, config: c } = await _open(config, context.signal, tuning);
  try {
    let identity;
    try {
      identity = await session.get("/identity");
    } catch (error) {
      if (!_is404(error)) throw error;
      throw plexError(
        "MALFORMED_RESPONSE",
        `${c.baseUrl} has no /identity; check --base-url points at a Plex Media Server ` +
          `(usually port 32400)`,
      );
    }
    if (typeof identity.machineIdentifier !== "string") {
      throw plexError(
        "MALFORMED_RESPONSE",
        `${c.baseUrl}/identity did not name a Plex server; check --base-url`,
      );
    }
    // /identity needs no token; the server root does, so a bad token fails here.
    const root = await session.get("/");
    const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
    return {
      serverName: str(root.friendlyName),
      version: str(root.version) ?? str(identity.version),
      serverId: identity.machineIdentifier,
    };
  } finally {
    session.close();
  }
}

async function _listCollections(
  config: ImporterConfig,
  context: CallContext,
  tuning: PlexHttpTuning,
): Promise<CollectionInfo[]> {
  const { session } = await _open(config, context.signal, tuning);
  try {
    const container = await session.get("/library/sections");
    if (!Array.isArray(container.Directory) && container.size !== 0) {
      throw plexError(
        "MALFORMED_RESPONSE",
        `Plex at ${session.baseUrl} listed no libraries (no Directory in /library/sections)`,
      );
    }
    const out: CollectionInfo[] = [];
    for (const dir of container.Directory ?? []) {
      const c = mapPlexSection(dir);
      if (c) out.push(c);
      else context.warn("Plex listed a library without a key; ignored");
    }
    return out;
  } finally {
    session.close();
  }
}

interface _ListOptions {
  session: PlexSession;
  path: string;
  query: Record<string, string | number>;
  pageSize: number;
  request: FetchRequest;
  label: string;
  /** Maps one page to assets (already deduplicated and filtered). */
  map(items: unknown[]): ImportedAsset[];
}

/** Reads a listing to the end, again if it changed underneath (see `readListing`). */
function _listing(o: _ListOptions): AsyncGenerator<ImportedAsset[]> {
  return readListing({
    server: "Plex",
    label: o.label,
    maxExtraPasses: MAX_EXTRA_PASSES,
    pass: (stats, ids) =>
      pagedListing(o.session, o.path, {
        query: o.query,
        pageSize: o.pageSize,
        stats,
        ids,
        label: o.label,
        onTotal: (n) => o.request.total?.(n),
      }),
    idOf: plexItemId,
    idName: "ratingKey",
    holdAll: () => o.request.unlisted?.(""),
    map: o.map,
    warn: (m) => o.request.warn(m),
  });
}

async function* _fetchAssets(
  config: ImporterConfig,
  request: FetchRequest,
  tuning: PlexHttpTuning,
): AsyncGenerator<ImportedAsset[]> {
  const { collection, filters } = request;
  if (collection.kind !== "movies" && collection.kind !== "shows") {
    throw plexError(
      "UNSUPPORTED",
      `Plex collection '${collection.name}' is a ${collection.kind} library; ` +
        `only movie and show libraries are imported`,
    );
  }
  const { session, config: c } = await _open(config, request.signal, tuning);
  const expected = collection.kind === "movies" ? "movie" : "episode";
  const map = pageMapper({
    mapItem: (raw) => mapPlexItem(raw, expected),
    isSkip: isPlexSkip,
    skipped: (item, reason) => request.skipped(item, reason),
    ...heldSkips(request, `Plex library '${collection.name}'`),
  });
  const sectionPath = `/library/sections/${encodeURIComponent(collection.externalId)}/all`;
  const label = `Plex library '${collection.name}'`;
  const base = { session, pageSize: c.pageSize, request };
  try {
    if (filters.title === undefined) {
      yield* _listing({
        ...base,
        path: sectionPath,
        query: { type: expected === "movie" ? 1 : 4, includeGuids: 1 },
        label,
        map: (items) => map(items),
      });
      return;
    }
    const title = filters.title;
    if (expected === "movie") {
      yield* _listing({
        ...base,
        path: sectionPath,
        query: { type: 1, includeGuids: 1, title },
        label,
        map: (items) => map(items, (a) => _sameTitle(a.title, title)),
      });
      return;
    }
    const shows: { ratingKey: string; title: string }[] = [];
    for await (
      const page of pagedListing(session, sectionPath, {
        query: { type: 2, title },
        pageSize: c.pageSize,
      })
    ) {
      for (const raw of page) {
        const s = raw as { ratingKey?: unknown; title?: unknown; type?: unknown };
        if (s.type === "show" && typeof s.ratingKey === "string" && _sameTitle(s.title, title)) {
          shows.push({ ratingKey: s.ratingKey, title: String(s.title) });
        }
      }
    }
    if (shows.length > 1) {
      request.warn(
        `'${title}' matches ${shows.length} shows in ${label} (ratingKeys ${
          shows.map((s) => s.ratingKey).join(", ")
        }); ingesting all of them`,
      );
    }
    const keep = (a: ImportedAsset) =>
      (filters.season === undefined || a.season === filters.season) &&
      (filters.episode === undefined || a.episode === filters.episode);
    for (const show of shows) {
      try {
        yield* _listing({
          ...base,
          path: `/library/metadata/${encodeURIComponent(show.ratingKey)}/allLeaves`,
          query: { includeGuids: 1 },
          label: `show '${show.title}'`,
          map: (items) => map(items, keep),
        });
      } catch (error) {
        if (!_is404(error)) throw error;
        request.warn(`show '${show.title}' disappeared from Plex while it was read; skipped`);
      }
    }
  } catch (error) {
    if (!_is404(error)) throw error;
    throw plexError(
      "COLLECTION_NOT_FOUND",
      `${label} (section ${collection.externalId}) no longer exists on ${c.baseUrl}; ` +
        `run discovery again to refresh this source's collections`,
    );
  } finally {
    session.close();
  }
}

/**
 * Builds the Plex importer. The default export uses production tuning; tests
 * pass shorter timeouts and backoffs.
 */
export function createPlexImporter(tuning: PlexHttpTuning = {}): Importer {
  return {
    typeId: "plex",
    displayName: "Plex Media Server",
    description: "Imports movie and show libraries from a Plex Media Server over its HTTP API. " +
      "The token is sent only in the X-Plex-Token header. Each source identifies itself " +
      "to Plex with a stable X-Plex-Client-Identifier derived from a hash of its base URL.",
    version: PLEX_IMPORTER_VERSION,
    params: [
      {
        name: "base_url",
        flag: "--base-url",
        kind: "url",
        required: true,
        grants: "net",
        description: "Plex server URL, e.g. http://192.168.1.10:32400",
      },
      {
        name: "token",
        flag: "--token",
        kind: "string",
        required: true,
        secret: true,
        description: "X-Plex-Token of an account that can see the libraries",
      },
      {
        name: "verify_ssl",
        flag: "--verify-ssl",
        kind: "boolean",
        default: true,
        verifiesTls: true,
        description: "Verify the server's TLS certificate (false: accept any, for this host only)",
      },
      {
        name: "ca_file",
        flag: "--ca-file",
        kind: "path",
        grants: "read",
        description: "PEM file with the CA certificate that signed the server's certificate",
      },
      {
        name: "page_size",
        flag: "--page-size",
        kind: "integer",
        default: DEFAULT_PAGE_SIZE,
        min: 1,
        max: 10_000,
        description: "Items per listing request",
      },
    ],
    capabilities: { filters: { movies: ["title"], shows: ["title", "season", "episode"] } },
    validateConnection: (config, context) => _validateConnection(config, context, tuning),
    listCollections: (config, context) => _listCollections(config, context, tuning),
    fetchAssets: (config, request) => _fetchAssets(config, request, tuning),
  };
}

/** The Plex importer. */
const plex: Importer = createPlexImporter();
export default plex;
