/**
 * The RPC server that runs inside each sandboxed worker, around the plugin.
 *
 * The plugin host creates every worker from a tiny generated entry module:
 * `import { serve } from "<this file>"; import * as m from "<plugin>"; serve(m);`.
 * Importing this file first, before the plugin's own top-level code runs:
 * - redirects `console` to the host's log;
 * - reports `Deno.exit()` and `close()` to the host at once;
 * - hardens the global scope, and every helper worker the plugin starts
 *   (see `_harden.ts`).
 *
 * Dependency-free on purpose: it is evaluated in every worker.
 *
 * @module
 */

import type { FromWorker, ToWorker, WireError, WireNotice } from "./_protocol.ts";
import { BATCH_SIZE, BEAT_EVERY_MS, cutText, MAX_BATCH_SIZE, READ_ROOTS_KEY } from "./_protocol.ts";
import type { ReadGuard } from "./_protocol.ts";
import {
  denialInOurTerms,
  type DenialSubject,
  DENIED_IMPORT_HOST,
  hardenOptions,
  hardenScope,
  MAX_DENIAL_TEXT,
  outsideImportDenial,
  REMOVED_GLOBALS,
} from "./_harden.ts";

// deno-lint-ignore no-explicit-any
type AnyImporter = Record<string, any>;

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

const scope = globalThis as unknown as WorkerScope;
const MAX_NOTICES = 10_000;

/** The most `unlisted` prefixes one call may report; past it the call fails. */
const MAX_UNLISTED = 10_000;

/** Taken before the plugin's code runs, which could replace the global's. */
const _stringify = JSON.stringify;

/**
 * Posts a message as one JSON text, the form the plugin host relays without
 * parsing it (see `_protocol.ts`). The text goes as a string: Deno clones a
 * string as one flat copy of its characters, where encoding it and
 * transferring the buffer cost this thread about as much again as the
 * `JSON.stringify` (`bench/transfer_bench.ts`). A value JSON cannot carry (a
 * BigInt, a cycle) turns the call it answers into `MALFORMED_RESPONSE`.
 */
function _post(message: FromWorker): void {
  let text: string;
  try {
    text = _stringify(message);
  } catch (error) {
    const reason = `plugin sent a message that cannot be serialised: ${(error as Error).message}`;
    text = _stringify(
      "id" in message
        ? { t: "error", id: message.id, error: { code: "MALFORMED_RESPONSE", message: reason } }
        : { t: "log", level: "warn", message: "unserialisable message" },
    );
  }
  scope.postMessage(text);
}

function _format(args: unknown[]): string {
  const text = args.map((a) => {
    if (typeof a === "string") return a;
    if (a instanceof Error) return `${a.name}: ${a.message}`;
    try {
      return JSON.stringify(a);
    } catch {
      return String(a);
    }
  }).join(" ");
  return cutText(text);
}

