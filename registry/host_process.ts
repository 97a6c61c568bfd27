/**
 * Starts and talks to a plugin-host subprocess (see `plugin_host.ts`).
 *
 * Under `deno run`, the subprocess is started with only what its workers may
 * be granted (`--allow-read` for the plugin modules and the granted paths,
 * `--allow-net` for the granted hosts) and a bounded heap. In a `deno compile`
 * binary it is the binary itself, started with the hidden `__plugin-host`
 * command. Either way it can be killed at any time: a plugin stuck in a
 * synchronous loop or exhausting its heap never takes the CLI down.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type {
  ChildToHost,
  FromWorker,
  HostToChild,
  ToWorker,
  WorkerPermissions,
} from "./protocol.ts";
import { DEFAULT_MAX_FRAME_BYTES, readLines } from "./protocol.ts";

/** The hidden command a compiled binary answers by becoming a plugin host. */
export const PLUGIN_HOST_COMMAND = "__plugin-host";

/** What a worker's owner hears about it. */
export interface WorkerHandlers {
  /** A message from the worker (already JSON-decoded, not yet validated). */
  onMessage(message: FromWorker): void;
  /** The worker is gone (crashed, closed itself, oversized message, or process exit). */
  onExit(reason: string, detail?: { oversizeCallId?: number; bytes?: number }): void;
}

/** Options for {@link startHostProcess}. */
export interface HostProcessOptions {
  /** Paths the subprocess may read (plugin module folders and granted paths). */
  read: string[];
  /** `host:port` targets the subprocess may reach. */
  net: string[];
  /** Hosts whose TLS certificates are not verified (only these). */
  insecureTlsHosts?: string[];
  /** Heap limit for the subprocess in MiB. */
  maxHeapMb?: number;
  /** Largest message accepted from a plugin. */
  maxFrameBytes?: number;
}

/** A running plugin-host subprocess. */
export interface HostProcess {
  /** Starts a worker for a module with the given permissions; returns its id. */
  spawnWorker(moduleUrl: string, permissions: WorkerPermissions, handlers: WorkerHandlers): number;
  /** Sends a message to a worker. */
  send(wid: number, message: ToWorker): void;
  /** Terminates one worker. */
  killWorker(wid: number): void;
  /** Kills the process (and every worker in it). Idempotent. */
  kill(): void;
  /** Resolves with a description once the process has exited. */
  readonly exited: Promise<string>;
  /** Whether the process is still running. */
  readonly alive: boolean;
}

const RUNTIME_URL = new URL("./worker_runtime.ts", import.meta.url).href;
const HOST_URL = new URL("./plugin_host.ts", import.meta.url);
const CONFIG_URL = new URL("../deno.json", import.meta.url);

function _childCommand(options: HostProcessOptions): { cmd: string; args: string[] } {
  if (Deno.build.standalone) return { cmd: Deno.execPath(), args: [PLUGIN_HOST_COMMAND] };
  const args = [
    "run",
    "--no-prompt",
    "--quiet",
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${options.maxHeapMb ?? 512}`,
  ];
  try {
    Deno.statSync(CONFIG_URL);
    args.push("--config", fromFileUrl(CONFIG_URL));
  } catch {
    args.push("--no-config");
  }
  const read = [dirname(fromFileUrl(HOST_URL)), ...options.read];
  args.push(`--allow-read=${[...new Set(read)].join(",")}`);
  if (options.net.length) args.push(`--allow-net=${options.net.join(",")}`);
  if (options.insecureTlsHosts?.length) {
    args.push(`--unsafely-ignore-certificate-errors=${options.insecureTlsHosts.join(",")}`);
  }
  args.push(fromFileUrl(HOST_URL));
  return { cmd: _denoCommand(), args };
}

/**
 * The deno executable to start: this process's own when it may run it, else
 * `deno` from PATH (what `--allow-run=deno` grants; it names the PATH entry,
 * which may be a symlink to the real executable).
 */
function _denoCommand(): string {
  const self = Deno.execPath();
  const state = Deno.permissions.querySync({ name: "run", command: self }).state;
  return state === "granted" ? self : "deno";
}

/** Starts a plugin-host subprocess. */
export function startHostProcess(options: HostProcessOptions): HostProcess {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const { cmd, args } = _childCommand(options);
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const encoder = new TextEncoder();
  const stdin = child.stdin.getWriter();
  const workers = new Map<number, WorkerHandlers>();
  let nextWid = 1;
  let alive = true;
  let stderrTail = "";

  const write = (message: HostToChild) => {
    if (!alive) return;
    stdin.write(encoder.encode(JSON.stringify(message) + "\n")).catch(() => {});
  };

  const dispatch = (message: ChildToHost) => {
    if (typeof message !== "object" || message === null) return;
    const handlers = workers.get(message.wid);
    if (!handlers) return;
    if (message.t === "from") handlers.onMessage(message.msg);
    else if (message.t === "exit") {
      workers.delete(message.wid);
      handlers.onExit(String(message.reason));
    } else if (message.t === "oversize") {
      workers.delete(message.wid);
      handlers.onExit(`sent a ${_mb(message.bytes)} message; the limit is ${_mb(maxFrameBytes)}`, {
        oversizeCallId: message.id,
        bytes: message.bytes,
      });
    }
  };

  const drainStderr = (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of child.stderr) {
        stderrTail = (stderrTail + decoder.decode(chunk, { stream: true })).slice(-4000);
      }
    } catch {
      // The process is gone.
    }
  })();

  const readStdout = (async () => {
    try {
      const lines = readLines(child.stdout, { maxLineBytes: maxFrameBytes + nonce.length + 64 });
      for await (const line of lines) {
        if (!line.startsWith(nonce)) continue; // A plugin writing to stdout itself.
        let message: ChildToHost;
        try {
          message = JSON.parse(line.slice(nonce.length));
        } catch {
          continue;
        }
        dispatch(message);
      }
    } catch {
      // The process is gone.
    }
  })();

  const exited = (async () => {
    const status = await child.status;
    alive = false;
    await Promise.allSettled([readStdout, drainStderr]);
    const reason = status.signal
      ? `plugin host was stopped (${status.signal})`
      : /out of memory|heap limit/i.test(stderrTail)
      ? "plugin ran out of memory"
      : `plugin host exited with code ${status.code}`;
    for (const [wid, handlers] of workers) {
      workers.delete(wid);
      handlers.onExit(reason);
    }
    return reason;
  })();

  write({ t: "hello", nonce, maxFrameBytes, runtimeUrl: RUNTIME_URL });

  return {
    spawnWorker(moduleUrl, permissions, handlers) {
      const wid = nextWid++;
      workers.set(wid, handlers);
      write({ t: "spawn", wid, moduleUrl, permissions });
      if (!alive) queueMicrotask(() => handlers.onExit("plugin host is not running"));
      return wid;
    },
    send(wid, message) {
      write({ t: "to", wid, msg: message });
    },
    killWorker(wid) {
      workers.delete(wid);
      write({ t: "kill", wid });
    },
    kill() {
      if (!alive) return;
      alive = false;
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      stdin.close().catch(() => {});
    },
    exited,
    get alive() {
      return alive;
    },
  };
}

function _mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
