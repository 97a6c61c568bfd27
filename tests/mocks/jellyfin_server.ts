/**
 * A Jellyfin-compatible (and Emby-compatible) mock for tests and benchmarks.
 *
 * Shapes follow the official Jellyfin OpenAPI documents (10.8.13 and 10.11.11,
 * in `../shared/reference/jellyfin/`) and the real `BaseItemDto` capture next
 * to them: `BaseItemDtoQueryResult{Items, TotalRecordCount, StartIndex}`,
 * PascalCase properties, 32-hex ids, `RunTimeTicks` in 100 ns units, ISO dates
 * with 7 fractional digits, and the optional properties (`Path`,
 * `MediaSources`, `ProviderIds`, `DateCreated`, `Etag`, `SortName`,
 * `ParentId`) only when asked for with `fields=`.
 *
 * Versions differ as the specs do:
 * - `10.8.13`: `/Users/{userId}/Views` and `/Users/{userId}/Items` (and
 *   `/Items`, which 10.8 also has); no `/UserViews`; unknown `sortBy` values
 *   are ignored (a plain string in 10.8).
 * - `10.10.7`, `10.11.11`: `/UserViews` and `/Items` only; `sortBy` and item
 *   types are enums (an unknown value is a 400 `ProblemDetails`); `/Items`
 *   takes `indexNumber`.
 * - `10.11.11` and later: `/Items` with a `parentId`, without `userId`, called
 *   with the API key, lists no episodes: a valid page whose
 *   `TotalRecordCount` leaves them out too (jellyfin/jellyfin#15107, open; a
 *   user token, or a `userId`, gets every episode). The report is about a
 *   season as the parent; the mock applies it to any parent.
 * - `12.0.0`: as 10.11, with legacy authorization off (only
 *   `Authorization: MediaBrowser Token="…"` and `?ApiKey=` are read; the
 *   `X-Emby-Token`, `X-MediaBrowser-Token`, `X-Emby-Authorization` headers,
 *   the `Emby` scheme and `?api_key=` are a 401).
 * - flavor `emby` (default version `4.8.10.0`): every route also under an
 *   `/emby` prefix; `X-Emby-Token`, `X-Emby-Authorization` (scheme `Emby` or
 *   `MediaBrowser`) and `api_key`; `/Users/{id}/Views` and `/Users/{id}/Items`;
 *   numeric item ids; no `ProductName` in `/System/Info/Public`; no
 *   `/Users/Me`; a plain-text 401 body.
 *
 * Auth: the admin API key (no user: `/Users/Me` answers 400 as Jellyfin does
 * for API keys) and one access token per user (refused for a disabled user). A bad or missing key is a 401
 * with an empty body (Jellyfin); `/Library/VirtualFolders` is 403 for a
 * non-admin user. Query parameter names are case-insensitive (ASP.NET model
 * binding), list values are comma-delimited.
 *
 * Faults ({@link JellyfinFault}) are switched at run time; every request is
 * logged. {@link JfNode.dtoPatch} makes one item malformed or unfamiliar (a
 * field of the wrong type, a missing `Id`, fields no version has). Run as a program to serve a generated library from another process
 * (the benchmark does): `deno run --allow-net=127.0.0.1
 * tests/mocks/jellyfin_server.ts --episodes 100000` prints one JSON line
 * `{"url","apiKey"}`; `GET /__mock/requests` then answers the request count.
 *
 * @module
 */

import {
  type CommonFault,
  droppedResponse,
  type FaultMatch,
  logRequest,
  type MockLog,
  type MockRequest,
  newMockLog,
  serveMock,
  sleepUnlessClosed,
  takeFault,
} from "./_mock_http.ts";

/** Which requests a fault applies to (the path is matched case-insensitively). */
export type JfFaultMatch = FaultMatch;
/** One logged request. */
export type JfRequest = MockRequest;

/** Server versions the mock can play (any string is accepted for Emby). */
export type JellyfinMockVersion = "10.8.13" | "10.10.7" | "10.11.11" | "12.0.0";

/** Which server software the mock plays. */
export type JellyfinMockFlavor = "jellyfin" | "emby";

/** A movie to generate. */
export interface JfMovieSpec {
  /** Title. */
  name: string;
  /** Year. */
  year?: number;
  /** Number of versions (`MediaSources[]`); default 1. */
  versions?: number;
  /** Leave out `Etag` (a server or proxy that strips it). */
  noEtag?: boolean;
  /** Leave out `Path` (only `MediaSources[].Path` carries it). */
  noPath?: boolean;
  /**
   * Files the movie is stacked into (`… - cd1.mkv`, `… - cd2.mkv`); default 1.
   * The listing gives the first, with `PartCount`; `/Videos/{id}/AdditionalParts`
   * the others.
   */
  parts?: number;
}

/** A series to generate: episodes per season number (0 = Specials). */
export interface JfSeriesSpec {
  /** Series name. */
  name: string;
  /** First-air year. */
  year?: number;
  /** Season number → episode count (files). */
  seasons: Record<number, number>;
  /** Every n-th episode file of a season is a double episode (`IndexNumberEnd`). */
  doubleEvery?: number;
  /** After every n-th episode of a season, a `Virtual` missing-episode placeholder. */
  missingEvery?: number;
}

/** A library to generate. */
export interface JfLibrarySpec {
  /** Library name. */
  name: string;
  /** Jellyfin `CollectionType`. */
  collectionType: "movies" | "tvshows" | "music" | "homevideos" | "books" | "mixed";
  /** Folder locations; default `/media/<name>`. */
  locations?: string[];
  /** A count of generated movies, or explicit ones. */
  movies?: number | JfMovieSpec[];
  /** A count of generated series, or explicit ones. */
  series?: number | JfSeriesSpec[];
  /** For a series count: seasons per series, numbered from 1. Default 2. */
  seasonsPerSeries?: number;
  /** For a series count: episodes per season. Default 10. */
  episodesPerSeason?: number;
  /** For a series count: specials (season 0) per series. Default 0. */
  specialsPerSeries?: number;
  /** For a series count: see {@link JfSeriesSpec.doubleEvery}. */
  doubleEvery?: number;
  /** For a series count: see {@link JfSeriesSpec.missingEvery}. */
  missingEvery?: number;
  /** For a movie count: every n-th movie has two versions. */
  versionsEvery?: number;
}

