/**
 * A Plex-Media-Server-compatible mock for tests and benchmarks.
 *
 * Response shapes follow real PMS answers (field names, types and nesting of
 * the captures in `../shared/reference/plex/`): `MediaContainer` with
 * `Directory[]` for sections and `Metadata[]` for shows, seasons, movies and
 * episodes; `Media[].Part[].file`; `Guid[]` only with `includeGuids=1`;
 * `size`/`totalSize`/`offset` when paged (`X-Plex-Container-Start`/`-Size` as
 * query params or request headers, everything when no size is given); a
 * `text/html` 401 body on a bad or missing token even when JSON was asked; XML
 * unless `Accept: application/json`.
 *
 * Libraries of any size come from {@link SectionSpec}s; faults
 * ({@link PlexFault}) are switched on and off at run time; every request is
 * logged so tests can count requests and inspect URLs and headers.
 *
 * Run it as a program to serve a generated library from a separate process
 * (the benchmark does): `deno run --allow-net=127.0.0.1 tests/mocks/plex_server.ts
 * --episodes 100000` prints one JSON line `{"url","token"}` and serves until
 * killed. `GET /__mock/requests` then answers the request count.
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

export type { FaultMatch, MockRequest } from "./_mock_http.ts";

/** One file of a movie or an episode. */
export interface MockPart {
  /** Absolute path as the server sees it. */
  file: string;
  /** Size in bytes. */
  size: number;
  /** The `Part` id; default derived from the ratingKey (a swapped file gets a new one). */
  id?: number;
}

/** A movie or an episode as the mock stores it (rendered to Plex JSON per request). */
export interface MockLeaf {
  /** Plex `ratingKey` (numeric string). */
  ratingKey: string;
  /** Plex `guid` (`plex://movie/…`, a legacy agent URI or `local://…`). */
  guid: string;
  /** Movie title or episode title. */
  title: string;
  /** Release year. */
  year?: number;
  /** Episode number (episodes). */
  index?: number;
  /** Duration in milliseconds. */
  duration: number;
  /** Unix seconds. */
  addedAt: number;
  /** Unix seconds; absent on some real items. */
  updatedAt?: number;
  /** `YYYY-MM-DD`. */
  originallyAvailableAt?: string;
  /** Provider ids (`imdb`, `tmdb`, `tvdb`) served as `Guid[]` with `includeGuids=1`. */
  externalIds: Record<string, string>;
  /** Versions (`Media[]`), each a list of parts (`Part[]`). */
  media: MockPart[][];
}

/** A season of a show. */
export interface MockSeason {
  /** Plex `ratingKey`. */
  ratingKey: string;
  /** Plex `guid`. */
  guid: string;
  /** Season number; 0 is Specials. */
  index: number;
  /** Episodes in order. */
  episodes: MockLeaf[];
}

/** A show. */
export interface MockShow {
  /** Plex `ratingKey`. */
  ratingKey: string;
  /** Plex `guid`. */
  guid: string;
  /** Show title. */
  title: string;
  /** First-air year. */
  year?: number;
  /** Show folder. */
  location: string;
  /** Seasons in order. */
  seasons: MockSeason[];
}

/** A library section. */
export interface MockSection {
  /** Section key (`"1"`, `"2"`, …). */
  key: string;
  /** Plex section type. */
  type: "movie" | "show" | "artist" | "photo";
  /** Library name. */
  title: string;
  /** Library root folders (`Location[].path`). */
  locations: string[];
  /** Movies in listing order (movie sections). */
  movies: MockLeaf[];
  /** Shows in listing order (show sections). */
  shows: MockShow[];
}

/** A show to generate: title and episodes per season number (0 = Specials). */
export interface ShowSpec {
  /** Show title. */
  title: string;
  /** First-air year. */
  year?: number;
  /** Season number → episode count. */
  seasons: Record<number, number>;
}

/** A movie to generate. */
export interface MovieSpec {
  /** Title. */
  title: string;
  /** Year. */
  year?: number;
  /** Number of parts of the first version (stacked files); default 1. */
  parts?: number;
  /** Number of versions (`Media[]`); default 1. */
  versions?: number;
  /** Override the guid (e.g. a legacy agent URI). */
  guid?: string;
}

