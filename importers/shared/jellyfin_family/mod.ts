/**
 * The importer shared by `jellyfin` and `emby`: discovery, paged listings,
 * targeted fetches and the mapping of `BaseItemDto`s to assets. The two
 * plugin modules only pick a flavor.
 *
 * - Routes follow the server version read from `/System/Info/Public`:
 *   Jellyfin 10.9+ uses `/UserViews` and `/Items`; Jellyfin 10.8 and Emby use
 *   `/Users/{id}/Views` and `/Users/{id}/Items`. `/Library/VirtualFolders`
 *   (administrators only) gives each library's folder locations.
 * - Every item listing names a user (`--user`, the token's own, else the
 *   first enabled administrator): Jellyfin 10.11 lists no episodes under a
 *   parent for an API key without `userId` (jellyfin/jellyfin#15107).
 * - Full fetch: one paged listing per collection (`ParentId`, `Recursive`,
 *   `IncludeItemTypes=Movie|Episode`, `ExcludeLocationTypes=Virtual`, a
 *   stable multi-key sort, `StartIndex`/`Limit` until `TotalRecordCount`),
 *   one page ahead, each page yielded as it arrives.
 * - Targeted fetch: the title is pushed down (`SearchTerm`, then an exact,
 *   case-insensitive match here); for shows, `/Shows/{id}/Episodes` of each
 *   matching series with `Season=` pushed down and the episode matched here
 *   (a double episode `IndexNumber`..`IndexNumberEnd` matches both numbers).
 * - Stacked items (one movie or episode split into files, `PartCount` 2 or
 *   more): their other files from `/Videos/{id}/AdditionalParts` (`_parts.ts`).
 * - Stable ids: the item `Id` (kept across rescans and metadata refreshes;
 *   it changes only when the file moves, which is a new item upstream too).
 * - Tolerant parsing: unknown fields are ignored, a missing optional field is
 *   null, one malformed item is skipped and reported; a page none of whose
 *   items carries a required field is `MALFORMED_RESPONSE` (see
 *   {@link mapJellyfinItem} and {@link missingRequiredField}).
 *
 * @module
 */

import type {
  CallContext,
  CollectionInfo,
  CollectionKind,
  ConnectionInfo,
  FetchRequest,
  ImportedAsset,
  Importer,
  ImporterConfig,
} from "../../../core/contract.ts";
import {
  FLAVOR_NAMES,
  JELLYFIN_IMPORTER_VERSION,
  type JellyfinClient,
  jellyfinError,
  type JellyfinFlavor,
  type JellyfinTuning,
  openJellyfinClient,
  type ServerInfo,
  statusOf,
} from "./_client.ts";
import { jellyfinTech } from "./_tech.ts";
import {
  heldSkips,
  type ListingIds,
  listingName,
  type ListingStats,
  newListingStats,
  pagedItems,
  pageMapper,
  readListing,
} from "../paged_listing.ts";
import { addAdditionalParts, partCountOf } from "./_parts.ts";

/** The auth headers Jellyfin and Emby requests carry; benchmarks send the importer's own. */
export { type JellyfinAuth, jellyfinAuthHeaders } from "./_client.ts";

/**
 * Default items per page, chosen by measurement (`bench/jellyfin_bench.ts`,
 * 100k episodes over loopback, one run: 100/page 2.6 s in 1 000 requests,
 * 250/page 2.4 s, 500/page 1.8 s, 1 000 and 2 000/page 1.8 s). From 500 up
 * the wall time is flat, while a page grows from ~0.7 MB (500) to ~2.9 MB
 * (2 000) in the mock, and more on a real server whose `MediaSources` carry
 * every stream, built from its database in one go before it answers. 500 is
 * the smallest size on the plateau.
 */
export const DEFAULT_PAGE_SIZE = 500;

/** The `Fields` every listing asks for (the optional `BaseItemDto` parts the mapping reads). */
export const ITEM_FIELDS = "Path,ProviderIds,MediaSources,DateCreated,Etag";

/** Stable sort keys per item type (ties are further broken by `Id` de-duplication). */
const SORT: Record<"Movie" | "Episode" | "Series", string> = {
  Movie: "SortName,ProductionYear,DateCreated",
  Episode: "SeriesSortName,ParentIndexNumber,IndexNumber,SortName,DateCreated",
  Series: "SortName,ProductionYear",
};

/** Most times a listing is read again when the library changes while it is read. */
const MAX_EXTRA_PASSES = 2;

const GUID = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

type _Json = Record<string, unknown>;

