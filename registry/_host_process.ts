/**
 * Starts and talks to a plugin-host subprocess (see `_plugin_host.ts`).
 *
 * Under `deno run`, the subprocess is started with only what its workers may
 * be granted (read for the plugin modules and the granted paths, net for the
 * granted hosts), a bounded heap, and no way to fetch or cache code (`--no-npm`,
 * `--no-remote`, `--no-lock`, `--cached-only`). In a `deno compile` binary it
 * is the binary itself, started with the hidden `__plugin-host` command.
 * Where OS isolation is available it runs under bubblewrap (see
 * `_isolation.ts`). Either way it can be killed at any time: a plugin stuck in
 * a synchronous loop or exhausting its heap never takes the CLI down.
 *
 * The protocol travels on a channel of its own, file descriptor 3, never on
 * stdout: whatever a plugin prints (a progress line without a newline
 * included) lands on the process's stdout or stderr, which the host reads as
 * capped log lines. Every channel line starts with a random nonce only the
 * CLI and the plugin host's main thread know; a line without it means a
 * plugin wrote into the channel, and the process is stopped with that reason.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Readable, Writable } from "node:stream";
import { hostImportMapUrl } from "./_import_map.ts";
import { type Bind, bwrapArgs, type IsolationLevel } from "./_isolation.ts";
import type {
  ChildToHost,
  FromWorker,
  HostToChild,
  ToWorker,
  WorkerPermissions,
} from "./_protocol.ts";
import {
  cutText,
  DEFAULT_MAX_FRAME_BYTES,
  HEAP_GROWING_FLAG,
  HOST_FRAME_TAG,
  HOST_RUN_FLAGS,
  MAX_FRAME_CONTAINERS,
  PLUGIN_HOST_COMMAND,
  releaseBytes,
  RESIDENT_EXIT_CODE,
  RESIDENT_SLACK_MB,
  SEMI_SPACE_FLAG,
  splitFrames,
  splitLines,
  STANDALONE_HEAP_MB,
} from "./_protocol.ts";

export {
  HEAP_GROWING_FLAG,
  HOST_RUN_FLAGS,
  PLUGIN_HOST_COMMAND,
  SEMI_SPACE_FLAG,
  STANDALONE_HEAP_MB,
};

/** Details of a worker's end that the owner may turn into a specific error. */
export interface ExitDetail {
  /** The call whose message was too large. */
  oversizeCallId?: number;
  /** Size of the refused message in bytes. */
  bytes?: number;
  /** Set when the process ran out of memory. */
  outOfMemory?: boolean;
  /** Set when a plugin wrote into the protocol channel. */
  tampered?: boolean;
  /** Set when the worker sent a message that is not one JSON text. */
  malformed?: boolean;
}

/** What a worker's owner hears about it. */
export interface WorkerHandlers {
  /** A message from the worker (already JSON-decoded, not yet validated), with its size in bytes. */
  onMessage(message: FromWorker, bytes: number): void;
  /** The worker is gone (crashed, closed itself, oversized message, or process exit). */
  onExit(reason: string, detail?: ExitDetail): void;
}

/** Options for {@link startHostProcess}. */
export interface HostProcessOptions {
  /** Paths the subprocess may read (plugin module folders and granted paths, real and as written). */
  read: string[];
  /**
   * The plugin folders among `read`: the only ones besides the host's own
   * code that modules may be imported from (`_import_map.ts`); an import of
   * anything else, a granted data path included, is a denial.
   */
  moduleRoots: string[];
  /**
   * What OS isolation shows read-only (real path → where the plugin sees it);
   * defaults to each `read` path at itself.
   */
  binds?: Bind[];
  /** `host:port` targets the subprocess may reach. */
  net: string[];
  /**
   * Executables (absolute real paths) the subprocess may start, so it can
   * grant them to an enricher's worker; OS isolation shows each read-only.
   */
  run?: string[];
  /** Hosts whose TLS certificates are not verified (only these). */
  insecureTlsHosts?: string[];
  /** Heap limit for the subprocess in MiB. */
  maxHeapMb?: number;
  /** Largest message accepted from a plugin. */
  maxFrameBytes?: number;
  /** `os` runs the subprocess under bubblewrap; `deno` (default) under Deno's permissions alone. */
  isolation?: IsolationLevel;
  /** Receives what plugins print on stdout/stderr, one line at a time (cut to 2,000 characters). */
  onOutput?: (line: string) => void;
  /** Lines of stdout/stderr passed to `onOutput`; later ones are counted and dropped. */
  maxOutputLines?: number;
  /**
   * Under OS isolation: a folder kept as the host's `DENO_DIR` (compiled
   * modules), instead of an empty tmpfs. Give it only to hosts of code we
   * ship (built-in importers): Deno writes into it what the host loads.
   */
  compileCache?: string;
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
  /** Routes plugin output lines (stdout/stderr, capped) to `handler` from now on. */
  setOutputHandler(handler: (line: string) => void): void;
  /** How the process is isolated. */
  readonly isolation: IsolationLevel;
}