/** A library section to generate. */
export interface SectionSpec {
  /** Section key; defaults to its position + 1. */
  key?: string;
  /** Plex section type. */
  type: "movie" | "show" | "artist" | "photo";
  /** Library name. */
  title: string;
  /** Root folders; defaults to `/media/<title>`. */
  locations?: string[];
  /** A count of generated movies, or explicit movies. */
  movies?: number | MovieSpec[];
  /** A count of generated shows, or explicit shows. */
  shows?: number | ShowSpec[];
  /** For a show count: seasons per show (numbered from 1). Default 2. */
  seasonsPerShow?: number;
  /** For a show count: episodes per season. Default 10. */
  episodesPerSeason?: number;
  /** For a show count: episodes in season 0 (Specials) per show. Default 0. */
  specialsPerShow?: number;
  /** For a movie count: every n-th movie has two parts. Default 0 (never). */
  multiPartEvery?: number;
}

/** A fault the mock can inject: the common ones, or a JSON body without `MediaContainer`. */
export type PlexFault = FaultMatch & (CommonFault | { kind: "no-container" });

/** Options for {@link startPlexMock}. */
export interface PlexMockOptions {
  /** The token the mock accepts. Default `mock-plex-token-…`. */
  token?: string;
  /** Library sections. Default: one small movie and one small show section. */
  sections?: SectionSpec[];
  /** Server name. */
  friendlyName?: string;
  /** TLS certificate and key (PEM) to serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Keep at most this many request records (the count keeps going). Default 10 000. */
  maxLog?: number;
}

/** A running mock. */
export interface PlexMock {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The accepted token. */
  token: string;
  /** Server `machineIdentifier`. */
  machineIdentifier: string;
  /** The live sections; tests may mutate them between requests. */
  sections: MockSection[];
  /** The request log (most recent {@link PlexMockOptions.maxLog}). */
  requests: MockRequest[];
  /** Requests answered since start or the last {@link PlexMock.resetRequests}. */
  requestCount(): number;
  /** Clears the log and the count. */
  resetRequests(): void;
  /** Replaces the active faults (none when called without arguments). */
  setFault(...faults: PlexFault[]): void;
  /** Stops the server. */
  close(): Promise<void>;
}

/** The server version the mock reports (a real PMS version string). */
export const MOCK_PLEX_VERSION = "1.41.3.9314-a0bfb8370";

const UNAUTHORIZED_HTML = "<html><head><script>window.location = window.location.href" +
  ".match(/(^.+\\/)[^\\/]*$/)[1] + 'web/index.html';</script><title>Unauthorized</title>" +
  "</head><body><h1>401 Unauthorized</h1></body></html>";
const NOT_FOUND_HTML =
  "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>";
const BASE_TIME = 1_700_000_000;

function _hex(n: number, length: number): string {
  let out = "";
  let x = (n * 2654435761) >>> 0;
  while (out.length < length) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += x.toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
}

interface _Keys {
  next(): string;
}

function _keys(start: number): _Keys {
  let n = start;
  return { next: () => String(n++) };
}

function _movie(keys: _Keys, spec: MovieSpec, root: string): MockLeaf {
  const rk = keys.next();
  const n = Number(rk);
  const year = spec.year ?? 1950 + (n % 70);
  const folder = `${root}/${spec.title} (${year})`;
  const parts = spec.parts ?? 1;
  const versions = spec.versions ?? 1;
  const media: MockPart[][] = [];
  for (let v = 0; v < versions; v++) {
    const quality = v === 0 ? "Bluray-1080p" : "WEBDL-720p";
    media.push(
      Array.from({ length: parts }, (_, p) => ({
        file: parts > 1
          ? `${folder}/${spec.title} (${year}) ${quality}.part${p + 1}.mkv`
          : `${folder}/${spec.title} (${year}) ${quality}.mkv`,
        size: 700_000_000 + (n % 1000) * 1000 + p,
      })),
    );
  }
  return {
    ratingKey: rk,
    guid: spec.guid ?? `plex://movie/${_hex(n, 24)}`,
    title: spec.title,
    year,
    duration: 5_400_000 + (n % 100) * 1000,
    addedAt: BASE_TIME + n,
    updatedAt: BASE_TIME + 2 * n,
    originallyAvailableAt: `${year}-06-15`,
    externalIds: { imdb: `tt${String(n).padStart(7, "0")}`, tmdb: String(10_000 + n) },
    media,
  };
}

