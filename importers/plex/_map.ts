/**
 * Maps Plex JSON items (movies, episodes, sections) to the importer contract.
 *
 * **Stable external id: the item's `ratingKey`.** It is the primary key of
 * the item in the server's database, so it survives server restarts, library
 * rescans, metadata refreshes and "Fix Match" (which rewrite `guid`). The
 * `guid` is not a good key: with the legacy agents it carries the agent and a
 * language (`com.plexapp.agents.thetvdb://74205/1/1?lang=en`) and changes when
 * the agent or match changes, unmatched items have `local://<ratingKey>`, and
 * two copies of one film in a library share a `guid`. A `ratingKey` changes
 * only when Plex deletes the item and adds it again (file removed and the
 * trash emptied, or the whole library deleted and added again); that *is* a
 * different item to Plex too. The `plex://` guid, when present, is reported
 * as `externalIds.plex`: the host uses it (then provider ids, then the path)
 * to keep the asset's RetroVue id across such a re-key (`ingest/rekey.ts`).
 *
 * @module
 */

import type {
  CollectionInfo,
  ImportedAsset,
  TechnicalMetadata,
  VideoTech,
} from "../../core/contract.ts";

/** What the mapper reports about an item it did not map. */
export interface PlexSkip {
  /** A printable name of the item. */
  item: string;
  /** Why it was skipped. */
  reason: string;
  /** Its `ratingKey`, when it has one but is malformed: its stored asset is kept. */
  heldId?: string;
}

type _Obj = Record<string, unknown>;

function _obj(v: unknown): _Obj | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v as _Obj : undefined;
}

function _arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function _str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

function _int(v: unknown): number | null {
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : null;
}

function _num(v: unknown): number | null {
  const n = typeof v === "string" && v !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : null;
}

// The host's bounds (`importedAssetSchema` and `technicalMetadataSchema` in
// core/schemas.ts): a value past one makes the host refuse the whole item, so
// the mapper reports it as unknown (null) instead.
const _MAX_DURATION_MS = 1e12;
const _MAX_SIZE = Number.MAX_SAFE_INTEGER;
const _MAX_INDEX = 1_000_000_000;
const _MIN_YEAR = 1800;
const _MAX_YEAR = 3000;
const _MAX_BITRATE = 1e12;
const _MAX_DIMENSION = 100_000;
const _MAX_CHANNELS = 64;

/** A number (or numeric string) from 0 to `max`, else null. */
function _amount(v: unknown, max: number): number | null {
  const n = _num(v);
  return n !== null && n <= max ? n : null;
}

/** The sum of `values`, or null when it exceeds `max`. */
function _total(values: number[], max: number): number | null {
  const sum = values.reduce((a, b) => a + b, 0);
  return sum <= max ? sum : null;
}

/** How much upstream text a skip's label or reason quotes. */
const _QUOTED = 100;

/** `s` cut to {@link _QUOTED} characters (marked `…`), never splitting a surrogate pair. */
function _cut(s: string): string {
  if (s.length <= _QUOTED) return s;
  return `${s.slice(0, _QUOTED - 1).replace(/[\uD800-\uDBFF]$/, "")}…`;
}

/**
 * An untrusted value made printable without walking into it: a string
 * (quoted, cut) or a number as itself, anything else by its kind. `String()`,
 * a template literal or `JSON.stringify` of a deeply nested array recurses and
 * throws `RangeError` (a crash of the whole listing, not one skipped item).
 */
function _show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(_cut(v));
  if (typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

const _PROVIDERS: Record<string, string> = { imdb: "imdb", tmdb: "tmdb", tvdb: "tvdb" };

/** Provider ids from `Guid[]` (`imdb://tt…`, `tmdb://…`, `tvdb://…`) plus the `plex://` guid. */
export function plexExternalIds(item: _Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of _arr(item.Guid)) {
    const id = _str(_obj(g)?.id);
    const m = id?.match(/^([a-z]+):\/\/(.+)$/);
    if (m && _PROVIDERS[m[1]] && m[2].length <= 500) out[_PROVIDERS[m[1]]] = m[2];
  }
  const guid = _str(item.guid);
  if (guid?.startsWith("plex://") && guid.length <= 500) out.plex = guid;
  return out;
}

/**
 * The files of an item: every part of its first version (`Media[0]`), in
 * order. Plex lists several `Part`s for a stacked multi-file item and several
 * `Media` for several versions of one item; the first version is the one
 * Plex plays by default. `size` sums the parts' sizes the host accepts (0 to
 * 2^53 bytes), and is null when there is none or the sum is larger.
 */
export function plexParts(item: _Obj): { files: string[]; size: number | null; versions: number } {
  const media = _arr(item.Media).map(_obj).filter((m): m is _Obj => m !== undefined);
  const first = media[0];
  const files: string[] = [];
  let size: number | null = null;
  for (const part of _arr(first?.Part)) {
    const p = _obj(part);
    const file = _str(p?.file);
    if (file) files.push(file);
    const amount = _amount(p?.size, _MAX_SIZE);
    const s = amount !== null && Number.isInteger(amount) ? amount : null; // bytes are whole
    if (s !== null) size = (size ?? 0) + s;
  }
  return { files, size: size !== null && size <= _MAX_SIZE ? size : null, versions: media.length };
}

