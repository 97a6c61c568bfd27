/**
 * The host side of one source's importer: calls with ids and deadlines,
 * streamed batches with back-pressure, cancellation, and typed errors.
 *
 * Everything that comes back from the worker is treated as untrusted: frame
 * shapes are checked here, results with the zod schemas, and every error
 * message or log line is scrubbed of the source's secrets before anyone sees it.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import type { ConnectionInfo, ImporterConfig } from "../core/contract.ts";
import { redact, type SecretForms, secretForms } from "../core/config.ts";
import { ENRICHER_ERROR_CODES, IMPORTER_ERROR_CODES, RetrovueError } from "../core/errors.ts";
import type { ErrorCode } from "../core/errors.ts";
import type { EnricherManifest, Manifest } from "../core/schemas.ts";
import { denialInOurTerms, type DenialSubject } from "./_harden.ts";
import type { HostProcess } from "./_host_process.ts";
import { DEFAULT_LIMITS, limitExceeded, type Limits } from "./_limits.ts";
import type { FromWorker, UnaryOp, WireError, WireNotice, WorkerPermissions } from "./_protocol.ts";
import { CUT_MARK, STREAM_CREDIT } from "./_protocol.ts";
import type {
  CallOptions,
  EnricherClient,
  ImporterClient,
  PluginNotice,
  RawAssetBatch,
  ValidCollectionInfo,
} from "./_types.ts";

/** Codes a plugin may report itself; anything else becomes `PLUGIN_ERROR`. */
const PLUGIN_CODES = new Set<string>([
  ...IMPORTER_ERROR_CODES,
  ...ENRICHER_ERROR_CODES,
  "PERMISSION_DENIED",
  "PLUGIN_ERROR",
  "CANCELLED",
]);

/** Default deadline for a call, and the idle deadline between two batches. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Batches consumed before their credit goes back to the worker in one `pull`. */
const PULL_EVERY = Math.max(1, Math.floor(STREAM_CREDIT / 2));

/** How long a worker may take to load its module and report its manifest. */
export const DEFAULT_LOAD_TIMEOUT_MS = 15_000;

/** Options for {@link openClient}. */
export interface OpenClientOptions {
  /** The plugin-host process the worker runs in; the client kills it on a deadline. */
  process: HostProcess;
  /** The module to load. */
  moduleUrl: string;
  /** The manifest the registry validated. */
  manifest: Manifest;
  /** What the plugin is called in messages (default `importer`). */
  kind?: "importer" | "enricher";
  /** The validated config. */
  config: ImporterConfig;
  /** The derived worker permissions. */
  permissions: WorkerPermissions;
  /** Secret values to scrub from every message. */
  secrets: string[];
  /** Default per-call deadline. */
  timeoutMs?: number;
  /** The limits on what the plugin may send (defaults: {@link DEFAULT_LIMITS}). */
  limits?: Limits;
}

interface Pending {
  onMessage(message: FromWorker, bytes: number): void;
  fail(error: RetrovueError): void;
  onNotice?: (notice: PluginNotice) => void;
}

/**
 * The schemas that check what a plugin returns, loaded once a plugin host has
 * been started rather than with this module: they (and zod) take tens of
 * milliseconds to load, which the plugin host's own start-up then hides.
 */
function _schemas(): Promise<typeof import("../core/schemas.ts")> {
  const loading = import("../core/schemas.ts");
  loading.catch(() => {}); // Awaited by the first call that needs it; a client may make none.
  return loading;
}