/** One stored item (library, movie, series, season, episode). */
export interface JfNode {
  /** Item id (32 hex for Jellyfin, numeric for Emby). */
  id: string;
  /** `Type`. */
  type: "CollectionFolder" | "Movie" | "Series" | "Season" | "Episode";
  /** `Name`. */
  name: string;
  /** Library id this item belongs to (its own id for a library). */
  libraryId: string;
  /** Parent item id (library for movies and series, series for seasons, season for episodes). */
  parentId: string;
  /** Insertion order (the tie-breaker of every sort). */
  order: number;
  /** `ProductionYear`. */
  year?: number;
  /** `IndexNumber` (season or episode number). */
  index?: number;
  /** `IndexNumberEnd`. */
  indexEnd?: number;
  /** `ParentIndexNumber` (episodes: season number). */
  parentIndex?: number;
  /** Series id (seasons, episodes). */
  seriesId?: string;
  /** Season id (episodes). */
  seasonId?: string;
  /** `RunTimeTicks`. */
  ticks?: number;
  /** File path (`Path`), absent for folders of virtual items. */
  path?: string;
  /** Extra versions' paths (`MediaSources[1..]`). */
  versions?: string[];
  /** File size. */
  size?: number;
  /** `ProviderIds`. */
  providerIds: Record<string, string>;
  /** `DateCreated` (ISO, 7 decimals). */
  created: string;
  /** `PremiereDate`. */
  premiere?: string;
  /** `Etag`; undefined means the server leaves it out. */
  etag?: string;
  /** Leave `Path` out of the DTO. */
  noPath?: boolean;
  /** `LocationType`. */
  locationType: "FileSystem" | "Virtual";
  /** Library only: `CollectionType`. */
  collectionType?: string;
  /** Library only: folder locations. */
  locations?: string[];
  /**
   * Applied to the rendered `BaseItemDto` last, for tests of upstream items
   * of an unexpected shape: each key replaces the field, `undefined` removes
   * it.
   */
  dtoPatch?: Record<string, unknown>;
  /** A stacked video's other files, in order (`/Videos/{id}/AdditionalParts`). */
  additionalParts?: JfNode[];
}

/** A user of the mock server. */
export interface JfUser {
  /** 32-hex id. */
  id: string;
  /** User name. */
  name: string;
  /** `Policy.IsAdministrator`. */
  admin: boolean;
  /** `Policy.IsDisabled`: listed in `/Users`, its token refused. */
  disabled: boolean;
  /** This user's access token. */
  token: string;
}

/** A fault the mock can inject. */
export type JellyfinFault = FaultMatch & CommonFault;

/** Options for {@link startJellyfinMock}. */
export interface JellyfinMockOptions {
  /** Jellyfin version to play (default `10.11.11`), or the Emby version string. */
  version?: JellyfinMockVersion | string;
  /** Jellyfin (default) or Emby. */
  flavor?: JellyfinMockFlavor;
  /** The admin API key. Default `mock-jf-key-<uuid>`. */
  apiKey?: string;
  /** Users; default an administrator `admin` and a non-admin `viewer`. */
  users?: { name: string; admin: boolean; disabled?: boolean }[];
  /** Libraries; default a small movie and a small TV library and a music library. */
  libraries?: JfLibrarySpec[];
  /** Accept legacy auth forms (`X-Emby-Token`, `api_key`…); default true before 12.0. */
  legacyAuth?: boolean;
  /**
   * List no episodes for the API key's `/Items?parentId=…` without `userId`
   * (jellyfin/jellyfin#15107); default true for Jellyfin 10.11 and later.
   */
  apiKeyHidesEpisodes?: boolean;
  /** Server name. */
  serverName?: string;
  /** TLS certificate and key (PEM) to serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Keep at most this many request records (the count keeps going). Default 10 000. */
  maxLog?: number;
}

/** A running mock. */
export interface JellyfinMock {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The admin API key. */
  apiKey: string;
  /** Server id (32 hex). */
  serverId: string;
  /** The version it reports. */
  version: string;
  /** Its flavor. */
  flavor: JellyfinMockFlavor;
  /** Users (with their tokens). */
  users: JfUser[];
  /** Every stored item, libraries first; tests may mutate it (see {@link JellyfinMock.changed}). */
  nodes: JfNode[];
  /** Call after mutating {@link JellyfinMock.nodes} to drop cached query results. */
  changed(): void;
  /** The request log (most recent {@link JellyfinMockOptions.maxLog}). */
  requests: JfRequest[];
  /** Requests answered since start or the last {@link JellyfinMock.resetRequests}. */
  requestCount(): number;
  /** Clears the log and the count. */
  resetRequests(): void;
  /** Replaces the active faults (none when called without arguments). */
  setFault(...faults: JellyfinFault[]): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** Default version per flavor. */
export const DEFAULT_MOCK_VERSIONS: Record<JellyfinMockFlavor, string> = {
  jellyfin: "10.11.11",
  emby: "4.8.10.0",
};

const TICKS_PER_MS = 10_000;
const BASE_DATE = Date.UTC(2022, 11, 28, 18, 36, 20);

function _hex32(n: number, salt: number): string {
  let out = "";
  let x = (n * 2654435761 + salt * 40503) >>> 0;
  while (out.length < 32) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out += x.toString(16).padStart(8, "0");
  }
  return out;
}

function _iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
}

/** Jellyfin-like sort name: lower case, leading article dropped, digit runs padded to 10. */
export function sortNameOf(name: string): string {
  return name.toLowerCase().replace(/^(the|a|an) /, "").replace(
    /\d+/g,
    (d) => d.padStart(10, "0"),
  );
}

interface _Ids {
  next(): string;
}

function _ids(flavor: JellyfinMockFlavor, salt: number, first: number): _Ids {
  let n = first;
  return {
    next: () => {
      n++;
      return flavor === "emby" ? String(n) : _hex32(n, salt);
    },
  };
}

