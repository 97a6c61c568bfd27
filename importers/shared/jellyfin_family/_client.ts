/**
 * The HTTP client shared by the `jellyfin` and `emby` importers: auth
 * headers, server detection, the routes each server version has, per-request
 * timeouts (shorter than the plugin host's deadline, covering the body),
 * bounded retries, redirects followed only within the server's origin, a cap
 * on the bytes of one answer, and the mapping of every failure to a typed
 * importer error.
 *
 * The key travels only in a header, never in a URL (URLs end up in server
 * and proxy logs), and is scrubbed from every error message as a second line
 * of defence.
 *
 * - Jellyfin: `Authorization: MediaBrowser Token="…", Client=…, Device=…,
 *   DeviceId=…, Version=…`, the only form Jellyfin 12.0 still reads by default.
 * - Emby: `X-Emby-Token: …` plus `X-Emby-Authorization: Emby Client=…,
 *   Device=…, DeviceId=…, Version=…` (written against Emby Server 4.7 and 4.8),
 *   routes under the `/emby` prefix.
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
} from "../http.ts";

/** Which server software a client talks to. */
export type JellyfinFlavor = "jellyfin" | "emby";

/** The `Client` and `Device` we announce. */
export const JELLYFIN_CLIENT_NAME = "RetroVue";

/** The importer version we announce as `Version`. */
export const JELLYFIN_IMPORTER_VERSION = "0.1.0";

/** Human name of each flavor, for messages. */
export const FLAVOR_NAMES: Record<JellyfinFlavor, string> = {
  jellyfin: "Jellyfin",
  emby: "Emby",
};

/**
 * Tunables of the HTTP layer (operators never see these; tests shorten them).
 * The default per-request deadline is fitted with its retries inside the
 * plugin host's deadline (17 s; see `requestTimeoutWithin`).
 */
export interface JellyfinTuning extends RetryTuning {
  /**
   * Where each request's debug line goes (method, path without secrets,
   * status, time, retries). Default: the plugin host's log, at debug level.
   */
  debug?: DebugLog;
}

/** What a client needs to know about its source. */
export interface JellyfinClientOptions extends JellyfinTuning {
  /** Which server software. */
  flavor: JellyfinFlavor;
  /** Normalised base URL (no trailing slash). */
  baseUrl: string;
  /** The API key or access token (secret). */
  apiKey: string;
  /** The caller's cancellation signal. */
  signal: AbortSignal;
}

/** One GET, with its options. */
export interface JellyfinGetOptions {
  /** Query parameters (never the key). */
  query?: Record<string, string | number | boolean | undefined>;
  /** A signal that cancels this request only (e.g. an abandoned prefetch). */
  signal?: AbortSignal;
  /** Send no credentials (`/System/Info/Public`). */
  anonymous?: boolean;
  /** Leave out Emby's `/emby` prefix (to recognise a Jellyfin server). */
  unprefixed?: boolean;
}

/** A typed error from this client. */
export type JellyfinError = HttpImporterError;

/** What `/System/Info/Public` told us, and the route set that follows from it. */
export interface ServerInfo {
  /** `ServerName`. */
  name?: string;
  /** `Version`, e.g. `10.11.11` or `4.8.10.0`. */
  version: string;
  /** `Id`. */
  id?: string;
  /** `ProductName` (Jellyfin only). */
  product?: string;
  /**
   * Whether libraries and items are read through `/Users/{id}/Views` and
   * `/Users/{id}/Items` (Jellyfin up to 10.8, and Emby) instead of
   * `/UserViews` and `/Items` (Jellyfin 10.9 and later).
   */
  userRoutes: boolean;
}

/** An authenticated connection to one server, for the length of one operation. */
export interface JellyfinClient {
  /** The base URL. */
  readonly baseUrl: string;
  /** Which server software. */
  readonly flavor: JellyfinFlavor;
  /** GETs an API path (without the `/emby` prefix) and returns the parsed JSON. */
  get(path: string, options?: JellyfinGetOptions): Promise<unknown>;
  /** `/System/Info/Public`, read once per client; checks the server is of this flavor. */
  serverInfo(): Promise<ServerInfo>;
  /** Requests sent so far (attempts, including retries). */
  readonly requests: number;
}

/** Builds a typed importer error. */
export const jellyfinError: typeof httpImporterError = httpImporterError;

/** The HTTP status of a {@link JellyfinError}, if it has one. */
export function statusOf(error: unknown): number | undefined {
  const s = (error as { status?: unknown } | null)?.status;
  return typeof s === "number" ? s : undefined;
}

/**
 * The `DeviceId` of a source: `retrovue-` and the first 32 hex digits of
 * SHA-256 over the flavor and normalised base URL. Stable across runs and
 * machines (Jellyfin and Emby list each device id under Devices and keep a
 * session per device, so a random id would add one every run), different
 * between servers, and revealing neither the key nor the URL.
 */