function _show(keys: _Keys, spec: ShowSpec, root: string): MockShow {
  const rk = keys.next();
  const n = Number(rk);
  const location = `${root}/${spec.title}`;
  const seasons: MockSeason[] = [];
  const numbers = Object.keys(spec.seasons).map(Number).sort((a, b) => a - b);
  for (const s of numbers) {
    const srk = keys.next();
    const season: MockSeason = {
      ratingKey: srk,
      guid: `plex://season/${_hex(Number(srk), 24)}`,
      index: s,
      episodes: [],
    };
    const count = spec.seasons[s];
    for (let e = 1; e <= count; e++) {
      const erk = keys.next();
      const en = Number(erk);
      const code = `S${String(s).padStart(2, "0")}E${String(e).padStart(2, "0")}`;
      const folder = s === 0 ? "Specials" : `Season ${String(s).padStart(2, "0")}`;
      season.episodes.push({
        ratingKey: erk,
        guid: `plex://episode/${_hex(en, 24)}`,
        title: `Episode ${e}`,
        year: spec.year ?? 2000 + (n % 20),
        index: e,
        duration: 1_320_000 + (en % 60) * 1000,
        addedAt: BASE_TIME + en,
        updatedAt: en % 7 === 0 ? undefined : BASE_TIME + 2 * en,
        originallyAvailableAt: `${spec.year ?? 2000 + (n % 20)}-01-${
          String(1 + (e % 28)).padStart(2, "0")
        }`,
        externalIds: { tvdb: String(100_000 + en), imdb: `tt${String(en).padStart(8, "0")}` },
        media: [[{
          file: `${location}/${folder}/${spec.title} - ${code} - Episode ${e} WEBDL-1080p.mkv`,
          size: 400_000_000 + en,
        }]],
      });
    }
    seasons.push(season);
  }
  return {
    ratingKey: rk,
    guid: `plex://show/${_hex(n, 24)}`,
    title: spec.title,
    year: spec.year ?? 2000 + (n % 20),
    location,
    seasons,
  };
}

/**
 * Builds sections from specs. Rating keys are unique across the returned
 * sections, starting at `firstRatingKey` (default 1000).
 */
export function buildSections(specs: readonly SectionSpec[], firstRatingKey = 1000): MockSection[] {
  const keys = _keys(firstRatingKey);
  return specs.map((spec, i) => {
    const locations = spec.locations ?? [`/media/${spec.title}`];
    const root = locations[0];
    const section: MockSection = {
      key: spec.key ?? String(i + 1),
      type: spec.type,
      title: spec.title,
      locations,
      movies: [],
      shows: [],
    };
    if (spec.movies !== undefined) {
      const movies: MovieSpec[] = typeof spec.movies === "number"
        ? Array.from({ length: spec.movies }, (_, m) => ({
          title: `Movie ${String(m + 1).padStart(6, "0")}`,
          parts: spec.multiPartEvery && (m + 1) % spec.multiPartEvery === 0 ? 2 : 1,
        }))
        : spec.movies;
      section.movies = movies.map((m) => _movie(keys, m, root));
    }
    if (spec.shows !== undefined) {
      const shows: ShowSpec[] = typeof spec.shows === "number"
        ? Array.from({ length: spec.shows }, (_, s) => {
          const seasons: Record<number, number> = {};
          if (spec.specialsPerShow) seasons[0] = spec.specialsPerShow;
          for (let k = 1; k <= (spec.seasonsPerShow ?? 2); k++) {
            seasons[k] = spec.episodesPerSeason ?? 10;
          }
          return { title: `Show ${String(s + 1).padStart(5, "0")}`, seasons };
        })
        : spec.shows;
      section.shows = shows.map((s) => _show(keys, s, root));
    }
    return section;
  });
}

// ---------------------------------------------------------------------------
// Rendering in Plex's JSON shapes.

type Json = Record<string, unknown>;

function _guids(ids: Record<string, string>): Json[] {
  return Object.entries(ids).map(([k, v]) => ({ id: `${k}://${v}` }));
}

function _media(leaf: MockLeaf): Json[] {
  return leaf.media.map((parts, v) => {
    const id = Number(leaf.ratingKey) * 10 + v;
    return {
      id,
      duration: leaf.duration,
      bitrate: 8000,
      width: 1920,
      height: 1080,
      aspectRatio: 1.78,
      audioChannels: 6,
      audioCodec: "eac3",
      videoCodec: "h264",
      videoResolution: "1080",
      container: "mkv",
      videoFrameRate: "24p",
      Part: parts.map((p, i) => ({
        id: p.id ?? id * 10 + i,
        key: `/library/parts/${p.id ?? id * 10 + i}/${leaf.addedAt}/file.mkv`,
        ...(i === 0 ? { duration: leaf.duration } : {}),
        file: p.file,
        size: p.size,
        container: "mkv",
      })),
    };
  });
}

