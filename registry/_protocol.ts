/**
 * The message protocol between the host, the plugin-host process and the
 * sandboxed workers inside it.
 *
 * ```
 * host (CLI) ──fd 3 lines──▶ plugin host ──postMessage──▶ worker (plugin)
 *            ◀─fd 3 lines── (relays)     ◀─postMessage──
 *            ◀─stdout/stderr: plugin output, read as capped log lines
 * ```
 *
 * The channel is file descriptor 3 of the plugin host, never stdout, so what
 * a plugin prints cannot touch it. Host → plugin-host lines are JSON
 * {@link HostToChild}. Plugin-host → host lines are frames (see
 * {@link workerFrame}, {@link hostFrame}) that start with a nonce: a random
 * value the host sends first, known only to the host and the plugin host's
 * main thread, so a line written into the channel by anyone else is
 * recognised and ends the process. Worker messages ({@link ToWorker},
 * {@link FromWorker}) carry no worker id: the plugin host adds it when
 * relaying.
 *
 * A worker sends each {@link FromWorker} as one JSON text, serialised once in
 * the worker and posted as a string (cloned as one flat copy, cheaper than
 * transferring an encoded buffer); the plugin host encodes it straight into
 * its frame without parsing it (it checks only its length and that it holds
 * no line break) and the host decodes and parses only its payload, once.
 * Moving asset batches this way costs one serialisation and one parse, where
 * a structured clone into the plugin host plus a JSON round trip out of it
 * cost two of each (`bench/transfer_bench.ts`).
 *
 * This module has no dependencies: it is loaded inside the plugin host and
 * the workers, whose module graphs stay minimal.
 *
 * @module
 */

/** The hidden command a compiled binary answers by becoming a plugin host. */
export const PLUGIN_HOST_COMMAND = "__plugin-host";

// How a plugin host is started. Here rather than in `_host_process.ts` so
// that `mod.ts` re-exports them without loading the process code (and
// `node:child_process`) into every command at start-up.

/**
 * V8's young generation capped at 4 MiB per semi-space (the default grows to
 * 16 MiB and more, three of them): a streaming process allocates short-lived
 * batches at a high rate, and V8 otherwise lets its heap grow by tens of MiB
 * before it collects. Measured on a 300k-asset ingest: ~45 MiB less resident
 * per process at no measurable cost (`bench/scale_bench.ts`). Plugin hosts
 * and a compiled binary run with it; the CLI's tasks with
 * {@link CLI_SEMI_SPACE_FLAG}.
 */
export const SEMI_SPACE_FLAG = "--max-semi-space-size=4";

/**
 * The CLI's young generation: 8 MiB per semi-space, twice a plugin host's
 * ({@link SEMI_SPACE_FLAG}). The CLI validates, normalises, fingerprints and
 * stages every asset, so at 4 MiB its scavenges cost a re-ingest ~8–9% (100k,
 * interleaved: Plex unchanged median 4.06 → 3.70 s over 3 rounds, disk
 * unchanged 2.71 → 2.49 s over 4; a disk first ingest ~4%) for ~8–12 MiB of
 * CLI peak. Plugin hosts stay at 4 MiB: the same change in them added another
 * ~10–20 MiB to the tree's peak (100k and 300k) for no clear further gain.
 * The CLI's tasks in `deno.json` carry it; a compiled binary, whose flags are
 * built in for the CLI and its hosts alike, carries {@link SEMI_SPACE_FLAG}.
 */
export const CLI_SEMI_SPACE_FLAG = "--max-semi-space-size=8";

/**
 * V8's old generation grown by 30% after each full collection, rather than
 * by the factor of up to 4 V8 picks when its collections are fast (as they
 * are on the small live heap of a streaming process): garbage that outlived
 * the young generation (relayed text, parsed batches) is collected before it
 * piles up. Only when a collection runs changes, never how much heap may be
 * used, so nothing fails that did not before. Measured on a 1M-asset ingest:
 * the CLI's peak ~25 MiB lower at no measurable cost (`bench/scale_bench.ts`).
 * The CLI's tasks in `deno.json` carry the same flag.
 */
