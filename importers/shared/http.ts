/**
 * Small HTTP helpers shared by the server importers (Plex, Jellyfin, Emby):
 * secret scrubbing, classifying fetch failures, an abortable sleep for retry
 * backoff, and the guards every request goes through: a per-request deadline
 * that ends before the plugin host's, redirects followed only within the
 * server's own origin, and a cap on the bytes of one answer. No permissions
 * needed beyond the server's own `host:port`.
 *
 * @module
 */

import type { ImporterErrorCode } from "../../core/contract.ts";

/** A typed importer error raised by an HTTP client, with the status when the server answered. */
export interface HttpImporterError extends Error {
  /** Importer error code. */
  code: ImporterErrorCode;
  /** Whether trying again later may help. */
  retryable: boolean;
  /** The HTTP status, when the server answered. */
  status?: number;
}

/** Builds a typed importer error (what crosses the worker boundary with its code). */
export function httpImporterError(
  code: ImporterErrorCode,
  message: string,
  extra: { retryable?: boolean; status?: number } = {},
): HttpImporterError {
  return Object.assign(new Error(message), {
    code,
    retryable: extra.retryable ?? false,
    ...(extra.status === undefined ? {} : { status: extra.status }),
  });
}

/** Whether `error` is a typed error of these clients (one they raised, to be passed on as is). */
export function isHttpImporterError(error: unknown): error is HttpImporterError {
  const e = error as Partial<HttpImporterError> | null;
  return error instanceof Error && typeof e?.code === "string" && typeof e.retryable === "boolean";
}

/** Replaces a secret (and its URL-encoded form) in `text` with `***`. */
export function scrubSecret(text: string, secret: string): string {
  if (secret.length < 3) return text;
  return text.split(secret).join("***").split(encodeURIComponent(secret)).join("***");
}

/** Whether an error is the sandbox refusing an operation (re-thrown untouched by importers). */
export function isSandboxDenial(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
}

/**
 * A hint for a plain `http://` base URL whose server answered in TLS (its
 * bytes are no HTTP response: `invalid HTTP version parsed`): `; the server
 * may speak HTTPS: …`, else an empty string.
 */
export function httpsHint(detail: string, baseUrl: string): string {
  return baseUrl.startsWith("http://") && /invalid HTTP version/i.test(detail)
    ? "; the server may speak HTTPS: try https:// in --base-url"
    : "";
}

/** Whether a fetch failure message is about TLS or certificates. */
export function isTlsFailure(message: string): boolean {
  return /certificate|tls|ssl|handshake|UnknownIssuer|NotValidForName/i.test(message);
}

/** The most specific message of an error and its causes (fetch hides the reason in `cause`). */
export function describeFetchError(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e instanceof Error && e.cause !== undefined; depth++) {
    e = e.cause;
    if (e instanceof Error && e.message) message = e.message;
  }
  // Deno's prefix names the request (`error sending request for url (…)`, lately `error
  // sending request from 127.0.0.1:55016 for http://… (…)`): the reason is what follows it.
  return message.replace(
    /^error sending request (?:from \S+ )?for (?:url \()?\S+\)?(?: \([^)]*\))?: /,
    "",
  );
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

// ------------------------------------------------------------- request guards

/**
 * The plugin host's deadline for one call, which for `fetchAssets` is the
 * idle time it allows between two batches: `DEFAULT_TIMEOUT_MS` of
 * `registry/_client.ts`, repeated here because an importer runs in the
 * sandbox and does not import the host (tests/http_limits_test.ts checks the
 * two agree).
 */
export const HOST_CALL_DEADLINE_MS = 60_000;

/** Retries after the first attempt (5xx, 429, timeouts, dropped connections), unless tuned. */
export const DEFAULT_RETRIES = 2;

/** The first retry backoff in milliseconds, unless tuned; it doubles each retry. */
export const DEFAULT_BACKOFF_MS = 500;

/** How a client times and retries one request (what tests shorten). */
export interface RetryTuning {
  /** Per-attempt deadline in milliseconds, covering the body. Default: {@link requestTimeoutWithin} the host's deadline. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default {@link DEFAULT_RETRIES}. */
  retries?: number;
  /** First backoff in milliseconds. Default {@link DEFAULT_BACKOFF_MS}. */
  backoffMs?: number;
}

