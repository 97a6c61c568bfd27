/**
 * The importer contract: everything a plugin author needs, in one file, types only.
 *
 * An importer is an ES module whose **default export** is an {@link Importer}.
 * RetroVue loads it inside a Web Worker whose Deno permissions the host derives
 * from the operator's validated config (see {@link ParamSpec.grants}); the
 * module never grants itself anything. Import from this file with
 * `import type` only: nothing here exists at run time.
 *
 * A plugin imports it as `@retrovue/contract` (its folder's `deno.json` maps
 * that name to this file; see `importer new`):
 *
 * ```ts
 * import type { Importer } from "./contract.ts"; // in a plugin: "@retrovue/contract"
 *
 * export default {
 *   typeId: "example",
 *   displayName: "Example",
 *   params: [{
 *     name: "base_url",
 *     flag: "--base-url",
 *     kind: "url",
 *     required: true,
 *     grants: "net",
 *     description: "Server URL",
 *   }],
 *   capabilities: { filters: { movies: ["title"], shows: ["title", "season", "episode"] } },
 *   validateConnection: (config) => Promise.resolve({ serverName: String(config.base_url) }),
 *   listCollections: () => Promise.resolve([]),
 *   async *fetchAssets() {},
 * } satisfies Importer;
 * ```
 *
 * @module
 */

import type { TechnicalMetadata } from "./enricher_contract.ts";

/**
 * Technical fields (container, bitrate, video, audio and subtitle streams),
 * the same shape an enricher returns; defined in `enricher_contract.ts` and
 * re-exported here so an importer author reads one file.
 */
export type {
  AudioTech,
  HdrFormat,
  SubtitleTech,
  TechnicalMetadata,
  VideoTech,
} from "./enricher_contract.ts";

/** What kind of value a parameter holds; the host validates and normalises it. */
export type ParamKind = "string" | "url" | "path" | "integer" | "boolean";

/**
 * What a parameter lets the sandbox reach.
 * - `"net"`: the `host:port` of this URL becomes the worker's only network access.
 * - `"read"`: the real (absolute, symlink-resolved) path becomes readable by the worker.
 */
export type Grant = "net" | "read";

/**
 * One operator-facing parameter of an importer type, shown by `source add --type T --help`.
 *
 * @example A server URL, a secret token and a bounded page size
 * ```ts
 * import type { ParamSpec } from "./contract.ts";
 *
 * const params: ParamSpec[] = [
 *   {
 *     name: "base_url",
 *     flag: "--base-url",
 *     kind: "url",
 *     required: true,
 *     grants: "net", // the sandbox may connect to this host:port, nothing else
 *     description: "Server URL, e.g. http://127.0.0.1:8096",
 *   },
 *   {
 *     name: "token",
 *     flag: "--token",
 *     kind: "string",
 *     required: true,
 *     secret: true, // shown as *** and scrubbed from every message
 *     description: "API token",
 *   },
 *   {
 *     name: "page_size",
 *     flag: "--page-size",
 *     kind: "integer",
 *     default: 100,
 *     min: 1,
 *     max: 500,
 *     description: "Items per request",
 *   },
 * ];
 * ```
 */
export interface ParamSpec {
  /** Key in the config object the importer receives, `snake_case` (e.g. `base_url`). */
  name: string;
  /** Command-line flag, `--kebab-case` (e.g. `--base-url`). */
  flag: string;
  /** Value kind; the host parses and checks it before any importer code runs. */
  kind: ParamKind;
  /** One line for `--help`. */
  description: string;
  /** Must the operator give it? Defaults to false. */
  required?: boolean;
  /** The value used when the operator gives none. */
  default?: string | number | boolean;
  /** The flag may be repeated; the config value is then an array. */
  multiple?: boolean;
  /**
   * The value may be written `NAME=VALUE` (e.g. `--root "Cartoons=/media/toons"`).
   * The host checks and grants only the part after the first `=`, and only
   * when the part before it contains no `/`.
   */
  named?: boolean;
  /** A credential: never printed, logged or returned in `--json` (shown as `***`). */
  secret?: boolean;
  /**
   * What this value lets the sandbox reach; see {@link Grant}. A param with
   * `grants` may not have a `default` (the manifest is refused): the operator
   * types every path or host the sandbox may reach.
   */
  grants?: Grant;
  /**
   * For a `boolean` param: it switches TLS certificate verification for this
   * source's `net` hosts (true: verify, the safe default; false: accept any
   * certificate from those hosts only, e.g. a self-signed home server).
   */
  verifiesTls?: boolean;
  /** For `integer`: the smallest allowed value. */
  min?: number;
  /** For `integer`: the largest allowed value. */
  max?: number;
}