export async function jellyfinDeviceId(flavor: JellyfinFlavor, baseUrl: string): Promise<string> {
  const data = new TextEncoder().encode(`retrovue-${flavor}:${baseUrl}`);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `retrovue-${hex.slice(0, 32)}`;
}

function _quote(value: string): string {
  return `"${value.replace(/["\\\r\n]/g, "")}"`;
}

/** Who {@link jellyfinAuthHeaders} speaks for: the server's API key and our device id. */
export interface JellyfinAuth {
  /** The API key the operator gave. */
  apiKey: string;
  /** Our stable device id (see {@link jellyfinDeviceId}). */
  deviceId: string;
}

/** The request headers that carry the key and identify us, per flavor. */
export function jellyfinAuthHeaders(
  flavor: JellyfinFlavor,
  auth: JellyfinAuth,
): Record<string, string> {
  const { apiKey, deviceId } = auth;
  const identity = `Client=${_quote(JELLYFIN_CLIENT_NAME)}, Device=${
    _quote(JELLYFIN_CLIENT_NAME)
  }, DeviceId=${_quote(deviceId)}, Version=${_quote(JELLYFIN_IMPORTER_VERSION)}`;
  if (flavor === "emby") {
    return { "X-Emby-Token": apiKey, "X-Emby-Authorization": `Emby ${identity}` };
  }
  return { "Authorization": `MediaBrowser Token=${_quote(apiKey)}, ${identity}` };
}

/**
 * Whether a Jellyfin version uses the per-user routes (`/Users/{id}/Views`,
 * `/Users/{id}/Items`): 10.8 and older; 10.9 moved them to `/UserViews` and
 * `/Items`.
 */
export function usesUserRoutes(flavor: JellyfinFlavor, version: string): boolean {
  if (flavor === "emby") return true;
  const [major, minor] = version.split(".").map((x) => Number.parseInt(x, 10));
  if (!Number.isFinite(major)) return false;
  return major < 10 || (major === 10 && (minor || 0) < 9);
}

type _Attempt = { ok: unknown } | { error: JellyfinError };

/** The API root: the base URL, plus `/emby` for Emby unless the operator already gave it. */
function _apiRoot(flavor: JellyfinFlavor, baseUrl: string): string {
  if (flavor === "emby" && !/\/emby$/i.test(baseUrl)) return `${baseUrl}/emby`;
  return baseUrl;
}