/**
 * The per-attempt deadline that makes every attempt of one request, with the
 * backoffs between them, end within nine tenths of `deadlineMs` (the tenth
 * left covers the worker's messages and the quick requests of the same call
 * before this one); whole seconds, at least one. With the defaults (60 s,
 * 2 retries, 500 ms) it is 17 s.
 *
 * Why: a request allowed as long as the host's own deadline loses the race
 * to it. The host then kills the plugin host and reports `TIMEOUT` against
 * the importer (exit 1); the importer's retries and its `UNREACHABLE` naming
 * the server (exit 3) never happen.
 */
export function requestTimeoutWithin(
  deadlineMs: number,
  plan: { retries: number; backoffMs: number },
): number {
  const backoffs = plan.backoffMs * (2 ** plan.retries - 1);
  const perAttempt = (deadlineMs * 0.9 - backoffs) / (plan.retries + 1);
  return Math.max(1000, Math.floor(perAttempt / 1000) * 1000);
}

/** {@link RetryTuning} with every default filled in (the timeout fitted to the retries). */
export function resolveRetryTuning(tuning: RetryTuning): Required<RetryTuning> {
  const retries = tuning.retries ?? DEFAULT_RETRIES;
  const backoffMs = tuning.backoffMs ?? DEFAULT_BACKOFF_MS;
  const timeoutMs = tuning.timeoutMs ??
    requestTimeoutWithin(HOST_CALL_DEADLINE_MS, { retries, backoffMs });
  return { timeoutMs, retries, backoffMs };
}

/**
 * The most bytes one answer may have: 64 MiB.
 *
 * Why a cap at all: body bytes live outside V8's heap, so its limit does not
 * stop them; an endless body grew a plugin host to 17 GB in 60 s in a probe.
 *
 * Why 64 MiB: a page of 500 items measures 0.6 MB from the Plex mock
 * (episodes with `includeGuids`) and 0.9 MB from the Jellyfin mock (episodes
 * with `MediaSources`). Real items are larger: 3–4 KB per episode in Plex
 * listing captures (13 KB with full details), 8.5 KB for a Jellyfin movie with
 * `MediaSources` and external subtitles, so 2–7 MB per 500 items: the cap is
 * ten times that, and holds 10 000 Plex episodes (the largest
 * `--page-size`, ~37 MB). A 64 MiB page parses in ~110 MiB of heap, well
 * inside the plugin host's 512 MiB.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Same-origin redirects followed for one request before it fails. */
export const MAX_REDIRECTS = 5;

/** Who answers a request, for messages. */
export interface HttpPeer {
  /** The server's product name: `Plex`, `Jellyfin`, `Emby`. */
  server: string;
  /** The normalised base URL the operator gave (secrets never travel in it). */
  baseUrl: string;
}

/** Options of {@link fetchSameOrigin}. */
export interface SameOriginFetchOptions {
  /** The request (headers, signal, Deno HTTP client); `redirect` is always `manual`. */
  init: RequestInit;
  /** Who answers, for messages. */
  peer: HttpPeer;
  /** Default {@link MAX_REDIRECTS}. */
  maxRedirects?: number;
}

const _REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * `fetch` that follows a redirect only within `url`'s origin (scheme, host,
 * port), at most `maxRedirects` hops. A redirect elsewhere throws
 * `CONFIG_INVALID` naming where it leads (origin only, so never a query that
 * may carry a secret): following it would send the credentials to another
 * origin, which the sandbox denies anyway, and what the operator needs is
 * that origin as `--base-url`.
 */