/**
 * The item's change marker: `updatedAt` (else `addedAt`), then the ids of
 * its first version and of that version's parts as ` parts=<media>:<part>,…`
 * (e.g. `1700000000 parts=101:1011,1012`). Plex does not bump `updatedAt`
 * when a file is swapped under an item (a Sonarr upgrade), and a swap with
 * the same name and size is then told only by the new media and part rows.
 * The host keeps the first ingest after this suffix appeared quiet.
 */
export function plexFileMarker(item: _Obj): string | null {
  const time = _int(item.updatedAt) ?? _int(item.addedAt);
  const first = _obj(_arr(item.Media)[0]);
  const media = _int(first?.id);
  const parts: number[] = [];
  for (const part of _arr(first?.Part)) {
    const id = _int(_obj(part)?.id);
    if (id !== null) parts.push(id);
  }
  const ids = media === null && parts.length === 0 ? "" : `parts=${media ?? ""}:${parts.join(",")}`;
  if (time === null) return ids === "" ? null : ids;
  return ids === "" ? String(time) : `${time} ${ids}`;
}

/** A short token (codec, container) as Plex gives it, or null when absent or implausible. */
function _token(v: unknown): string | null {
  const s = _str(v);
  return s !== undefined && s !== "" && s.length <= 64 ? s : null;
}

/** A whole number from `min` to `max`, else null (the host refuses others). */
function _bounded(v: unknown, max: number, min = 0): number | null {
  const n = _int(v);
  return n !== null && n >= min && n <= max ? n : null;
}

/**
 * Plex's `videoFrameRate` is a class, not a measurement: `24p` (which also
 * covers 23.976), `25p`, `60p`, `NTSC` (29.97), `PAL` (25). Mapped to the
 * nominal rate, and the scan type when the class names it (`p`/`i`).
 */
function _frameRate(
  v: unknown,
): Pick<VideoTech, "frameRate" | "scanType"> {
  const s = _str(v);
  if (s === "NTSC") return { frameRate: 29.97, scanType: null };
  if (s === "PAL") return { frameRate: 25, scanType: null };
  const m = s?.match(/^(\d{1,3})([pi])$/);
  if (!m) return { frameRate: null, scanType: null };
  return { frameRate: Number(m[1]), scanType: m[2] === "p" ? "progressive" : "interlaced" };
}

/**
 * The technical fields of an item's first version (`Media[0]`), from what a
 * listing page carries: container, overall bitrate (Plex says kbit/s), the
 * video codec, profile, size and frame rate, and one audio stream (codec,
 * channels). Listings carry no per-stream details (languages, subtitles);
 * those stay unknown rather than costing a request per item. Null when the
 * item's `Media` tells none of these.
 */
export function plexTech(item: _Obj): TechnicalMetadata | null {
  const media = _obj(_arr(item.Media)[0]);
  if (!media) return null;
  const kbps = _num(media.bitrate);
  const codec = _token(media.videoCodec);
  const width = _bounded(media.width, _MAX_DIMENSION);
  const height = _bounded(media.height, _MAX_DIMENSION);
  const video = codec === null && width === null && height === null ? null : {
    codec,
    profile: _token(media.videoProfile),
    width,
    height,
    ..._frameRate(media.videoFrameRate),
    hdr: null,
  };
  const audioCodec = _token(media.audioCodec);
  const channels = _bounded(media.audioChannels, _MAX_CHANNELS);
  const container = _token(media.container);
  const bitrate = kbps === null || kbps * 1000 > _MAX_BITRATE ? null : kbps * 1000;
  const audio = audioCodec === null && channels === null
    ? []
    : [{ codec: audioCodec, channels, language: null, default: true }];
  if (container === null && bitrate === null && video === null && audio.length === 0) return null;
  return { container, bitrate, video, audio };
}

/**
 * An item's duration in milliseconds: the item's own, else its first
 * version's, else the sum of that version's parts when every part has one.
 * A value (or sum) the host would refuse (negative, past 1e12 ms) counts as
 * unknown.
 */
export function plexDuration(item: _Obj): number | null {
  const media = _obj(_arr(item.Media)[0]);
  const own = _amount(item.duration, _MAX_DURATION_MS) ??
    _amount(media?.duration, _MAX_DURATION_MS);
  if (own !== null) return own;
  const parts = _arr(media?.Part).map((p) => _amount(_obj(p)?.duration, _MAX_DURATION_MS));
  if (parts.length === 0 || parts.some((d) => d === null)) return null;
  return _total(parts as number[], _MAX_DURATION_MS);
}