/** Default heap limit of a plugin host, in MiB. */
export const DEFAULT_MAX_HEAP_MB = 512;

/** Default number of output lines a plugin host may print before the rest is dropped. */
export const DEFAULT_MAX_OUTPUT_LINES = 1000;

const RUNTIME_URL = new URL("./_worker_runtime.ts", import.meta.url).href;
const HOST_URL = new URL("./_plugin_host.ts", import.meta.url);

interface ChildCommand {
  cmd: string;
  args: string[];
  /** A temporary folder to remove once the process has exited. */
  scratch?: string;
}

function _hostCommand(options: HostProcessOptions): ChildCommand {
  if (Deno.build.standalone) {
    // A compiled binary takes no flags per host, the import map included: its
    // plugins rely on OS isolation to keep imports out of the granted paths.
    return { cmd: _spelledApart(Deno.execPath()), args: [PLUGIN_HOST_COMMAND] };
  }
  const args = [
    "run",
    ...HOST_RUN_FLAGS,
    // Modules load from the plugin folders and this code only; Node.js modules
    // that would get around the worker hardening (or, without OS isolation,
    // open files by path) resolve to a denial.
    `--import-map=${
      hostImportMapUrl([dirname(fromFileUrl(HOST_URL)), ...options.moduleRoots], {
        osIsolation: options.isolation === "os",
        hostRoot: dirname(fromFileUrl(HOST_URL)),
      })
    }`,
    "--unstable-worker-options",
    `--v8-flags=--max-old-space-size=${
      options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB
    },${SEMI_SPACE_FLAG},${HEAP_GROWING_FLAG}`,
  ];
  const read = [...new Set([dirname(fromFileUrl(HOST_URL)), ...options.read])];
  let scratch: string | undefined;
  if ([...read, ...options.net, ...(options.run ?? [])].some((p) => p.includes(","))) {
    // Permission flags are comma-separated lists with no escape; a permission
    // set in a config file holds any path.
    scratch = Deno.makeTempDirSync({ prefix: "retrovue-host-" });
    const config = join(scratch, "deno.json");
    const set: Record<string, string[]> = { read };
    if (options.net.length) set.net = options.net;
    if (options.run?.length) set.run = options.run;
    Deno.writeTextFileSync(config, JSON.stringify({ permissions: { host: set } }));
    args.push("--config", config, "--permission-set=host");
  } else {
    args.push("--no-config", `--allow-read=${read.join(",")}`);
    if (options.net.length) args.push(`--allow-net=${options.net.join(",")}`);
    if (options.run?.length) args.push(`--allow-run=${options.run.join(",")}`);
  }
  if (options.insecureTlsHosts?.length) {
    args.push(`--unsafely-ignore-certificate-errors=${options.insecureTlsHosts.join(",")}`);
  }
  args.push(fromFileUrl(HOST_URL));
  return { cmd: _denoCommand(), args, scratch };
}

/**
 * The deno executable to start: this process's own when it may run it, else
 * `deno` from PATH (what `--allow-run=deno` grants; it names the PATH entry,
 * which may be a symlink to the real executable).
 */
