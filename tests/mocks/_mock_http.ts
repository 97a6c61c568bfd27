/**
 * What the Plex and Jellyfin mock servers share: the faults they can inject
 * and how one is picked for a request, the request log, and the responses
 * that misbehave at the transport level (a slow answer, a dropped
 * connection).
 *
 * @module
 */

/** Which requests a fault applies to. */
export interface FaultMatch {
  /** Only requests whose path contains this text. */
  path?: string;
  /** Only the k-th page (0-based, start / page size) of a paged request. */
  page?: number;
  /** How many matching requests get the fault; default every one. */
  times?: number;
}

/** The faults both mocks inject. */
export type CommonFault =
  | { kind: "status"; status: number }
  | { kind: "truncate" }
  | { kind: "slow"; delayMs: number }
  | { kind: "drop" }
  | { kind: "html" }
  | { kind: "redirect"; location: string }
  | { kind: "grow"; count: number }
  | { kind: "shrink"; count: number }
  /** Reports a total `count` below what the listing has (jellyfin/jellyfin#2116). */
  | { kind: "low-total"; count: number };

/** One logged request. */
export interface MockRequest {
  /** HTTP method. */
  method: string;
  /** Path and query exactly as received. */
  url: string;
  /** The path only. */
  path: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string>;
  /** The status answered (0 for a dropped connection). */
  status: number;
}

/** The faults set on a mock and its request log. */
export interface MockLog<F extends FaultMatch> {
  /** Faults in the order they were set, with how often each was used. */
  faults: { fault: F; used: number }[];
  /** The most recent requests, at most `maxLog`. */
  requests: MockRequest[];
  /** Every request ever answered. */
  count: number;
  /** How many requests the log keeps. */
  maxLog: number;
}

/** Logs a request answered with `answer.status`; returns its record, which the caller may still change. */
export function logRequest<F extends FaultMatch>(
  log: MockLog<F>,
  req: Request,
  answer: { url: URL; status: number },
): MockRequest {
  const { url, status } = answer;
  const record: MockRequest = {
    method: req.method,
    url: url.pathname + url.search,
    path: url.pathname,
    headers: Object.fromEntries(req.headers),
    status,
  };
  log.count++;
  log.requests.push(record);
  if (log.requests.length > log.maxLog) log.requests.splice(0, log.requests.length - log.maxLog);
  return record;
}

/** Which request {@link takeFault} looks for a fault for. */
export interface FaultRequest {
  /** The request's path. */
  path: string;
  /** Its page number, when paged. */
  page?: number;
  /** Compare paths case-insensitively (Jellyfin's routes are). */
  ignoreCase?: boolean;
}

/**
 * The first fault that applies to a request for `options.path` (and, when
 * paged, page number `options.page`), counting its use; undefined when none does.
 */
export function takeFault<F extends FaultMatch>(
  log: MockLog<F>,
  options: FaultRequest,
): F | undefined {
  const { path, page } = options;
  const fold = (s: string) => (options.ignoreCase ? s.toLowerCase() : s);
  for (const f of log.faults) {
    const { fault } = f;
    if (fault.times !== undefined && f.used >= fault.times) continue;
    if (fault.path !== undefined && !fold(path).includes(fold(fault.path))) continue;
    if (fault.page !== undefined && page !== fault.page) continue;
    f.used++;
    return fault;
  }
  return undefined;
}

/** Waits `ms`, or less if `signal` aborts first (the mock is closing). */
export function sleepUnlessClosed(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A 200 response that sends half of `body`, then fails the connection. */
export function droppedResponse(body: string, headers: Headers): Response {
  const bytes = new TextEncoder().encode(body);
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.slice(0, Math.floor(bytes.length / 2)));
      controller.error(new Error("mock dropped the connection"));
    },
  });
  return new Response(stream, { status: 200, headers });
}

/** A fresh request log keeping at most `maxLog` requests. */
export function newMockLog<F extends FaultMatch>(maxLog: number): MockLog<F> {
  return { faults: [], requests: [], count: 0, maxLog };
}

/** What every mock gives its tests, besides its own data. */
export interface MockControls<F extends FaultMatch> {
  /** Base URL (`http://` or `https://127.0.0.1:<port>`). */
  url: string;
  /** The request log (most recent first-in order, capped). */
  requests: MockRequest[];
  /** Requests answered since start or the last reset. */
  requestCount(): number;
  /** Empties the log and the count. */
  resetRequests(): void;
  /** Replaces the active faults. */
  setFault(...faults: F[]): void;
  /** Stops serving; resolves when the server has finished. */
  close(): Promise<void>;
}

/** Options for {@link serveMock}. */
export interface ServeMockOptions {
  /** Aborted to close the server (and to cut short slow answers). */
  closing: AbortController;
  /** Certificate and key (PEM) to serve HTTPS. */
  tls?: { cert: string; key: string };
  /** The answer when the handler throws. */
  onError(): Response;
}

/** Serves `handler` on 127.0.0.1 at a free port until closed; returns the controls. */
export function serveMock<F extends FaultMatch>(
  log: MockLog<F>,
  handler: (req: Request) => Response | Promise<Response>,
  options: ServeMockOptions,
): MockControls<F> {
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: options.closing.signal,
    ...(options.tls ?? {}),
    onListen: () => {},
    onError: options.onError,
  }, handler);
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${addr.port}`,
    requests: log.requests,
    requestCount: () => log.count,
    resetRequests: () => {
      log.count = 0;
      log.requests.splice(0);
    },
    setFault: (...faults: F[]) => {
      log.faults = faults.map((fault) => ({ fault, used: 0 }));
    },
    close: async () => {
      options.closing.abort();
      await server.finished;
    },
  };
}