export async function fetchSameOrigin(
  url: string,
  options: SameOriginFetchOptions,
): Promise<Response> {
  const { peer } = options;
  const origin = _originOf(new URL(url));
  const max = options.maxRedirects ?? MAX_REDIRECTS;
  let current = url;
  for (let hop = 0;; hop++) {
    const res = await fetch(current, { ...options.init, redirect: "manual" });
    if (!_REDIRECTS.has(res.status)) return res;
    await res.body?.cancel().catch(() => {});
    const target = _location(res, current);
    if (target === undefined) {
      throw httpImporterError(
        "MALFORMED_RESPONSE",
        `${peer.server} at ${peer.baseUrl} answered with HTTP ${res.status} but no usable ` +
          `Location; check --base-url points at a ${peer.server} server`,
        { status: res.status },
      );
    }
    if (_originOf(target) !== origin) {
      throw httpImporterError(
        "CONFIG_INVALID",
        `${peer.server} at ${peer.baseUrl} redirects to ${_originOf(target)}; ` +
          `use that as --base-url`,
        { status: res.status },
      );
    }
    if (hop >= max) {
      throw httpImporterError(
        "MALFORMED_RESPONSE",
        `${peer.server} at ${peer.baseUrl} redirected more than ${max} times; ` +
          `check --base-url and the server's (or its proxy's) redirects`,
        { status: res.status },
      );
    }
    current = target.href;
  }
}

function _location(res: Response, base: string): URL | undefined {
  const location = res.headers.get("location");
  if (!location) return undefined;
  try {
    return new URL(location, base);
  } catch {
    return undefined;
  }
}

/** `scheme://host[:port]` (the port only when not the scheme's default), for any scheme. */
function _originOf(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * The `UNREACHABLE` error (retryable) of a request that ran out of time:
 * before the server answered, or while its body was still arriving
 * (`answered`), which calls for a different check.
 */
export function timedOutError(
  peer: HttpPeer,
  request: { path: string; timeoutMs: number; answered: boolean },
): HttpImporterError {
  const { server, baseUrl } = peer;
  const within = `within ${request.timeoutMs / 1000} s`;
  return httpImporterError(
    "UNREACHABLE",
    request.answered
      ? `${server} at ${baseUrl} did not finish sending ${request.path} ${within}; ` +
        `check the server's load and the network to it`
      : `${server} at ${baseUrl} did not answer ${request.path} ${within}; ` +
        `check the server is up and --base-url is right`,
    { retryable: true },
  );
}

/** Options of {@link readCappedText}. */
export interface CappedReadOptions {
  /** Who answers, for the message. */
  peer: HttpPeer;
  /** The API path asked for (no query), for the message. */
  path: string;
  /** Default {@link MAX_RESPONSE_BYTES}. */
  maxBytes?: number;
}

/**
 * The body of `res` as text (UTF-8, as `res.text()`), refusing more than
 * `maxBytes`: at once when `Content-Length` says so, else as soon as the
 * bytes read pass it, cancelling the stream. Throws a `MALFORMED_RESPONSE`
 * that is not retryable (the same server would send the same page again). A
 * deadline on the request's signal also ends the read, so a body that
 * trickles is timed like a silent server.
 *
 * A plain body with a `Content-Length` within the cap is read by `res.text()`
 * (Deno's fast path: fetch delivers exactly that many bytes, never more);
 * any other body is read chunk by chunk, counted, and decoded once. An
 * encoded body is never trusted to its `Content-Length`: fetch decompresses
 * it but keeps the compressed length, so a small gzip can unpack to gigabytes.
 */
export async function readCappedText(res: Response, options: CappedReadOptions): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_RESPONSE_BYTES;
  const declared = _plainLength(res.headers);
  if (declared !== undefined && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw _tooLarge(options, maxBytes);
  }
  if (declared !== undefined) return await res.text();
  if (res.body === null) return "";
  return _decode(await _readCapped(res.body, { ...options, maxBytes }));
}

/** `Content-Length` when it counts the bytes fetch delivers (no `Content-Encoding`). */
function _plainLength(headers: Headers): number | undefined {
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  if (encoding && encoding !== "identity") return undefined;
  const length = Number(headers.get("content-length") ?? Number.NaN);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

async function _readCapped(
  body: ReadableStream<Uint8Array>,
  options: CappedReadOptions & { maxBytes: number },
): Promise<{ chunks: Uint8Array[]; total: number }> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { chunks, total };
    total += value.byteLength;
    if (total > options.maxBytes) {
      await reader.cancel().catch(() => {});
      throw _tooLarge(options, options.maxBytes);
    }
    chunks.push(value);
  }
}

const _utf8 = new TextDecoder();

function _decode({ chunks, total }: { chunks: Uint8Array[]; total: number }): string {
  if (chunks.length === 1) return _utf8.decode(chunks[0]);
  const all = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return _utf8.decode(all);
}