/** A config value after host validation. Paths are absolute; URLs are normalised. */
export type ConfigValue = string | number | boolean | string[];

/** The validated config of one source, keyed by {@link ParamSpec.name}. */
export type ImporterConfig = Record<string, ConfigValue>;

/** A filter an importer can push down to its upstream. */
export type FilterName = "title" | "season" | "episode";

/** Kinds of collection a source may expose. */
export type CollectionKind = "movies" | "shows" | "mixed" | "other";

/**
 * What an importer can do; the host filters whatever is not pushed down.
 *
 * @example Titles for movies; title, season and episode for shows
 * ```ts
 * import type { Capabilities } from "./contract.ts";
 *
 * const capabilities: Capabilities = {
 *   filters: { movies: ["title"], shows: ["title", "season", "episode"] },
 * };
 * ```
 */
export interface Capabilities {
  /** Filters pushed down, per collection kind. A missing kind means none. */
  filters: Partial<Record<CollectionKind, FilterName[]>>;
}

/** What `validateConnection` learned about the upstream (all optional, printable). */
export interface ConnectionInfo {
  /** Human name of the server or root. */
  serverName?: string;
  /** Upstream software version. */
  version?: string;
  /** Upstream's own stable identifier. */
  serverId?: string;
}

/**
 * A library or folder an importer exposes, as returned by `listCollections`.
 *
 * @example
 * ```ts
 * import type { CollectionInfo } from "./contract.ts";
 *
 * const collections: CollectionInfo[] = [
 *   { externalId: "1", name: "TV Shows", kind: "shows", locations: ["/data/tv"] },
 *   { externalId: "2", name: "Music", kind: "other", ingestible: false, reason: "music" },
 * ];
 * ```
 */
export interface CollectionInfo {
  /** Stable id within the source (e.g. a Plex section key or a root path). */
  externalId: string;
  /** Human name, refreshed on every discovery. */
  name: string;
  /** What it holds. */
  kind: CollectionKind;
  /** Upstream folder locations, so operators can write path mappings. */
  locations?: string[];
  /** False when RetroVue cannot ingest it (e.g. a music library). Defaults to true. */
  ingestible?: boolean;
  /** Why it is not ingestible. */
  reason?: string;
}

/** Which collection `fetchAssets` should read. */
export interface CollectionRef {
  /** {@link CollectionInfo.externalId}. */
  externalId: string;
  /** {@link CollectionInfo.kind} as recorded at discovery. */
  kind: CollectionKind;
  /** {@link CollectionInfo.name} as recorded at discovery. */
  name: string;
}

/**
 * A targeted scope. `season` is only given with `title`, `episode` only with
 * `season`. Titles match case-insensitively and exactly.
 */
export interface AssetFilters {
  /** Series title (shows) or movie title (movies). */
  title?: string;
  /** Season number; 0 is specials. */
  season?: number;
  /** Episode number. */
  episode?: number;
}

/**
 * One playable item, as the importer reports it. The host validates every
 * field; an invalid asset is reported by `externalId` and skipped.
 *
 * @example An episode from a server listing
 * ```ts
 * import type { ImportedAsset } from "./contract.ts";
 *
 * const episode: ImportedAsset = {
 *   externalId: "4711",
 *   kind: "episode",
 *   title: "Pilot",
 *   seriesTitle: "Alpha",
 *   season: 1,
 *   episode: 1,
 *   durationMs: 1_320_000,
 *   externalIds: { tvdb: "123456" },
 *   path: "/data/tv/Alpha/Season 01/Alpha - S01E01.mkv",
 *   size: 734_003_200,
 *   modified: "1700000000",
 * };
 * ```
 */
