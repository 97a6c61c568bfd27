/**
 * Small HTTP helpers shared by the server importers (Plex, Jellyfin, Emby):
 * secret scrubbing, classifying fetch failures, and an abortable sleep for
 * retry backoff. Pure functions; no permissions needed.
 *
 * @module
 */

import type { ImporterErrorCode } from "../core/contract.ts";

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