export const HEAP_GROWING_FLAG = "--heap-growing-percent=30";

/** The heap limit built into a compiled binary (its plugin hosts are the binary itself). */
export const STANDALONE_HEAP_MB = 1024;

/**
 * How far a plugin host's resident memory may go past its heap limit, in
 * MiB, before the host ends itself as out of memory. V8's heap limit does
 * not bound what lives outside that heap (ArrayBuffers, WebAssembly memory),
 * and bubblewrap sets no memory limit: without this a plugin could fill the
 * machine's memory, and the kernel's out-of-memory killer might pick another
 * process. A host streaming 100k Plex episodes stays near 100 MiB resident.
 */
export const RESIDENT_SLACK_MB = 256;

/**
 * How long a stream keeps what it yielded before the host hears of it, in
 * milliseconds: when nothing went to the host for this long, the next value
 * `fetchAssets` yields sends the assets gathered so far as a batch, however
 * few, or, if there are none (an empty array yielded), a `beat`. A slow
 * listing (pages of a few items, or of none new while it is read again
 * during a library scan) would otherwise pass the deadline between two
 * batches while every request succeeds.
 */
export const BEAT_EVERY_MS = 1000;

/** How often a plugin host reads its resident memory, in milliseconds. */
export const RESIDENT_CHECK_MS = 25;

/**
 * The exit code of a plugin host that ended itself past its resident memory
 * limit. Told by the code, not by stderr, which a plugin writes too (a
 * plugin's own exit ends its worker, never the process).
 */
export const RESIDENT_EXIT_CODE = 71;

/**
 * The `deno run` flags every plugin host gets besides its permissions: no
 * prompt, no npm packages, no remote modules, no lockfile, only cached code.
 */
export const HOST_RUN_FLAGS: readonly string[] = [
  "--no-prompt",
  "--quiet",
  "--no-npm",
  "--no-remote",
  "--no-lock",
  "--cached-only",
];

/** Operations a worker answers with one value (`enrich` is the enricher's, with an `arg`). */
export type UnaryOp = "validateConnection" | "listCollections" | "enrich";

/** A typed error as it crosses a boundary. */
export interface WireError {
  /** Stable code (validated by the host). */
  code: string;
  /** One line. */
  message: string;
  /** Whether trying again may help. */
  retryable?: boolean;
}

/** A notice attached to a call: a warning or a skipped upstream item. */
export type WireNotice =
  | { kind: "warn"; message: string }
  | { kind: "skipped"; item: string; reason: string }
  | { kind: "total"; count: number }
  | { kind: "unlisted"; prefix: string; exact?: boolean };

/** Messages the plugin host sends into a worker. */
export type ToWorker =
  | { t: "call"; id: number; op: UnaryOp; config: unknown; arg?: unknown }
  | {
    t: "stream";
    id: number;
    op: "fetchAssets";
    config: unknown;
    request: unknown;
    credit: number;
  }
  | { t: "pull"; id: number; n: number }
  | { t: "cancel"; id: number };

/** Messages a worker sends to the plugin host. */
export type FromWorker =
  | { t: "ready"; manifest: unknown }
  | { t: "result"; id: number; value: unknown; notices?: WireNotice[] }
  | { t: "error"; id: number; error: WireError; notices?: WireNotice[] }
  | { t: "batch"; id: number; items: unknown[]; notices?: WireNotice[] }
  | { t: "end"; id: number; notices?: WireNotice[] }
  /**
   * A stream that yielded an empty batch is alive (see {@link BEAT_EVERY_MS}):
   * the call's idle deadline starts again, and its notices so far go along.
   */
  | { t: "beat"; id: number; notices?: WireNotice[] }
  | { t: "log"; level: "debug" | "info" | "warn" | "error"; message: string }
  | { t: "closed"; reason?: string };

