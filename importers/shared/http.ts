/**
 * Small HTTP helpers shared by the server importers (Plex, Jellyfin, Emby):
 * secret scrubbing, classifying fetch failures, and an abortable sleep for
 * retry backoff. Pure functions; no permissions needed.
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

/** Replaces a secret (and its URL-encoded form) in `text` with `***`. */
export function scrubSecret(text: string, secret: string): string {
  if (secret.length < 3) return text;
  return text.split(secret).join("***").split(encodeURIComponent(secret)).join("***");
}

/** Whether an error is the sandbox refusing an operation (re-thrown untouched by importers). */
export function isSandboxDenial(error: unknown): boolean {
  return error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied;
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
  return message.replace(/^error sending request for url \([^)]*\): /, "");
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
