/**
 * The plugin-host process: the process boundary around every sandboxed worker.
 *
 * `worker.terminate()` cannot stop a synchronous loop and a worker that runs
 * out of heap takes its whole process down, so workers never live in the CLI
 * process. The CLI starts this program as a subprocess (with only the
 * permissions its workers may be granted), talks to it over file descriptor 3
 * (never stdout, which plugins may print on), and kills it on a deadline.
 * Inside, each plugin runs in a Web Worker created with an explicit,
 * host-derived permission object.
 *
 * Dependency-free on purpose (only `_protocol.ts` and `node:net`, which opens
 * the inherited descriptor): its graph loads fast.
 *
 * @module
 */

import { Socket } from "node:net";
import type { ChildToHost, HostToChild, ReadGuard, WorkerPermissions } from "./_protocol.ts";
import {
  CUT_MARK,
  DEFAULT_MAX_FRAME_BYTES,
  hostFrame,
  NEWLINE,
  READ_ROOTS_KEY,
  releaseBytes,
  RESIDENT_CHECK_MS,
  RESIDENT_EXIT_CODE,
  splitLines,
  workerFrame,
} from "./_protocol.ts";

/** The file descriptor the CLI hands its plugin hosts for the protocol. */
const CHANNEL_FD = 3;

interface HostState {
  nonce: string;
  maxFrameBytes: number;
  runtimeUrl: string;
  workers: Map<number, Worker>;
  channel: Socket;
}

/** Writes one of the plugin host's own messages. */
function _send(state: HostState, message: ChildToHost): void {
  // Writes are queued in order; a closed channel means the CLI is gone.
  state.channel.write(hostFrame(state.nonce, message));
}

/**
 * Relays what worker `wid` posted. The worker runtime posts JSON text as a
 * string, which is framed as it is, unparsed: only its length and the
 * absence of a line break are checked, so a plugin can neither exceed the
 * frame limit nor end its frame early. UTF-8 bytes (a plugin posting around
 * the runtime) get the same checks; anything else is serialised here first.
 */
function _relay(state: HostState, wid: number, data: unknown): void {
  const payload = data instanceof Uint8Array
    ? data
    : typeof data === "string"
    ? data
    : _serialise(data);
  // A string's UTF-8 form is at least as long as the string: a longer one is refused unencoded.
  if (payload.length > state.maxFrameBytes) return _oversize(state, wid, payload.length);
  const breaks = typeof payload === "string"
    ? payload.includes("\n")
    : payload.indexOf(NEWLINE) >= 0;
  if (breaks) {
    _kill(state, wid);
    _send(state, { t: "malformed", wid, reason: "sent a message with a line break in it" });
    return;
  }
  const frame = workerFrame(state.nonce, { wid, payload });
  if (typeof payload !== "string") releaseBytes(payload);
  const bytes = frame.length - state.nonce.length - String(wid).length - 2;
  if (bytes > state.maxFrameBytes) {
    releaseBytes(frame);
    return _oversize(state, wid, bytes);
  }
  // Spent once written: freed then rather than whenever V8 collects (see releaseBytes).
  state.channel.write(frame, () => releaseBytes(frame));
}

function _oversize(state: HostState, wid: number, bytes: number): void {
  _kill(state, wid);
  _send(state, { t: "oversize", wid, bytes });
}

/** A message a plugin posted around the runtime, as JSON text. */
function _serialise(data: unknown): string {
  try {
    return JSON.stringify(data) ?? "null";
  } catch (error) {
    // BigInt, cycles…: the plugin sent something JSON cannot carry.
    const id = typeof data === "object" && data !== null && "id" in data
      ? (data as { id: unknown }).id
      : undefined;
    return JSON.stringify(
      typeof id === "number"
        ? {
          t: "error",
          id,
          error: {
            code: "MALFORMED_RESPONSE",
            message: `plugin sent a message that cannot be serialised: ${(error as Error).message}`,
          },
        }
        : { t: "log", level: "warn", message: "unserialisable message" },
    );
  }
}

function _kill(state: HostState, wid: number): void {
  const worker = state.workers.get(wid);
  if (worker) {
    worker.terminate();
    state.workers.delete(wid);
  }
}

function _entryUrl(runtimeUrl: string, moduleUrl: string, guard?: ReadGuard): string {
  // The read guard is set by a first module, before the runtime's top level reads it.
  const roots = guard
    ? `import ${
      JSON.stringify(
        "data:text/javascript," +
          encodeURIComponent(
            `globalThis[Symbol.for(${JSON.stringify(READ_ROOTS_KEY)})] = ${JSON.stringify(guard)};`,
          ),
      )
    };\n`
    : "";
  const code = roots + `import { serve } from ${JSON.stringify(runtimeUrl)};\n` +
    `import * as plugin from ${JSON.stringify(moduleUrl)};\n` +
    `serve(plugin);\n`;
  return URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
}

