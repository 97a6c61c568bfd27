/**
 * The HTTP guards of the built-in server importers (Plex, Jellyfin) against
 * hostile or misconfigured servers, called directly (no sandbox): a body
 * over the byte cap (declared or streamed), a body that trickles, a redirect
 * within the server's origin (followed, a few hops at most) and one to
 * another origin (refused, naming it), and the per-request deadline that
 * fits inside the plugin host's.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import type { Importer, ImporterConfig } from "../core/contract.ts";
import { createPlexImporter } from "../importers/plex/mod.ts";
import { createJellyfinImporter } from "../importers/shared/jellyfin_family/mod.ts";
import {
  describeFetchError,
  HOST_CALL_DEADLINE_MS,
  type HttpImporterError,
  MAX_REDIRECTS,
  MAX_RESPONSE_BYTES,
  resolveRetryTuning,
  type RetryTuning,
} from "../importers/shared/http.ts";
import { DEFAULT_TIMEOUT_MS } from "../registry/_client.ts";
import { startPlexMock } from "./mocks/plex_server.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";

/** The credential every test server is given; no message may carry it. */
const TOKEN = "hostile-probe-token-5f1c2a9e";

/** Short enough that a test of a body the importer must not wait for stays quick. */
const QUICK: RetryTuning = { timeoutMs: 2000, retries: 2, backoffMs: 1 };

/** One importer under test, with what its messages and config look like. */
interface Target {
  /** The server name its messages use. */
  server: string;
  /** The path `validateConnection` asks for first. */
  firstPath: string;
  /** The importer with `tuning`. */
  make(tuning: RetryTuning): Importer;
  /** A source config for a server at `url` with `secret`. */
  config(url: string, secret: string): ImporterConfig;
}

const TARGETS: Target[] = [
  {
    server: "Plex",
    firstPath: "/identity",
    make: (tuning) => createPlexImporter(tuning),
    config: (url, secret) => ({ base_url: url, token: secret, verify_ssl: true }),
  },
  {
    server: "Jellyfin",
    firstPath: "/System/Info/Public",
    make: (tuning) => createJellyfinImporter({ flavor: "jellyfin", tuning }),
    config: (url, secret) => ({ base_url: url, api_key: secret, verify_ssl: true }),
  },
];

function _ctx() {
  return { signal: new AbortController().signal, warn() {}, skipped() {} };
}

/** The typed error `call` fails with (and the assertion failure if it succeeds). */
async function _failure(call: Promise<unknown>): Promise<HttpImporterError> {
  try {
    await call;
  } catch (error) {
    return error as HttpImporterError;
  }
  return assert.fail("expected the call to fail");
}

/** A one-route test server: every request gets `answer`'s response; requests are counted. */
interface Probe {
  /** Base URL. */
  url: string;
  /** Requests received. */
  requests: number;
  /** Resolves when a body stream of an answer was cancelled by the client. */
  cancelled: Promise<void>;
  /** Stops the server and every stream it still feeds. */
  close(): Promise<void>;
}

/** What a {@link Probe} answers with: a body stream source, given how to report a cancel. */
type StreamSource = (onCancel: () => void) => UnderlyingDefaultSource<Uint8Array>;

function _serve(source: StreamSource, headers: HeadersInit = {}): Probe {
  const cancel = Promise.withResolvers<void>();
  const stops: (() => void)[] = [];
  const probe: Probe = {
    url: "",
    requests: 0,
    cancelled: cancel.promise,
    close: async () => {
      for (const stop of stops) stop();
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    probe.requests++;
    const underlying = source(() => cancel.resolve());
    stops.push(() => underlying.cancel?.("test over"));
    return new Response(new ReadableStream(underlying), {
      headers: { "content-type": "application/json", ...headers },
    });
  });
  probe.url = `http://127.0.0.1:${server.addr.port}`;
  return probe;
}

/** Waits for `event`, failing (not hanging) if it never happens. */
async function _seen(event: Promise<void>, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`never saw ${what}`)), 10_000);
  });
  try {
    await Promise.race([event, never]);
  } finally {
    clearTimeout(timer);
  }
}

const _bytes = (text: string) => new TextEncoder().encode(text);

/** A JSON opening, then nothing until cancelled. */
const _stalled: StreamSource = (onCancel) => ({
  start: (c) => c.enqueue(_bytes(`{"MediaContainer":{"Metadata":[`)),
  cancel: onCancel,
});