/** Starts a worker for one source and resolves once its module has loaded. */
export async function openClient(options: OpenClientOptions): Promise<ImporterClient> {
  const schemas = _schemas();
  const core = await _open(options);
  const { manifest, label, scrub, forms } = core;
  return {
    manifest,
    isolation: options.process.isolation,
    async validateConnection(callOptions) {
      const value = await core.unary("validateConnection", callOptions);
      const { connectionInfoSchema, describeZodError } = await schemas;
      const parsed = connectionInfoSchema.safeParse(value ?? {});
      if (!parsed.success) {
        throw _malformed(label, `validateConnection: ${describeZodError(parsed.error)}`);
      }
      return parsed.data as ConnectionInfo;
    },
    async listCollections(callOptions) {
      const value = await core.unary("listCollections", callOptions);
      const { collectionListSchema, describeZodError } = await schemas;
      const parsed = collectionListSchema.safeParse(value);
      if (!parsed.success) {
        throw _malformed(label, `listCollections: ${scrub(describeZodError(parsed.error))}`);
      }
      return _withoutSecrets(parsed.data as ValidCollectionInfo[], forms, callOptions?.onNotice);
    },
    fetchAssets: core.fetchAssets,
    close: core.close,
  };
}

/** Options for {@link openEnricherWorker}: those of {@link openClient} for an enricher. */
export type OpenEnricherWorkerOptions = Omit<OpenClientOptions, "manifest" | "kind"> & {
  /** The enricher's validated manifest. */
  manifest: EnricherManifest;
};

/**
 * Starts a worker for one attached enricher and resolves once its module
 * has loaded. `enrich` answers are validated against the technical-fields
 * schema; a call past its deadline rejects with `TIMEOUT` (details
 * `{ timeoutMs }`) and stops the whole process, so every other call in
 * flight fails too (`alive` turns false): open a new worker to go on.
 */
export async function openEnricherWorker(
  options: OpenEnricherWorkerOptions,
): Promise<EnricherClient> {
  const schemas = _schemas();
  const core = await _open({
    ...options,
    manifest: options.manifest as unknown as Manifest,
    kind: "enricher",
  });
  const { label, scrub } = core;
  return {
    manifest: options.manifest,
    isolation: options.process.isolation,
    get alive() {
      return core.alive;
    },
    async enrich(target, callOptions) {
      const value = await core.unary("enrich", callOptions, target);
      const { describeZodError, enrichResultSchema } = await schemas;
      const parsed = enrichResultSchema.safeParse(value);
      if (!parsed.success) {
        throw _malformed(label, `enrich: ${scrub(describeZodError(parsed.error))}`);
      }
      return parsed.data;
    },
    close: core.close,
  };
}