function _spawn(
  state: HostState,
  wid: number,
  moduleUrl: string,
  permissions: WorkerPermissions,
  guard?: ReadGuard,
): void {
  const entry = _entryUrl(state.runtimeUrl, moduleUrl, guard);
  let worker: Worker;
  try {
    worker = new Worker(entry, {
      type: "module",
      name: `plugin-${wid}`,
      // Always explicit: a worker created without this object inherits everything.
      deno: { permissions },
    } as WorkerOptions);
  } catch (error) {
    _send(state, { t: "exit", wid, reason: `cannot start worker: ${(error as Error).message}` });
    return;
  } finally {
    URL.revokeObjectURL(entry);
  }
  state.workers.set(wid, worker);
  worker.onmessage = (event: MessageEvent<unknown>) => {
    if (state.workers.has(wid)) _relay(state, wid, event.data);
  };
  worker.onmessageerror = () => {
    _send(state, { t: "exit", wid, reason: "sent a message that cannot be cloned" });
    _kill(state, wid);
  };
  worker.onerror = (event: ErrorEvent) => {
    // Without preventDefault an uncaught worker error would end this process.
    event.preventDefault();
    if (!state.workers.has(wid)) return;
    _send(state, { t: "exit", wid, reason: _describe(event) });
    _kill(state, wid);
  };
}

function _describe(event: ErrorEvent): string {
  // Cut before collapsing (a plugin's message can be tens of MB). The host redacts what it gets;
  // a cut is marked, so that it also drops a secret the cut halved.
  const raw = String(event.message ?? "uncaught error");
  const message = raw.slice(0, 4096).replace(/\s+/g, " ").trim()
    .replace(/^Uncaught \(in promise\) /, "").replace(/^Uncaught /, "");
  return raw.length > 4096 || message.length > 500 ? message.slice(0, 500) + CUT_MARK : message;
}

/**
 * Permissions a plugin host started by `deno run` must never hold in full
 * (an enricher's host holds `run` for the named executables only, which
 * this check does not count as granted).
 */
const NEVER_GRANTED = ["env", "write", "run", "ffi", "sys"] as const;

/**
 * Refuses to run with more than read and net: the CLI starts this process
 * with exactly those, so anything more means the command line was rewritten
 * on the way (as Deno's `node:child_process` does for its own executable).
 * A compiled binary carries its permissions built in and is not checked.
 */
function _assertNoExtraPermissions(): void {
  if (Deno.build.standalone) return;
  const extra = NEVER_GRANTED.filter((name) =>
    Deno.permissions.querySync({ name }).state === "granted"
  );
  if (extra.length > 0) {
    console.error(
      `plugin host refused to start: it holds ${extra.join(", ")} permission it was not given`,
    );
    Deno.exit(70);
  }
}

/**
 * Ends this process as out of memory once its resident memory passes
 * `limitMb` (see `RESIDENT_SLACK_MB`): V8's heap limit does not bound a
 * plugin's ArrayBuffers or WebAssembly memory. Read on this thread, which a
 * worker's synchronous loop does not block; the CLI tells it by the exit
 * code ({@link RESIDENT_EXIT_CODE}) and reports `PLUGIN_CRASHED`.
 */
function _watchResidentMemory(limitMb: number): void {
  if (!(limitMb > 0)) return;
  const limit = limitMb * 1024 * 1024;
  const timer = setInterval(() => {
    const rss = Deno.memoryUsage().rss;
    if (rss <= limit) return;
    console.error(
      `plugin host: out of memory: resident memory ${Math.round(rss / 1048576)} MiB ` +
        `passed the limit of ${limitMb} MiB`,
    );
    Deno.exit(RESIDENT_EXIT_CODE);
  }, RESIDENT_CHECK_MS);
  Deno.unrefTimer(timer);
}

/** Runs the plugin host on the channel (file descriptor 3) until the CLI closes it. */
export async function runPluginHost(): Promise<void> {
  _assertNoExtraPermissions();
  const channel = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  channel.on("error", () => Deno.exit(0));
  const split = splitLines({ maxLineBytes: DEFAULT_MAX_FRAME_BYTES });
  let state: HostState | undefined;
  const handle = (line: string) => {
    let message: HostToChild;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (!state) {
      if (message.t !== "hello") Deno.exit(1);
      _watchResidentMemory(message.maxResidentMb);
      state = {
        nonce: message.nonce,
        maxFrameBytes: message.maxFrameBytes,
        runtimeUrl: message.runtimeUrl,
        workers: new Map(),
        channel,
      };
      return;
    }
    switch (message.t) {
      case "spawn":
        _spawn(state, message.wid, message.moduleUrl, message.permissions, message.readGuard);
        break;
      case "kill":
        _kill(state, message.wid);
        break;
      case "to":
        state.workers.get(message.wid)?.postMessage(message.msg);
        break;
    }
  };
  channel.on("data", (chunk: Uint8Array) => {
    for (const line of split.push(chunk)) handle(line);
  });
  await new Promise<void>((resolve) => channel.on("close", () => resolve()));
  Deno.exit(0);
}

if (import.meta.main) {
  await runPluginHost();
}