function _renderMovie(m: MockLeaf, section: MockSection, guids: boolean): Json {
  return {
    ratingKey: m.ratingKey,
    key: `/library/metadata/${m.ratingKey}`,
    guid: m.guid,
    type: "movie",
    title: m.title,
    librarySectionID: Number(section.key),
    librarySectionTitle: section.title,
    summary: "",
    year: m.year,
    thumb: `/library/metadata/${m.ratingKey}/thumb/${m.updatedAt ?? m.addedAt}`,
    duration: m.duration,
    originallyAvailableAt: m.originallyAvailableAt,
    addedAt: m.addedAt,
    ...(m.updatedAt === undefined ? {} : { updatedAt: m.updatedAt }),
    Media: _media(m),
    ...(guids ? { Guid: _guids(m.externalIds) } : {}),
  };
}

function _seasonTitle(s: MockSeason): string {
  return s.index === 0 ? "Specials" : `Season ${s.index}`;
}

function _renderEpisode(e: MockLeaf, show: MockShow, season: MockSeason, guids: boolean): Json {
  return {
    ratingKey: e.ratingKey,
    key: `/library/metadata/${e.ratingKey}`,
    parentRatingKey: season.ratingKey,
    grandparentRatingKey: show.ratingKey,
    guid: e.guid,
    parentGuid: season.guid,
    grandparentGuid: show.guid,
    type: "episode",
    title: e.title,
    grandparentKey: `/library/metadata/${show.ratingKey}`,
    parentKey: `/library/metadata/${season.ratingKey}`,
    grandparentTitle: show.title,
    parentTitle: _seasonTitle(season),
    summary: "",
    index: e.index,
    parentIndex: season.index,
    year: e.year,
    thumb: `/library/metadata/${e.ratingKey}/thumb/${e.addedAt}`,
    duration: e.duration,
    originallyAvailableAt: e.originallyAvailableAt,
    addedAt: e.addedAt,
    ...(e.updatedAt === undefined ? {} : { updatedAt: e.updatedAt }),
    Media: _media(e),
    ...(guids ? { Guid: _guids(e.externalIds) } : {}),
  };
}

function _leafCount(show: MockShow): number {
  return show.seasons.reduce((n, s) => n + s.episodes.length, 0);
}

function _renderShow(show: MockShow, detail: boolean): Json {
  return {
    ratingKey: show.ratingKey,
    key: `/library/metadata/${show.ratingKey}/children`,
    guid: show.guid,
    type: "show",
    title: show.title,
    summary: "",
    index: 1,
    year: show.year,
    leafCount: _leafCount(show),
    viewedLeafCount: 0,
    childCount: show.seasons.length,
    addedAt: BASE_TIME + Number(show.ratingKey),
    updatedAt: BASE_TIME + 2 * Number(show.ratingKey),
    ...(detail ? { Location: [{ path: show.location }] } : {}),
  };
}

function _renderSeason(show: MockShow, season: MockSeason): Json {
  return {
    ratingKey: season.ratingKey,
    key: `/library/metadata/${season.ratingKey}/children`,
    parentRatingKey: show.ratingKey,
    guid: season.guid,
    parentGuid: show.guid,
    type: "season",
    title: _seasonTitle(season),
    parentKey: `/library/metadata/${show.ratingKey}`,
    parentTitle: show.title,
    index: season.index,
    parentIndex: 1,
    leafCount: season.episodes.length,
    viewedLeafCount: 0,
    addedAt: BASE_TIME + Number(season.ratingKey),
    updatedAt: BASE_TIME + 2 * Number(season.ratingKey),
  };
}

function _renderSection(s: MockSection): Json {
  const agents = {
    movie: ["tv.plex.agents.movie", "Plex Movie"],
    show: ["tv.plex.agents.series", "Plex TV Series"],
    artist: ["tv.plex.agents.music", "Plex Music"],
    photo: ["com.plexapp.agents.none", "Plex Photo Scanner"],
  }[s.type];
  return {
    allowSync: true,
    art: `/:/resources/${s.type}-fanart.jpg`,
    composite: `/library/sections/${s.key}/composite/${BASE_TIME}`,
    filters: true,
    refreshing: false,
    thumb: `/:/resources/${s.type}.png`,
    key: s.key,
    type: s.type,
    title: s.title,
    agent: agents[0],
    scanner: agents[1],
    language: "en-US",
    uuid: `00000000-0000-4000-8000-${s.key.padStart(12, "0")}`,
    updatedAt: BASE_TIME,
    createdAt: BASE_TIME,
    scannedAt: BASE_TIME,
    content: true,
    directory: true,
    contentChangedAt: 1000,
    hidden: 0,
    Location: s.locations.map((path, i) => ({ id: Number(s.key) * 100 + i, path })),
  };
}