interface _Config {
  baseUrl: string;
  apiKey: string;
  user?: string;
  pageSize: number;
}

function _config(config: ImporterConfig, flavor: JellyfinFlavor): _Config {
  const name = FLAVOR_NAMES[flavor];
  const baseUrl = config.base_url;
  const apiKey = config.api_key;
  if (typeof baseUrl !== "string" || !/^https?:\/\//.test(baseUrl)) {
    throw jellyfinError(
      "CONFIG_INVALID",
      `--base-url must be the http(s) URL of the ${name} server`,
    );
  }
  if (typeof apiKey !== "string" || apiKey === "") {
    throw jellyfinError("CONFIG_INVALID", "--api-key is required");
  }
  const user = config.user;
  if (user !== undefined && (typeof user !== "string" || user.trim() === "")) {
    throw jellyfinError("CONFIG_INVALID", "--user must be a user name or id");
  }
  const pageSize = config.page_size ?? DEFAULT_PAGE_SIZE;
  if (typeof pageSize !== "number" || !Number.isSafeInteger(pageSize) || pageSize < 1) {
    throw jellyfinError("CONFIG_INVALID", "--page-size must be a positive integer");
  }
  return {
    baseUrl: baseUrl.replace(/\/+$/, ""),
    apiKey,
    user: user?.trim(),
    pageSize,
  };
}

function _obj(value: unknown): _Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as _Json
    : undefined;
}

function _str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function _int(value: unknown, min = 0): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min ? value : null;
}

function _sameName(a: unknown, wanted: string): boolean {
  return typeof a === "string" && _nameKey(a) === _nameKey(wanted);
}

/** A name as {@link _sameName} compares it. */
function _nameKey(name: string): string {
  return name.normalize("NFC").trim().toLowerCase();
}

/** An upstream item deliberately not imported. */
export interface JellyfinSkip {
  /** Always true: tells a skip from an asset. */
  skip: true;
  /** What to call the item in the report. */
  item: string;
  /** Why. */
  reason: string;
  /** Its `Id`, when it has one but could not be read: its stored asset is kept. */
  heldId?: string;
}

/** Whether a mapping result is a skip. */
export function isJellyfinSkip(value: ImportedAsset | JellyfinSkip): value is JellyfinSkip {
  return (value as JellyfinSkip).skip === true;
}

/** An item `Id`: a non-empty string (Jellyfin's 32 hex digits) or a whole number (Emby). */
function _idOf(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() === "" ? undefined : value;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}

/** A short printable form of an upstream value, for reports. */
function _show(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value.slice(0, 41)) : JSON.stringify(value);
  } catch {
    // Nested past what JSON.stringify walks: String() would recurse and throw too.
    text = Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : "?";
  }
  text ??= String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Text of at most `max` characters, else null (an optional field the host would refuse). */
function _optText(value: unknown, max: number): string | null {
  return typeof value === "string" && value !== "" && value.length <= max ? value : null;
}

interface _Placement {
  title: string;
  series: string | null;
  season: number | null;
  episode: number | null;
  end: number | null;
  /** What could not be read. */
  bad: string[];
}

/**
 * Reads the fields that place an item (its names and numbering): absent or
 * null is null; a value of the wrong type is recorded in `bad`, because
 * guessing it would put the item in the wrong place.
 */
function _placement(o: _Json, expected: "movie" | "episode"): _Placement {
  const bad: string[] = [];
  const text = (field: string): string | null => {
    const v = o[field];
    if (v === undefined || v === null) return null;
    if (typeof v === "string") return v.trim() === "" ? null : v;
    bad.push(`${field} is not text (${_show(v)})`);
    return null;
  };
  const index = (field: string): number | null => {
    const v = o[field];
    if (v === undefined || v === null || expected === "movie") return null;
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return v;
    bad.push(`${field} is not a whole number (${_show(v)})`);
    return null;
  };
  return {
    title: text("Name") ?? "",
    series: expected === "episode" ? text("SeriesName") : null,
    season: index("ParentIndexNumber"),
    episode: index("IndexNumber"),
    end: index("IndexNumberEnd"),
    bad,
  };
}

function _label(o: _Json): string {
  const series = _str(o.SeriesName);
  const s = _int(o.ParentIndexNumber);
  const e = _int(o.IndexNumber);
  if (series && s !== null && e !== null) {
    return `${series} S${String(s).padStart(2, "0")}E${String(e).padStart(2, "0")}`;
  }
  return _str(o.Name) ?? _idOf(o.Id) ?? "(unnamed item)";
}