/** A JSON opening, then 1 MiB of spaces per read, far past the cap (ends at 4× the cap). */
const _endless: StreamSource = (onCancel) => {
  const spaces = new Uint8Array(1024 * 1024).fill(0x20);
  let sent = 0;
  return {
    start: (c) => c.enqueue(_bytes(`{"Items":[`)),
    pull(c) {
      // Ends well past the cap (a client that never cancels still gets a finite body), and
      // far enough past it that the sockets' buffers cannot hold the rest: 8 MiB past it,
      // a loaded machine sent it all before the cancel landed, and the cancel went unseen.
      if (sent > 4 * MAX_RESPONSE_BYTES) return c.close();
      sent += spaces.length;
      c.enqueue(spaces);
    },
    cancel: onCancel,
  };
};

/** A JSON opening, then one space every 20 ms until cancelled. */
const _trickle: StreamSource = (onCancel) => {
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    start(c) {
      c.enqueue(_bytes(`{"Items":[`));
      timer = setInterval(() => c.enqueue(_bytes(" ")), 20);
    },
    cancel() {
      clearInterval(timer);
      onCancel();
    },
  };
};

let _bomb: Uint8Array<ArrayBuffer> | undefined;

/** A JSON opening and 1 MiB more spaces than the cap, gzipped (about 66 KB). */
function _gzipBomb(): Uint8Array<ArrayBuffer> {
  if (_bomb) return _bomb;
  const plain = new Uint8Array(MAX_RESPONSE_BYTES + 1024 * 1024).fill(0x20);
  plain.set(_bytes(`{"Items":[`));
  return (_bomb = new Uint8Array(gzipSync(plain)));
}

function _assertNoSecret(error: Error, secret = TOKEN): void {
  assert.ok(!error.message.includes(secret), `the secret in: ${error.message}`);
}

for (const target of TARGETS) {
  const { server } = target;

  Deno.test(`${server}: a Content-Length over the cap is refused at once, not retried`, async () => {
    const probe = _serve(_stalled, { "content-length": String(MAX_RESPONSE_BYTES + 1) });
    try {
      const importer = target.make(QUICK);
      const e = await _failure(
        importer.validateConnection(target.config(probe.url, TOKEN), _ctx()),
      );
      assert.equal(e.code, "MALFORMED_RESPONSE", e.message);
      assert.equal(e.retryable, false);
      assert.match(e.message, new RegExp(`^${server} at ${probe.url} sent more than 64 MiB`));
      assert.match(e.message, new RegExp(`one page \\(${target.firstPath}\\)`));
      _assertNoSecret(e);
      assert.equal(probe.requests, 1, "a page over the cap is not asked for again");
      await _seen(probe.cancelled, "the body cancelled");
    } finally {
      await probe.close();
    }
  });

  Deno.test(`${server}: a streamed body past the cap is cancelled, not retried`, async () => {
    const probe = _serve(_endless);
    try {
      const importer = target.make(QUICK);
      const e = await _failure(
        importer.validateConnection(target.config(probe.url, TOKEN), _ctx()),
      );
      assert.equal(e.code, "MALFORMED_RESPONSE", e.message);
      assert.equal(e.retryable, false);
      assert.match(e.message, /sent more than 64 MiB for one page/);
      _assertNoSecret(e);
      await _seen(probe.cancelled, "the stream cancelled");
      assert.equal(probe.requests, 1, "a page over the cap is not asked for again");
    } finally {
      await probe.close();
    }
  });

  Deno.test(`${server}: a gzip body that unpacks past the cap is refused, whatever its length says`, async () => {
    const bomb = _gzipBomb();
    let requests = 0;
    const bomber = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      requests++;
      return new Response(bomb, {
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
      });
    });
    try {
      const url = `http://127.0.0.1:${bomber.addr.port}`;
      // Unpacking 64 MiB took over 2 s on a loaded machine, and the timeout's retry made a
      // second request: the deadline here is long enough that only the cap can end the read.
      const patient: RetryTuning = { ...QUICK, timeoutMs: 20_000 };
      const e = await _failure(
        target.make(patient).validateConnection(target.config(url, TOKEN), _ctx()),
      );
      assert.equal(e.code, "MALFORMED_RESPONSE", e.message);
      assert.match(e.message, /sent more than 64 MiB for one page/);
      assert.equal(requests, 1, "a body over the cap is not asked for again");
    } finally {
      await bomber.shutdown();
    }
  });

  Deno.test(`${server}: a body that trickles times out as UNREACHABLE and is retried`, async () => {
    // Long enough that the headers always arrive first on a loaded machine (the message
    // differs when they do not), short enough to keep the test quick.
    const importer = target.make({ timeoutMs: 1500, retries: 1, backoffMs: 1 });
    for (const framing of [{}, { "content-length": "1000000" }] as Record<string, string>[]) {
      const probe = _serve(_trickle, framing);
      try {
        const e = await _failure(
          importer.validateConnection(target.config(probe.url, TOKEN), _ctx()),
        );
        assert.equal(e.code, "UNREACHABLE", e.message);
        assert.equal(e.retryable, true);
        assert.match(
          e.message,
          new RegExp(
            `^${server} at ${probe.url} did not finish sending ${target.firstPath} within`,
          ),
        );
        _assertNoSecret(e);
        assert.equal(probe.requests, 2, "the first attempt and one retry");
        await _seen(probe.cancelled, "the trickle cancelled");
      } finally {
        await probe.close();
      }
    }
  });
}