// ---------------------------------------------------------------------------
// XML, for clients that do not ask for JSON (Plex's default format).

function _xmlEscape(v: unknown): string {
  return String(typeof v === "boolean" ? (v ? 1 : 0) : v).replace(/&/g, "&amp;")
    .replace(/</g, "&lt;").replace(/"/g, "&quot;").replace(/>/g, "&gt;");
}

function _xmlElement(name: string, obj: Json): string {
  let attrs = "";
  let children = "";
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const child of v as Json[]) {
        const childName = k === "Metadata"
          ? (child.type === "movie" || child.type === "episode" ? "Video" : "Directory")
          : k;
        children += _xmlElement(childName, child);
      }
    } else if (typeof v !== "object" || v === null) {
      attrs += ` ${k}="${_xmlEscape(v)}"`;
    }
  }
  return children ? `<${name}${attrs}>${children}</${name}>` : `<${name}${attrs}/>`;
}

// ---------------------------------------------------------------------------
// The server.

interface _Page {
  start: number;
  size: number | undefined;
  paged: boolean;
}

function _page(url: URL, headers: Headers): _Page {
  const get = (name: string) => url.searchParams.get(name) ?? headers.get(name);
  const startRaw = get("X-Plex-Container-Start");
  const sizeRaw = get("X-Plex-Container-Size");
  const start = Math.max(0, Number.parseInt(startRaw ?? "0", 10) || 0);
  const size = sizeRaw === null ? undefined : Math.max(0, Number.parseInt(sizeRaw, 10) || 0);
  return { start, size, paged: startRaw !== null || sizeRaw !== null };
}

interface _State extends MockLog<PlexFault> {
  token: string;
  machineIdentifier: string;
  friendlyName: string;
  sections: MockSection[];
  closing: AbortController;
  flat: WeakMap<MockSection, { sig: string; list: _Flat }>;
}

interface _Answer {
  status: number;
  container?: Json;
  html?: string;
  headers?: Record<string, string>;
  page?: _Page;
  sectionKey?: string;
}

type _Flat = [MockLeaf, MockShow, MockSeason][];

/**
 * Every episode of a show section in listing order. Cached per section, keyed
 * by the section's shape (shows, seasons, episode counts), so paging a 100k
 * library does not rebuild the list for every page.
 */
function _flatEpisodes(state: _State, section: MockSection): _Flat {
  let sig = `${section.shows.length}`;
  for (const show of section.shows) {
    sig += `|${show.ratingKey}`;
    for (const season of show.seasons) {
      sig += `,${season.episodes.length}:${season.episodes[0]?.ratingKey}`;
    }
  }
  const cached = state.flat.get(section);
  if (cached?.sig === sig) return cached.list;
  const list: _Flat = [];
  for (const show of section.shows) {
    for (const season of show.seasons) {
      for (const e of season.episodes) list.push([e, show, season]);
    }
  }
  state.flat.set(section, { sig, list });
  return list;
}

function _findLeafOrParent(
  state: _State,
  rk: string,
):
  | { kind: "movie"; section: MockSection; leaf: MockLeaf }
  | { kind: "episode"; section: MockSection; leaf: MockLeaf; show: MockShow; season: MockSeason }
  | { kind: "show"; section: MockSection; show: MockShow }
  | { kind: "season"; section: MockSection; show: MockShow; season: MockSeason }
  | undefined {
  for (const section of state.sections) {
    for (const m of section.movies) {
      if (m.ratingKey === rk) return { kind: "movie", section, leaf: m };
    }
    for (const show of section.shows) {
      if (show.ratingKey === rk) return { kind: "show", section, show };
      for (const season of show.seasons) {
        if (season.ratingKey === rk) return { kind: "season", section, show, season };
        for (const e of season.episodes) {
          if (e.ratingKey === rk) return { kind: "episode", section, leaf: e, show, season };
        }
      }
    }
  }
  return undefined;
}