/** The label of a malformed item: its name and, to find it upstream, its id. */
function _malformedLabel(o: _Json, id: string | undefined): string {
  const label = _label(o);
  return id === undefined || label === id ? label : `${label} (Id ${id})`;
}

function _providerIds(value: unknown): Record<string, string> | undefined {
  const o = _obj(value);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = k.toLowerCase();
    if (!/^[a-z0-9_]{1,40}$/.test(key)) continue;
    const text = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
    if (text !== "" && text.length <= 500) out[key] = text;
  }
  return Object.keys(out).length ? out : undefined;
}

/** `RunTimeTicks` (100 ns) as milliseconds, or undefined when it is not a usable duration. */
function _ticksMs(value: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return undefined;
  const ms = Math.round(value / 10_000);
  return ms <= 1e12 ? ms : undefined;
}

/**
 * Maps one `BaseItemDto` to an asset, or says why it is skipped:
 * `Id` → externalId; `RunTimeTicks` (100 ns) → ms; `ProviderIds` keys lower
 * case; `Path`, else the first media source's path (further media sources
 * are alternative versions of the same item, not parts, and are left out);
 * `Etag` (else the first media source's `ETag`) as the change marker; the
 * first media source's container, bitrate and streams as `tech`
 * (`_tech.ts`).
 * `LocationType: Virtual` items (missing-episode placeholders) are skipped.
 *
 * Parsing is tolerant, item by item: unknown fields are ignored; a missing
 * (or null) optional field gives null, and so does a descriptive one that
 * cannot be read (`ProductionYear`, `RunTimeTicks`, `Path`, `MediaSources`,
 * `Etag`, `ProviderIds`, `PremiereDate`), since losing a detail is better than
 * losing the item. An item without an `Id` or `Type`, without the name it
 * needs (`Name` for a movie, `SeriesName` for an episode), or whose name or
 * numbering (`ParentIndexNumber`, `IndexNumber`, `IndexNumberEnd`) has a
 * value of the wrong type is skipped as `malformed: …`: guessing would file
 * it in the wrong place. A whole page of such items is a different matter
 * (see {@link missingRequiredField}).
 */
export function mapJellyfinItem(
  raw: unknown,
  expected: "movie" | "episode",
): ImportedAsset | JellyfinSkip {
  const o = _obj(raw);
  if (!o) {
    return {
      skip: true,
      item: `(${_show(raw)})`,
      reason: "malformed: an item that is not an object",
    };
  }
  const id = _idOf(o.Id);
  if (id === undefined) {
    return {
      skip: true,
      item: _malformedLabel(o, undefined),
      reason: o.Id === undefined || o.Id === null || o.Id === ""
        ? "malformed: no Id"
        : `malformed: Id is not an id (${_show(o.Id)})`,
    };
  }
  if (typeof o.Type !== "string" || o.Type === "") {
    return { skip: true, item: _malformedLabel(o, id), reason: "malformed: no Type", heldId: id };
  }
  const want = expected === "movie" ? "Movie" : "Episode";
  // Without regard to case: an item skipped as of another type keeps no stored asset.
  if (o.Type.toLowerCase() !== expected) {
    return { skip: true, item: _label(o), reason: `not a ${want} (Type ${o.Type})` };
  }
  if (o.LocationType === "Virtual") {
    return {
      skip: true,
      item: _label(o),
      reason: "missing item placeholder (LocationType Virtual)",
    };
  }
  const { title, series, season, episode, end, bad } = _placement(o, expected);
  if (bad.length) {
    return {
      skip: true,
      item: _malformedLabel(o, id),
      reason: `malformed: ${bad.join("; ")}`,
      heldId: id,
    };
  }
  const sources = Array.isArray(o.MediaSources) ? o.MediaSources.map(_obj) : [];
  const first = sources[0];
  const ticks = _ticksMs(o.RunTimeTicks) ?? _ticksMs(first?.RunTimeTicks);
  const year = _int(o.ProductionYear, 1800);
  const size = first?.Size;
  const asset: ImportedAsset = {
    externalId: id,
    kind: expected,
    title,
    year: year !== null && year <= 3000 ? year : null,
    durationMs: ticks ?? null,
    path: _optText(o.Path, 4096) ?? _optText(first?.Path, 4096),
    size: typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : null,
    modified: _optText(o.Etag, 500) ?? _optText(first?.ETag, 500),
  };
  const ids = _providerIds(o.ProviderIds);
  if (ids) asset.externalIds = ids;
  const tech = jellyfinTech(o);
  if (tech) asset.tech = tech;
  if (expected === "movie") {
    if (title === "") {
      return { skip: true, item: id, reason: "movie without a Name", heldId: id };
    }
    return asset;
  }
  if (series === null) {
    return { skip: true, item: _label(o), reason: "episode without a SeriesName", heldId: id };
  }
  asset.seriesTitle = series;
  asset.season = season;
  asset.episode = episode;
  asset.episodeEnd = end !== null && episode !== null && end > episode ? end : null;
  const premiere = _str(o.PremiereDate);
  if (episode === null && premiere && /^\d{4}-\d{2}-\d{2}/.test(premiere)) {
    asset.airDate = premiere.slice(0, 10);
  }
  return asset;
}