/** Opens a client. Cheap: no request is sent until the first `get`. */
export async function openJellyfinClient(options: JellyfinClientOptions): Promise<JellyfinClient> {
  const { flavor, baseUrl, apiKey } = options;
  const name = FLAVOR_NAMES[flavor];
  const { timeoutMs, retries, backoffMs } = resolveRetryTuning(options);
  const root = _apiRoot(flavor, baseUrl);
  const deviceId = await jellyfinDeviceId(flavor, baseUrl);
  const authHeaders = {
    "Accept": "application/json",
    ...jellyfinAuthHeaders(flavor, { apiKey, deviceId }),
  };
  const anonHeaders = { "Accept": "application/json" };
  const host = new URL(baseUrl).host;
  const peer = { server: name, baseUrl };
  const debug = options.debug ?? workerDebug;
  let requests = 0;
  let info: Promise<ServerInfo> | undefined;

  const attempt = async (
    path: string,
    url: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<_Attempt> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    requests++;
    let answered = false;
    try {
      const res = await fetchSameOrigin(url, { init: { headers, signal: combined }, peer });
      answered = true;
      const status = res.status;
      if (status === 401) {
        await res.body?.cancel();
        return {
          error: jellyfinError(
            "AUTH_FAILED",
            `${name} at ${baseUrl} rejected the API key (HTTP 401); check --api-key ` +
              `(create one under Dashboard → API Keys)`,
            { status },
          ),
        };
      }
      if (status === 403) {
        await res.body?.cancel();
        return {
          error: jellyfinError(
            "AUTH_FAILED",
            `${name} at ${baseUrl} accepted the API key but it lacks the rights to read ${path} ` +
              `(HTTP 403); use an administrator's API key, or give --user a user who can see ` +
              `these libraries`,
            { status },
          ),
        };
      }
      if (status >= 500 || status === 429) {
        await res.body?.cancel();
        return {
          error: jellyfinError(
            "UNREACHABLE",
            `${name} at ${baseUrl} answered ${path} with HTTP ${status}; ` +
              `check the server's health and logs`,
            { retryable: true, status },
          ),
        };
      }
      if (status !== 200) {
        await res.body?.cancel();
        return {
          error: jellyfinError(
            "MALFORMED_RESPONSE",
            `${name} at ${baseUrl} answered ${path} with HTTP ${status}; ` +
              `check --base-url points at a ${name} server`,
            { status },
          ),
        };
      }
      const text = await readCappedText(res, { peer, path });
      try {
        return { ok: JSON.parse(text) };
      } catch {
        const type = res.headers.get("content-type") ?? "no content type";
        return {
          error: jellyfinError(
            "MALFORMED_RESPONSE",
            `${name} at ${baseUrl} answered ${path} with something that is not JSON ` +
              `(${type}, ${text.length} bytes); check --base-url points at a ${name} server`,
          ),
        };
      }
    } catch (error) {
      if (_isSandboxDenial(error)) throw error;
      if (signal.aborted) throw signal.reason;
      if (_isTyped(error)) return { error };
      if (timeout.aborted) {
        return {
          error: timedOutError(peer, { path, timeoutMs, answered }),
        };
      }
      const detail = _scrub(_describe(error), apiKey);
      if (_isTlsFailure(detail)) {
        return {
          error: jellyfinError(
            "UNREACHABLE",
            `the TLS certificate of ${host} was not accepted (${detail}); ` +
              `use --verify-ssl false for a self-signed certificate`,
          ),
        };
      }
      return {
        error: jellyfinError(
          "UNREACHABLE",
          `cannot reach ${name} at ${baseUrl} (${detail}); check --base-url ` +
            `and that the server is running${httpsHint(detail, baseUrl)}`,
          { retryable: true },
        ),
      };
    }
  };

  const get = async (path: string, getOptions: JellyfinGetOptions = {}): Promise<unknown> => {
    const url = new URL((getOptions.unprefixed ? baseUrl : root) + path);
    for (const [k, v] of Object.entries(getOptions.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const signal = getOptions.signal
      ? AbortSignal.any([options.signal, getOptions.signal])
      : options.signal;
    const headers = getOptions.anonymous ? anonHeaders : authHeaders;
    for (let n = 0;; n++) {
      const started = performance.now();
      const result = await attempt(path, url.href, headers, signal);
      const retry = "error" in result && result.error.retryable && n < retries;
      debug(requestLine({ url: url.href, secrets: [apiKey] }, {
        ...attemptOutcome(result),
        ms: performance.now() - started,
        attempt: n + 1,
        ...(retry ? { retryInMs: backoffMs * 2 ** n } : {}),
      }));
      if ("ok" in result) return result.ok;
      if (!retry) {
        result.error.message = _scrub(result.error.message, apiKey);
        throw result.error;
      }
      await _sleep(backoffMs * 2 ** n, signal);
    }
  };

  const readInfo = async (): Promise<ServerInfo> => {
    let body: unknown;
    try {
      body = await get("/System/Info/Public", { anonymous: true });
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      if (flavor === "emby" && root !== baseUrl) {
        // Jellyfin has no /emby prefix: look once more without it, to name the right type.
        const plain = await get("/System/Info/Public", { anonymous: true, unprefixed: true })
          .catch(() => undefined);
        const product = (plain as { ProductName?: unknown } | undefined)?.ProductName;
        if (typeof product === "string" && /jellyfin/i.test(product)) {
          throw jellyfinError(
            "UNSUPPORTED",
            `${baseUrl} is a Jellyfin server (${product}); add it with --type jellyfin`,
          );
        }
      }
      throw jellyfinError(
        "MALFORMED_RESPONSE",
        `${baseUrl} has no ${flavor === "emby" ? "/emby" : ""}/System/Info/Public; ` +
          `check --base-url points at a ${name} server (usually port 8096)`,
      );
    }
    const o = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
    const version = str(o.Version);
    if (!version) {
      throw jellyfinError(
        "MALFORMED_RESPONSE",
        `${baseUrl}/System/Info/Public did not name a server version; ` +
          `check --base-url points at a ${name} server`,
      );
    }
    const product = str(o.ProductName);
    const looksJellyfin = product !== undefined && /jellyfin/i.test(product);
    if (flavor === "emby" && looksJellyfin) {
      throw jellyfinError(
        "UNSUPPORTED",
        `${baseUrl} is a Jellyfin server (${product} ${version}); add it with --type jellyfin`,
      );
    }
    if (flavor === "jellyfin" && !looksJellyfin) {
      throw jellyfinError(
        "UNSUPPORTED",
        `${baseUrl} is not a Jellyfin server (${
          product ?? "no ProductName"
        }, version ${version}); ` +
          `an Emby server is added with --type emby`,
      );
    }
    return {
      name: str(o.ServerName),
      version,
      id: str(o.Id),
      product,
      userRoutes: usesUserRoutes(flavor, version),
    };
  };

  return {
    baseUrl,
    flavor,
    get requests() {
      return requests;
    },
    get,
    serverInfo() {
      info ??= readInfo();
      return info;
    },
  };
}