/** A mock of `target`'s server, its secret, and its request count. */
async function _mockOf(target: Target) {
  if (target.server === "Plex") {
    const mock = await startPlexMock();
    return { mock, secret: mock.token };
  }
  const mock = await startJellyfinMock();
  return { mock, secret: mock.apiKey };
}

for (const target of TARGETS) {
  const { server, firstPath } = target;

  Deno.test(`${server}: a redirect within the server's origin is followed, a few hops at most`, async () => {
    const { mock, secret } = await _mockOf(target);
    try {
      const importer = target.make(QUICK);
      const config = target.config(mock.url, secret);
      mock.setFault({
        kind: "redirect",
        location: `${firstPath}?moved=1`,
        path: firstPath,
        times: 1,
      });
      await importer.validateConnection(config, _ctx());
      const hops = mock.requests.filter((r) => r.path === firstPath);
      assert.deepEqual(hops.map((r) => r.url), [firstPath, `${firstPath}?moved=1`]);

      mock.resetRequests();
      mock.setFault({ kind: "redirect", location: `${firstPath}?loop=1`, path: firstPath });
      const e = await _failure(importer.validateConnection(config, _ctx()));
      assert.equal(e.code, "MALFORMED_RESPONSE", e.message);
      assert.equal(e.retryable, false);
      assert.match(e.message, new RegExp(`redirected more than ${MAX_REDIRECTS} times`));
      assert.equal(mock.requestCount(), MAX_REDIRECTS + 1, "followed, then refused; not retried");
    } finally {
      await mock.close();
    }
  });

  Deno.test(`${server}: a redirect to another origin is refused, naming it`, async () => {
    const { mock, secret } = await _mockOf(target);
    let bystanderHits = 0;
    const bystander = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      bystanderHits++;
      return Response.json({});
    });
    try {
      const other = `http://127.0.0.1:${bystander.addr.port}`;
      mock.setFault({
        kind: "redirect",
        location: `${other}${firstPath}?X-Plex-Token=${secret}&api_key=${secret}`,
        path: firstPath,
      });
      const importer = target.make(QUICK);
      const e = await _failure(
        importer.validateConnection(target.config(mock.url, secret), _ctx()),
      );
      assert.equal(e.code, "CONFIG_INVALID", e.message);
      assert.equal(e.retryable, false);
      assert.equal(
        e.message,
        `${server} at ${mock.url} redirects to ${other}; use that as --base-url`,
      );
      _assertNoSecret(e, secret);
      assert.equal(bystanderHits, 0, "the other origin never saw a request");
      assert.equal(mock.requestCount(), 1, "not retried");
    } finally {
      await bystander.shutdown();
      await mock.close();
    }
  });
}

Deno.test("the default per-request deadline, with every retry, ends before the host's", () => {
  assert.equal(
    HOST_CALL_DEADLINE_MS,
    DEFAULT_TIMEOUT_MS,
    "the importers' copy of the host deadline",
  );
  const { timeoutMs, retries, backoffMs } = resolveRetryTuning({});
  const worst = timeoutMs * (retries + 1) + backoffMs * (2 ** retries - 1);
  assert.ok(worst < DEFAULT_TIMEOUT_MS * 0.95, `${worst} ms of attempts`);
  assert.ok(timeoutMs >= 10_000, "still patient with a slow server");
  // Tuned retries get a timeout fitted to them.
  const more = resolveRetryTuning({ retries: 4 });
  assert.ok(more.timeoutMs * 5 + more.backoffMs * 15 < DEFAULT_TIMEOUT_MS);
});

Deno.test("describeFetchError: the reason without Deno's request prefix, in either wording", () => {
  const wrapped = (message: string) => new TypeError("fetch failed", { cause: new Error(message) });
  assert.equal(
    describeFetchError(wrapped(
      "error sending request for url (http://127.0.0.1:1/identity): client error (Connect): refused",
    )),
    "client error (Connect): refused",
  );
  assert.equal(
    describeFetchError(wrapped(
      "error sending request from 127.0.0.1:55016 for http://127.0.0.1:18801/all?a=1 " +
        "(127.0.0.1:18801): client error (SendRequest): message head is too large",
    )),
    "client error (SendRequest): message head is too large",
  );
  assert.equal(describeFetchError(new Error("plain")), "plain");
});