/** A printable name of an item: upstream text cut to {@link _QUOTED} characters. */
function _label(item: _Obj): string {
  const rk = _cut(_str(item.ratingKey) ?? "?");
  const title = _cut(_str(item.title) ?? "");
  if (item.type === "episode") {
    const s = _int(item.parentIndex);
    const e = _int(item.index);
    const series = _cut(_str(item.grandparentTitle) ?? "?");
    return `${series} S${s ?? "?"}E${e ?? "?"} (ratingKey ${rk})`;
  }
  return `${title || "?"} (ratingKey ${rk})`;
}

/**
 * Why an item is not of the `expected` type, or undefined when it is. The
 * type is compared without regard to case: an item skipped as of another
 * type keeps no stored asset, so a server that wrote `Movie` would have its
 * movies removed.
 */
function _typeProblem(item: _Obj, expected: "movie" | "episode"): string | undefined {
  const type = item.type;
  if (type === expected) return undefined;
  if (type === undefined || type === null) return "malformed: no type";
  if (typeof type !== "string") return `malformed: type is ${_show(type)}`;
  if (type.toLowerCase() === expected) return undefined;
  return `not a ${expected} (type ${_show(type)})`;
}

/**
 * The text fields that name an item (`ratingKey`, `title`, an episode's
 * `grandparentTitle`) holding something other than text or a number (an
 * array, an object): `malformed: title is an array`, or undefined. Guessing
 * would file the item under the wrong name.
 */
function _nameProblem(item: _Obj, expected: "movie" | "episode"): string | undefined {
  const fields = expected === "episode"
    ? ["ratingKey", "title", "grandparentTitle"]
    : ["ratingKey", "title"];
  const bad = fields.filter((f) => item[f] != null && _str(item[f]) === undefined);
  if (bad.length === 0) return undefined;
  return `malformed: ${bad.map((f) => `${f} is ${_show(item[f])}`).join("; ")}`;
}

/**
 * Maps one movie or episode. Returns a {@link PlexSkip} for items that are
 * not of the expected type, have no `ratingKey`, or whose type, `ratingKey`
 * or title is not text (`malformed: …`); everything else is left to the
 * host's validation. Numeric fields outside the host's bounds are null, and
 * nothing of the item is stringified beyond 100 characters, so a hostile
 * item (a 1e308 duration, a `type` nested 10000 arrays deep) costs at most
 * that item, never the listing.
 */
export function mapPlexItem(
  raw: unknown,
  expected: "movie" | "episode",
): ImportedAsset | PlexSkip {
  const item = _obj(raw);
  if (!item) return { item: "(not an object)", reason: "not a Plex item" };
  const problem = _typeProblem(item, expected) ?? _nameProblem(item, expected);
  if (problem) {
    // Listed with its ratingKey but unreadable: its stored asset stays (not of this type: goes).
    const id = problem.startsWith("malformed:") ? _str(item.ratingKey) : undefined;
    return { item: _label(item), reason: problem, ...(id ? { heldId: id } : {}) };
  }
  const rk = _str(item.ratingKey);
  if (!rk) return { item: _label(item), reason: "no ratingKey" };
  const { files, size } = plexParts(item);
  const modified = plexFileMarker(item);
  const asset: ImportedAsset = {
    externalId: rk,
    kind: expected,
    title: _str(item.title) ?? "",
    year: _bounded(item.year, _MAX_YEAR, _MIN_YEAR),
    durationMs: plexDuration(item),
    externalIds: plexExternalIds(item),
    path: files[0] ?? null,
    parts: files,
    size,
    modified,
    tech: plexTech(item),
  };
  if (expected === "episode") {
    asset.seriesTitle = _str(item.grandparentTitle) ?? null;
    asset.season = _bounded(item.parentIndex, _MAX_INDEX);
    asset.episode = _bounded(item.index, _MAX_INDEX);
    const aired = _str(item.originallyAvailableAt);
    if (asset.episode === null && aired && /^\d{4}-\d{2}-\d{2}$/.test(aired)) {
      asset.airDate = aired;
    }
  }
  return asset;
}

/** Whether a mapped value is a skip. */
export function isPlexSkip(value: ImportedAsset | PlexSkip): value is PlexSkip {
  return "reason" in value && !("externalId" in value);
}

/** Maps one `/library/sections` `Directory` to a collection, or undefined when unusable. */
export function mapPlexSection(raw: unknown): CollectionInfo | undefined {
  const dir = _obj(raw);
  const key = _str(dir?.key);
  if (!dir || !key) return undefined;
  const type = _str(dir.type) ?? "unknown";
  const name = (_str(dir.title) ?? "").trim() || `Plex library ${key}`;
  const locations = _arr(dir.Location).map((l) => _str(_obj(l)?.path)).filter((p): p is string =>
    p !== undefined
  );
  if (type === "movie" || type === "show") {
    return { externalId: key, name, kind: type === "movie" ? "movies" : "shows", locations };
  }
  return {
    externalId: key,
    name,
    kind: "other",
    locations,
    ingestible: false,
    reason: `Plex ${_cut(type)} libraries are not imported (only movie and show libraries are)`,
  };
}
