/**
 * The built-in `ffprobe` enricher: durations and technical fields of local
 * media files, from FFmpeg's `ffprobe`.
 *
 * For each part of an asset it runs
 * `ffprobe -v error -print_format json -show_format -show_streams <file>`
 * (the one executable its sandbox may start), sums the parts' durations, maps
 * the first part's streams, and adds sidecar subtitles found next to it.
 * The host runs one probe per core at a time and stops a probe after the
 * `--timeout` seconds.
 *
 * @module
 */

import type {
  EnrichContext,
  Enricher,
  EnrichResult,
  EnrichTarget,
  SubtitleTech,
} from "../../core/enricher_contract.ts";
import { mapProbe, type ProbeOutput, sidecarSubtitle } from "./_map.ts";

const DEFAULT_TIMEOUT_S = 20;
const MAX_OUTPUT = 4 * 1024 * 1024;

const enricher: Enricher = {
  typeId: "ffprobe",
  displayName: "ffprobe (FFmpeg)",
  description: "Probes local files with ffprobe for duration, container, bitrate, video, " +
    "audio and subtitle streams, and finds sidecar subtitles next to each file.",
  version: "1.0.0",
  appliesTo: ["movie", "episode"],
  concurrency: "per_core",
  // The host's hard deadline per asset, for a worker that stops answering: each
  // part's probe is stopped by --timeout first (six parts at the longest one fit).
  timeoutMs: 1_800_000,
  params: [
    {
      name: "ffprobe",
      flag: "--ffprobe",
      kind: "path",
      grants: "run",
      lookup: "ffprobe",
      missingHint: "install ffmpeg or pass --ffprobe PATH",
      description: "The ffprobe executable (default: ffprobe on PATH)",
    },
    {
      name: "timeout",
      flag: "--timeout",
      kind: "integer",
      min: 1,
      max: 300,
      default: DEFAULT_TIMEOUT_S,
      description: "Seconds one file's probe may take",
    },
  ],
  async enrich(asset: EnrichTarget, context: EnrichContext): Promise<EnrichResult> {
    const ffprobe = String(context.config.ffprobe ?? "");
    if (ffprobe === "") throw _error("CONFIG_INVALID", "no ffprobe executable was given");
    const timeoutS = Number(context.config.timeout ?? DEFAULT_TIMEOUT_S);
    if (asset.parts.length === 0) throw _error("FILE_UNREADABLE", "the asset has no local file");
    let total = 0;
    let first: EnrichResult | undefined;
    for (const file of asset.parts) {
      const mapped = mapProbe(await _probe(ffprobe, file, timeoutS, context), _extension(file));
      if (mapped.durationMs === null) {
        throw _error("MEDIA_INVALID", `${_name(file)}: ffprobe found no duration`);
      }
      total += mapped.durationMs;
      first ??= mapped;
    }
    const tech = first!.tech;
    const sidecars = await _sidecars(asset.parts[0]);
    return {
      durationMs: total,
      tech: { ...tech, subtitles: [...(tech.subtitles ?? []), ...sidecars] },
    };
  },
};

export default enricher;

async function _probe(
  ffprobe: string,
  file: string,
  timeoutS: number,
  context: EnrichContext,
): Promise<ProbeOutput> {
  let size: number;
  try {
    size = (await Deno.stat(file)).size;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw _error("FILE_UNREADABLE", `${_name(file)}: no such file`);
    }
    throw error; // A sandbox denial keeps its own code.
  }
  if (size === 0) throw _error("FILE_UNREADABLE", `${_name(file)}: the file is empty`);
  const signal = AbortSignal.any([context.signal, AbortSignal.timeout(timeoutS * 1000)]);
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(ffprobe, {
      args: ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal,
    }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) throw error;
    throw _error("TOOL_FAILED", `ffprobe could not run: ${(error as Error).message}`);
  }
  if (signal.aborted && !context.signal.aborted) {
    throw _error("TOOL_FAILED", `${_name(file)}: ffprobe took longer than ${timeoutS}s`);
  }
  const stderr = new TextDecoder().decode(output.stderr.subarray(0, 4000)).trim();
  const lastLine = stderr.split("\n").filter((l) => l.trim() !== "").pop() ?? "";
  if (!output.success) {
    const code = /No such file|Permission denied/i.test(stderr)
      ? "FILE_UNREADABLE"
      : "MEDIA_INVALID";
    throw _error(
      code,
      `${_name(file)}: ${_clean(lastLine, file) || `ffprobe exited ${output.code}`}`,
    );
  }
  if (/ended prematurely|truncat|partial file/i.test(stderr)) {
    throw _error("MEDIA_INVALID", `${_name(file)}: truncated (${_clean(lastLine, file)})`);
  }
  if (output.stdout.length > MAX_OUTPUT) {
    throw _error("TOOL_FAILED", `${_name(file)}: ffprobe printed more than 4 MiB`);
  }
  try {
    return JSON.parse(new TextDecoder().decode(output.stdout)) as ProbeOutput;
  } catch {
    throw _error("TOOL_FAILED", `${_name(file)}: ffprobe printed something that is not JSON`);
  }
}

async function _sidecars(file: string): Promise<SubtitleTech[]> {
  const slash = file.lastIndexOf("/");
  const dir = file.slice(0, slash) || "/";
  const base = file.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const found: { name: string; subtitle: SubtitleTech }[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || entry.name === base) continue;
      const subtitle = sidecarSubtitle(stem, entry.name);
      if (subtitle) found.push({ name: entry.name, subtitle });
      if (found.length >= 100) break;
    }
  } catch {
    return []; // An unreadable folder has no sidecars we can report.
  }
  return found.sort((a, b) => a.name < b.name ? -1 : 1).map((f) => f.subtitle);
}

function _extension(file: string): string {
  const base = file.slice(file.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
}

function _name(file: string): string {
  return file.slice(file.lastIndexOf("/") + 1);
}

/** ffprobe repeats the path in its messages: keep the reason only. */
function _clean(line: string, file: string): string {
  return line.replaceAll(file + ": ", "").replaceAll(file, _name(file))
    .replace(/^\[[^\]]*\]\s*/, "").slice(0, 300);
}

function _error(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
