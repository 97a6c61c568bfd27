/**
 * HTTP for the Plex importer: headers, per-request timeouts (shorter than the
 * plugin host's deadline, covering the body), bounded retries, redirects
 * followed only within the server's origin, a cap on the bytes of one answer,
 * and the mapping of every failure to a typed importer error.
 *
 * The token travels only in the `X-Plex-Token` header, never in a URL (URLs
 * end up in logs), and is scrubbed from every error message as a second line
 * of defence.
 *
 * @module
 */

import {
  abortableSleep as _sleep,
  attemptOutcome,
  type DebugLog,
  describeFetchError as _describe,
  fetchSameOrigin,
  type HttpImporterError,
  httpImporterError,
  httpsHint,
  isHttpImporterError as _isTyped,
  isSandboxDenial as _isSandboxDenial,
  isTlsFailure as _isTlsFailure,
  readCappedText,
  requestLine,
  resolveRetryTuning,
  type RetryTuning,
  scrubSecret as _scrub,
  timedOutError,
  workerDebug,
} from "../shared/http.ts";

/** The `X-Plex-Product` we announce. */
export const PLEX_PRODUCT = "RetroVue";

/** The `X-Plex-Version` we announce (the importer's version). */
export const PLEX_IMPORTER_VERSION = "0.1.0";

/** A Plex `MediaContainer`: the envelope of every JSON answer. */
export interface PlexContainer {
  /** Items in this answer. */
  size?: number;
  /** All matches (paged answers only). */
  totalSize?: number;
  /** Start of this page (paged answers only). */
  offset?: number;
  /** Movies, shows, seasons, episodes. */
  Metadata?: unknown[];
  /** Sections. */
  Directory?: unknown[];
  /** Anything else (`machineIdentifier`, `version`, `friendlyName`, …). */
  [key: string]: unknown;
}

/**
 * Tunables of the HTTP layer (operators never see these; tests shorten them).
 * The default per-request deadline is fitted with its retries inside the
 * plugin host's deadline (17 s; see `requestTimeoutWithin`).
 */
export interface PlexHttpTuning extends RetryTuning {
  /**
   * Where each request's debug line goes (method, path without secrets,
   * status, time, retries). Default: the plugin host's log, at debug level.
   */
  debug?: DebugLog;
}

/** What a session needs to know about the source. */
export interface PlexSessionOptions extends PlexHttpTuning {
  /** Normalised base URL (no trailing slash). */
  baseUrl: string;
  /** The Plex token (secret). */
  token: string;
  /** PEM text of extra CA certificates, when the operator gave `--ca-file`. */
  caPem?: string;
  /** The caller's cancellation signal. */
  signal: AbortSignal;
}

/** One GET, with its options. */
export interface PlexGetOptions {
  /** Query parameters (never the token). */
  query?: Record<string, string | number>;
  /** A signal that cancels this request only (e.g. an abandoned prefetch). */
  signal?: AbortSignal;
}

/** An authenticated connection to one Plex server, for the length of one operation. */
export interface PlexSession {
  /** The base URL. */
  readonly baseUrl: string;
  /** GETs a path and returns its `MediaContainer`; throws a typed error. */
  get(path: string, options?: PlexGetOptions): Promise<PlexContainer>;
  /** Requests sent so far (attempts, including retries). */
  readonly requests: number;
  /** Releases the HTTP client. */
  close(): void;
}

/** A typed error from this client. */
export type PlexHttpError = HttpImporterError;

/** Builds a typed importer error. */
export const plexError: typeof httpImporterError = httpImporterError;

/**
 * The `X-Plex-Client-Identifier` of a source: `retrovue-` and the first 32
 * hex digits of SHA-256 over the normalised base URL. It is stable for a
 * source across runs and machines (Plex lists each identifier as one device
 * under Settings → Devices, so a random id per run would add a device every
 * ingest), differs between servers, and reveals neither the token nor the URL.
 */