/** Builds the stored items of some libraries. */
export function buildLibraries(
  specs: readonly JfLibrarySpec[],
  options: { flavor?: JellyfinMockFlavor; salt?: number; firstOrder?: number; firstId?: number } =
    {},
): JfNode[] {
  const ids = _ids(options.flavor ?? "jellyfin", options.salt ?? 1, options.firstId ?? 1000);
  const nodes: JfNode[] = [];
  let order = options.firstOrder ?? 0;
  const add = (node: Omit<JfNode, "order">): JfNode => {
    const full = { ...node, order: order++ } as JfNode;
    nodes.push(full);
    return full;
  };
  for (const spec of specs) {
    const locations = spec.locations ?? [`/media/${spec.name}`];
    const lib = add({
      id: ids.next(),
      type: "CollectionFolder",
      name: spec.name,
      libraryId: "",
      parentId: "",
      providerIds: {},
      created: _iso(BASE_DATE),
      locationType: "FileSystem",
      collectionType: spec.collectionType,
      locations,
      path: locations[0],
      etag: _hex32(order, 7),
    });
    lib.libraryId = lib.id;
    if (spec.movies !== undefined) {
      const movies: JfMovieSpec[] = typeof spec.movies === "number"
        ? Array.from({ length: spec.movies }, (_, m) => ({
          name: `Movie ${String(m + 1).padStart(6, "0")}`,
          versions: spec.versionsEvery && (m + 1) % spec.versionsEvery === 0 ? 2 : 1,
        }))
        : spec.movies;
      for (const m of movies) addMovie(add, ids, lib, m);
    }
    if (spec.series !== undefined) {
      const series: JfSeriesSpec[] = typeof spec.series === "number"
        ? Array.from({ length: spec.series }, (_, s) => {
          const seasons: Record<number, number> = {};
          if (spec.specialsPerSeries) seasons[0] = spec.specialsPerSeries;
          for (let k = 1; k <= (spec.seasonsPerSeries ?? 2); k++) {
            seasons[k] = spec.episodesPerSeason ?? 10;
          }
          return {
            name: `Series ${String(s + 1).padStart(5, "0")}`,
            seasons,
            doubleEvery: spec.doubleEvery,
            missingEvery: spec.missingEvery,
          };
        })
        : spec.series;
      for (const s of series) addSeries(add, ids, lib, s);
    }
  }
  return nodes;
}

type _Add = (node: Omit<JfNode, "order">) => JfNode;

function addMovie(add: _Add, ids: _Ids, lib: JfNode, m: JfMovieSpec): JfNode {
  const id = ids.next();
  const n = parseInt(id.slice(-6), 16) || Number(id);
  const year = m.year ?? 1950 + (n % 70);
  const folder = `${lib.locations![0]}/${m.name} (${year})`;
  const versions = m.versions ?? 1;
  const stacked = m.parts ?? 1;
  const paths = Array.from(
    { length: versions },
    (_, v) =>
      `${folder}/${m.name} (${year}) - ${stacked > 1 ? "cd1" : v === 0 ? "1080p" : "720p"}.mkv`,
  );
  const ticks = (5_400_000 + (n % 100) * 1000) * TICKS_PER_MS;
  const additionalParts = Array.from({ length: stacked - 1 }, (_, k): JfNode => ({
    id: `${id.slice(0, -2)}${String(50 + k).padStart(2, "0")}`,
    type: "Movie",
    name: m.name,
    libraryId: lib.id,
    parentId: lib.id,
    order: 0,
    year,
    ticks: ticks + (k + 1) * 1000 * TICKS_PER_MS,
    path: `${folder}/${m.name} (${year}) - cd${k + 2}.mkv`,
    size: 600_000_000 + k,
    providerIds: {},
    created: _iso(BASE_DATE + n * 1000),
    locationType: "FileSystem",
  }));
  return add({
    id,
    type: "Movie",
    name: m.name,
    libraryId: lib.id,
    parentId: lib.id,
    year,
    ticks,
    path: paths[0],
    versions: paths.slice(1),
    ...(additionalParts.length ? { additionalParts } : {}),
    size: 700_000_000 + (n % 1000),
    providerIds: { Imdb: `tt${String(n % 10_000_000).padStart(7, "0")}`, Tmdb: String(n % 1e6) },
    created: _iso(BASE_DATE + n * 1000),
    premiere: _iso(Date.UTC(year, 5, 15)),
    etag: m.noEtag ? undefined : _hex32(n, 3),
    noPath: m.noPath,
    locationType: "FileSystem",
  });
}