async function _open(options: OpenClientOptions) {
  const { process, manifest, secrets } = options;
  const label = `${options.kind ?? "importer"} '${manifest.typeId}'`;
  const log = getLogger(["retrovue", "plugin", manifest.typeId]);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let dead: RetrovueError | undefined;
  const forms = secretForms(secrets);
  const scrub = pluginTextScrubber(secrets, options.kind ?? "importer", forms);
  const limits = options.limits ?? DEFAULT_LIMITS;
  let logLines = 0;
  const logLine = (level: "debug" | "info" | "warn" | "error", text: string) => {
    // Lines the operator's log level hides neither count against the limit nor cost a scrub:
    // the built-in importers log every request at debug.
    if (!log.isEnabledFor(level === "warn" ? "warning" : level)) return;
    logLines++;
    // Braces are the logger's placeholders: a plugin's text has them doubled, to stay as written.
    if (logLines <= limits.maxLogLines) {
      log[level](scrub(text).replaceAll("{", "{{").replaceAll("}", "}}"));
    } else if (logLines === limits.maxLogLines + 1) {
      log.warn(
        `further log lines of this call are dropped (limit ${limits.maxLogLines} per call; ` +
          "raise it with RETROVUE_MAX_LOG_LINES)",
      );
    }
  };
  process.setOutputHandler((line) => logLine("info", `output: ${line}`));

  let resolveReady!: () => void;
  let rejectReady!: (e: RetrovueError) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });

  const die = (error: RetrovueError) => {
    if (dead) return;
    dead = error;
    rejectReady(error);
    for (const p of pending.values()) p.fail(error);
    pending.clear();
  };

  const wid = process.spawnWorker(options.moduleUrl, options.permissions, {
    onMessage(message, bytes) {
      if (typeof message !== "object" || message === null) return;
      if (message.t === "ready") return resolveReady();
      if (message.t === "log") {
        const level = ["debug", "info", "warn", "error"].includes(message.level)
          ? message.level
          : "info";
        const text = String(message.message);
        logLine(level, text);
        _reportLoggedDenial(text, { pending, scrub });
        return;
      }
      if (message.t === "closed") {
        const reason = typeof message.reason === "string"
          ? message.reason
          : "the worker closed itself";
        die(_crashed(label, scrub(reason)));
        process.kill();
        return;
      }
      const id = (message as { id?: unknown }).id;
      const call = typeof id === "number" ? pending.get(id) : undefined;
      if (!call) return;
      const notices = (message as { notices?: unknown }).notices;
      if (notices !== undefined) {
        if (!Array.isArray(notices)) {
          return call.fail(_malformed(label, "notices must be an array"));
        }
        for (const n of notices as WireNotice[]) {
          const notice = _notice(n, scrub);
          if (notice) call.onNotice?.(notice);
        }
      }
      call.onMessage(message, bytes);
    },
    onExit(reason, detail) {
      if (detail?.oversizeCallId !== undefined || detail?.bytes !== undefined) {
        return die(limitExceeded("maxMessageBytes", { limits, typeId: manifest.typeId }));
      }
      if (detail?.malformed) {
        // Its output cannot be trusted any further: the process goes too.
        die(_malformed(label, scrub(reason)));
        return process.kill();
      }
      die(_crashed(label, scrub(reason)));
    },
  });

  const loadTimer = setTimeout(() => {
    die(new RetrovueError("TIMEOUT", `${label} did not start in time`));
    process.kill();
  }, DEFAULT_LOAD_TIMEOUT_MS);
  try {
    await ready;
  } finally {
    clearTimeout(loadTimer);
  }

  const toError = (wire: WireError): RetrovueError => {
    const known = typeof wire?.code === "string" && PLUGIN_CODES.has(wire.code);
    const message = scrub(typeof wire?.message === "string" ? wire.message : "unknown error");
    return new RetrovueError(
      (known ? wire.code : "PLUGIN_ERROR") as ErrorCode,
      known ? message : `${message} (unknown error code '${scrub(String(wire?.code))}')`,
      { retryable: wire?.retryable === true },
    );
  };

  /**
   * Runs a deadline that kills the process when it passes (a sync loop cannot
   * be stopped otherwise). `reset` only notes the time: the timer re-arms
   * itself for what is left when it fires early, so a stream of batches does
   * not cost two timer operations per batch.
   */
  const deadline = (ms: number, onExpire: () => void) => {
    let last = performance.now();
    let timer = setTimeout(check, ms);
    function check() {
      const left = last + ms - performance.now();
      if (left > 0) timer = setTimeout(check, left);
      else expire();
    }
    function expire() {
      onExpire();
      die(
        new RetrovueError(
          "TIMEOUT",
          `stopped: the ${options.kind ?? "importer"} was killed after a deadline`,
        ),
      );
      process.kill();
    }
    return {
      reset() {
        last = performance.now();
      },
      clear() {
        clearTimeout(timer);
      },
    };
  };

  const unary = (op: UnaryOp, callOptions: CallOptions = {}, arg?: unknown): Promise<unknown> => {
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    const ms = callOptions.timeoutMs ?? timeoutMs;
    logLines = 0;
    return new Promise<unknown>((resolve, reject) => {
      const finish = () => {
        timer.clear();
        pending.delete(id);
        callOptions.signal?.removeEventListener("abort", onAbort);
      };
      const timer = deadline(ms, () => {
        finish();
        reject(_timeout(label, op, ms));
      });
      const onAbort = () => {
        finish();
        process.send(wid, { t: "cancel", id });
        reject(new RetrovueError("CANCELLED", `cancelled while ${label} was running (${op})`));
      };
      if (callOptions.signal?.aborted) return onAbort();
      callOptions.signal?.addEventListener("abort", onAbort, { once: true });
      pending.set(id, {
        onNotice: callOptions.onNotice,
        onMessage(message) {
          if (message.t === "result") {
            finish();
            resolve(message.value);
          } else if (message.t === "error") {
            finish();
            reject(toError(message.error));
          } else {
            finish();
            reject(_malformed(label, `unexpected '${String(message.t)}' message`));
          }
        },
        fail(error) {
          finish();
          reject(error);
        },
      });
      process.send(wid, {
        t: "call",
        id,
        op,
        config: options.config,
        ...(arg === undefined ? {} : { arg }),
      });
    });
  };

  async function* fetchAssets(
    request: Parameters<ImporterClient["fetchAssets"]>[0],
    callOptions: CallOptions = {},
  ): AsyncGenerator<RawAssetBatch> {
    if (dead) throw dead;
    const id = nextId++;
    const ms = callOptions.timeoutMs ?? timeoutMs;
    logLines = 0;
    let assets = 0;
    let streamBytes = 0;
    // Batches the worker was given credit for, and batches it sent: its runtime never sends
    // more, so a plugin posting around it (ignoring back-pressure to flood the CLI) is stopped.
    let granted = STREAM_CREDIT;
    let received = 0;
    const queue: RawAssetBatch[] = [];
    let done = false;
    let failure: RetrovueError | undefined;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const timer = deadline(ms, () => {
      failure ??= _timeout(label, "fetchAssets", ms);
      notify();
    });
    const onAbort = () => {
      failure ??= new RetrovueError(
        "CANCELLED",
        `cancelled while ${label} was listing assets (fetchAssets)`,
      );
      process.send(wid, { t: "cancel", id });
      notify();
    };
    callOptions.signal?.addEventListener("abort", onAbort, { once: true });
    pending.set(id, {
      onNotice: callOptions.onNotice,
      onMessage(message, bytes) {
        timer.reset();
        streamBytes += bytes;
        if (message.t === "batch") {
          if (++received > granted) {
            // Its output cannot be trusted any further: the process goes too, and what it
            // still sent is dropped unread.
            die(_malformed(
              label,
              `sent more batches than it was asked for (${granted}): it ignores the stream's ` +
                "back-pressure",
            ));
            process.kill();
            return;
          }
          if (!Array.isArray(message.items)) {
            failure ??= _malformed(label, "a batch's items must be an array");
          } else {
            assets += message.items.length;
            if (assets > limits.maxAssets) {
              failure ??= limitExceeded("maxAssets", { limits, typeId: manifest.typeId });
            } else if (streamBytes > limits.maxStreamBytes) {
              failure ??= limitExceeded("maxStreamBytes", { limits, typeId: manifest.typeId });
            } else queue.push(message.items);
          }
        } else if (message.t === "end") done = true;
        else if (message.t === "beat") {
          // Alive: the deadline started again above; its notices are delivered.
        } else if (message.t === "error") failure ??= toError(message.error);
        else failure ??= _malformed(label, `unexpected '${String(message.t)}' message`);
        notify();
      },
      fail(error) {
        failure ??= error;
        notify();
      },
    });
    try {
      if (callOptions.signal?.aborted) onAbort();
      process.send(wid, {
        t: "stream",
        id,
        op: "fetchAssets",
        config: options.config,
        request: { collection: request.collection, filters: request.filters },
        credit: STREAM_CREDIT,
      });
      let owed = 0;
      while (true) {
        if (failure) throw failure;
        const batch = queue.shift();
        if (batch) {
          // Credit goes back in pairs: half the messages, and the worker still has batches in flight.
          if (++owed >= PULL_EVERY) {
            granted += owed;
            process.send(wid, { t: "pull", id, n: owed });
            owed = 0;
          }
          yield batch;
          timer.reset(); // The idle deadline measures the plugin, not the consumer.
          continue;
        }
        if (done) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      timer.clear();
      callOptions.signal?.removeEventListener("abort", onAbort);
      if (pending.delete(id) && !done) process.send(wid, { t: "cancel", id });
    }
  }

  return {
    manifest,
    label,
    scrub,
    forms,
    unary,
    fetchAssets,
    get alive() {
      return dead === undefined && process.alive;
    },
    close() {
      die(new RetrovueError("CANCELLED", `the ${options.kind ?? "importer"} was closed`));
      process.killWorker(wid);
      process.kill();
      return process.exited.then(() => {});
    },
  };
}