/** A listing: its items and how to render one (only the page asked for is rendered). */
interface _Listing<T> {
  items: readonly T[];
  render(item: T): Json;
}

function _listing<T>(items: readonly T[], render: (item: T) => Json): _Listing<unknown> {
  return { items, render } as _Listing<unknown>;
}

/** Pages a listing; rendering only the page keeps a 100k library cheap per request. */
function _container(
  listing: _Listing<unknown>,
  page: _Page,
  extra: Json,
): { container: Json; total: number } {
  const total = listing.items.length;
  const slice = page.size === undefined
    ? listing.items.slice(page.start)
    : listing.items.slice(page.start, page.start + page.size);
  const container: Json = {
    size: slice.length,
    ...(page.paged ? { totalSize: total, offset: page.start } : {}),
    allowSync: true,
    identifier: "com.plexapp.plugins.library",
    mediaTagPrefix: "/system/bundle/media/flags/",
    mediaTagVersion: BASE_TIME,
    ...extra,
    Metadata: slice.map((item) => listing.render(item)),
  };
  return { container, total };
}

function _pagedHeaders(page: _Page, total: number): Record<string, string> {
  return page.paged
    ? { "X-Plex-Container-Start": String(page.start), "X-Plex-Container-Total-Size": String(total) }
    : {};
}

function _sectionAll(state: _State, section: MockSection, url: URL, page: _Page): _Answer {
  const type = url.searchParams.get("type");
  const guids = url.searchParams.get("includeGuids") === "1";
  const title = url.searchParams.get("title")?.toLowerCase();
  const filter = <T>(list: readonly T[], titleOf: (t: T) => string): readonly T[] =>
    title === undefined ? list : list.filter((x) => titleOf(x).toLowerCase().includes(title));
  let items = _listing<never>([], () => ({}));
  let viewGroup: string = section.type;
  if (section.type === "movie" && (type === null || type === "1")) {
    items = _listing(
      filter(section.movies, (m) => m.title),
      (m) => _renderMovie(m, section, guids),
    );
  } else if (section.type === "show" && (type === null || type === "2")) {
    items = _listing(filter(section.shows, (s) => s.title), (s) => _renderShow(s, false));
  } else if (section.type === "show" && type === "3") {
    viewGroup = "season";
    items = _listing(
      section.shows.flatMap((show) => show.seasons.map((s) => [show, s] as const)),
      ([show, s]) => _renderSeason(show, s),
    );
  } else if (section.type === "show" && type === "4") {
    viewGroup = "episode";
    items = _listing(
      filter(_flatEpisodes(state, section), ([e]) => e.title),
      ([e, show, season]) => _renderEpisode(e, show, season, guids),
    );
  }
  const { container, total } = _container(items, page, {
    art: `/:/resources/${section.type}-fanart.jpg`,
    content: "secondary",
    librarySectionID: Number(section.key),
    librarySectionTitle: section.title,
    librarySectionUUID: `00000000-0000-4000-8000-${section.key.padStart(12, "0")}`,
    title1: section.title,
    title2: section.type === "movie" ? "All Movies" : "All Shows",
    viewGroup,
  });
  return {
    status: 200,
    container,
    headers: _pagedHeaders(page, total),
    page,
    sectionKey: section.key,
  };
}