function _denoCommand(): string {
  const self = Deno.execPath();
  const state = Deno.permissions.querySync({ name: "run", command: self }).state;
  return state === "granted" ? _spelledApart(self) : "deno";
}

/**
 * The same executable path, spelled `/dir/./name`. Deno's `node:child_process`
 * rewrites a command line that names `Deno.execPath()` exactly as a Node.js
 * one and adds `--allow-all` to it; this spelling is left alone. The plugin
 * host also checks at start that it holds no permission beyond read and net
 * (see `_plugin_host.ts`), so a rewrite could never pass unnoticed.
 */
function _spelledApart(path: string): string {
  return path.replace(/\/([^/]+)$/, "/./$1");
}

function _isolated(command: ChildCommand, options: HostProcessOptions): ChildCommand {
  const executable = Deno.execPath();
  const binds: Bind[] = [
    ...(options.binds ?? options.read.map((p) => ({ source: p, target: p }))),
    ...(options.run ?? []).map((p) => ({ source: p, target: p })),
  ];
  if (!Deno.build.standalone) {
    const code = dirname(fromFileUrl(HOST_URL));
    binds.push({ source: code, target: code });
  }
  const readWrite = command.scratch ? [command.scratch] : [];
  const inner = { cmd: _spelledApart(executable), args: command.args };
  return {
    cmd: "bwrap",
    args: bwrapArgs({
      executable,
      readOnly: binds,
      readWrite,
      net: options.net.length > 0,
      run: (options.run?.length ?? 0) > 0,
      compileCache: options.compileCache,
    }, inner),
    scratch: command.scratch,
  };
}