/** Deno worker permissions, always explicit (an omitted object inherits everything). */
export interface WorkerPermissions {
  /** `host:port` entries, or false. */
  net: string[] | false;
  /** Absolute real paths, or false. */
  read: string[] | false;
  /** Always false. */
  write: false;
  /** Always false. */
  env: false;
  /** Absolute real paths of the executables an enricher's `run` params grant, or false. */
  run: string[] | false;
  /** Always false. */
  ffi: false;
  /** Always false. */
  sys: false;
  /** Always false. */
  import: false;
}

/** Lines the host writes to the plugin host's channel. */
export type HostToChild =
  | {
    t: "hello";
    nonce: string;
    maxFrameBytes: number;
    runtimeUrl: string;
    /** The plugin host's resident memory limit in MiB (see {@link RESIDENT_SLACK_MB}). */
    maxResidentMb: number;
  }
  | {
    t: "spawn";
    wid: number;
    moduleUrl: string;
    permissions: WorkerPermissions;
    /** The granted read paths, for the worker runtime's read guard. */
    readGuard?: ReadGuard;
  }
  | { t: "kill"; wid: number }
  | { t: "to"; wid: number; msg: ToWorker };

/** The plugin host's own messages about a worker (framed by {@link hostFrame}). */
export type ChildToHost =
  | { t: "exit"; wid: number; reason: string }
  | { t: "oversize"; wid: number; id?: number; bytes: number }
  | { t: "malformed"; wid: number; reason: string };

/** The byte that ends every line and frame. */
export const NEWLINE = 0x0a;

const _encoder = new TextEncoder();

/** The tag that marks a frame as the plugin host's own (a worker's is its id). */
export const HOST_FRAME_TAG = "*";

/**
 * The frame relaying what worker `sent.wid` sent: `NONCE + wid + " " + JSON + "\n"`.
 * `sent.payload` is the worker's JSON text, unparsed: a string (the worker
 * runtime's form), encoded straight into the frame, or UTF-8 bytes, copied
 * in. It must hold no `\n` (JSON text never needs one), which the plugin host
 * checks before framing it.
 */
export function workerFrame(
  nonce: string,
  sent: { wid: number; payload: Uint8Array | string },
): Uint8Array {
  const { wid, payload } = sent;
  const head = `${nonce}${wid} `;
  if (typeof payload === "string") {
    // Encoded straight into the frame: no flattened copy of the text, no second buffer.
    const frame = new Uint8Array(head.length + payload.length + 1);
    _encoder.encodeInto(head, frame);
    const body = frame.subarray(head.length, frame.length - 1);
    if (_encoder.encodeInto(payload, body).read === payload.length) {
      frame[frame.length - 1] = NEWLINE;
      return frame; // ASCII: one byte per character.
    }
    // Not ASCII: encoded whole, then copied in.
    releaseBytes(frame);
    const bytes = _encoder.encode(payload);
    const framed = workerFrame(nonce, { wid, payload: bytes });
    releaseBytes(bytes);
    return framed;
  }
  const frame = new Uint8Array(head.length + payload.length + 1);
  _encoder.encodeInto(head, frame);
  frame.set(payload, head.length);
  frame[frame.length - 1] = NEWLINE;
  return frame;
}

/**
 * Frees the memory behind `bytes` now, rather than whenever V8 next
 * collects: its `ArrayBuffer` is detached (`transfer(0)`), which releases
 * the backing store at once. V8 counts such buffers as external memory and
 * collects them late (a process that relays frames allocates little else on
 * its heap, so tens of MiB of spent frames piled up in the plugin host and
 * the CLI; `bench/scale_bench.ts`). Only for bytes this process owns
 * outright and no longer reads: a view of part of a buffer, or a shared
 * buffer, is left alone.
 */