function _metadata(state: _State, parts: string[], url: URL, page: _Page): _Answer {
  const [rk, sub] = parts;
  const found = _findLeafOrParent(state, rk);
  if (!found) return { status: 404, html: NOT_FOUND_HTML };
  const guids = url.searchParams.get("includeGuids") === "1";
  const sectionExtra = {
    librarySectionID: Number(found.section.key),
    librarySectionTitle: found.section.title,
  };
  let items: (() => Json)[];
  if (sub === undefined) {
    let one: Json;
    if (found.kind === "movie") {
      one = _renderMovie(found.leaf, found.section, true);
    } else if (found.kind === "episode") {
      one = _renderEpisode(found.leaf, found.show, found.season, true);
    } else if (found.kind === "show") {
      one = { ..._renderShow(found.show, true), Guid: [{ id: `tvdb://${found.show.ratingKey}` }] };
    } else one = _renderSeason(found.show, found.season);
    items = [() => one];
    const { container } = _container(
      _listing(items, (f) => f()),
      { start: 0, size: undefined, paged: false },
      sectionExtra,
    );
    return { status: 200, container };
  }
  if (sub === "children" && found.kind === "show") {
    items = found.show.seasons.map((s) => () => _renderSeason(found.show, s));
    if (url.searchParams.get("excludeAllLeaves") !== "1") {
      items.unshift(() => ({
        leafCount: _leafCount(found.show),
        thumb: `/library/metadata/${found.show.ratingKey}/thumb/${BASE_TIME}`,
        viewedLeafCount: 0,
        key: `/library/metadata/${found.show.ratingKey}/allLeaves`,
        title: "All episodes",
      }));
    }
  } else if (sub === "children" && found.kind === "season") {
    items = found.season.episodes.map((e) => () =>
      _renderEpisode(e, found.show, found.season, guids)
    );
  } else if (sub === "allLeaves" && found.kind === "show") {
    items = found.show.seasons.flatMap((s) =>
      s.episodes.map((e) => () => _renderEpisode(e, found.show, s, guids))
    );
  } else if (sub === "children" || sub === "allLeaves") {
    items = [];
  } else {
    return { status: 404, html: NOT_FOUND_HTML };
  }
  const { container, total } = _container(_listing(items, (f) => f()), page, {
    ...sectionExtra,
    key: rk,
    title1: found.section.title,
    viewGroup: sub === "allLeaves" || found.kind === "season" ? "episode" : "season",
  });
  return { status: 200, container, headers: _pagedHeaders(page, total), page };
}

function _route(state: _State, req: Request, url: URL): _Answer {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  if (req.method !== "GET" && req.method !== "HEAD") return { status: 405, html: NOT_FOUND_HTML };
  if (path === "/identity") {
    return {
      status: 200,
      container: {
        size: 0,
        apiVersion: "1.1.1",
        claimed: true,
        machineIdentifier: state.machineIdentifier,
        version: MOCK_PLEX_VERSION,
      },
    };
  }
  const token = req.headers.get("X-Plex-Token") ?? url.searchParams.get("X-Plex-Token");
  if (token !== state.token) {
    return {
      status: 401,
      html: UNAUTHORIZED_HTML,
      headers: { "X-Plex-Protocol": "1.0" },
    };
  }
  const page = _page(url, req.headers);
  if (path === "/") {
    return {
      status: 200,
      container: {
        size: 0,
        allowCameraUpload: false,
        claimed: true,
        friendlyName: state.friendlyName,
        machineIdentifier: state.machineIdentifier,
        myPlex: true,
        platform: "Linux",
        platformVersion: "6.1",
        version: MOCK_PLEX_VERSION,
      },
    };
  }
  if (path === "/library/sections" || path === "/library/sections/all") {
    return {
      status: 200,
      container: {
        size: state.sections.length,
        allowSync: false,
        title1: "Plex Library",
        Directory: state.sections.map(_renderSection),
      },
    };
  }
  const parts = path.split("/").slice(1);
  if (parts[0] === "library" && parts[1] === "sections" && parts.length >= 3) {
    const section = state.sections.find((s) => s.key === decodeURIComponent(parts[2]));
    if (!section) return { status: 404, html: NOT_FOUND_HTML };
    if (parts.length === 4 && parts[3] === "all") return _sectionAll(state, section, url, page);
    return { status: 404, html: NOT_FOUND_HTML };
  }
  if (parts[0] === "library" && parts[1] === "metadata" && parts.length >= 3) {
    return _metadata(state, parts.slice(2), url, page);
  }
  return { status: 404, html: NOT_FOUND_HTML };
}

function _faultFor(state: _State, path: string, page: _Page | undefined): PlexFault | undefined {
  const index = page?.paged && page.size ? Math.floor(page.start / page.size) : undefined;
  return takeFault(state, { path, page: index });
}

function _mutate(state: _State, sectionKey: string | undefined, fault: PlexFault): void {
  const section = state.sections.find((s) => s.key === sectionKey);
  if (!section) return;
  if (fault.kind === "shrink") {
    for (let i = 0; i < fault.count; i++) {
      if (section.type === "movie") section.movies.shift();
      else {
        const season = section.shows.flatMap((s) => s.seasons).find((s) => s.episodes.length);
        season?.episodes.shift();
      }
    }
  } else if (fault.kind === "grow") {
    const maxKey = Math.max(
      0,
      ...state.sections.flatMap((s) => [
        ...s.movies.map((m) => Number(m.ratingKey)),
        ...s.shows.flatMap((sh) =>
          sh.seasons.flatMap((se) => se.episodes.map((e) => Number(e.ratingKey)))
        ),
      ]),
    );
    const keys = _keys(maxKey + 1000);
    if (section.type === "movie") {
      for (let i = 0; i < fault.count; i++) {
        section.movies.push(_movie(keys, { title: `Zz Added ${i + 1}` }, section.locations[0]));
      }
    } else {
      const show = _show(
        keys,
        { title: "Zz Added Show", seasons: { 1: fault.count } },
        section.locations[0],
      );
      section.shows.push(show);
    }
  }
}