/** The longest a text from a plugin is shown: an error message, a notice, a log line. */
export const MAX_SHOWN = 1000;

/**
 * The most characters of a plugin's text that are read before it is shown: a
 * few times {@link MAX_SHOWN}, as rewording a denial and collapsing white
 * space change a text's length, yet little enough for any text to cost
 * microseconds. A plugin may send a 32 MiB text, as often as it likes; read
 * whole, the denial rewording alone would make it some 190 MiB, and the
 * host's event loop (call deadlines included) would stall for seconds. At
 * most `MAX_DENIAL_TEXT` (see `_harden.ts`), which must not cut it again.
 */
export const MAX_READ = 4096;

/**
 * How the host shows a text a plugin sent: cut to {@link MAX_READ}
 * characters before anything else reads it, every form of `secrets` masked
 * (and no part left of one that cut halves), any sandbox denial left in
 * Deno's words told in ours (for `subject`'s author), runs of white space
 * made one space, and at most {@link MAX_SHOWN} characters. Pass `forms`
 * when they are compiled already.
 *
 * @example
 * ```ts
 * const scrub = pluginTextScrubber(["s3cr3t-t0ken"], "importer");
 * scrub("login failed:\n  token s3cr3t-t0ken refused"); // "login failed: token *** refused"
 * ```
 */