export function releaseBytes(bytes: Uint8Array): void {
  const buffer = bytes.buffer;
  if (
    buffer instanceof ArrayBuffer && !buffer.detached && bytes.byteOffset === 0 &&
    bytes.byteLength === buffer.byteLength
  ) {
    buffer.transfer(0);
  }
}

/** The frame of one of the plugin host's own messages: `NONCE + "* " + JSON + "\n"`. */
export function hostFrame(nonce: string, message: ChildToHost): string {
  return `${nonce}${HOST_FRAME_TAG} ${JSON.stringify(message)}\n`;
}

/**
 * What the worker runtime learns about reads: the granted paths, and whether
 * it must check where each `Deno` read really goes (no OS isolation hides
 * what lies outside them). Either way it names a link out of them as a
 * denial rather than a missing file.
 */
export interface ReadGuard {
  /** Granted read paths, real and as written. */
  roots: string[];
  /** Check each read's real path against `roots`. */
  check: boolean;
}

/** The global symbol key under which a worker's read guard arrives (removed at once). */
export const READ_ROOTS_KEY = "retrovue.readRoots";

/** The largest line either side accepts (a bigger message is refused, not parsed). */
export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;

/**
 * The most `[` and `{` bytes a worker's message may hold (a bigger count is
 * refused, not parsed). Parsing multiplies a message's size by what it
 * holds: 30 MiB of empty lists took 2–8 s and 430 MB of heap, and a plugin
 * posting around its runtime could make the CLI parse a string of them. A
 * batch of 1000 assets holds a few tens of thousands, strings included.
 */
export const MAX_FRAME_CONTAINERS = 500_000;

/**
 * How many batches a worker may send ahead of the consumer, handed back half
 * at a time. Eight rather than four: with four the worker, the plugin host
 * and the CLI waited on each other often enough that streaming 100k assets
 * took ~12% longer and the plugin host's main thread ~40% more CPU; sixteen
 * measured no better (`bench/transfer_bench.ts`). The price is what waits in
 * flight: ~5 MiB more plugin-host RSS, and at most this many parsed batches
 * queued in the CLI for a slow consumer.
 */
export const STREAM_CREDIT = 8;

/** Items per batch when a plugin yields assets one at a time. */
export const BATCH_SIZE = 1000;

/** Largest batch forwarded as one message; bigger yielded arrays are split. */
export const MAX_BATCH_SIZE = 5000;

/**
 * The longest text the worker runtime sends of a log line, a warning, a
 * skipped item or an error message (a skip's reason: 200; a denial: more).
 */
export const MAX_PLUGIN_TEXT = 2000;

/**
 * What ends a text that was cut before it reached the host (see
 * {@link cutText}). The host then knows a secret may end halved there, where
 * it could no longer be recognised, and drops as much of the end as the
 * longest form of a secret before showing the text (`pluginTextScrubber`).
 */
export const CUT_MARK = "…[cut]";

/** `text` cut to `max` characters and marked with {@link CUT_MARK}, or `text` if not longer. */
export function cutText(text: string, max: number = MAX_PLUGIN_TEXT): string {
  return text.length > max ? text.slice(0, max) + CUT_MARK : text;
}

/** A push-based line splitter: feed it chunks, get complete lines back. */
export interface LineSplitter {
  /** Adds a chunk; returns the lines it completed (without the `\n`). */
  push(chunk: Uint8Array): string[];
  /** Ends the input; returns the last unterminated line, if any. */
  end(): string[];
}

/**
 * Splits UTF-8 bytes into lines. A line longer than `maxLineBytes` is
 * skipped whole and reported to `onOversize` (never buffered without bound).
 */
