/**
 * The plugin-host process: the process boundary around every sandboxed worker.
 *
 * `worker.terminate()` cannot stop a synchronous loop and a worker that runs
 * out of heap takes its whole process down, so workers never live in the CLI
 * process. The CLI starts this program as a subprocess (with only the
 * permissions its workers may be granted), talks to it over stdin/stdout, and
 * kills it on a deadline. Inside, each plugin runs in a Web Worker created
 * with an explicit, host-derived permission object.
 *
 * Dependency-free on purpose (only `protocol.ts`): its graph loads fast.
 *
 * @module
 */

import type { ChildToHost, FromWorker, HostToChild, WorkerPermissions } from "./protocol.ts";
import { DEFAULT_MAX_FRAME_BYTES, readLines } from "./protocol.ts";

interface HostState {
  nonce: string;
  maxFrameBytes: number;
  runtimeUrl: string;
  workers: Map<number, Worker>;
  out: WritableStreamDefaultWriter<Uint8Array>;
  encoder: TextEncoder;
}

function _send(state: HostState, message: ChildToHost): void {
  let line: string;
  try {
    line = JSON.stringify(message);
  } catch (error) {
    // BigInt, cycles…: the plugin sent something JSON cannot carry.
    if (message.t === "from") {
      const id = "id" in message.msg ? message.msg.id : undefined;
      line = JSON.stringify(
        {
          t: "from",
          wid: message.wid,
          msg: id === undefined ? { t: "log", level: "warn", message: "unserialisable message" } : {
            t: "error",
            id,
            error: {
              code: "MALFORMED_RESPONSE",
              message: `plugin sent a message that cannot be serialised: ${
                (error as Error).message
              }`,
            },
          },
        } satisfies ChildToHost,
      );
    } else {
      return;
    }
  }
  if (line.length > state.maxFrameBytes) {
    const id = message.t === "from" && "id" in message.msg ? message.msg.id : undefined;
    _kill(state, message.wid);
    line = JSON.stringify({ t: "oversize", wid: message.wid, id, bytes: line.length });
  }
  // Writes are queued in order; the promise is observed to avoid unhandled rejections.
  state.out.write(state.encoder.encode(state.nonce + line + "\n")).catch(() => Deno.exit(0));
}

function _kill(state: HostState, wid: number): void {
  const worker = state.workers.get(wid);
  if (worker) {
    worker.terminate();
    state.workers.delete(wid);
  }
}

function _entryUrl(runtimeUrl: string, moduleUrl: string): string {
  const code = `import { serve } from ${JSON.stringify(runtimeUrl)};\n` +
    `import * as plugin from ${JSON.stringify(moduleUrl)};\n` +
    `serve(plugin);\n`;
  return URL.createObjectURL(new Blob([code], { type: "application/javascript" }));
}

function _spawn(
  state: HostState,
  wid: number,
  moduleUrl: string,
  permissions: WorkerPermissions,
): void {
  const entry = _entryUrl(state.runtimeUrl, moduleUrl);
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
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    if (state.workers.has(wid)) _send(state, { t: "from", wid, msg: event.data });
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
  const message = String(event.message ?? "uncaught error").replace(/\s+/g, " ").trim();
  return message.replace(/^Uncaught \(in promise\) /, "").replace(/^Uncaught /, "").slice(0, 500);
}

/** Runs the plugin host on this process's stdin/stdout until stdin closes. */
export async function runPluginHost(): Promise<void> {
  const lines = readLines(Deno.stdin.readable, { maxLineBytes: DEFAULT_MAX_FRAME_BYTES });
  const first = await lines.next();
  if (first.done) return;
  const hello = JSON.parse(first.value) as HostToChild;
  if (hello.t !== "hello") throw new Error("plugin host: expected hello");
  const state: HostState = {
    nonce: hello.nonce,
    maxFrameBytes: hello.maxFrameBytes,
    runtimeUrl: hello.runtimeUrl,
    workers: new Map(),
    out: Deno.stdout.writable.getWriter(),
    encoder: new TextEncoder(),
  };
  for await (const line of lines) {
    let message: HostToChild;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    switch (message.t) {
      case "spawn":
        _spawn(state, message.wid, message.moduleUrl, message.permissions);
        break;
      case "kill":
        _kill(state, message.wid);
        break;
      case "to":
        state.workers.get(message.wid)?.postMessage(message.msg);
        break;
    }
  }
  Deno.exit(0);
}

if (import.meta.main) {
  await runPluginHost();
}