/** A field every item of a listing must carry. */
export type JellyfinRequiredField = "Id" | "Type" | "Name" | "SeriesName";

/** The fields without which an item of each listing cannot be used. */
export const REQUIRED_FIELDS: Readonly<
  Record<"movie" | "episode" | "series", readonly JellyfinRequiredField[]>
> = Object.freeze({
  movie: Object.freeze(["Id", "Type", "Name"] as const),
  episode: Object.freeze(["Id", "Type", "SeriesName"] as const),
  series: Object.freeze(["Id", "Type", "Name"] as const),
});

function _hasField(raw: unknown, field: JellyfinRequiredField): boolean {
  const o = _obj(raw);
  if (!o) return false;
  if (field === "Id") return _idOf(o.Id) !== undefined;
  return typeof o[field] === "string" && (o[field] as string).trim() !== "";
}

/**
 * The first of `required` that no item of a non-empty page carries in a
 * usable form, else undefined. One item without an `Id` is a bad item,
 * skipped and reported; every item of a page without one is a response of a
 * shape we do not know (a renamed field, an API change), and importing
 * nothing from it would look like an empty library.
 */
export function missingRequiredField(
  items: readonly unknown[],
  required: readonly JellyfinRequiredField[],
): JellyfinRequiredField | undefined {
  if (items.length === 0) return undefined;
  return required.find((field) => !items.some((raw) => _hasField(raw, field)));
}

/** A library as {@link mapJellyfinLibrary} reads it, from a view or a virtual folder. */
export interface JellyfinLibrary {
  /** The library's item id. */
  id: string;
  /** Its display name (the id when empty). */
  name: string;
  /** The server's `CollectionType` (`movies`, `tvshows`, …), if any. */
  collectionType?: string;
  /** Its folders, when known. */
  locations?: string[];
}