export async function plexClientId(baseUrl: string): Promise<string> {
  const data = new TextEncoder().encode(`retrovue-plex:${baseUrl}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `retrovue-${hex.slice(0, 32)}`;
}

type _Attempt = { ok: PlexContainer } | { error: PlexHttpError };

/** Opens a session. Cheap; the HTTP client (with the CA file, if any) lives until `close`. */
export async function openPlexSession(options: PlexSessionOptions): Promise<PlexSession> {
  const { timeoutMs, retries, backoffMs } = resolveRetryTuning(options);
  const client = options.caPem ? Deno.createHttpClient({ caCerts: [options.caPem] }) : undefined;
  const headers = {
    "Accept": "application/json",
    "X-Plex-Token": options.token,
    "X-Plex-Client-Identifier": await plexClientId(options.baseUrl),
    "X-Plex-Product": PLEX_PRODUCT,
    "X-Plex-Version": PLEX_IMPORTER_VERSION,
    "X-Plex-Device-Name": "RetroVue importer",
  };
  const host = new URL(options.baseUrl).host;
  const peer = { server: "Plex", baseUrl: options.baseUrl };
  const debug = options.debug ?? workerDebug;
  let requests = 0;

  const attempt = async (path: string, url: string, signal: AbortSignal): Promise<_Attempt> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    requests++;
    let answered = false;
    try {
      const init = { headers, signal: combined, ...(client ? { client } : {}) };
      const res = await fetchSameOrigin(url, { init, peer });
      answered = true;
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        return {
          error: plexError(
            "AUTH_FAILED",
            `Plex at ${options.baseUrl} rejected the token (HTTP ${res.status}); check --token ` +
              `(an X-Plex-Token of an account that can see this server's libraries)`,
            { status: res.status },
          ),
        };
      }
      if (res.status === 404) {
        await res.body?.cancel();
        return {
          error: plexError("MALFORMED_RESPONSE", `Plex at ${options.baseUrl} has no ${path}`, {
            status: 404,
          }),
        };
      }
      if (res.status >= 500 || res.status === 429) {
        await res.body?.cancel();
        return {
          error: plexError(
            "UNREACHABLE",
            `Plex at ${options.baseUrl} answered ${path} with HTTP ${res.status}; ` +
              `check the server's health and logs`,
            { retryable: true, status: res.status },
          ),
        };
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return {
          error: plexError(
            "MALFORMED_RESPONSE",
            `Plex at ${options.baseUrl} answered ${path} with unexpected HTTP ${res.status}; ` +
              `check --base-url points at a Plex Media Server`,
            { status: res.status },
          ),
        };
      }
      const text = await readCappedText(res, { peer, path });
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        const type = res.headers.get("content-type") ?? "no content type";
        return {
          error: plexError(
            "MALFORMED_RESPONSE",
            `Plex at ${options.baseUrl} answered ${path} with something that is not JSON ` +
              `(${type}, ${text.length} bytes); check --base-url points at a Plex Media Server`,
          ),
        };
      }
      const container = (parsed as { MediaContainer?: unknown } | null)?.MediaContainer;
      if (typeof container !== "object" || container === null || Array.isArray(container)) {
        return {
          error: plexError(
            "MALFORMED_RESPONSE",
            `Plex at ${options.baseUrl} answered ${path} without a MediaContainer; ` +
              `check --base-url points at a Plex Media Server`,
          ),
        };
      }
      return { ok: container as PlexContainer };
    } catch (error) {
      if (_isSandboxDenial(error)) throw error;
      if (signal.aborted) throw signal.reason;
      if (_isTyped(error)) return { error };
      if (timeout.aborted) {
        return {
          error: timedOutError(peer, { path, timeoutMs, answered }),
        };
      }
      const detail = _scrub(_describe(error), options.token);
      if (_isTlsFailure(detail)) {
        return {
          error: plexError(
            "UNREACHABLE",
            `the TLS certificate of ${host} was not accepted (${detail}); check --ca-file ` +
              `(the CA that signed it), or --verify-ssl false for a self-signed certificate`,
          ),
        };
      }
      return {
        error: plexError(
          "UNREACHABLE",
          `cannot reach Plex at ${options.baseUrl} (${detail}); check --base-url ` +
            `and that the server is running${httpsHint(detail, options.baseUrl)}`,
          { retryable: true },
        ),
      };
    }
  };

  return {
    baseUrl: options.baseUrl,
    get requests() {
      return requests;
    },
    async get(path: string, getOptions: PlexGetOptions = {}): Promise<PlexContainer> {
      const url = new URL(options.baseUrl + path);
      for (const [k, v] of Object.entries(getOptions.query ?? {})) {
        url.searchParams.set(k, String(v));
      }
      const signal = getOptions.signal
        ? AbortSignal.any([options.signal, getOptions.signal])
        : options.signal;
      for (let n = 0;; n++) {
        const started = performance.now();
        const result = await attempt(path, url.href, signal);
        const retry = "error" in result && result.error.retryable && n < retries;
        debug(requestLine({ url: url.href, secrets: [options.token] }, {
          ...attemptOutcome(result),
          ms: performance.now() - started,
          attempt: n + 1,
          ...(retry ? { retryInMs: backoffMs * 2 ** n } : {}),
        }));
        if ("ok" in result) return result.ok;
        if (!retry) {
          result.error.message = _scrub(result.error.message, options.token);
          throw result.error;
        }
        await _sleep(backoffMs * 2 ** n, signal);
      }
    },
    close() {
      client?.close();
    },
  };
}