export function pluginTextScrubber(
  secrets: readonly string[],
  subject: DenialSubject,
  forms: SecretForms = secretForms(secrets),
): (text: string) => string {
  const margin = _longestFormBound(secrets);
  return (text) => {
    const read = _clip(text, forms, margin);
    return _oneLine(redact(denialInOurTerms(read, subject), forms)).slice(0, MAX_SHOWN);
  };
}

/**
 * At most {@link MAX_READ} characters from the start of `text`, with no part
 * of a secret left where the text was cut. A text cut short is read
 * `margin` characters further (at least the longest form of a secret) and
 * masked before the last `margin` characters of that are dropped: a secret
 * that starts before the cut is masked whole, and the part of one that the
 * cut halved lies within those last characters, as masking never makes a
 * text longer. A text the worker runtime or the plugin host cut already
 * (ending in `CUT_MARK`) is treated so at that cut, and ends in "…".
 */
function _clip(text: string, forms: SecretForms, margin: number): string {
  const cutBefore = text.endsWith(CUT_MARK);
  if (!cutBefore && text.length <= MAX_READ) return text;
  const body = cutBefore ? text.slice(0, -CUT_MARK.length) : text;
  const read = body.slice(0, MAX_READ + margin);
  const masked = redact(read, forms);
  const cut = cutBefore || read.length < body.length;
  const kept = cut ? masked.length - margin : masked.length;
  return masked.slice(0, Math.max(0, Math.min(MAX_READ, kept))) + (cutBefore ? "…" : "");
}

/**
 * Characters in the longest form `secretForms` derives from any of
 * `secrets`, or more: URL-encoding makes each UTF-8 byte at most 3
 * characters, hex 2, and base64 (at any alignment, with padding) 4 per 3
 * bytes plus up to 4; the secret and its reverse are no longer than its bytes.
 */
function _longestFormBound(secrets: readonly string[]): number {
  const encoder = new TextEncoder();
  let longest = 0;
  for (const secret of secrets) {
    longest = Math.max(longest, 3 * encoder.encode(secret).length + 4);
  }
  return longest;
}

/**
 * `text` on one line, trimmed: every run of white space becomes one space.
 * Only runs of two or more, and single white space other than a space, are
 * replaced, so ordinary prose costs no replacement per word.
 */
function _oneLine(text: string): string {
  return text.replace(/\s{2,}|[^\S ]/g, " ").trim();
}