export interface ImportedAsset {
  /** Stable id within the collection: survives restarts, rescans and metadata refreshes. */
  externalId: string;
  /** Movie or episode. */
  kind: "movie" | "episode";
  /** Movie title, or the episode's own title (may be empty for episodes). */
  title: string;
  /** Show title (episodes). */
  seriesTitle?: string | null;
  /** Season number (episodes); 0 is specials. */
  season?: number | null;
  /** Episode number (episodes). */
  episode?: number | null;
  /** Last episode of a multi-episode file. */
  episodeEnd?: number | null;
  /** Release year. */
  year?: number | null;
  /** Air date for daily shows, `YYYY-MM-DD`. */
  airDate?: string | null;
  /** Duration in milliseconds. */
  durationMs?: number | null;
  /** Provider ids, lower-case keys: `imdb`, `tmdb`, `tvdb`, … */
  externalIds?: Record<string, string>;
  /** The file path as the upstream sees it (first part of a multi-part item). */
  path?: string | null;
  /** Every part's path, in order, for multi-part items. */
  parts?: string[];
  /** Total size in bytes. */
  size?: number | null;
  /** Upstream change marker (an mtime, `updatedAt`, an ETag…), opaque to the host. */
  modified?: string | null;
  /**
   * Technical fields the upstream listing already carries (Plex `Media`,
   * Jellyfin `MediaStreams`); never fetch per item to fill them. With a
   * `durationMs` as well, the asset needs no enricher (no probe).
   */
  tech?: TechnicalMetadata | null;
}

/** Per-call context every operation receives. */
export interface CallContext {
  /** Aborted when the host cancels the call or its deadline passes. */
  signal: AbortSignal;
  /** Reports something the operator should see in the command's result (one line). */
  warn(message: string): void;
  /**
   * Reports an upstream item deliberately not imported (a sample file, an
   * extras folder, a symlink leaving the root…); the host counts these by reason.
   */
  skipped(item: string, reason: string): void;
  /**
   * Tells the host how many assets this call will yield in all, when the
   * upstream says (Plex's `totalSize`, Jellyfin's `TotalRecordCount`), so the
   * operator sees a total and an estimated time left. A hint only: the host
   * never trusts it for anything else. Always provided by the host; optional
   * here so a context built by hand (in a plugin's own tests) may leave it out.
   */
  total?(count: number): void;
  /**
   * Says the listing could not read everything under `prefix` (an
   * external-id prefix: a folder's `Show/Season 02/`), so the host keeps the
   * collection's stored assets under it as they are: a full ingest neither
   * removes nor updates them, as for an asset named by an invalid item. With
   * `{ exact: true }`, `prefix` is one whole external id and only its asset is
   * kept (an item listed with its id but unreadable otherwise; as a prefix,
   * Plex's `ratingKey` "12" would also keep "123"). Call it for what exists
   * but could not be read (an unreadable folder, an I/O error, a malformed
   * item), never for what is gone; also `warn` (or report it `skipped`) so
   * the operator sees why. Optional: a host that predates it, or a context
   * built by hand, may leave it out (call it as `request.unlisted?.(…)`).
   */
  unlisted?(prefix: string, options?: UnlistedOptions): void;
}

/** Options for {@link CallContext.unlisted}. */
export interface UnlistedOptions {
  /** `prefix` is one whole external id, not a prefix. Default false. */
  exact?: boolean;
}

/**
 * The request `fetchAssets` receives.
 *
 * @example One built by hand, as a plugin's own test calls its module
 * ```ts
 * import type { FetchRequest } from "./contract.ts";
 *
 * const request: FetchRequest = {
 *   signal: AbortSignal.timeout(10_000),
 *   warn: (message) => console.warn(message),
 *   skipped: (item, reason) => console.log(`skipped ${item}: ${reason}`),
 *   collection: { externalId: "1", kind: "shows", name: "TV Shows" },
 *   filters: { title: "Alpha", season: 1 },
 * };
 * ```
 */