function _redirectConsole(): void {
  const levels = {
    debug: "debug",
    log: "info",
    info: "info",
    warn: "warn",
    error: "error",
  } as const;
  for (const [method, level] of Object.entries(levels)) {
    (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      _post({ t: "log", level, message: _format(args) });
  }
}

function _reportClose(): void {
  // `close` may live on the global or on a prototype of it; wrap it wherever it is.
  for (let o: object | null = globalThis; o !== null; o = Object.getPrototypeOf(o)) {
    const own = Object.getOwnPropertyDescriptor(o, "close");
    if (!own || typeof own.value !== "function") continue;
    const original = own.value as () => void;
    Object.defineProperty(o, "close", {
      value: function (this: unknown) {
        _post({ t: "closed", reason: "the worker closed itself" });
        return original.call(this);
      },
      writable: false,
      configurable: false,
      enumerable: own.enumerable,
    });
  }
}

function _reportExit(): void {
  const exit = Deno.exit.bind(Deno);
  Object.defineProperty(Deno, "exit", {
    value: (code?: number) => {
      _post({ t: "closed", reason: `the plugin called Deno.exit(${code ?? ""})` });
      return exit(code);
    },
    writable: false,
    configurable: false,
    enumerable: true,
  });
}

/** Reads the read guard the plugin host set for this worker, and removes it. */
function _takeGuard(): ReadGuard | null {
  const key = Symbol.for(READ_ROOTS_KEY);
  const global = globalThis as unknown as Record<symbol, unknown>;
  const guard = global[key] as ReadGuard | undefined;
  delete global[key];
  return guard && Array.isArray(guard.roots) ? guard : null;
}

_redirectConsole();
_reportClose();
_reportExit();
hardenScope(hardenOptions(_takeGuard()));

const _REMOVED = new RegExp(`^(${REMOVED_GLOBALS.join("|")}) is not defined`);

/**
 * A denial's message, in RetroVue's terms (see {@link denialInOurTerms}) and
 * marked as one. A plugin may throw a denial of its own, megabytes long:
 * only the start of it is read, and the answer is at most
 * {@link MAX_DENIAL_TEXT} characters, more than any denial of Deno's takes
 * (a path is at most 4096), so the host still sees a secret in one whole.
 */
function _denied(message: unknown, subject: DenialSubject): string {
  const text = denialInOurTerms(String(message), subject);
  return cutText(
    text.startsWith("sandbox denied") ? text : `sandbox denied: ${text}`,
    MAX_DENIAL_TEXT,
  );
}

/** The module specifier a refused npm or remote import names, if the message quotes one. */
function _specifier(message: string): string {
  const found = /(npm:|jsr:|https?:\/\/)[^\s"'`]+/.exec(message);
  // Cut, it could end in half a secret (a token in a URL), which the host could not mask.
  return found && found[0].length <= 200 ? ` ('${found[0]}')` : "";
}

/**
 * Turns anything a plugin throws into a {@link WireError}. A sandbox denial
 * becomes `PERMISSION_DENIED` worded for `subject`'s author (the grant it
 * lacks), never as Deno's advice to pass an `--allow-…` flag.
 */
export function toWireError(error: unknown, subject: DenialSubject = "plugin"): WireError {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return { code: "PERMISSION_DENIED", message: _denied(error.message, subject) };
  }
  if (error instanceof ReferenceError && _REMOVED.test(error.message)) {
    return {
      code: "PERMISSION_DENIED",
      message: `sandbox denied: ${error.message.split(" ")[0]} is not available to plugins`,
    };
  }
  if (error instanceof Error && /--no-npm|--no-remote/.test(error.message)) {
    if (error.message.includes(DENIED_IMPORT_HOST)) {
      return { code: "PERMISSION_DENIED", message: outsideImportDenial(subject, error.message) };
    }
    return {
      code: "PERMISSION_DENIED",
      message: `sandbox denied: plugins may not import npm packages or remote modules${
        _specifier(error.message)
      } — bundle what the ${subject} needs into its plugin folder; this is a plugin bug`,
    };
  }
  if (error instanceof Error && /^Requires \w+ access/.test(error.message)) {
    // Denied dynamic imports surface as module errors carrying the permission message.
    return { code: "PERMISSION_DENIED", message: _denied(error.message, subject) };
  }
  if (error instanceof Error || (typeof error === "object" && error !== null)) {
    const e = error as { code?: unknown; message?: unknown; retryable?: unknown; name?: unknown };
    const message = typeof e.message === "string" && e.message
      ? e.message
      : `plugin threw ${String(e.name ?? "an error")}`;
    const code = typeof e.code === "string" ? e.code : "PLUGIN_ERROR";
    return { code, message: cutText(message), retryable: e.retryable === true };
  }
  return {
    code: "PLUGIN_ERROR",
    message: cutText(`plugin threw a non-Error value: ${_format([error])}`),
  };
}

function _manifest(plugin: AnyImporter): unknown {
  const ops = ["validateConnection", "listCollections", "fetchAssets", "enrich"].filter((op) =>
    typeof plugin[op] === "function"
  );
  const manifest: Record<string, unknown> = {
    typeId: plugin.typeId,
    displayName: plugin.displayName,
    description: plugin.description,
    version: plugin.version,
    params: plugin.params,
    capabilities: plugin.capabilities,
    operations: ops,
  };
  if (ops.includes("enrich")) {
    // An enricher (see core/enricher_contract.ts) describes itself with these too.
    manifest.appliesTo = plugin.appliesTo;
    manifest.concurrency = plugin.concurrency;
    manifest.timeoutMs = plugin.timeoutMs;
  }
  return manifest;
}

/** What kind of plugin a module is, for the wording of its denials. */
function _subject(plugin: AnyImporter): DenialSubject {
  return typeof plugin.enrich === "function" ? "enricher" : "importer";
}

interface Call {
  controller: AbortController;
  notices: WireNotice[];
  /** Warnings and skipped items not kept past {@link MAX_NOTICES}, said in one warning. */
  dropped?: { warn: number; skipped: number };
  /** `unlisted` notices sent (they do not count against {@link MAX_NOTICES}). */
  unlisted: number;
  credit: number;
  wake?: () => void;
}

function _context(call: Call) {
  const push = (n: WireNotice) => {
    if (call.notices.length < MAX_NOTICES) call.notices.push(n);
    else if (n.kind === "warn" || n.kind === "skipped") {
      const dropped = call.dropped ??= { warn: 0, skipped: 0 };
      dropped[n.kind]++;
    }
  };
  return {
    signal: call.controller.signal,
    warn: (message: string) => push({ kind: "warn", message: cutText(String(message)) }),
    skipped: (item: string, reason: string) =>
      push({
        kind: "skipped",
        item: cutText(String(item)),
        reason: cutText(String(reason), 200),
      }),
    total: (count: number) => push({ kind: "total", count: Number(count) }),
    // Never dropped with the other notices past their cap: a lost one would let a full ingest
    // remove what was only unreadable. Past its own cap the call fails instead.
    unlisted: (prefix: string, options?: { exact?: boolean }) => {
      if (++call.unlisted > MAX_UNLISTED) {
        throw new Error(`more than ${MAX_UNLISTED} unlisted prefixes in one call`);
      }
      const exact = options?.exact === true;
      call.notices.push({ kind: "unlisted", prefix: String(prefix).slice(0, 4096), exact });
    },
  };
}

function _take(call: Call): WireNotice[] | undefined {
  const dropped = call.dropped;
  if (dropped) {
    // Past the cap the notices themselves go, but not without a word: the counts the operator
    // sees would otherwise be short, silently.
    call.dropped = undefined;
    call.notices.push({
      kind: "warn",
      message: `${dropped.warn} more warning(s) and ${dropped.skipped} more skipped item(s) ` +
        `were not reported (over ${MAX_NOTICES} between two batches)`,
    });
  }
  if (call.notices.length === 0) return undefined;
  return call.notices.splice(0);
}

/**
 * Serves a plugin module: reports its manifest, then answers calls until the
 * worker is terminated.
 */
export function serve(module: Record<string, unknown>): void {
  const plugin = module.default as AnyImporter | undefined;
  if (typeof plugin !== "object" || plugin === null) {
    _post({ t: "ready", manifest: null });
    return;
  }
  _post({ t: "ready", manifest: _manifest(plugin) });
  const calls = new Map<number, Call>();

  scope.onmessage = (event: MessageEvent) => {
    const msg = event.data as ToWorker;
    switch (msg.t) {
      case "call":
        _unary(plugin, msg, calls);
        break;
      case "stream":
        _stream(plugin, msg, calls);
        break;
      case "pull": {
        const call = calls.get(msg.id);
        if (call) {
          call.credit += msg.n;
          call.wake?.();
        }
        break;
      }
      case "cancel": {
        const call = calls.get(msg.id);
        if (call) {
          call.controller.abort(new DOMException("cancelled by the host", "AbortError"));
          call.wake?.();
        }
        break;
      }
    }
  };
}

async function _unary(
  plugin: AnyImporter,
  msg: Extract<ToWorker, { t: "call" }>,
  calls: Map<number, Call>,
): Promise<void> {
  const call: Call = { controller: new AbortController(), notices: [], unlisted: 0, credit: 0 };
  calls.set(msg.id, call);
  try {
    if (typeof plugin[msg.op] !== "function") {
      throw { code: "UNSUPPORTED", message: `plugin does not implement ${msg.op}` };
    }
    const context = _context(call);
    const value = msg.op === "enrich"
      ? await plugin.enrich(msg.arg, {
        config: msg.config,
        signal: context.signal,
        warn: context.warn,
      })
      : await plugin[msg.op](msg.config, context);
    _post({ t: "result", id: msg.id, value, notices: _take(call) });
  } catch (error) {
    _post({
      t: "error",
      id: msg.id,
      error: toWireError(error, _subject(plugin)),
      notices: _take(call),
    });
  } finally {
    calls.delete(msg.id);
  }
}

async function _stream(
  plugin: AnyImporter,
  msg: Extract<ToWorker, { t: "stream" }>,
  calls: Map<number, Call>,
): Promise<void> {
  const call: Call = {
    controller: new AbortController(),
    notices: [],
    unlisted: 0,
    credit: msg.credit,
  };
  calls.set(msg.id, call);
  const signal = call.controller.signal;
  let pending: unknown[] = [];
  let lastPost = performance.now();

  const send = async (items: unknown[]) => {
    while (call.credit <= 0 && !signal.aborted) {
      await new Promise<void>((resolve) => (call.wake = resolve));
      call.wake = undefined;
    }
    if (signal.aborted) throw signal.reason;
    call.credit--;
    _post({ t: "batch", id: msg.id, items, notices: _take(call) });
    lastPost = performance.now();
  };
  /** Sends what was gathered, as one batch. */
  const flush = async () => {
    const out = pending;
    pending = [];
    await send(out);
  };
  // Nothing to send for a while, but the plugin yielded: it is alive.
  const beat = () => {
    _post({ t: "beat", id: msg.id, notices: _take(call) });
    lastPost = performance.now();
  };

  try {
    if (typeof plugin.fetchAssets !== "function") {
      throw { code: "UNSUPPORTED", message: "importer does not implement fetchAssets" };
    }
    const request = { ...(msg.request as object), ..._context(call) };
    const iterable = plugin.fetchAssets(msg.config, request);
    if (!iterable || typeof iterable[Symbol.asyncIterator] !== "function") {
      throw {
        code: "MALFORMED_RESPONSE",
        message: "fetchAssets must return an async iterable",
      };
    }
    for await (const value of iterable as AsyncIterable<unknown>) {
      if (signal.aborted) throw signal.reason;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i += MAX_BATCH_SIZE) {
          pending.push(...value.slice(i, i + MAX_BATCH_SIZE));
          if (pending.length >= BATCH_SIZE) await flush();
        }
      } else {
        pending.push(value);
        if (pending.length >= BATCH_SIZE) await flush();
      }
      // A slow stream still reaches the host now and then: what it has so far, or a beat
      // (an empty array yielded: nothing to give yet, but alive).
      if (performance.now() - lastPost >= BEAT_EVERY_MS) {
        if (pending.length > 0) await flush();
        else beat();
      }
    }
    if (pending.length > 0) await flush();
    _post({ t: "end", id: msg.id, notices: _take(call) });
  } catch (error) {
    const wire = signal.aborted
      ? { code: "CANCELLED", message: "the host cancelled the call" }
      : toWireError(error, _subject(plugin));
    _post({ t: "error", id: msg.id, error: wire, notices: _take(call) });
  } finally {
    calls.delete(msg.id);
  }
}