function _tooLarge(options: CappedReadOptions, maxBytes: number): HttpImporterError {
  const { server, baseUrl } = options.peer;
  const size = maxBytes >= 1024 * 1024
    ? `${Math.round(maxBytes / 1024 / 1024)} MiB`
    : `${maxBytes} bytes`;
  return httpImporterError(
    "MALFORMED_RESPONSE",
    `${server} at ${baseUrl} sent more than ${size} for one page (${options.path}); ` +
      `check --base-url points at a ${server} server, or lower --page-size if its items ` +
      `really are this large`,
  );
}

// ------------------------------------------------------------- debug log

/**
 * Receives one debug line. Inside a plugin host's worker, `console.debug`
 * reaches the operator as a `debug retrovue.plugin.<type>: …` line when
 * `RETROVUE_LOG=debug` (the host scrubs secrets again and caps the lines).
 */
export type DebugLog = (line: string) => void;

/**
 * The default {@link DebugLog}: `console.debug` inside a worker (where the
 * plugin host routes it to its log), nothing elsewhere (tests that call the
 * clients directly stay quiet).
 */
export function workerDebug(line: string): void {
  if (_inWorker()) console.debug(line);
}

function _inWorker(): boolean {
  const scope = (globalThis as { WorkerGlobalScope?: abstract new () => unknown })
    .WorkerGlobalScope;
  return scope !== undefined && globalThis instanceof scope;
}

/** Query parameters whose values are credentials whatever the server (`X-Plex-Token`, `api_key`…). */
const _SECRET_QUERY = /token|key|password|secret|auth|signature/i;

/**
 * A request URL as a debug line may show it: the path and query only, with
 * the value of every credential-like query parameter and every known secret
 * (also URL-encoded) replaced by `***`.
 */
export function loggablePath(url: string, secrets: readonly string[]): string {
  let text: string;
  try {
    const u = new URL(url);
    for (const name of [...new Set(u.searchParams.keys())]) {
      if (_SECRET_QUERY.test(name)) u.searchParams.set(name, "***");
    }
    text = u.pathname + u.search.replaceAll("%2A%2A%2A", "***");
  } catch {
    text = url;
  }
  for (const secret of secrets) text = scrubSecret(text, secret);
  return text;
}

/** What {@link requestLine} reports about one attempt. */
export interface RequestOutcome {
  /** The HTTP status, when the server answered. */
  status?: number;
  /** The importer error code, when the attempt failed. */
  error?: string;
  /** How long the attempt took, in milliseconds. */
  ms: number;
  /** Which attempt this was (1 for the first). */
  attempt: number;
  /** The backoff before the next attempt, when there will be one. */
  retryInMs?: number;
}

/** The status and error code of one attempt of a client, for its {@link requestLine}. */
export function attemptOutcome(
  result: { ok: unknown } | { error: HttpImporterError },
): Pick<RequestOutcome, "status" | "error"> {
  if ("ok" in result) return { status: 200 };
  const { status, code } = result.error;
  return status === undefined ? { error: code } : { status, error: code };
}

/**
 * One debug line for one HTTP attempt, e.g. `GET /library/sections/2/all?type=4
 * → 200 in 41 ms`, or `GET /Items → HTTP 503 UNREACHABLE in 12 ms (attempt 1;
 * retrying in 500 ms)`. The path goes through {@link loggablePath}.
 */
export function requestLine(
  request: { method?: string; url: string; secrets: readonly string[] },
  outcome: RequestOutcome,
): string {
  const what = outcome.status === 200 && outcome.error === undefined
    ? "200"
    : [outcome.status === undefined ? "" : `HTTP ${outcome.status}`, outcome.error ?? ""]
      .filter(Boolean).join(" ");
  const notes = [
    outcome.attempt > 1 || outcome.retryInMs !== undefined ? `attempt ${outcome.attempt}` : "",
    outcome.retryInMs !== undefined ? `retrying in ${outcome.retryInMs} ms` : "",
  ].filter(Boolean);
  return `${request.method ?? "GET"} ${loggablePath(request.url, request.secrets)} → ${what} ` +
    `in ${Math.round(outcome.ms)} ms${notes.length ? ` (${notes.join("; ")})` : ""}`;
}