export function splitLines(
  options: { maxLineBytes: number; onOversize?: (bytes: number) => void },
): LineSplitter {
  const decoder = new TextDecoder();
  let buffer = "";
  let skipping = 0;
  let ended = false;
  const take = (text: string): string[] => {
    const out: string[] = [];
    while (text.length > 0) {
      const nl = text.indexOf("\n");
      if (skipping > 0) {
        if (nl < 0) {
          skipping += text.length;
          return out;
        }
        options.onOversize?.(skipping + nl);
        skipping = 0;
        text = text.slice(nl + 1);
        continue;
      }
      if (nl < 0) {
        buffer += text;
        if (buffer.length > options.maxLineBytes) {
          skipping = buffer.length;
          buffer = "";
        }
        return out;
      }
      const line = buffer + text.slice(0, nl);
      buffer = "";
      text = text.slice(nl + 1);
      if (line.length > options.maxLineBytes) options.onOversize?.(line.length);
      else out.push(line);
    }
    return out;
  };
  return {
    push: (chunk) => take(decoder.decode(chunk, { stream: true })),
    end() {
      if (ended) return [];
      ended = true;
      const out = take(decoder.decode());
      if (buffer.length > 0 && skipping === 0) out.push(buffer);
      buffer = "";
      return out;
    },
  };
}

/**
 * A push-based frame splitter: feed it chunks; it calls back with each
 * complete frame. Bytes after the last `\n` are no frame (a process that
 * dies mid-write leaves a truncated one), so there is nothing to end.
 */
export interface FrameSplitter {
  /** Adds a chunk, calling `onFrame` for each frame it completes. */
  push(chunk: Uint8Array): void;
}

/** Options for {@link splitFrames}. */
export interface SplitFramesOptions {
  /** The largest frame passed on; a longer one is skipped whole. */
  maxFrameBytes: number;
  /**
   * Receives each frame (without its `\n`). The bytes may view the chunk or a
   * buffer reused for the next frame: read them before returning.
   */
  onFrame(frame: Uint8Array): void;
  /** Receives the size of each skipped frame. */
  onOversize?: (bytes: number) => void;
}

/**
 * Splits bytes into `\n`-terminated frames without decoding them, so a frame
 * is decoded (and parsed) once, whole. A frame within one chunk is passed on
 * as a view of it; one spread over chunks is gathered into a buffer that
 * grows to the largest frame seen and is reused, never past `maxFrameBytes`
 * (a longer frame is skipped whole and reported to `onOversize`).
 */
export function splitFrames(options: SplitFramesOptions): FrameSplitter {
  const { maxFrameBytes, onFrame } = options;
  let scratch = new Uint8Array(0);
  let held = 0; // bytes of the current frame gathered in scratch
  let skipped = -1; // ≥ 0 while the rest of an oversize frame is dropped
  const hold = (bytes: Uint8Array) => {
    if (skipped >= 0 || held + bytes.length > maxFrameBytes) {
      skipped = Math.max(skipped, 0) + held + bytes.length;
      held = 0;
      return;
    }
    if (held + bytes.length > scratch.length) {
      const grown = new Uint8Array(Math.min(maxFrameBytes, 2 * (held + bytes.length)));
      grown.set(scratch.subarray(0, held));
      scratch = grown;
    }
    scratch.set(bytes, held);
    held += bytes.length;
  };
  const complete = (last: Uint8Array) => {
    if (held === 0 && skipped < 0 && last.length <= maxFrameBytes) onFrame(last);
    else {
      hold(last);
      if (skipped >= 0) options.onOversize?.(skipped);
      else onFrame(scratch.subarray(0, held));
    }
    held = 0;
    skipped = -1;
  };
  return {
    push(chunk) {
      let start = 0;
      while (start < chunk.length) {
        // Uint8Array's own indexOf: a node Buffer's is much slower.
        const nl = _indexOf.call(chunk, NEWLINE, start);
        if (nl < 0) {
          hold(chunk.subarray(start));
          return;
        }
        complete(chunk.subarray(start, nl));
        start = nl + 1;
      }
    },
  };
}

const _indexOf = Uint8Array.prototype.indexOf;