async function _handle(state: _State, req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname === "/__mock/requests") {
    return new Response(JSON.stringify({ count: state.count }), {
      headers: { "content-type": "application/json" },
    });
  }
  const answer = _route(state, req, url);
  const record = logRequest(state, req, { url, status: answer.status });

  const fault = answer.status === 401 ? undefined : _faultFor(state, url.pathname, answer.page);
  const headers = new Headers(answer.headers);
  headers.set("X-Plex-Protocol", "1.0");
  if (fault?.kind === "slow") await sleepUnlessClosed(fault.delayMs, state.closing.signal);
  if (fault?.kind === "status") {
    record.status = fault.status;
    headers.set("content-type", "text/html");
    return new Response(`<html><body><h1>${fault.status}</h1></body></html>`, {
      status: fault.status,
      headers,
    });
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
  if (answer.html !== undefined) {
    headers.set("content-type", "text/html");
    return new Response(answer.html, { status: answer.status, headers });
  }
  const container = answer.container;
  if (fault?.kind === "low-total" && typeof container?.totalSize === "number") {
    container.totalSize = Math.max(0, container.totalSize - fault.count);
  }
  const wantsJson = (req.headers.get("accept") ?? "").includes("application/json");
  let body: string;
  if (fault?.kind === "no-container") {
    body = JSON.stringify({ errors: [] });
  } else if (wantsJson) {
    body = JSON.stringify({ MediaContainer: answer.container });
  } else {
    body = `<?xml version="1.0" encoding="UTF-8"?>\n${
      _xmlElement("MediaContainer", answer.container ?? {})
    }\n`;
  }
  headers.set("content-type", wantsJson ? "application/json" : "text/xml;charset=utf-8");
  if (fault?.kind === "shrink" || fault?.kind === "grow") _mutate(state, answer.sectionKey, fault);
  if (fault?.kind === "truncate") body = body.slice(0, Math.floor(body.length / 2));
  if (fault?.kind === "drop") {
    record.status = 0;
    return droppedResponse(body, headers);
  }
  return new Response(body, { status: answer.status, headers });
}

/**
 * Starts a mock on `127.0.0.1` (a free port). Close it with
 * {@link PlexMock.close}.
 */
export function startPlexMock(options: PlexMockOptions = {}): Promise<PlexMock> {
  const sections = buildSections(
    options.sections ?? [
      { type: "movie", title: "Movies", movies: 5, multiPartEvery: 3 },
      { type: "show", title: "TV Shows", shows: 2, seasonsPerShow: 2, episodesPerSeason: 3 },
    ],
  );
  const state: _State = {
    token: options.token ?? `mock-plex-token-${crypto.randomUUID()}`,
    machineIdentifier: "96f2fe7a78c9dc1f16a16bedbe90f98149be16b4",
    friendlyName: options.friendlyName ?? "RetroVue Mock PMS",
    sections,
    ...newMockLog<PlexFault>(options.maxLog ?? 10_000),
    closing: new AbortController(),
    flat: new WeakMap(),
  };
  const controls = serveMock(state, (req) => _handle(state, req), {
    closing: state.closing,
    tls: options.tls,
    onError: () => new Response("mock error", { status: 500 }),
  });
  return Promise.resolve({
    ...controls,
    token: state.token,
    machineIdentifier: state.machineIdentifier,
    sections: state.sections,
  });
}

if (import.meta.main) {
  const args = Deno.args;
  const episodes = Number(args[args.indexOf("--episodes") + 1] || 100_000);
  const episodesPerSeason = 25;
  const seasonsPerShow = 10;
  const shows = Math.ceil(episodes / (episodesPerSeason * seasonsPerShow));
  const mock = await startPlexMock({
    maxLog: 1000,
    sections: [
      { type: "movie", title: "Movies", movies: 100 },
      { type: "show", title: "TV Shows", shows, seasonsPerShow, episodesPerSeason },
    ],
  });
  console.log(JSON.stringify({ url: mock.url, token: mock.token }));
}