export interface FetchRequest extends CallContext {
  /** The collection to read. */
  collection: CollectionRef;
  /** The targeted scope; empty for a full ingest. */
  filters: AssetFilters;
}

/**
 * What to throw. Any thrown value whose `code` is one of these crosses the
 * worker boundary with its code, message and `retryable` flag intact:
 * `throw Object.assign(new Error("token rejected"), { code: "AUTH_FAILED" })`.
 *
 * @example One helper that throws them
 * ```ts
 * import type { ImporterErrorCode } from "./contract.ts";
 *
 * function fail(code: ImporterErrorCode, message: string): never {
 *   throw Object.assign(new Error(message), { code, retryable: code === "UNREACHABLE" });
 * }
 *
 * const response = await fetch("http://127.0.0.1:8096/System/Info");
 * if (response.status === 401) fail("AUTH_FAILED", "the token was refused");
 * ```
 */
export type ImporterErrorCode =
  | "AUTH_FAILED"
  | "UNREACHABLE"
  | "MALFORMED_RESPONSE"
  | "COLLECTION_NOT_FOUND"
  | "CONFIG_INVALID"
  | "UNSUPPORTED";

/** The shape of a typed error an importer throws. */
export interface ImporterErrorShape extends Error {
  /** Stable code. */
  code: ImporterErrorCode;
  /** Whether trying again later may help (e.g. a timeout). */
  retryable?: boolean;
}

/**
 * An importer type: the default export of a plugin module.
 *
 * `fetchAssets` yields assets one by one or in arrays (a page at a time); the
 * runtime batches them across the worker boundary with back-pressure. Yield
 * in a stable order: the same upstream state must give the same output. Its
 * deadline is the time between two batches: through a long stretch with no
 * asset to give (a slow page of skipped items), yield an empty array now and
 * then, which tells the host the listing is alive.
 *
 * @example A complete importer over a fixed list, with a pushed-down title filter
 * ```ts
 * import type { ImportedAsset, Importer } from "./contract.ts";
 *
 * export default {
 *   typeId: "fixed-list",
 *   displayName: "Fixed list (example)",
 *   params: [],
 *   capabilities: { filters: { movies: ["title"] } },
 *   validateConnection: () => Promise.resolve({ serverName: "fixed list" }),
 *   listCollections: () =>
 *     Promise.resolve([{ externalId: "movies", name: "Movies", kind: "movies" as const }]),
 *   async *fetchAssets(_config, request) {
 *     if (request.collection.externalId !== "movies") {
 *       throw Object.assign(new Error("no such collection"), { code: "COLLECTION_NOT_FOUND" });
 *     }
 *     const movies: ImportedAsset[] = [
 *       { externalId: "m1", kind: "movie", title: "First Movie", year: 1999 },
 *       { externalId: "m2", kind: "movie", title: "Second Movie", year: 2001 },
 *     ];
 *     const title = request.filters.title?.toLowerCase();
 *     yield movies.filter((m) => title === undefined || m.title.toLowerCase() === title);
 *   },
 * } satisfies Importer;
 * ```
 */
export interface Importer<C extends ImporterConfig = ImporterConfig> {
  /** Unique type id, `[a-z][a-z0-9_-]*` (e.g. `plex`). */
  typeId: string;
  /** Human name (e.g. `Plex Media Server`). */
  displayName: string;
  /** One paragraph for `source add --type T --help`. */
  description?: string;
  /** The importer's own version. */
  version?: string;
  /** Operator parameters. */
  params: ParamSpec[];
  /** Filters it can push down. */
  capabilities: Capabilities;
  /** Checks reachability and credentials; throws a typed error when they fail. */
  validateConnection(config: C, context: CallContext): Promise<ConnectionInfo>;
  /** Lists the libraries or folders this source exposes. */
  listCollections(config: C, context: CallContext): Promise<CollectionInfo[]>;
  /** Streams the assets of one collection, narrowed by the request's filters. */
  fetchAssets(
    config: C,
    request: FetchRequest,
  ): AsyncIterable<ImportedAsset | ImportedAsset[]>;
}