/** Maps a library (a view or a virtual folder) to a collection. */
export function mapJellyfinLibrary(library: JellyfinLibrary): CollectionInfo {
  const { id, name, collectionType, locations } = library;
  const kind: CollectionKind = collectionType === "movies"
    ? "movies"
    : collectionType === "tvshows"
    ? "shows"
    : "other";
  const out: CollectionInfo = { externalId: id, name: name || id, kind };
  if (locations) out.locations = locations;
  if (kind === "other") {
    out.ingestible = false;
    out.reason = `a ${collectionType ?? "mixed-content"} library; only movie and TV libraries ` +
      `are imported`;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Users.

interface _Session {
  client: JellyfinClient;
  info: ServerInfo;
  config: _Config;
  name: string;
}

async function _open(
  flavor: JellyfinFlavor,
  config: ImporterConfig,
  signal: AbortSignal,
  tuning: JellyfinTuning,
): Promise<_Session> {
  const c = _config(config, flavor);
  const client = await openJellyfinClient({
    ...tuning,
    flavor,
    baseUrl: c.baseUrl,
    apiKey: c.apiKey,
    signal,
  });
  const info = await client.serverInfo();
  return { client, info, config: c, name: FLAVOR_NAMES[flavor] };
}

function _users(body: unknown, s: _Session): _Json[] {
  const list = Array.isArray(body) ? body : _obj(body)?.Items;
  if (!Array.isArray(list)) {
    throw jellyfinError(
      "MALFORMED_RESPONSE",
      `${s.name} at ${s.config.baseUrl} answered /Users with something that is not a user list`,
    );
  }
  return list.map(_obj).filter((u): u is _Json => u !== undefined);
}

/**
 * The user whose view of the libraries is read. `--user` is an id (32 hex
 * digits, with or without dashes) or a name (looked up in `/Users`). Without
 * it: the token's own user (`/Users/Me`, Jellyfin user tokens); for an API
 * key (no user of its own) undefined, unless `needed`, then the first enabled
 * administrator in `/Users` (the first enabled user if none is an
 * administrator, as an Emby user token sees only itself there). Every item
 * listing needs one: Emby and Jellyfin 10.8 route by user, and Jellyfin 10.11
 * answers an API key's `/Items?ParentId=…` without `userId` with no episodes
 * at all, as a valid empty page (jellyfin/jellyfin#15107).
 */
async function _userId(s: _Session, needed: boolean): Promise<string | undefined> {
  const wanted = s.config.user;
  if (wanted !== undefined) {
    if (GUID.test(wanted)) return wanted.replace(/-/g, "").toLowerCase();
    const users = _users(await s.client.get("/Users"), s);
    const match = users.find((u) => _sameName(u.Name, wanted));
    const id = match ? _str(match.Id) : undefined;
    if (!id) {
      throw jellyfinError(
        "CONFIG_INVALID",
        `${s.name} at ${s.config.baseUrl} has no user named '${wanted}'; check --user ` +
          `(a user name or id)`,
      );
    }
    return id;
  }
  if (s.client.flavor === "jellyfin") {
    try {
      const me = _obj(await s.client.get("/Users/Me"));
      const id = _str(me?.Id);
      if (id) return id;
    } catch (error) {
      // 400: an API key has no user of its own; 404: a server without /Users/Me.
      const status = statusOf(error);
      if (status !== 400 && status !== 404) throw error;
    }
  }
  if (!needed) return undefined;
  const users = _users(await s.client.get("/Users"), s);
  const enabled = users.filter((u) => _obj(u.Policy)?.IsDisabled !== true);
  const admin = enabled.find((u) => _obj(u.Policy)?.IsAdministrator === true) ?? enabled[0];
  const id = admin ? _str(admin.Id) : undefined;
  if (!id) {
    throw jellyfinError(
      "CONFIG_INVALID",
      `${s.name} at ${s.config.baseUrl} needs a user context for this key; give --user`,
    );
  }
  return id;
}

// ---------------------------------------------------------------------------
// Operations.

async function _validateConnection(
  flavor: JellyfinFlavor,
  config: ImporterConfig,
  context: CallContext,
  tuning: JellyfinTuning,
): Promise<ConnectionInfo> {
  const s = await _open(flavor, config, context.signal, tuning);
  // /System/Info/Public needs no key; /System/Info does, so a bad key fails here.
  const full = _obj(await s.client.get("/System/Info"));
  if (!full) {
    throw jellyfinError(
      "MALFORMED_RESPONSE",
      `${s.name} at ${s.config.baseUrl} answered /System/Info with something that is not an object`,
    );
  }
  if (s.config.user !== undefined) await _userId(s, true);
  return {
    serverName: _str(full.ServerName) ?? s.info.name,
    version: _str(full.Version) ?? s.info.version,
    serverId: _str(full.Id) ?? s.info.id,
  };
}

async function _virtualFolders(s: _Session, context: CallContext): Promise<_Json[] | undefined> {
  let body: unknown;
  try {
    body = await s.client.get("/Library/VirtualFolders");
  } catch (error) {
    if (statusOf(error) !== 403) throw error;
    context.warn(
      `the API key is not an administrator's, so ${s.name} does not tell library folder ` +
        `locations; collections are listed without them`,
    );
    return undefined;
  }
  const list = Array.isArray(body) ? body : _obj(body)?.Items;
  if (!Array.isArray(list)) {
    throw jellyfinError(
      "MALFORMED_RESPONSE",
      `${s.name} at ${s.config.baseUrl} answered /Library/VirtualFolders with something that ` +
        `is not a list`,
    );
  }
  return list.map(_obj).filter((f): f is _Json => f !== undefined);
}

async function _listCollections(
  flavor: JellyfinFlavor,
  config: ImporterConfig,
  context: CallContext,
  tuning: JellyfinTuning,
): Promise<CollectionInfo[]> {
  const s = await _open(flavor, config, context.signal, tuning);
  const userId = await _userId(s, false);
  const folders = await _virtualFolders(s, context);
  // Looked up by id, else by name, in maps built once (a find per view was quadratic).
  const byId = new Map<string, _Json>();
  const byName = new Map<string, _Json>();
  for (const f of folders ?? []) {
    const id = _str(f.ItemId);
    if (id !== undefined && !byId.has(id)) byId.set(id, f);
    const key = typeof f.Name === "string" ? _nameKey(f.Name) : undefined;
    if (key !== undefined && !byName.has(key)) byName.set(key, f);
  }
  const locationsOf = (id: string, name: string): string[] | undefined => {
    if (!folders) return undefined;
    const f = byId.get(id) ?? byName.get(_nameKey(name));
    const locs = Array.isArray(f?.Locations) ? f.Locations.filter(_str) as string[] : undefined;
    return locs;
  };
  if (userId === undefined) {
    if (!folders) {
      throw jellyfinError(
        "CONFIG_INVALID",
        `${s.name} at ${s.config.baseUrl} lists libraries only for a user; give --user`,
      );
    }
    return folders.flatMap((f) => {
      const id = _str(f.ItemId);
      if (!id) {
        context.warn(`${s.name} listed a library folder without an ItemId; ignored`);
        return [];
      }
      const name = _str(f.Name) ?? id;
      return [
        mapJellyfinLibrary({
          id,
          name,
          collectionType: _str(f.CollectionType),
          locations: locationsOf(id, name),
        }),
      ];
    });
  }
  const path = s.info.userRoutes ? `/Users/${encodeURIComponent(userId)}/Views` : "/UserViews";
  let body: unknown;
  try {
    body = await s.client.get(path, { query: s.info.userRoutes ? {} : { userId } });
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
    throw jellyfinError(
      "CONFIG_INVALID",
      `${s.name} at ${s.config.baseUrl} has no user with id ${userId}; check --user`,
    );
  }
  const items = _obj(body)?.Items;
  if (!Array.isArray(items)) {
    throw jellyfinError(
      "MALFORMED_RESPONSE",
      `${s.name} at ${s.config.baseUrl} answered ${path} without an Items list`,
    );
  }
  const out: CollectionInfo[] = [];
  for (const raw of items) {
    const v = _obj(raw);
    const id = v ? _str(v.Id) : undefined;
    if (!v || !id) {
      context.warn(`${s.name} listed a library without an Id; ignored`);
      continue;
    }
    const name = _str(v.Name) ?? id;
    out.push(
      mapJellyfinLibrary({
        id,
        name,
        collectionType: _str(v.CollectionType),
        locations: locationsOf(id, name),
      }),
    );
  }
  return out;
}

type _Query = Record<string, string | number | boolean | undefined>;

interface _PagesOptions {
  path: string;
  query: _Query;
  stats: ListingStats;
  /** Item ids, to check that the server really pages (see `pagedItems`). */
  ids?: ListingIds;
  /** What is listed, for messages. */
  label?: string;
  /** Fields some item of every page must carry (see {@link missingRequiredField}). */
  required: readonly JellyfinRequiredField[];
  /** Told the listing's `TotalRecordCount` once (a progress hint). */
  onTotal?: (total: number) => void;
}

/**
 * Yields the `Items` of each page of a listing, in order, one page ahead
 * (see `../paged_listing.ts`). A server that ignores paging (no
 * `TotalRecordCount`) is taken to have answered everything at once. A page
 * without an `Items` list, or none of whose items carries a required field,
 * is `MALFORMED_RESPONSE`.
 */
function _pages(s: _Session, o: _PagesOptions): AsyncGenerator<unknown[]> {
  const { path, query, stats, required } = o;
  const size = s.config.pageSize;
  return pagedItems(async (start, signal) => {
    const body = _obj(
      await s.client.get(path, { query: { ...query, StartIndex: start, Limit: size }, signal }),
    );
    const items = body?.Items;
    if (!body || !Array.isArray(items)) {
      throw jellyfinError(
        "MALFORMED_RESPONSE",
        `${s.name} at ${s.config.baseUrl} answered ${path} without an Items list`,
      );
    }
    const missing = missingRequiredField(items, required);
    if (missing) {
      throw jellyfinError(
        "MALFORMED_RESPONSE",
        `${s.name} at ${s.config.baseUrl} answered ${path} with ${items.length} item(s) from ` +
          `index ${start}, none of them with a usable ${missing}; this is not a response shape ` +
          `RetroVue knows (server version ${s.info.version})`,
      );
    }
    return { items, total: _int(body.TotalRecordCount) ?? undefined, limit: size };
  }, {
    stats,
    onTotal: o.onTotal,
    ids: o.ids,
    describe: listingName(s.name, { label: o.label, path }),
  });
}

interface _ListOptions {
  s: _Session;
  path: string;
  query: _Query;
  required: readonly JellyfinRequiredField[];
  request: FetchRequest;
  label: string;
  map(items: unknown[]): ImportedAsset[];
}

/** Reads a listing to the end, again if it changed underneath (see `readListing`). */
function _listing(o: _ListOptions): AsyncGenerator<ImportedAsset[]> {
  return readListing({
    server: o.s.name,
    label: o.label,
    maxExtraPasses: MAX_EXTRA_PASSES,
    pass: (stats, ids) =>
      _pages(o.s, {
        path: o.path,
        query: o.query,
        stats,
        ids,
        label: o.label,
        required: o.required,
        onTotal: (n) => o.request.total?.(n),
      }),
    idOf: (raw) => _idOf(_obj(raw)?.Id),
    idName: "Id",
    holdAll: () => o.request.unlisted?.(""),
    map: o.map,
    warn: (m) => o.request.warn(m),
  });
}

async function* _fetchAssets(
  flavor: JellyfinFlavor,
  config: ImporterConfig,
  request: FetchRequest,
  tuning: JellyfinTuning,
): AsyncGenerator<ImportedAsset[]> {
  const { collection, filters } = request;
  const name = FLAVOR_NAMES[flavor];
  if (collection.kind !== "movies" && collection.kind !== "shows") {
    throw jellyfinError(
      "UNSUPPORTED",
      `${name} collection '${collection.name}' is a ${collection.kind} library; ` +
        `only movie and TV libraries are imported`,
    );
  }
  const s = await _open(flavor, config, request.signal, tuning);
  // Always a user: Jellyfin 10.11 lists no episodes under a parent for an API key without one.
  const userId = (await _userId(s, true))!;
  const itemsPath = s.info.userRoutes ? `/Users/${encodeURIComponent(userId)}/Items` : "/Items";
  const userQuery = s.info.userRoutes ? {} : { userId };
  const expected = collection.kind === "movies" ? "movie" : "episode";
  const itemType = expected === "movie" ? "Movie" : "Episode";
  const label = `${name} library '${collection.name}'`;
  // Stacked items (`PartCount` 2 or more) get their other files after their page is mapped.
  const stacked = new WeakMap<ImportedAsset, number>();
  const map = pageMapper({
    mapItem: (raw) => {
      const mapped = mapJellyfinItem(raw, expected);
      const count = isJellyfinSkip(mapped) ? undefined : partCountOf(raw);
      if (count !== undefined) stacked.set(mapped as ImportedAsset, count);
      return mapped;
    },
    isSkip: isJellyfinSkip,
    skipped: (item, reason) => request.skipped(item, reason),
    ...heldSkips(request, label),
  });
  const listing = async function* (o: _ListOptions): AsyncGenerator<ImportedAsset[]> {
    for await (const assets of _listing(o)) {
      for (const asset of assets) {
        const count = stacked.get(asset);
        if (count === undefined) continue;
        await addAdditionalParts(s.client, asset, {
          userId,
          count,
          warn: (m) => request.warn(m),
          signal: request.signal,
        });
      }
      yield assets;
    }
  };
  const listQuery = (type: "Movie" | "Episode" | "Series", extra: _Json = {}): _Query => ({
    ...userQuery,
    ParentId: collection.externalId,
    Recursive: true,
    IncludeItemTypes: type,
    Fields: type === "Series" ? "SortName" : ITEM_FIELDS,
    SortBy: SORT[type],
    SortOrder: "Ascending",
    ...(type === "Series" ? {} : { ExcludeLocationTypes: "Virtual" }),
    EnableImages: false,
    EnableUserData: false,
    EnableTotalRecordCount: true,
    ...extra,
  } as _Query);
  const required = REQUIRED_FIELDS[expected];
  try {
    if (filters.title === undefined) {
      yield* listing({
        s,
        path: itemsPath,
        query: listQuery(itemType),
        required,
        request,
        label,
        map: (items) => map(items),
      });
      return;
    }
    const title = filters.title;
    if (expected === "movie") {
      yield* listing({
        s,
        path: itemsPath,
        query: listQuery("Movie", { SearchTerm: title }),
        required,
        request,
        label,
        map: (items) => map(items, (a) => _sameName(a.title, title)),
      });
      return;
    }
    const series = await _findSeries(s, { itemsPath, listQuery, title });
    if (series.length > 1) {
      request.warn(
        `'${title}' matches ${series.length} series in ${label} (ids ${
          series.map((x) => x.id).join(", ")
        }); ingesting all of them`,
      );
    }
    const keep = (a: ImportedAsset) =>
      filters.episode === undefined ||
      (a.episode != null && a.episode <= filters.episode &&
        filters.episode <= (a.episodeEnd ?? a.episode));
    for (const one of series) {
      try {
        yield* listing({
          s,
          path: `/Shows/${encodeURIComponent(one.id)}/Episodes`,
          query: {
            userId,
            Season: filters.season,
            IsMissing: false,
            Fields: ITEM_FIELDS,
            EnableImages: false,
            EnableUserData: false,
          },
          required,
          request,
          label: `series '${one.name}'`,
          map: (items) => map(items, keep),
        });
      } catch (error) {
        if (statusOf(error) !== 404) throw error;
        request.warn(`series '${one.name}' disappeared from ${name} while it was read; skipped`);
      }
    }
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
    throw jellyfinError(
      "COLLECTION_NOT_FOUND",
      `${label} (id ${collection.externalId}) no longer exists on ${s.config.baseUrl}; ` +
        `run discovery again to refresh this source's collections`,
    );
  }
}

interface _FindSeriesOptions {
  itemsPath: string;
  listQuery(type: "Series", extra?: _Json): _Query;
  title: string;
}

/** Series of a library whose name is `title` (exact, case-insensitive). */
async function _findSeries(
  s: _Session,
  options: _FindSeriesOptions,
): Promise<{ id: string; name: string }[]> {
  const { itemsPath, listQuery, title } = options;
  const collect = async (extra: _Json) => {
    const found: { id: string; name: string }[] = [];
    const ids = new Set<string>();
    const stats = newListingStats();
    const query = listQuery("Series", extra);
    const pages = _pages(s, { path: itemsPath, query, stats, required: REQUIRED_FIELDS.series });
    for await (const page of pages) {
      for (const raw of page) {
        const o = _obj(raw);
        const id = o ? _idOf(o.Id) : undefined;
        if (o && id && o.Type === "Series" && _sameName(o.Name, title)) {
          if (!ids.has(id)) {
            ids.add(id);
            found.push({ id, name: String(o.Name) });
          }
        }
      }
    }
    return found;
  };
  const searched = await collect({ SearchTerm: title });
  // SearchTerm matches on a cleaned-up name; punctuation can defeat it, so look at every series.
  return searched.length ? searched : await collect({});
}

/** Options for {@link createJellyfinImporter}. */
export interface JellyfinImporterOptions {
  /** Which server software. */
  flavor: JellyfinFlavor;
  /** HTTP tunables (tests shorten timeouts and backoffs). */
  tuning?: JellyfinTuning;
}

const DESCRIPTIONS: Record<JellyfinFlavor, string> = {
  jellyfin: "Imports movie and TV libraries from a Jellyfin server (10.8 through 12.0) over its " +
    "HTTP API. The key is sent only in the Authorization: MediaBrowser header; each source " +
    "identifies itself with a stable DeviceId derived from a hash of its base URL. An " +
    "administrator's API key also lists each library's folder locations.",
  emby: "Imports movie and TV libraries from an Emby server over its HTTP API (written against " +
    "Emby Server 4.7 and 4.8; routes under /emby). The key is sent only in the X-Emby-Token " +
    "header, with an X-Emby-Authorization header naming RetroVue and a stable DeviceId " +
    "derived from a hash of the base URL.",
};

/** Builds the importer of one flavor. */
export function createJellyfinImporter(options: JellyfinImporterOptions): Importer {
  const { flavor } = options;
  const tuning = options.tuning ?? {};
  const name = FLAVOR_NAMES[flavor];
  return {
    typeId: flavor,
    displayName: flavor === "emby" ? "Emby Server" : "Jellyfin",
    description: DESCRIPTIONS[flavor],
    version: JELLYFIN_IMPORTER_VERSION,
    params: [
      {
        name: "base_url",
        flag: "--base-url",
        kind: "url",
        required: true,
        grants: "net",
        description: `${name} server URL, e.g. http://192.168.1.10:8096`,
      },
      {
        name: "api_key",
        flag: "--api-key",
        kind: "string",
        required: true,
        secret: true,
        description: `${name} API key (Dashboard → API Keys) or a user's access token`,
      },
      {
        name: "user",
        flag: "--user",
        kind: "string",
        description: "User (name or id) whose libraries are read; default: the key's own user, " +
          "or the first enabled administrator",
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
    validateConnection: (config, context) => _validateConnection(flavor, config, context, tuning),
    listCollections: (config, context) => _listCollections(flavor, config, context, tuning),
    fetchAssets: (config, request) => _fetchAssets(flavor, config, request, tuning),
  };
}
