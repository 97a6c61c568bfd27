/**
 * Technical fields of a Jellyfin or Emby item from what its listing already
 * carries: the first media source's `Container`, `Bitrate` and
 * `MediaStreams` (asked for with `Fields=MediaSources`), so no request per
 * item. Further media sources are other versions of the item, as for the
 * path, and are left out.
 *
 * Tolerant like the rest of the mapping: a value of the wrong type or out of
 * the host's bounds becomes null (or the stream list is cut to the bound)
 * rather than failing the item.
 *
 * @module
 */

import type {
  AudioTech,
  HdrFormat,
  SubtitleTech,
  TechnicalMetadata,
  VideoTech,
} from "../../../core/contract.ts";

type _Json = Record<string, unknown>;

/** Most audio streams the host accepts per asset. */
const MAX_AUDIO = 64;
/** Most subtitle streams the host accepts per asset. */
const MAX_SUBTITLES = 256;

/**
 * `VideoRangeType` (Jellyfin 10.9+) to an HDR format. Emby and older
 * Jellyfin say only `VideoRange` `SDR` or `HDR`: `HDR` does not tell which
 * format, so it stays unknown.
 */
const _HDR: Record<string, HdrFormat> = {
  SDR: "sdr",
  HDR10: "hdr10",
  HDR10Plus: "hdr10plus",
  HLG: "hlg",
  DOVI: "dolby_vision",
  DOVIWithHDR10: "dolby_vision",
  DOVIWithHLG: "dolby_vision",
  DOVIWithSDR: "dolby_vision",
};

/**
 * The technical fields of an item, from `item.MediaSources[0]` (the item's
 * own `Container` when the source has none). Null when nothing is known.
 * Codecs are reported as the server names them (`h264`, `dts`, `PGSSUB`);
 * the host lower-cases them.
 */
export function jellyfinTech(item: _Json): TechnicalMetadata | null {
  const source = _obj(Array.isArray(item.MediaSources) ? item.MediaSources[0] : undefined);
  const streams = Array.isArray(source?.MediaStreams)
    ? source.MediaStreams.map(_obj).filter((s): s is _Json => s !== undefined)
    : [];
  const videoStream = streams.find((s) => s.Type === "Video");
  const audio = streams.filter((s) => s.Type === "Audio").slice(0, MAX_AUDIO).map(_audio);
  const subtitles = streams.filter((s) => s.Type === "Subtitle").slice(0, MAX_SUBTITLES)
    .map(_subtitle);
  const bitrate = _number(source?.Bitrate, 1e12);
  const container = _token(source?.Container) ?? _token(item.Container);
  const video = videoStream ? _video(videoStream) : null;
  if (
    container === null && bitrate === null && video === null && audio.length === 0 &&
    subtitles.length === 0
  ) {
    return null;
  }
  return {
    container,
    bitrate: bitrate === null ? null : Math.round(bitrate),
    video,
    audio,
    subtitles,
  };
}

function _video(s: _Json): VideoTech {
  const rate = _number(s.AverageFrameRate, 1000) ?? _number(s.RealFrameRate, 1000);
  const interlaced = s.IsInterlaced;
  return {
    codec: _token(s.Codec),
    profile: _token(s.Profile, 100),
    width: _whole(s.Width, 100_000),
    height: _whole(s.Height, 100_000),
    frameRate: rate === null ? null : Math.round(rate * 1000) / 1000,
    scanType: typeof interlaced === "boolean" ? (interlaced ? "interlaced" : "progressive") : null,
    hdr: _HDR[String(s.VideoRangeType)] ?? (s.VideoRange === "SDR" ? "sdr" : null),
  };
}

function _audio(s: _Json): AudioTech {
  return {
    codec: _token(s.Codec),
    channels: _whole(s.Channels, 64),
    language: _token(s.Language),
    default: s.IsDefault === true,
  };
}

function _subtitle(s: _Json): SubtitleTech {
  return {
    codec: _token(s.Codec),
    language: _token(s.Language),
    forced: s.IsForced === true,
    external: s.IsExternal === true,
  };
}

function _obj(value: unknown): _Json | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as _Json
    : undefined;
}

/** Non-empty text of at most `max` characters, else null. */
function _token(value: unknown, max = 64): string | null {
  return typeof value === "string" && value.trim() !== "" && value.length <= max ? value : null;
}

/** A finite number in `0..max`, else null. */
function _number(value: unknown, max: number): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= max
    ? value
    : null;
}

/** A whole number in `1..max` (servers say 0 for "unknown"), else null. */
function _whole(value: unknown, max: number): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 && value <= max
    ? value
    : null;
}
