/**
 * The enricher contract: everything an enricher author needs, in one file,
 * types only.
 *
 * An enricher is the second kind of plugin. Ingested assets pass through the
 * enrichers attached to their collection (Source → Collection → ingest →
 * Enricher); an enricher looks at one asset's local files and returns its
 * technical fields ({@link TechnicalMetadata}) and, when it can measure it,
 * its duration. It never changes what the importer reported: results live in
 * their own columns, keyed to the file fingerprint they were computed for.
 *
 * An enricher is an ES module whose **default export** is an {@link Enricher}.
 * RetroVue loads it inside the same sandboxed Web Worker runtime as
 * importers: the worker may read only the collection's local paths (after
 * path mapping), run only the executables its `run` params name, and reach
 * no network unless a `net` param grants it. Import from this file with
 * `import type` only: nothing here exists at run time.
 *
 * ```ts
 * import type { Enricher } from "./enricher_contract.ts";
 *
 * export default {
 *   typeId: "example",
 *   displayName: "Example",
 *   appliesTo: ["movie", "episode"],
 *   params: [],
 *   enrich: () => Promise.resolve({ durationMs: 1000, tech: { container: "mkv" } }),
 * } satisfies Enricher;
 * ```
 *
 * @module
 */

import type { ConfigValue, Grant, ParamSpec } from "./contract.ts";

/**
 * The parameter shapes an enricher's {@link EnricherParamSpec} and
 * {@link EnricherConfig} build on, shared with importers; defined in
 * `contract.ts` and re-exported here so an enricher author reads one file.
 */
export type { ConfigValue, Grant, ParamKind, ParamSpec } from "./contract.ts";

/**
 * What an enricher parameter lets the sandbox reach: an importer's
 * {@link Grant} (`net`, `read`), or `run`: the real (absolute,
 * symlink-resolved) path of the one executable this `path` param names
 * becomes the only program the worker may start. An enricher with a `run`
 * param has no `net` param: Deno's permissions do not reach into the program,
 * and OS isolation shares the network with a plugin host granted one.
 */
export type EnricherGrant = Grant | "run";

/**
 * One operator-facing parameter of an enricher, given with
 * `collection update C --add-enricher T --flag VALUE`. Same rules as an
 * importer's {@link ParamSpec}, plus the `run` grant and a PATH lookup.
 *
 * @example The one executable the worker may start
 * ```ts
 * import type { EnricherParamSpec } from "./enricher_contract.ts";
 *
 * const tool: EnricherParamSpec = {
 *   name: "ffprobe",
 *   flag: "--ffprobe",
 *   kind: "path",
 *   grants: "run",
 *   lookup: "ffprobe", // found on the host's PATH when not given
 *   missingHint: "install ffmpeg or pass --ffprobe PATH",
 *   description: "The ffprobe executable",
 * };
 * ```
 */
export interface EnricherParamSpec extends Omit<ParamSpec, "grants"> {
  /** What this value lets the sandbox reach; see {@link EnricherGrant}. */
  grants?: EnricherGrant;
  /**
   * For a `run` param: the executable name the host looks up on its own
   * `PATH` when the operator gives no value (e.g. `ffprobe`). The host
   * resolves it to its real path and grants exactly that file. Only media
   * tools may be looked up (`ffprobe`, `mediainfo`, `mkvmerge`): leave it out
   * for any other program, which the operator then passes by path.
   */
  lookup?: string;
  /**
   * For a `run` param: the one line shown when the executable is found
   * nowhere, e.g. `install ffmpeg or pass --ffprobe PATH`. The enricher is
   * then listed as unavailable and `collection enrich` fails with this line.
   */
  missingHint?: string;
}

/** The validated config of one attached enricher, keyed by param name. */
export type EnricherConfig = Record<string, ConfigValue>;

/** Asset kinds an enricher may apply to. */
export type EnrichableKind = "movie" | "episode";

/** One asset handed to {@link Enricher.enrich}. */
export interface EnrichTarget {
  /** The catalog's asset id (opaque). */
  assetId: string;
  /** Movie or episode. */
  kind: EnrichableKind;
  /** Title, for messages only. */
  title: string;
  /**
   * Every part's **local** path, in order (after path mapping), absolute.
   * A single-file asset has one part. These are the only files the worker
   * may read (plus what `read` params grant).
   */
  parts: string[];
  /** The duration the importer reported, if any, in milliseconds. */
  durationMs: number | null;
}

/** Per-call context of one {@link Enricher.enrich} call. */
export interface EnrichContext {
  /** The attached enricher's validated config, keyed by param name. */
  config: EnricherConfig;
  /** Aborted when the host cancels the call or the per-asset deadline passes. */
  signal: AbortSignal;
  /** Reports something the operator should see (one line). */
  warn(message: string): void;
}

/** High dynamic range formats; `sdr` when the stream declares none. */
export type HdrFormat = "sdr" | "hdr10" | "hdr10plus" | "hlg" | "dolby_vision";

/** The main video stream. Unknown values are `null`. */
export interface VideoTech {
  /** Codec short name, lower case (`h264`, `hevc`, `mpeg2video`, …). */
  codec: string | null;
  /** Codec profile as the tool reports it (`High`, `Main 10`, …). */
  profile: string | null;
  /** Width in pixels. */
  width: number | null;
  /** Height in pixels. */
  height: number | null;
  /** Frames per second, rounded to 3 decimals (e.g. `23.976`). */
  frameRate: number | null;
  /** Progressive or interlaced. */
  scanType: "progressive" | "interlaced" | null;
  /** HDR format. */
  hdr: HdrFormat | null;
}

