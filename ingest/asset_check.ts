/**
 * The checks of `importedAssetSchema` (`core/schemas.ts`) written out by
 * hand, for the ingest's hot path: validating every streamed item with zod
 * cost about as much as all the rest of normalising it, most of it in
 * allocations.
 *
 * {@link checkImportedAsset} only ever answers "valid, and here are its
 * fields" or "ask the schema": it accepts an item only when every field
 * passes the very checks the schema makes, so anything unusual or invalid
 * is handed to zod, which accepts it or says why not, in its own words.
 * `tests/asset_check_test.ts` holds the two to the same verdicts.
 *
 * @module
 */

import type { ValidImportedAsset, ValidTechnicalMetadata } from "../core/schemas.ts";

/**
 * The item's fields when `raw` passes every check of `importedAssetSchema`
 * (its refinements included); undefined when it does not, or when it is
 * unusual enough to leave to the schema. Reads each field once.
 */
export function checkImportedAsset(raw: unknown): ValidImportedAsset | undefined {
  if (!_isObject(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const externalId = r.externalId;
  const kind = r.kind;
  const title = r.title;
  const seriesTitle = r.seriesTitle;
  const season = r.season;
  const episode = r.episode;
  const episodeEnd = r.episodeEnd;
  const year = r.year;
  const airDate = r.airDate;
  const durationMs = r.durationMs;
  const externalIds = r.externalIds;
  const path = r.path;
  const parts = r.parts;
  const size = r.size;
  const modified = r.modified;
  const tech = r.tech;
  if (
    typeof externalId !== "string" || externalId.length < 1 || externalId.length > 4096 ||
    !_plain(externalId) ||
    (kind !== "movie" && kind !== "episode") ||
    typeof title !== "string" || title.length > 1000 || !_plain(title) ||
    !_optText(seriesTitle, 1000) ||
    !_optInt(season, 0, 1_000_000_000) ||
    !_optInt(episode, 0, 1_000_000_000) ||
    !_optInt(episodeEnd, 0, 1_000_000_000) ||
    !_optInt(year, 1800, 3000) ||
    !(airDate == null || (typeof airDate === "string" && _isAirDate(airDate))) ||
    !_optNumber(durationMs, 1e12) ||
    !(externalIds === undefined || _isIdRecord(externalIds)) ||
    !_optText(path, 4096) ||
    !(parts === undefined || _isTextList(parts, 100, 4096)) ||
    !_optInt(size, 0, Number.MAX_SAFE_INTEGER) ||
    !_optText(modified, 500) ||
    !(tech == null || _isTech(tech))
  ) return undefined;
  // The schema's refinements (superRefine).
  if (kind === "movie" && title.trim() === "") return undefined;
  if (kind === "episode" && !(seriesTitle as string | null | undefined)?.trim()) return undefined;
  if (episodeEnd != null && (episode == null || (episodeEnd as number) < (episode as number))) {
    return undefined;
  }
  return {
    externalId,
    kind,
    title,
    seriesTitle: seriesTitle as string | null | undefined,
    season: season as number | null | undefined,
    episode: episode as number | null | undefined,
    episodeEnd: episodeEnd as number | null | undefined,
    year: year as number | null | undefined,
    airDate: airDate as string | null | undefined,
    durationMs: durationMs as number | null | undefined,
    externalIds: externalIds as Record<string, string> | undefined,
    path: path as string | null | undefined,
    parts: parts as string[] | undefined,
    size: size as number | null | undefined,
    modified: modified as string | null | undefined,
    tech: tech as ValidTechnicalMetadata | null | undefined,
  };
}

/** What zod's `z.object` takes: any object but an array. */
function _isObject(v: unknown): v is object {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A technical field's `z.string().max(max).nullish()`: stored inside JSON,
 * which keeps a NUL, so one is allowed here.
 */
function _optTechText(v: unknown, max: number): boolean {
  return v == null || (typeof v === "string" && v.length <= max);
}

/** `_text(max).nullish()`: at most `max` characters, well-formed, no NUL. */
function _optText(v: unknown, max: number): boolean {
  return v == null || (typeof v === "string" && v.length <= max && _plain(v));
}

/** Text SQLite keeps as given: no NUL, no lone surrogate half. */
function _plain(s: string): boolean {
  return !s.includes("\0") && s.isWellFormed();
}

/** `z.number().int().min(min).max(max).nullish()`. */
function _optInt(v: unknown, min: number, max: number): boolean {
  return v == null || (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max);
}

/** `z.number().nonnegative().max(max).nullish()` (NaN fails both comparisons). */
function _optNumber(v: unknown, max: number): boolean {
  return v == null || (typeof v === "number" && v >= 0 && v <= max);
}

/**
 * `/^\d{4}-\d{2}-\d{2}$/`, read character by character: a RegExp call cost
 * more than the whole check of most fields.
 */
function _isAirDate(s: string): boolean {
  if (s.length !== 10) return false;
  for (let i = 0; i < 10; i++) {
    const c = s.charCodeAt(i);
    if (i === 4 || i === 7 ? c !== 0x2d : c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** `/^[a-z0-9_]{1,40}$/` (a provider id's key), read character by character. */
function _isIdKey(s: string): boolean {
  if (s.length < 1 || s.length > 40) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f)) return false;
  }
  return true;
}

/** `z.boolean().optional()`. */
function _optBoolean(v: unknown): boolean {
  return v === undefined || typeof v === "boolean";
}

/** `z.array(_text(maxText)).max(maxItems)`, dense. */
function _isTextList(v: unknown, maxItems: number, maxText: number): boolean {
  if (!Array.isArray(v) || v.length > maxItems) return false;
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (typeof s !== "string" || s.length > maxText || !_plain(s)) return false;
  }
  return true;
}

/**
 * `z.record(z.string().regex(_ID_KEY), z.string().max(500))`, for a plain
 * object whose keys are all ordinary: a `__proto__` key (which zod skips)
 * and symbol keys (which it rejects) are left to the schema.
 */
function _isIdRecord(v: unknown): boolean {
  if (!_isObject(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const ids = v as Record<string, unknown>;
  for (const key in ids) {
    if (!Object.hasOwn(ids, key) || key === "__proto__" || !_isIdKey(key)) return false;
    const value = ids[key];
    if (typeof value !== "string" || value.length > 500) return false;
  }
  return Object.getOwnPropertySymbols(ids).length === 0;
}

/** `technicalMetadataSchema`: every field optional, sizes bounded. */
function _isTech(v: unknown): boolean {
  if (!_isObject(v)) return false;
  const t = v as Record<string, unknown>;
  const video = t.video;
  const audio = t.audio;
  const subtitles = t.subtitles;
  if (!_optTechText(t.container, 64) || !_optNumber(t.bitrate, 1e12)) return false;
  if (video != null) {
    if (!_isObject(video)) return false;
    const x = video as Record<string, unknown>;
    const scan = x.scanType;
    const hdr = x.hdr;
    if (
      !_optTechText(x.codec, 64) || !_optTechText(x.profile, 100) ||
      !_optInt(x.width, 0, 100_000) || !_optInt(x.height, 0, 100_000) ||
      !_optNumber(x.frameRate, 1000) ||
      !(scan == null || scan === "progressive" || scan === "interlaced") ||
      !(hdr == null || hdr === "sdr" || hdr === "hdr10" || hdr === "hdr10plus" ||
        hdr === "hlg" || hdr === "dolby_vision")
    ) return false;
  }
  return (audio === undefined || _isObjectList(audio, 64, _isAudioStream)) &&
    (subtitles === undefined || _isObjectList(subtitles, 256, _isSubtitleStream));
}

/** An audio stream of `technicalMetadataSchema`. */
function _isAudioStream(s: Record<string, unknown>): boolean {
  return _optTechText(s.codec, 64) && _optInt(s.channels, 0, 64) && _optTechText(s.language, 64) &&
    _optBoolean(s.default);
}

/** A subtitle stream of `technicalMetadataSchema`. */
function _isSubtitleStream(s: Record<string, unknown>): boolean {
  return _optTechText(s.codec, 64) && _optTechText(s.language, 64) && _optBoolean(s.forced) &&
    _optBoolean(s.external);
}

/** `z.array(z.object(…)).max(max)`, each object passing `each`. */
function _isObjectList(
  v: unknown,
  max: number,
  each: (item: Record<string, unknown>) => boolean,
): boolean {
  if (!Array.isArray(v) || v.length > max) return false;
  for (let i = 0; i < v.length; i++) {
    const item = v[i];
    if (!_isObject(item) || !each(item as Record<string, unknown>)) return false;
  }
  return true;
}
