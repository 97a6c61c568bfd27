/**
 * The message protocol between the host, the plugin-host process and the
 * sandboxed workers inside it.
 *
 * ```
 * host (CLI) ──stdin lines──▶ plugin host ──postMessage──▶ worker (plugin)
 *            ◀─stdout lines── (relays)     ◀─postMessage──
 * ```
 *
 * Host → plugin-host lines are JSON {@link HostToChild}. Plugin-host → host
 * lines are `NONCE + JSON` {@link ChildToHost}; the nonce is a random value the
 * host sends first, so bytes a plugin writes to stdout itself can never pass
 * for a protocol message. Worker messages ({@link ToWorker}, {@link FromWorker})
 * carry no worker id: the plugin host adds it when relaying.
 *
 * This module has no dependencies: it is loaded inside the plugin host and
 * the workers, whose module graphs stay minimal.
 *
 * @module
 */

/** Operations a worker answers with one value. */
export type UnaryOp = "validateConnection" | "listCollections";

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
  | { kind: "skipped"; item: string; reason: string };

/** Messages the plugin host sends into a worker. */
export type ToWorker =
  | { t: "call"; id: number; op: UnaryOp; config: unknown }
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
  | { t: "log"; level: "debug" | "info" | "warn" | "error"; message: string }
  | { t: "closed" };

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
  /** Always false. */
  run: false;
  /** Always false. */
  ffi: false;
  /** Always false. */
  sys: false;
  /** Always false. */
  import: false;
}

/** Lines the host writes to the plugin host's stdin. */
export type HostToChild =
  | { t: "hello"; nonce: string; maxFrameBytes: number; runtimeUrl: string }
  | { t: "spawn"; wid: number; moduleUrl: string; permissions: WorkerPermissions }
  | { t: "kill"; wid: number }
  | { t: "to"; wid: number; msg: ToWorker };

/** Lines the plugin host writes to stdout (after the nonce). */
export type ChildToHost =
  | { t: "from"; wid: number; msg: FromWorker }
  | { t: "exit"; wid: number; reason: string }
  | { t: "oversize"; wid: number; id?: number; bytes: number };

/** The largest line either side accepts (a bigger message is refused, not parsed). */
export const DEFAULT_MAX_FRAME_BYTES = 32 * 1024 * 1024;

/** How many batches a worker may send ahead of the consumer. */
export const STREAM_CREDIT = 4;

/** Items per batch when a plugin yields assets one at a time. */
export const BATCH_SIZE = 1000;

/** Largest batch forwarded as one message; bigger yielded arrays are split. */
export const MAX_BATCH_SIZE = 5000;

/** Splits a byte stream into lines (without the `\n`), decoding UTF-8. */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  options: { maxLineBytes: number; onOversize?: (bytes: number) => void },
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  let skipping = 0;
  for await (const chunk of stream) {
    let text = decoder.decode(chunk, { stream: true });
    while (text.length > 0) {
      const nl = text.indexOf("\n");
      if (skipping > 0) {
        if (nl < 0) {
          skipping += text.length;
          text = "";
          continue;
        }
        options.onOversize?.(skipping + nl);
        skipping = 0;
        text = text.slice(nl + 1);
        continue;
      }
      if (nl < 0) {
        buffer += text;
        text = "";
        if (buffer.length > options.maxLineBytes) {
          skipping = buffer.length;
          buffer = "";
        }
        continue;
      }
      const line = buffer + text.slice(0, nl);
      buffer = "";
      text = text.slice(nl + 1);
      if (line.length > options.maxLineBytes) options.onOversize?.(line.length);
      else yield line;
    }
  }
  if (buffer.length > 0 && skipping === 0) yield buffer;
}