/** One audio stream. */
export interface AudioTech {
  /** Codec short name, lower case (`aac`, `ac3`, …). */
  codec: string | null;
  /** Channel count. */
  channels: number | null;
  /** Language as tagged (ISO 639-2 such as `eng`), or `null`. */
  language: string | null;
  /** Marked as the default track. */
  default: boolean;
}

/** One subtitle stream, embedded or a sidecar file next to the media. */
export interface SubtitleTech {
  /** Codec or format, lower case (`subrip`, `ass`, `srt`, `hdmv_pgs_subtitle`, …). */
  codec: string | null;
  /** Language as tagged or as named in the sidecar file name, or `null`. */
  language: string | null;
  /** Marked forced. */
  forced: boolean;
  /** True for a sidecar file next to the media (absent or false: embedded). */
  external?: boolean;
}

/**
 * Technical fields of an asset, in one shape whether they come from a
 * server listing (Plex `Media`, Jellyfin `MediaStreams`) or an enricher.
 * Every field is optional; `null` means "looked, unknown".
 *
 * @example A 1080p H.264 file with one audio track and a sidecar subtitle
 * ```ts
 * import type { TechnicalMetadata } from "./enricher_contract.ts";
 *
 * const tech: TechnicalMetadata = {
 *   container: "mkv",
 *   bitrate: 8_000_000,
 *   video: {
 *     codec: "h264",
 *     profile: "High",
 *     width: 1920,
 *     height: 1080,
 *     frameRate: 23.976,
 *     scanType: "progressive",
 *     hdr: "sdr",
 *   },
 *   audio: [{ codec: "aac", channels: 2, language: "eng", default: true }],
 *   subtitles: [{ codec: "subrip", language: "eng", forced: false, external: true }],
 * };
 * ```
 */
export interface TechnicalMetadata {
  /** Container format, lower case (`mkv`, `mp4`, `avi`, …). */
  container?: string | null;
  /** Overall bitrate in bits per second. */
  bitrate?: number | null;
  /** The main video stream, or `null` when there is none. */
  video?: VideoTech | null;
  /** Audio streams in file order. */
  audio?: AudioTech[];
  /** Subtitle streams: embedded first, then sidecars. */
  subtitles?: SubtitleTech[];
}

/** What {@link Enricher.enrich} returns for one asset. The host validates it. */
export interface EnrichResult {
  /** Total duration of all parts in milliseconds, when measured. */
  durationMs?: number | null;
  /** Technical fields. */
  tech: TechnicalMetadata;
}

/**
 * What to throw for one asset. Any thrown value whose `code` is one of these
 * crosses the worker boundary with its code and message intact; the host
 * records the message on that asset and goes on with the rest.
 * - `FILE_UNREADABLE`: missing, empty or not readable.
 * - `MEDIA_INVALID`: read but not understood (corrupt, truncated, not media).
 * - `TOOL_FAILED`: the executable failed for another reason.
 * - `CONFIG_INVALID`, `UNSUPPORTED`: as for importers.
 */
export type EnricherErrorCode =
  | "FILE_UNREADABLE"
  | "MEDIA_INVALID"
  | "TOOL_FAILED"
  | "CONFIG_INVALID"
  | "UNSUPPORTED";

/**
 * An enricher type: the default export of an enricher module. `enrich` may
 * be called for several assets at once (up to {@link Enricher.concurrency});
 * keep no state between calls.
 *
 * @example Durations from ffprobe, through the one executable it is granted
 * ```ts
 * import type { Enricher } from "./enricher_contract.ts";
 *
 * export default {
 *   typeId: "duration-probe",
 *   displayName: "Duration probe (example)",
 *   appliesTo: ["movie", "episode"],
 *   concurrency: "per_core",
 *   params: [{
 *     name: "ffprobe",
 *     flag: "--ffprobe",
 *     kind: "path",
 *     grants: "run",
 *     lookup: "ffprobe",
 *     missingHint: "install ffmpeg or pass --ffprobe PATH",
 *     description: "The ffprobe executable",
 *   }],
 *   async enrich(asset, context) {
 *     let ms = 0;
 *     for (const part of asset.parts) {
 *       const output = await new Deno.Command(String(context.config.ffprobe), {
 *         args: ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", part],
 *         signal: context.signal,
 *       }).output();
 *       const seconds = Number(new TextDecoder().decode(output.stdout));
 *       if (!output.success || !(seconds > 0)) {
 *         throw Object.assign(new Error(`ffprobe cannot read ${part}`), { code: "MEDIA_INVALID" });
 *       }
 *       ms += Math.round(seconds * 1000);
 *     }
 *     return { durationMs: ms, tech: {} };
 *   },
 * } satisfies Enricher;
 * ```
 */
export interface Enricher<C extends EnricherConfig = EnricherConfig> {
  /** Unique type id among enrichers, `[a-z][a-z0-9_-]*` (e.g. `ffprobe`). */
  typeId: string;
  /** Human name (e.g. `ffprobe (FFmpeg)`). */
  displayName: string;
  /** One paragraph for `enricher list-types` and `--help`. */
  description?: string;
  /** The enricher's own version. */
  version?: string;
  /** Operator parameters. */
  params: EnricherParamSpec[];
  /** Asset kinds it handles; others are never handed to it. */
  appliesTo: EnrichableKind[];
  /**
   * How many `enrich` calls the host may run at once: a number, or
   * `"per_core"` (one per CPU core). Defaults to 1.
   */
  concurrency?: number | "per_core";
  /** Per-asset deadline in milliseconds the host enforces. Defaults to 30 000. */
  timeoutMs?: number;
  /** Returns the technical fields of one asset, or throws a typed error. */
  enrich(asset: EnrichTarget, context: EnrichContext & { config: C }): Promise<EnrichResult>;
}
