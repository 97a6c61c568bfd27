/**
 * Maps `ffprobe -print_format json -show_format -show_streams` output to the
 * enricher contract's technical fields. Pure functions: no I/O, so they are
 * tested on their own and the enricher stays small.
 *
 * @module
 */

import type {
  AudioTech,
  HdrFormat,
  SubtitleTech,
  TechnicalMetadata,
  VideoTech,
} from "../../core/enricher_contract.ts";

/** The parts of one ffprobe stream this mapping reads. */
export interface ProbeStream {
  /** `video`, `audio`, `subtitle`, `data`, `attachment`. */
  codec_type?: string;
  /** Codec short name. */
  codec_name?: string;
  /** Codec profile. */
  profile?: string;
  /** Width in pixels. */
  width?: number;
  /** Height in pixels. */
  height?: number;
  /** Average frame rate, `num/den`. */
  avg_frame_rate?: string;
  /** Real base frame rate, `num/den`. */
  r_frame_rate?: string;
  /** `progressive`, `tt`, `bb`, `tb`, `bt`, `unknown`. */
  field_order?: string;
  /** Transfer characteristics (`smpte2084`, `arib-std-b67`, …). */
  color_transfer?: string;
  /** Audio channel count. */
  channels?: number;
  /** Duration in seconds, as text. */
  duration?: string;
  /** Stream tags (`language`, …). */
  tags?: Record<string, string>;
  /** Disposition flags, 0 or 1. */
  disposition?: Record<string, number>;
  /** Side data (HDR metadata, Dolby Vision configuration). */
  side_data_list?: { side_data_type?: string }[];
}

/** The parts of ffprobe's JSON this mapping reads. */
export interface ProbeOutput {
  /** Container-level facts. */
  format?: { format_name?: string; duration?: string; bit_rate?: string };
  /** Every stream. */
  streams?: ProbeStream[];
}

/** What one probed file contributes: its duration and technical fields. */
export interface MappedProbe {
  /** Duration in milliseconds, or null when ffprobe reports none. */
  durationMs: number | null;
  /** Technical fields. */
  tech: TechnicalMetadata;
}

/**
 * Maps one file's ffprobe output. `extension` (lower case, no dot) names the
 * container where ffprobe reports a family (`mov,mp4,m4a,…`).
 */
export function mapProbe(probe: ProbeOutput, extension: string): MappedProbe {
  const streams = Array.isArray(probe.streams) ? probe.streams : [];
  const videoStream = streams.find((s) =>
    s.codec_type === "video" && s.disposition?.attached_pic !== 1
  );
  const audio: AudioTech[] = streams.filter((s) => s.codec_type === "audio").map((s) => ({
    codec: _text(s.codec_name),
    channels: typeof s.channels === "number" ? s.channels : null,
    language: _language(s.tags),
    default: s.disposition?.default === 1,
  }));
  const subtitles: SubtitleTech[] = streams.filter((s) => s.codec_type === "subtitle").map((
    s,
  ) => ({
    codec: _text(s.codec_name),
    language: _language(s.tags),
    forced: s.disposition?.forced === 1,
  }));
  const streamSeconds = streams.map((s) => _number(s.duration)).filter((n) => n !== null);
  const seconds = _number(probe.format?.duration) ??
    (streamSeconds.length ? Math.max(...streamSeconds) : null);
  const bitrate = _number(probe.format?.bit_rate);
  return {
    durationMs: seconds !== null && seconds > 0 ? Math.round(seconds * 1000) : null,
    tech: {
      container: containerName(probe.format?.format_name, extension),
      bitrate: bitrate === null ? null : Math.round(bitrate),
      video: videoStream ? _video(videoStream) : null,
      audio,
      subtitles,
    },
  };
}

/** The container name: ffprobe's family narrowed by the file extension. */
export function containerName(formatName: string | undefined, extension: string): string | null {
  if (!formatName) return null;
  const family = formatName.split(",");
  if (family.includes("matroska")) return extension === "webm" ? "webm" : "mkv";
  if (family.includes("mov") || family.includes("mp4")) {
    return ["mov", "m4v", "mp4"].includes(extension) ? extension : "mp4";
  }
  if (family.includes("mpegts")) return "ts";
  return family[0].slice(0, 64) || null;
}

/** Frames per second from `num/den`, rounded to 3 decimals; null when unknown. */
export function frameRate(text: string | undefined): number | null {
  const match = /^(\d+)\/(\d+)$/.exec(text ?? "");
  if (!match || Number(match[2]) === 0 || Number(match[1]) === 0) return null;
  return Math.round((Number(match[1]) / Number(match[2])) * 1000) / 1000;
}

function _video(s: ProbeStream): VideoTech {
  return {
    codec: _text(s.codec_name),
    profile: _text(s.profile),
    width: typeof s.width === "number" ? s.width : null,
    height: typeof s.height === "number" ? s.height : null,
    frameRate: frameRate(s.avg_frame_rate) ?? frameRate(s.r_frame_rate),
    scanType: s.field_order === "progressive"
      ? "progressive"
      : ["tt", "bb", "tb", "bt"].includes(s.field_order ?? "")
      ? "interlaced"
      : null,
    hdr: _hdr(s),
  };
}

function _hdr(s: ProbeStream): HdrFormat {
  const side = (s.side_data_list ?? []).map((d) => d.side_data_type ?? "");
  if (side.some((t) => /DOVI/i.test(t))) return "dolby_vision";
  if (s.color_transfer === "arib-std-b67") return "hlg";
  if (s.color_transfer === "smpte2084") {
    return side.some((t) => /SMPTE2094-40/i.test(t)) ? "hdr10plus" : "hdr10";
  }
  return "sdr";
}

function _language(tags: Record<string, string> | undefined): string | null {
  const value = tags?.language ?? tags?.LANGUAGE;
  return typeof value === "string" && value !== "" && value !== "und" ? value.slice(0, 64) : null;
}

function _text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value.slice(0, 64) : null;
}

function _number(value: unknown): number | null {
  const n = typeof value === "string" ? Number(value) : typeof value === "number" ? value : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** Subtitle file extensions recognised as sidecars. */
export const SIDECAR_EXTENSIONS: readonly string[] = ["srt", "ass", "ssa", "vtt", "sub", "sup"];

/**
 * The sidecar subtitle a file name denotes for a media file whose name
 * without extension is `stem`, or undefined: `Movie.srt`, `Movie.en.srt`,
 * `Movie.eng.forced.srt`. Language and `forced` come from the dotted tokens.
 */
export function sidecarSubtitle(stem: string, name: string): SubtitleTech | undefined {
  if (!name.startsWith(stem + ".")) return undefined;
  const tokens = name.slice(stem.length + 1).split(".");
  const extension = tokens.pop()!.toLowerCase();
  if (!SIDECAR_EXTENSIONS.includes(extension)) return undefined;
  const lower = tokens.map((t) => t.toLowerCase());
  const language = lower.find((t) => /^[a-z]{2,3}(-[a-z]{2,4})?$/.test(t) && t !== "sdh");
  return {
    codec: extension,
    language: language ?? null,
    forced: lower.includes("forced"),
    external: true,
  };
}