/** Starts a plugin-host subprocess. */
export function startHostProcess(options: HostProcessOptions): HostProcess {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const maxOutputLines = options.maxOutputLines ?? DEFAULT_MAX_OUTPUT_LINES;
  const isolation = options.isolation ?? "deno";
  // A compiled binary's heap limit is built in; it cannot take --v8-flags per host.
  const heap = Deno.build.standalone
    ? STANDALONE_HEAP_MB
    : options.maxHeapMb ?? DEFAULT_MAX_HEAP_MB;
  let command = _hostCommand(options);
  if (isolation === "os") command = _isolated(command, options);
  // No argument may name Deno.execPath() exactly (see _spelledApart).
  const self = Deno.execPath();
  const apart = (a: string) => a === self ? _spelledApart(a) : a;
  const child: ChildProcess = spawn(apart(command.cmd), command.args.map(apart), {
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    env: _childEnv(),
  });
  const channel = child.stdio[3] as unknown as Readable & Writable;
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const workers = new Map<number, WorkerHandlers>();
  let nextWid = 1;
  let alive = true;
  let stderrTail = "";
  let outputLines = 0;
  let spawnError: string | undefined;
  let tampered: string | undefined;
  let outputHandler = options.onOutput;

  const write = (message: HostToChild) => {
    if (!alive) return;
    channel.write(JSON.stringify(message) + "\n");
  };

  const kill = () => {
    if (!alive) return;
    alive = false;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };

  const dispatch = (message: ChildToHost) => {
    if (typeof message !== "object" || message === null) return;
    const handlers = workers.get(message.wid);
    if (!handlers || !["exit", "oversize", "malformed"].includes(message.t)) return;
    workers.delete(message.wid);
    if (message.t === "exit") handlers.onExit(String(message.reason));
    else if (message.t === "oversize") {
      handlers.onExit(`sent a ${_mb(message.bytes)} message; the limit is ${_mb(maxFrameBytes)}`, {
        oversizeCallId: message.id,
        bytes: message.bytes,
      });
    } else if (message.t === "malformed") {
      handlers.onExit(String(message.reason), { malformed: true });
    }
  };

  const corrupted = (why: string) => {
    tampered = why;
    kill();
  };

  const nonceBytes = new TextEncoder().encode(nonce);
  const onFrame = (frame: Uint8Array) => {
    if (tampered) return;
    // Only the payload is decoded, once and whole, into an ordinary string: JSON.parse
    // reads one faster than the external string an ASCII Buffer decode makes (100k
    // synthetic assets: ~100 against ~145 ms, median of 15). The head is read as bytes.
    if (!_startsWith(frame, nonceBytes)) {
      return corrupted("a plugin wrote into the protocol channel");
    }
    const tag = _tag(frame, nonceBytes.length);
    const payload = tag === undefined
      ? ""
      : _utf8.decode(frame.subarray(nonceBytes.length + tag.length + 1));
    if (tag === HOST_FRAME_TAG) {
      let message: ChildToHost;
      try {
        message = JSON.parse(payload);
      } catch {
        return corrupted("a plugin corrupted the protocol channel");
      }
      return dispatch(message);
    }
    const wid = tag !== undefined && /^[1-9][0-9]*$/.test(tag) ? Number(tag) : NaN;
    if (Number.isNaN(wid)) return corrupted("a plugin corrupted the protocol channel");
    const handlers = workers.get(wid);
    if (!handlers) return; // Killed: what it still sent is dropped unread.
    // A frame no longer than the cap cannot exceed it: only bigger ones are scanned.
    if (frame.length > MAX_FRAME_CONTAINERS && _exceeds(frame, MAX_FRAME_CONTAINERS)) {
      workers.delete(wid);
      write({ t: "kill", wid });
      handlers.onExit(
        `sent a message of more than ${MAX_FRAME_CONTAINERS} lists and objects`,
        { malformed: true },
      );
      return;
    }
    let message: FromWorker;
    try {
      message = JSON.parse(payload);
    } catch {
      // The worker's own text, framed by the plugin host: its output, not the channel, is bad.
      workers.delete(wid);
      write({ t: "kill", wid });
      handlers.onExit("sent a message that is not valid JSON", { malformed: true });
      return;
    }
    handlers.onMessage(message, frame.length);
  };

  const onOutputLine = (line: string) => {
    outputLines++;
    if (outputLines <= maxOutputLines) outputHandler?.(cutText(line));
    else if (outputLines === maxOutputLines + 1) {
      outputHandler?.(
        `(further output of this plugin host is dropped: more than ${maxOutputLines} lines)`,
      );
    }
  };

  const channelDone = _readFrames(channel, {
    // The nonce, the tag and a payload of up to maxFrameBytes.
    maxFrameBytes: maxFrameBytes + nonce.length + 64,
    onFrame,
    onOversize: () => {
      if (!tampered) corrupted("a plugin corrupted the protocol channel");
    },
  });
  const stdoutDone = _readLines(child.stdout!, {
    maxLineBytes: 64 * 1024,
    onLine: onOutputLine,
  });
  const stderrDone = _readLines(child.stderr!, {
    maxLineBytes: 64 * 1024,
    onLine(line) {
      stderrTail = (stderrTail + line + "\n").slice(-4000);
      onOutputLine(line);
    },
  });
  channel.on("error", () => {});

  const exited = new Promise<string>((resolve) => {
    let settled = false;
    const finish = async (code: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      alive = false;
      await Promise.allSettled([channelDone, stdoutDone, stderrDone]);
      if (command.scratch) {
        try {
          Deno.removeSync(command.scratch, { recursive: true });
        } catch {
          // Best effort: a temporary folder.
        }
      }
      const resident = code === RESIDENT_EXIT_CODE;
      const outOfMemory = resident || /out of memory|heap limit|Last few GCs/i.test(stderrTail);
      const reason = spawnError
        ? `plugin host could not start: ${spawnError}`
        : tampered
        ? `plugin host was stopped: ${tampered}`
        : resident
        ? `plugin ran out of memory (limit ${heap + RESIDENT_SLACK_MB} MiB resident, ` +
          `${heap} MiB of it heap)`
        : outOfMemory
        ? `plugin ran out of memory (limit ${heap} MiB)`
        : signal
        ? `plugin host was stopped (${signal})`
        : `plugin host exited with code ${code}`;
      for (const [wid, handlers] of workers) {
        workers.delete(wid);
        handlers.onExit(reason, { outOfMemory, tampered: tampered !== undefined });
      }
      resolve(reason);
    };
    child.on("exit", (code, signal) => finish(code, signal));
    child.on("error", (error) => {
      spawnError = (error as Error).message;
      finish(null, null);
    });
  });

  write({
    t: "hello",
    nonce,
    maxFrameBytes,
    runtimeUrl: RUNTIME_URL,
    maxResidentMb: heap + RESIDENT_SLACK_MB,
  });

  return {
    spawnWorker(moduleUrl, permissions, handlers) {
      const wid = nextWid++;
      workers.set(wid, handlers);
      // Without OS isolation, a symlink inside a granted folder would lead anywhere:
      // the worker runtime then checks where each read really goes.
      const readGuard = permissions.read
        ? { roots: permissions.read, check: isolation === "deno" }
        : undefined;
      write({ t: "spawn", wid, moduleUrl, permissions, readGuard });
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
    kill,
    setOutputHandler(handler) {
      outputHandler = handler;
    },
    exited,
    get alive() {
      return alive;
    },
    isolation,
  };
}

/**
 * The plugin host's whole environment: none of the CLI's variables (tokens
 * may live there), only `HOME` so Deno finds its module cache. Under
 * bubblewrap the environment is cleared again and set to the sandbox's own.
 */
function _childEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  try {
    const home = Deno.env.get("HOME");
    if (home) env.HOME = home;
  } catch {
    // Not readable here: Deno then uses no module cache.
  }
  return env;
}