function addSeries(add: _Add, ids: _Ids, lib: JfNode, s: JfSeriesSpec): void {
  const root = `${lib.locations![0]}/${s.name}`;
  const year = s.year ?? 2000 + (s.name.length % 20);
  const series = add({
    id: ids.next(),
    type: "Series",
    name: s.name,
    libraryId: lib.id,
    parentId: lib.id,
    year,
    path: root,
    providerIds: { Tvdb: String(70_000 + s.name.length) },
    created: _iso(BASE_DATE),
    etag: _hex32(s.name.length, 5),
    locationType: "FileSystem",
  });
  const numbers = Object.keys(s.seasons).map(Number).sort((a, b) => a - b);
  for (const sn of numbers) {
    const folder = sn === 0 ? "Specials" : `Season ${String(sn).padStart(2, "0")}`;
    const season = add({
      id: ids.next(),
      type: "Season",
      name: sn === 0 ? "Specials" : `Season ${sn}`,
      libraryId: lib.id,
      parentId: series.id,
      seriesId: series.id,
      index: sn,
      year,
      path: `${root}/${folder}`,
      providerIds: {},
      created: _iso(BASE_DATE),
      etag: _hex32(sn, 6),
      locationType: "FileSystem",
    });
    let e = 1;
    for (let file = 1; file <= s.seasons[sn]; file++) {
      const id = ids.next();
      const n = parseInt(id.slice(-6), 16) || Number(id);
      const double = s.doubleEvery !== undefined && file % s.doubleEvery === 0;
      const end = double ? e + 1 : undefined;
      const code = `S${String(sn).padStart(2, "0")}E${String(e).padStart(2, "0")}` +
        (end ? `-E${String(end).padStart(2, "0")}` : "");
      add({
        id,
        type: "Episode",
        name: `Episode ${e}`,
        libraryId: lib.id,
        parentId: season.id,
        seriesId: series.id,
        seasonId: season.id,
        index: e,
        indexEnd: end,
        parentIndex: sn,
        year,
        ticks: (1_320_000 + (n % 60) * 1000) * TICKS_PER_MS,
        path: `${root}/${folder}/${s.name} - ${code} - Episode ${e}.mkv`,
        size: 400_000_000 + (n % 1000),
        providerIds: { Tvdb: String(100_000 + (n % 1e6)), Imdb: `tt${String(n % 1e8)}` },
        created: _iso(BASE_DATE + n * 1000),
        premiere: _iso(Date.UTC(year, 0, 1 + e)),
        etag: _hex32(n, 4),
        locationType: "FileSystem",
      });
      e = (end ?? e) + 1;
      if (s.missingEvery && file % s.missingEvery === 0) {
        add({
          id: ids.next(),
          type: "Episode",
          name: `Missing Episode ${e}`,
          libraryId: lib.id,
          parentId: season.id,
          seriesId: series.id,
          seasonId: season.id,
          index: e,
          parentIndex: sn,
          year,
          providerIds: { Tvdb: String(900_000 + e) },
          created: _iso(BASE_DATE),
          premiere: _iso(Date.UTC(year, 0, 1 + e)),
          etag: _hex32(e, 9),
          locationType: "Virtual",
        });
        e++;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Rendering.

type Json = Record<string, unknown>;

interface _State extends MockLog<JellyfinFault> {
  flavor: JellyfinMockFlavor;
  version: string;
  major: number;
  minor: number;
  legacyAuth: boolean;
  apiKeyHidesEpisodes: boolean;
  serverId: string;
  serverName: string;
  apiKey: string;
  users: JfUser[];
  nodes: JfNode[];
  byId: Map<string, JfNode>;
  generation: number;
  cache: { key: string; generation: number; items: JfNode[] } | undefined;
  closing: AbortController;
}

function _seriesName(state: _State, node: JfNode): string | undefined {
  return node.seriesId ? state.byId.get(node.seriesId)?.name : undefined;
}

function _mediaSources(node: JfNode): Json[] {
  if (node.locationType === "Virtual" || !node.path) return [];
  const paths = [node.path, ...(node.versions ?? [])];
  return paths.map((path, i) => ({
    Protocol: "File",
    Id: i === 0 ? node.id : `${node.id.slice(0, -2)}${String(i).padStart(2, "0")}`,
    Path: path,
    Type: "Default",
    Container: "mkv",
    Size: (node.size ?? 0) + i,
    Name: path.replace(/^.*\//, "").replace(/\.mkv$/, ""),
    IsRemote: false,
    ETag: _hex32(node.order + i, 11),
    RunTimeTicks: node.ticks,
    SupportsTranscoding: true,
    SupportsDirectStream: true,
    SupportsDirectPlay: true,
    VideoType: "VideoFile",
    // One video and one audio stream, as a real server lists them (see the
    // reference capture): what the importer maps to technical fields.
    MediaStreams: [
      {
        Codec: "h264",
        Profile: "High",
        Type: "Video",
        Index: 0,
        Width: 1920,
        Height: 1080,
        AverageFrameRate: 23.976025,
        RealFrameRate: 23.976025,
        IsInterlaced: false,
        IsDefault: true,
        IsForced: false,
        IsExternal: false,
        VideoRange: "SDR",
        VideoRangeType: "SDR",
      },
      {
        Codec: "aac",
        Language: "eng",
        Type: "Audio",
        Index: 1,
        Channels: 2,
        IsInterlaced: false,
        IsDefault: true,
        IsForced: false,
        IsExternal: false,
      },
    ],
    MediaAttachments: [],
    Formats: [],
    Bitrate: 8_000_000,
    RequiredHttpHeaders: {},
  }));
}

function _render(state: _State, node: JfNode, fields: Set<string>, user?: JfUser): Json {
  const out: Json = { Name: node.name, ServerId: state.serverId, Id: node.id };
  if (fields.has("etag") && node.etag !== undefined) out.Etag = node.etag;
  if (fields.has("datecreated")) out.DateCreated = node.created;
  out.CanDelete = false;
  out.CanDownload = node.type === "Movie" || node.type === "Episode";
  if (node.type === "Movie" || node.type === "Episode") out.Container = "mkv";
  if (fields.has("sortname")) out.SortName = sortNameOf(node.name);
  if (node.premiere) out.PremiereDate = node.premiere;
  if (fields.has("mediasources") && (node.type === "Movie" || node.type === "Episode")) {
    out.MediaSources = _mediaSources(node);
  }
  if (fields.has("path") && node.path && !node.noPath && node.locationType !== "Virtual") {
    out.Path = node.path;
  }
  if (node.ticks !== undefined && node.locationType !== "Virtual") out.RunTimeTicks = node.ticks;
  if (node.year !== undefined) out.ProductionYear = node.year;
  if (node.type === "Season" || node.type === "Episode") {
    if (node.index !== undefined) out.IndexNumber = node.index;
  }
  if (node.indexEnd !== undefined) out.IndexNumberEnd = node.indexEnd;
  if (node.parentIndex !== undefined) out.ParentIndexNumber = node.parentIndex;
  if (fields.has("providerids")) out.ProviderIds = { ...node.providerIds };
  out.IsFolder = !(node.type === "Movie" || node.type === "Episode");
  if (fields.has("parentid") || node.type !== "CollectionFolder") out.ParentId = node.parentId;
  out.Type = node.type;
  if (node.type === "CollectionFolder") out.CollectionType = node.collectionType;
  if (node.type === "Episode" || node.type === "Season") {
    const series = state.byId.get(node.seriesId ?? "");
    out.SeriesName = _seriesName(state, node);
    out.SeriesId = node.seriesId;
    if (series) out.SeriesPrimaryImageTag = _hex32(series.order, 12);
  }
  if (node.type === "Episode") {
    out.SeasonId = node.seasonId;
    out.SeasonName = state.byId.get(node.seasonId ?? "")?.name;
  }
  if (user) {
    out.UserData = {
      PlaybackPositionTicks: 0,
      PlayCount: 0,
      IsFavorite: false,
      Played: false,
      Key: node.id,
      ItemId: node.id,
    };
  }
  out.LocationType = node.locationType;
  if (node.type === "Movie" || node.type === "Episode") {
    out.MediaType = "Video";
    out.VideoType = "VideoFile";
    // As Jellyfin's DtoService: only a stacked video carries it, whatever the Fields.
    if (node.additionalParts?.length) out.PartCount = node.additionalParts.length + 1;
  }
  out.ImageTags = {};
  out.BackdropImageTags = [];
  for (const [k, v] of Object.entries(node.dtoPatch ?? {})) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

function _result(items: Json[], total: number, start: number): Json {
  return { Items: items, TotalRecordCount: total, StartIndex: start };
}

// ---------------------------------------------------------------------------
// Queries.

/** Case-insensitive view of the query string. */
class _Query {
  readonly #map = new Map<string, string>();
  constructor(url: URL) {
    for (const [k, v] of url.searchParams) this.#map.set(k.toLowerCase(), v);
  }
  get(name: string): string | undefined {
    return this.#map.get(name.toLowerCase());
  }
  list(name: string): string[] {
    const v = this.get(name);
    return v ? v.split(",").map((s) => s.trim()).filter(Boolean) : [];
  }
  bool(name: string): boolean | undefined {
    const v = this.get(name)?.toLowerCase();
    return v === "true" ? true : v === "false" ? false : undefined;
  }
  int(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
    return Number(v);
  }
  key(skip: string[]): string {
    return [...this.#map].filter(([k]) => !skip.includes(k)).sort().map(([k, v]) => `${k}=${v}`)
      .join("&");
  }
}

const ITEM_KINDS = [
  "AggregateFolder",
  "Audio",
  "AudioBook",
  "BasePluginFolder",
  "Book",
  "BoxSet",
  "Channel",
  "ChannelFolderItem",
  "CollectionFolder",
  "Episode",
  "Folder",
  "Genre",
  "ManualPlaylistsFolder",
  "Movie",
  "LiveTvChannel",
  "LiveTvProgram",
  "MusicAlbum",
  "MusicArtist",
  "MusicGenre",
  "MusicVideo",
  "Person",
  "Photo",
  "PhotoAlbum",
  "Playlist",
  "PlaylistsFolder",
  "Program",
  "Recording",
  "Season",
  "Series",
  "Studio",
  "Trailer",
  "TvChannel",
  "TvProgram",
  "UserRootFolder",
  "UserView",
  "Video",
  "Year",
];

const SORT_KEYS = [
  "Default",
  "AiredEpisodeOrder",
  "Album",
  "AlbumArtist",
  "Artist",
  "DateCreated",
  "OfficialRating",
  "DatePlayed",
  "PremiereDate",
  "StartDate",
  "SortName",
  "Name",
  "Random",
  "Runtime",
  "CommunityRating",
  "ProductionYear",
  "PlayCount",
  "CriticRating",
  "IsFolder",
  "IsUnplayed",
  "IsPlayed",
  "SeriesSortName",
  "VideoBitRate",
  "AirTime",
  "Studio",
  "IsFavoriteOrLiked",
  "DateLastContentAdded",
  "SeriesDatePlayed",
  "ParentIndexNumber",
  "IndexNumber",
];

function _canon(value: string, allowed: readonly string[]): string | undefined {
  const lower = value.toLowerCase();
  return allowed.find((a) => a.toLowerCase() === lower);
}

class _BadRequest extends Error {}

function _sortValue(state: _State, node: JfNode, key: string): string | number {
  switch (key) {
    case "SortName":
      return sortNameOf(node.name);
    case "Name":
      return node.name.toLowerCase();
    case "ProductionYear":
      return node.year ?? -1;
    case "DateCreated":
      return node.created;
    case "PremiereDate":
      return node.premiere ?? "";
    case "SeriesSortName":
      return sortNameOf(_seriesName(state, node) ?? "");
    case "ParentIndexNumber":
      return node.parentIndex ?? -1;
    case "IndexNumber":
      return node.index ?? -1;
    case "Runtime":
      return node.ticks ?? 0;
    default:
      return 0;
  }
}

function _sort(state: _State, items: JfNode[], sortBy: string[], descending: boolean[]): void {
  if (sortBy.length === 0) return;
  const keyed = items.map((n) => ({ n, k: sortBy.map((s) => _sortValue(state, n, s)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < sortBy.length; i++) {
      const x = a.k[i];
      const y = b.k[i];
      if (x === y) continue;
      const c = x < y ? -1 : 1;
      return descending[i] ? -c : c;
    }
    return a.n.order - b.n.order;
  });
  for (let i = 0; i < items.length; i++) items[i] = keyed[i].n;
}

function _descendants(state: _State, parent: JfNode | undefined, recursive: boolean): JfNode[] {
  if (!parent) {
    return recursive
      ? state.nodes.filter((n) => n.type !== "CollectionFolder")
      : state.nodes.filter((n) => n.type === "CollectionFolder");
  }
  if (!recursive) return state.nodes.filter((n) => n.parentId === parent.id);
  switch (parent.type) {
    case "CollectionFolder":
      return state.nodes.filter((n) => n.libraryId === parent.id && n.id !== parent.id);
    case "Series":
      return state.nodes.filter((n) => n.seriesId === parent.id);
    case "Season":
      return state.nodes.filter((n) => n.seasonId === parent.id);
    default:
      return [];
  }
}

interface _Listing {
  items: JfNode[];
  start: number;
  limit: number | undefined;
  fields: Set<string>;
}

function _queryItems(state: _State, q: _Query, parentOverride?: JfNode): _Listing {
  const strict = state.flavor === "jellyfin";
  const enums = strict && (state.major > 10 || state.minor >= 9);
  const types = (name: string) =>
    q.list(name).map((t) => {
      const c = _canon(t, ITEM_KINDS);
      if (!c && strict) throw new _BadRequest(`The value '${t}' is not valid for ${name}.`);
      return c ?? t;
    });
  const include = types("includeItemTypes");
  const exclude = types("excludeItemTypes");
  const sortBy: string[] = [];
  for (const s of q.list("sortBy")) {
    const c = _canon(s, SORT_KEYS);
    if (!c && enums) throw new _BadRequest(`The value '${s}' is not valid for sortBy.`);
    if (c) sortBy.push(c);
  }
  const orders = q.list("sortOrder").map((o) => o.toLowerCase() === "descending");
  const descending = sortBy.map((_, i) => orders[i] ?? orders[0] ?? false);
  const start = Math.max(0, q.int("startIndex") ?? 0);
  const limit = q.int("limit");
  const fields = new Set(q.list("fields").map((f) => f.toLowerCase()));

  const cacheKey = q.key(["startindex", "limit", "fields", "enableimages", "enableuserdata"]) +
    `|${parentOverride?.id ?? ""}`;
  if (state.cache && state.cache.key === cacheKey && state.cache.generation === state.generation) {
    return { items: state.cache.items, start, limit, fields };
  }
  const parentId = parentOverride?.id ?? q.get("parentId");
  const parent = parentId ? state.byId.get(parentId) : undefined;
  if (parentId && !parent) throw new _NotFound();
  let items = _descendants(state, parent, q.bool("recursive") ?? false);
  if (include.length) items = items.filter((n) => include.includes(n.type));
  if (exclude.length) items = items.filter((n) => !exclude.includes(n.type));
  const excludeLoc = q.list("excludeLocationTypes").map((s) => s.toLowerCase());
  if (excludeLoc.length) {
    items = items.filter((n) => !excludeLoc.includes(n.locationType.toLowerCase()));
  }
  const loc = q.list("locationTypes").map((s) => s.toLowerCase());
  if (loc.length) items = items.filter((n) => loc.includes(n.locationType.toLowerCase()));
  const missing = q.bool("isMissing");
  if (missing !== undefined) {
    items = items.filter((n) => n.type !== "Episode" || (n.locationType === "Virtual") === missing);
  }
  const term = q.get("searchTerm")?.toLowerCase();
  if (term) items = items.filter((n) => n.name.toLowerCase().includes(term));
  const prefix = q.get("nameStartsWith")?.toLowerCase();
  if (prefix) items = items.filter((n) => sortNameOf(n.name).startsWith(prefix));
  const pin = q.int("parentIndexNumber");
  if (pin !== undefined) items = items.filter((n) => n.parentIndex === pin);
  if (enums) {
    const idx = q.int("indexNumber");
    if (idx !== undefined) items = items.filter((n) => n.index === idx);
  }
  const ids = q.list("ids");
  if (ids.length) items = items.filter((n) => ids.includes(n.id));
  const years = q.list("years").map(Number);
  if (years.length) items = items.filter((n) => n.year !== undefined && years.includes(n.year));
  _sort(state, items, sortBy, descending);
  state.cache = { key: cacheKey, generation: state.generation, items };
  return { items, start, limit, fields };
}

class _NotFound extends Error {}

// ---------------------------------------------------------------------------
// Auth.

interface _Auth {
  /** The user of a user token; undefined for the API key. */
  user?: JfUser;
  admin: boolean;
}

function _parseAuthParams(value: string): { scheme: string; params: Map<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(value);
  const params = new Map<string, string>();
  if (!m) return { scheme: "", params };
  const re = /([A-Za-z]+)\s*=\s*"([^"]*)"/g;
  for (let r = re.exec(m[2]); r; r = re.exec(m[2])) {
    params.set(r[1].toLowerCase(), decodeURIComponent(r[2]));
  }
  return { scheme: m[1], params };
}

function _token(state: _State, req: Request, q: _Query): string | undefined {
  const emby = state.flavor === "emby";
  const legacy = emby || state.legacyAuth;
  const authz = req.headers.get("authorization");
  if (authz) {
    const { scheme, params } = _parseAuthParams(authz);
    const ok = scheme === "MediaBrowser" || (legacy && scheme === "Emby");
    if (ok && params.get("token")) return params.get("token");
  }
  if (legacy) {
    const xa = req.headers.get("x-emby-authorization");
    if (xa) {
      const token = _parseAuthParams(xa).params.get("token");
      if (token) return token;
    }
    const header = req.headers.get("x-emby-token") ?? req.headers.get("x-mediabrowser-token");
    if (header) return header;
    const legacyQuery = q.get("api_key");
    if (legacyQuery) return legacyQuery;
  }
  if (!emby) return q.get("ApiKey");
  return undefined;
}

function _authenticate(state: _State, req: Request, q: _Query): _Auth | undefined {
  const token = _token(state, req, q);
  if (!token) return undefined;
  if (token === state.apiKey) return { admin: true };
  const user = state.users.find((u) => u.token === token);
  return user && !user.disabled ? { user, admin: user.admin } : undefined;
}

// ---------------------------------------------------------------------------
// Routes.

interface _Answer {
  status: number;
  json?: unknown;
  text?: string;
  page?: { start: number; limit: number | undefined };
}

function _userDto(state: _State, u: JfUser): Json {
  return {
    Name: u.name,
    ServerId: state.serverId,
    Id: u.id,
    HasPassword: true,
    HasConfiguredPassword: true,
    HasConfiguredEasyPassword: false,
    EnableAutoLogin: false,
    LastLoginDate: _iso(BASE_DATE),
    LastActivityDate: _iso(BASE_DATE),
    Configuration: { PlayDefaultAudioTrack: true, SubtitleMode: "Default" },
    Policy: { IsAdministrator: u.admin, IsHidden: false, IsDisabled: u.disabled },
  };
}

function _problem(status: number, title: string, detail?: string): _Answer {
  return {
    status,
    json: {
      type: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
      title,
      status,
      ...(detail ? { detail } : {}),
    },
  };
}

function _publicInfo(state: _State): Json {
  const base: Json = {
    LocalAddress: "http://127.0.0.1:8096",
    ServerName: state.serverName,
    Version: state.version,
  };
  if (state.flavor === "jellyfin") {
    base.ProductName = "Jellyfin Server";
    base.OperatingSystem = "";
    base.Id = state.serverId;
    base.StartupWizardCompleted = true;
  } else {
    base.WanAddress = "";
    base.Id = state.serverId;
  }
  return base;
}

function _listing(state: _State, listing: _Listing, user?: JfUser): _Answer {
  const { items, start, limit, fields } = listing;
  const slice = items.slice(start, limit === undefined ? undefined : start + limit);
  return {
    status: 200,
    json: _result(slice.map((n) => _render(state, n, fields, user)), items.length, start),
    page: { start, limit },
  };
}

function _userFor(
  state: _State,
  auth: _Auth,
  userId: string | undefined,
): JfUser | "forbidden" | "missing" | undefined {
  if (userId === undefined || userId === "") return auth.user;
  const norm = userId.replace(/-/g, "").toLowerCase();
  const user = state.users.find((u) => u.id === norm);
  if (!user) return "missing";
  if (auth.user && auth.user.id !== user.id && !auth.user.admin) return "forbidden";
  return user;
}

/** Whether a route exists on this server (unknown routes are 404 even without a key). */
function _known(lower: string, modern: boolean, flavor: JellyfinMockFlavor): boolean {
  const always = [
    /^\/system\/info$/,
    /^\/users$/,
    /^\/library\/virtualfolders$/,
    /^\/items$/,
    /^\/shows\/[^/]+\/(seasons|episodes)$/,
    /^\/videos\/[^/]+\/additionalparts$/,
  ];
  if (always.some((r) => r.test(lower))) return true;
  if (flavor === "jellyfin" && lower === "/users/me") return true;
  if (modern) return lower === "/userviews";
  return /^\/users\/[^/]+\/(views|items)$/.test(lower);
}

function _route(state: _State, req: Request, url: URL, q: _Query): _Answer {
  let path = url.pathname.replace(/\/+$/, "") || "/";
  if (state.flavor === "emby" && /^\/emby(\/|$)/i.test(path)) path = path.slice(5) || "/";
  const lower = path.toLowerCase();
  const modern = state.flavor === "jellyfin" && (state.major > 10 || state.minor >= 9);
  if (req.method !== "GET") return { status: 405, text: "" };
  if (lower === "/system/info/public") return { status: 200, json: _publicInfo(state) };
  if (!_known(lower, modern, state.flavor)) return { status: 404, text: "" };
  const auth = _authenticate(state, req, q);
  if (!auth) {
    return {
      status: 401,
      text: state.flavor === "emby" ? "Access token is invalid or expired." : "",
    };
  }
  const parts = path.split("/").slice(1);
  const lp = lower.split("/").slice(1);

  if (lower === "/system/info") {
    return {
      status: 200,
      json: {
        ..._publicInfo(state),
        OperatingSystemDisplayName: "Linux",
        HasPendingRestart: false,
        IsShuttingDown: false,
        SupportsLibraryMonitor: true,
        WebSocketPortNumber: 8096,
        CanSelfRestart: true,
        CanLaunchWebBrowser: false,
        ProgramDataPath: "/config",
        WebPath: "/jellyfin/jellyfin-web",
        ItemsByNamePath: "/config/metadata",
        CachePath: "/cache",
        LogPath: "/config/log",
        InternalMetadataPath: "/config/metadata",
        TranscodingTempPath: "/cache/transcodes",
        HasUpdateAvailable: false,
      },
    };
  }
  if (lower === "/users/me") {
    if (!auth.user) return _problem(400, "Bad Request", "Unable to find user for this key.");
    return { status: 200, json: _userDto(state, auth.user) };
  }
  if (lower === "/users") {
    const visible = auth.user && !auth.user.admin ? [auth.user] : state.users;
    return { status: 200, json: visible.map((u) => _userDto(state, u)) };
  }
  if (lower === "/library/virtualfolders") {
    if (!auth.admin) return { status: 403, text: "" };
    return {
      status: 200,
      json: state.nodes.filter((n) => n.type === "CollectionFolder").map((n) => ({
        Name: n.name,
        Locations: n.locations,
        CollectionType: n.collectionType,
        LibraryOptions: { Enabled: true, EnableRealtimeMonitor: true, PathInfos: [] },
        ItemId: n.id,
        PrimaryImageItemId: n.id,
        RefreshStatus: "Idle",
      })),
    };
  }
  const views = (user: JfUser | undefined): _Answer => {
    if (!user) return _problem(404, "Not Found", "User not found");
    const libs = state.nodes.filter((n) => n.type === "CollectionFolder");
    return {
      status: 200,
      json: _result(libs.map((n) => _render(state, n, new Set(), user)), libs.length, 0),
    };
  };
  const userScoped = (userId: string | undefined, fn: (u: JfUser | undefined) => _Answer) => {
    const u = _userFor(state, auth, userId);
    if (u === "missing") return _problem(404, "Not Found", "User not found");
    if (u === "forbidden") return { status: 403, text: "" };
    return fn(u);
  };
  if (lower === "/userviews" && modern) return userScoped(q.get("userId"), views);
  if (lp[0] === "users" && lp.length === 3 && lp[2] === "views" && !modern) {
    return userScoped(parts[1], views);
  }
  const items = (userId: string | undefined): _Answer =>
    userScoped(userId, (u) => {
      const listing = _queryItems(state, q);
      if (state.apiKeyHidesEpisodes && !auth.user && !userId && q.get("parentId")) {
        // jellyfin/jellyfin#15107: an API key without a user gets no episodes under a parent.
        const kept = listing.items.filter((n) => n.type !== "Episode");
        return _listing(state, { ...listing, items: kept }, u);
      }
      return _listing(state, listing, u);
    });
  if (lower === "/items") return items(q.get("userId"));
  if (lp[0] === "users" && lp.length === 3 && lp[2] === "items" && !modern) {
    return items(parts[1]);
  }
  if (lp[0] === "videos" && lp[2] === "additionalparts") {
    // Jellyfin answers with every field (`new DtoOptions()`), and no parts for another item.
    const video = state.byId.get(parts[1]);
    return userScoped(q.get("userId"), (u) => {
      const all = new Set(["path", "mediasources", "providerids", "etag", "datecreated"]);
      const found = (video?.additionalParts ?? []).map((p) => _render(state, p, all, u));
      return { status: 200, json: _result(found, found.length, 0) };
    });
  }
  if (lp[0] === "shows" && lp.length === 3 && (lp[2] === "seasons" || lp[2] === "episodes")) {
    const series = state.byId.get(parts[1]);
    if (!series || series.type !== "Series") return _problem(404, "Not Found", "Series not found");
    return userScoped(q.get("userId"), (u) => {
      const fields = new Set(q.list("fields").map((f) => f.toLowerCase()));
      const missing = q.bool("isMissing");
      const keep = (n: JfNode) =>
        missing === undefined || (n.locationType === "Virtual") === missing;
      if (lp[2] === "seasons") {
        const seasons = state.nodes.filter((n) => n.type === "Season" && n.seriesId === series.id);
        return {
          status: 200,
          json: _result(seasons.map((n) => _render(state, n, fields, u)), seasons.length, 0),
        };
      }
      const seasonNo = q.int("season");
      const seasonId = q.get("seasonId");
      const eps = state.nodes.filter((n) =>
        n.type === "Episode" && n.seriesId === series.id && keep(n) &&
        (seasonNo === undefined || n.parentIndex === seasonNo) &&
        (seasonId === undefined || n.seasonId === seasonId)
      );
      const start = Math.max(0, q.int("startIndex") ?? 0);
      const limit = q.int("limit");
      return _listing(state, { items: eps, start, limit, fields }, u);
    });
  }
  return { status: 404, text: "" };
}

// ---------------------------------------------------------------------------
// The server.

function _faultFor(
  state: _State,
  path: string,
  page: _Answer["page"],
): JellyfinFault | undefined {
  const index = page?.limit ? Math.floor(page.start / page.limit) : undefined;
  return takeFault(state, { path, page: index, ignoreCase: true });
}

function _reindex(state: _State): void {
  state.byId = new Map(state.nodes.map((n) => [n.id, n]));
  state.generation++;
}

function _mutate(state: _State, fault: JellyfinFault, url: URL): void {
  const q = new _Query(url);
  const parent = state.byId.get(q.get("parentId") ?? "");
  const lib = parent ? state.byId.get(parent.libraryId) : undefined;
  if (!lib) return;
  const type = lib.collectionType === "movies" ? "Movie" : "Episode";
  const grown = {
    flavor: state.flavor,
    salt: state.generation + 100,
    firstOrder: state.nodes.length,
    firstId: 1_000_000 + state.generation * 10_000,
  };
  if (fault.kind === "shrink") {
    for (let i = 0; i < fault.count; i++) {
      const at = state.nodes.findIndex((n) => n.libraryId === lib.id && n.type === type);
      if (at >= 0) state.nodes.splice(at, 1);
    }
  } else if (fault.kind === "grow") {
    const added = lib.collectionType === "movies"
      ? buildLibraries([{
        name: lib.name,
        collectionType: "movies",
        locations: lib.locations,
        movies: Array.from({ length: fault.count }, (_, i) => ({ name: `Aa Added ${i + 1}` })),
      }], grown)
      : buildLibraries([{
        name: lib.name,
        collectionType: "tvshows",
        locations: lib.locations,
        series: [{ name: "Aa Added Series", seasons: { 1: fault.count } }],
      }], grown);
    for (const n of added.slice(1)) {
      if (n.parentId === added[0].id) n.parentId = lib.id;
      n.libraryId = lib.id;
      state.nodes.push(n);
    }
  }
  _reindex(state);
}

async function _handle(state: _State, req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname === "/__mock/requests") {
    return Response.json({ count: state.count });
  }
  const q = new _Query(url);
  let answer: _Answer;
  try {
    answer = _route(state, req, url, q);
  } catch (error) {
    if (error instanceof _NotFound) answer = _problem(404, "Not Found", "Item not found");
    else if (error instanceof _BadRequest) {
      answer = _problem(400, "One or more validation errors occurred.", error.message);
    } else throw error;
  }
  const record = logRequest(state, req, { url, status: answer.status });
  const fault = answer.status === 401 ? undefined : _faultFor(state, url.pathname, answer.page);
  const headers = new Headers({ server: "Kestrel" });
  if (fault?.kind === "slow") await sleepUnlessClosed(fault.delayMs, state.closing.signal);
  if (fault?.kind === "status") {
    record.status = fault.status;
    return new Response(null, { status: fault.status, headers });
  }
  if (fault?.kind === "redirect") {
    record.status = 302;
    headers.set("location", fault.location);
    return new Response(null, { status: 302, headers });
  }
  if (fault?.kind === "html") {
    headers.set("content-type", "text/html");
    return new Response("<html><body>Welcome to nginx!</body></html>", { status: 200, headers });
  }
  if (answer.json === undefined) {
    if (answer.text) headers.set("content-type", "text/plain; charset=utf-8");
    return new Response(answer.text || null, { status: answer.status, headers });
  }
  const json = answer.json as Record<string, unknown>;
  if (fault?.kind === "low-total" && typeof json.TotalRecordCount === "number") {
    json.TotalRecordCount = Math.max(0, json.TotalRecordCount - fault.count);
  }
  let body = JSON.stringify(answer.json);
  headers.set(
    "content-type",
    answer.status >= 400
      ? "application/problem+json; charset=utf-8"
      : "application/json; charset=utf-8",
  );
  if (fault?.kind === "grow" || fault?.kind === "shrink") _mutate(state, fault, url);
  if (fault?.kind === "truncate") body = body.slice(0, Math.floor(body.length / 2));
  if (fault?.kind === "drop") {
    record.status = 0;
    return droppedResponse(body, headers);
  }
  return new Response(body, { status: answer.status, headers });
}

/** The default libraries: movies, TV (with specials, a double episode, a missing one), music. */
export const DEFAULT_LIBRARIES: JfLibrarySpec[] = [
  { name: "Movies", collectionType: "movies", movies: 5, versionsEvery: 3 },
  {
    name: "Shows",
    collectionType: "tvshows",
    series: 2,
    seasonsPerSeries: 2,
    episodesPerSeason: 3,
    specialsPerSeries: 1,
    doubleEvery: 3,
    missingEvery: 2,
  },
  { name: "Music", collectionType: "music" },
];

function _versionParts(version: string): [number, number] {
  const [a, b] = version.split(".").map((x) => Number.parseInt(x, 10));
  return [a || 0, b || 0];
}

/** Starts a mock on `127.0.0.1` (a free port). Close it with {@link JellyfinMock.close}. */
export function startJellyfinMock(options: JellyfinMockOptions = {}): Promise<JellyfinMock> {
  const flavor = options.flavor ?? "jellyfin";
  const version = options.version ?? DEFAULT_MOCK_VERSIONS[flavor];
  const [major, minor] = _versionParts(version);
  const nodes = buildLibraries(options.libraries ?? DEFAULT_LIBRARIES, { flavor });
  const users =
    (options.users ?? [{ name: "admin", admin: true }, { name: "viewer", admin: false }])
      .map((u, i) => ({
        id: _hex32(i + 1, 99),
        name: u.name,
        admin: u.admin,
        disabled: u.disabled ?? false,
        token: `mock-${flavor}-user-${u.name}-${crypto.randomUUID().replace(/-/g, "")}`,
      }));
  const state: _State = {
    flavor,
    version,
    major,
    minor,
    legacyAuth: options.legacyAuth ?? (flavor === "emby" || major < 12),
    apiKeyHidesEpisodes: options.apiKeyHidesEpisodes ??
      (flavor === "jellyfin" && (major > 10 || (major === 10 && minor >= 11))),
    serverId: _hex32(42, flavor === "emby" ? 2 : 1),
    serverName: options.serverName ?? `RetroVue Mock ${flavor === "emby" ? "Emby" : "Jellyfin"}`,
    apiKey: options.apiKey ?? `mock-${flavor}-key-${crypto.randomUUID().replace(/-/g, "")}`,
    users,
    nodes,
    byId: new Map(),
    generation: 0,
    cache: undefined,
    ...newMockLog<JellyfinFault>(options.maxLog ?? 10_000),
    closing: new AbortController(),
  };
  _reindex(state);
  const controls = serveMock(state, (req) => _handle(state, req), {
    closing: state.closing,
    tls: options.tls,
    onError: () => new Response(null, { status: 500 }),
  });
  return Promise.resolve({
    ...controls,
    apiKey: state.apiKey,
    serverId: state.serverId,
    version,
    flavor,
    users,
    nodes: state.nodes,
    changed: () => _reindex(state),
  });
}

if (import.meta.main) {
  const args = Deno.args;
  const at = args.indexOf("--episodes");
  const episodes = at >= 0 ? Number(args[at + 1]) : 100_000;
  const episodesPerSeason = 25;
  const seasonsPerSeries = 10;
  const series = Math.ceil(episodes / (episodesPerSeason * seasonsPerSeries));
  const mock = await startJellyfinMock({
    maxLog: 1000,
    libraries: [
      { name: "Movies", collectionType: "movies", movies: 100 },
      { name: "Shows", collectionType: "tvshows", series, seasonsPerSeries, episodesPerSeason },
    ],
  });
  console.log(JSON.stringify({ url: mock.url, apiKey: mock.apiKey }));
}