/** Why a collection whose external id carries a secret is left out of discovery. */
export const COLLECTION_ID_CARRIES_CREDENTIAL =
  "its id carries a credential of its source (not listed, not stored)";

/**
 * Collections as the host may show and store them: every form of the
 * source's secrets (see `secretForms`) in a name, reason or location becomes
 * `***`. A collection whose external id carries one is left out, with a
 * warning: the id is its key in the catalog and what `fetchAssets` is asked
 * for, so it can be neither stored as is nor masked.
 */
function _withoutSecrets(
  collections: ValidCollectionInfo[],
  forms: SecretForms,
  onNotice: ((notice: PluginNotice) => void) | undefined,
): ValidCollectionInfo[] {
  if (forms.size === 0) return collections;
  const kept: ValidCollectionInfo[] = [];
  for (const c of collections) {
    const masked = _maskCollection(c, forms);
    if (!forms.test(c.externalId)) kept.push(masked);
    else {
      onNotice?.({
        kind: "warn",
        message: `collection '${masked.name}' (id '${masked.externalId}') skipped: ` +
          COLLECTION_ID_CARRIES_CREDENTIAL,
      });
    }
  }
  return kept;
}

/** `c` with every form of the secrets in each of its texts replaced by `***`. */
function _maskCollection(c: ValidCollectionInfo, forms: SecretForms): ValidCollectionInfo {
  const out: ValidCollectionInfo = {
    ...c,
    externalId: forms.mask(c.externalId),
    name: forms.mask(c.name),
  };
  if (c.locations !== undefined) out.locations = c.locations.map((l) => forms.mask(l));
  if (c.reason !== undefined) out.reason = forms.mask(c.reason);
  return out;
}

function _notice(n: WireNotice, scrub: (s: string) => string): PluginNotice | undefined {
  if (typeof n !== "object" || n === null) return undefined;
  if (n.kind === "warn") return { kind: "warn", message: scrub(String(n.message)) };
  if (n.kind === "skipped") {
    return { kind: "skipped", item: scrub(String(n.item)), reason: scrub(String(n.reason)) };
  }
  // Matched against stored external ids, never shown: passed as sent (bounded like a path).
  if (n.kind === "unlisted" && typeof n.prefix === "string" && n.prefix.length <= 4096) {
    return { kind: "unlisted", prefix: n.prefix, exact: n.exact === true };
  }
  // A progress hint only: anything but a plain count is dropped.
  if (n.kind === "total" && Number.isSafeInteger(n.count) && n.count >= 0) {
    return { kind: "total", count: n.count };
  }
  return undefined;
}

/**
 * A denial the plugin caught and only logged is still a plugin bug: it also
 * reaches every call in flight as a warning, so an ingest shows it and
 * `importer check` fails its `sandbox` item instead of passing a plugin that
 * silently lacks a grant.
 */
function _reportLoggedDenial(
  line: string,
  options: { pending: ReadonlyMap<number, Pending>; scrub: (s: string) => string },
): void {
  // Only what a scrub reads: a denial past it would not be shown anyway.
  if (!_LOGGED_DENIAL.test(line.slice(0, MAX_READ))) return;
  const message = `logged: ${options.scrub(line)}`;
  for (const call of options.pending.values()) call.onNotice?.({ kind: "warn", message });
}

/** A log line carrying a sandbox denial, in Deno's words or ours. */
const _LOGGED_DENIAL = /sandbox denied|NotCapable|Requires \w+ access/;

function _crashed(label: string, reason: string): RetrovueError {
  return new RetrovueError("PLUGIN_CRASHED", `${label} crashed: ${reason}`);
}

function _malformed(label: string, reason: string): RetrovueError {
  return new RetrovueError("MALFORMED_RESPONSE", `${label} ${reason}`);
}

function _timeout(label: string, op: string, ms: number): RetrovueError {
  return new RetrovueError(
    "TIMEOUT",
    `${label} did not answer ${op} within ${Math.round(ms / 100) / 10}s`,
    { retryable: true, details: { timeoutMs: ms } },
  );
}