const _utf8 = new TextDecoder();

/**
 * Whether `frame` holds more than `max` bytes that open a JSON list or object
 * (`[`, `{`, inside strings too: an upper bound), counted without decoding it.
 * One pass over the bytes: `[` (0x5b) and `{` (0x7b) are the only bytes that
 * OR 0x20 makes 0x7b. (Two `indexOf` walks took ~15% longer over the frames
 * of 100k Plex episodes: 73 MB, 700k brackets, ~76 against ~67 ms.)
 */
function _exceeds(frame: Uint8Array, max: number): boolean {
  let count = 0;
  for (let i = 0; i < frame.length; i++) {
    if ((frame[i] | 0x20) === 0x7b && ++count > max) return true;
  }
  return false;
}

/** Whether `bytes` starts with `prefix`. */
function _startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The longest tag a frame may carry: `*` or a worker id. */
const MAX_TAG = 16;

/**
 * The tag between the nonce and the first space (read as ASCII), or
 * undefined when no space follows within {@link MAX_TAG} bytes: the rest of
 * a frame is never searched for it.
 */
function _tag(frame: Uint8Array, start: number): string | undefined {
  const end = Math.min(frame.length, start + MAX_TAG + 1);
  for (let i = start; i < end; i++) {
    if (frame[i] === 0x20) return String.fromCharCode(...frame.subarray(start, i));
  }
  return undefined;
}

/** Reads a node stream as `\n`-terminated frames of bytes until it ends or fails. */
function _readFrames(
  stream: Readable,
  options: { maxFrameBytes: number; onFrame(frame: Uint8Array): void; onOversize(): void },
): Promise<void> {
  const split = splitFrames(options);
  return new Promise<void>((resolve) => {
    stream.on("data", (chunk: Uint8Array) => {
      split.push(chunk);
      // Read once, whole: the frames it held were decoded or copied (see splitFrames).
      releaseBytes(chunk);
    });
    stream.on("end", () => resolve());
    stream.on("close", () => resolve());
    stream.on("error", () => resolve());
  });
}

/** Reads a node stream as lines until it ends or fails. */
function _readLines(
  stream: Readable,
  options: { maxLineBytes: number; onLine(line: string): void; onOversize?: () => void },
): Promise<void> {
  const split = splitLines({ maxLineBytes: options.maxLineBytes, onOversize: options.onOversize });
  return new Promise<void>((resolve) => {
    stream.on("data", (chunk: Uint8Array) => {
      for (const line of split.push(chunk)) options.onLine(line);
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      for (const line of split.end()) options.onLine(line);
      resolve();
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", () => resolve());
  });
}

function _mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
