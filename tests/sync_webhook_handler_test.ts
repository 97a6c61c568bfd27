/**
 * The webhook handler in-process, with a fake enqueue: what each request is
 * answered, what it enqueues and what it logs.
 */

import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import {
  collectionIdFor,
  insertSource,
  setSyncEnabled,
  upsertDiscoveredCollections,
} from "../core/catalog.ts";
import { openMemoryDatabase } from "../core/db.ts";
import type { SyncRequest } from "../sync/types.ts";
import { webhookHandler } from "../sync/webhooks.ts";
import { newWebhookSecret } from "../sync/webhook_secret.ts";
import {
  embyPayload,
  jellyfinEpisode,
  jellyfinPayload,
  plexEpisode,
  plexPayload,
} from "./_sync_webhook_payloads.ts";

const PLEX = "plex-0000aaaa";
const JELLYFIN = "jellyfin-0000bbbb";
const FILES = "filesystem-0000cccc";
const TV = collectionIdFor(PLEX, "2");

interface _World {
  db: DatabaseSync;
  secrets: Record<string, string>;
  enqueued: SyncRequest[];
  logs: string[];
  handle: (request: Request) => Promise<Response>;
}

function _world(options: { maxBodyBytes?: number; bodyTimeoutMs?: number } = {}): _World {
  const db = openMemoryDatabase();
  insertSource(db, { id: PLEX, name: "Plex", typeId: "plex", config: {} });
  upsertDiscoveredCollections(db, PLEX, {
    found: [
      { externalId: "1", name: "Movies", kind: "movies" },
      { externalId: "2", name: "TV Shows", kind: "shows" },
      { externalId: "3", name: "Anime", kind: "shows" },
      { externalId: "4", name: "Music", kind: "other", ingestible: false, reason: "music" },
    ],
  });
  setSyncEnabled(db, collectionIdFor(PLEX, "1"), { enabled: true });
  setSyncEnabled(db, TV, { enabled: true });
  insertSource(db, { id: JELLYFIN, name: "Jellyfin", typeId: "jellyfin", config: {} });
  upsertDiscoveredCollections(db, JELLYFIN, {
    found: [
      { externalId: "f0", name: "Films", kind: "movies" },
      { externalId: "s1", name: "Series", kind: "shows" },
      { externalId: "s2", name: "Kids Series", kind: "shows" },
    ],
  });
  for (const id of ["f0", "s1", "s2"]) {
    setSyncEnabled(db, collectionIdFor(JELLYFIN, id), { enabled: true });
  }
  insertSource(db, { id: FILES, name: "Files", typeId: "filesystem", config: {} });
  const secrets = {
    [PLEX]: newWebhookSecret(db, PLEX),
    [JELLYFIN]: newWebhookSecret(db, JELLYFIN),
    [FILES]: newWebhookSecret(db, FILES),
  };
  const enqueued: SyncRequest[] = [];
  const logs: string[] = [];
  const handle = webhookHandler(db, {
    enqueue: (r) => enqueued.push(r),
    log: (line) => logs.push(line),
    ...options,
  });
  return { db, secrets, enqueued, logs, handle };
}

/** A Plex webhook request as PMS posts it: multipart, payload field plus a thumbnail. */
function _plexRequest(
  payload: unknown,
  auth: { header?: string; query?: string } = {},
  source = PLEX,
): Request {
  const form = new FormData();
  form.append("payload", JSON.stringify(payload));
  form.append("thumb", new File([new Uint8Array(64).fill(0xab)], "thumb.jpg"));
  const query = auth.query === undefined ? "" : `?secret=${encodeURIComponent(auth.query)}`;
  return new Request(`http://127.0.0.1:32500/hooks/${source}${query}`, {
    method: "POST",
    body: form,
    headers: auth.header === undefined ? {} : { "X-Retrovue-Secret": auth.header },
  });
}

function _jsonRequest(source: string, body: string, secret?: string): Request {
  return new Request(`http://127.0.0.1:32500/hooks/${source}`, {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      ...(secret === undefined ? {} : { "X-Retrovue-Secret": secret }),
    },
  });
}

function _assertNoSecretLogged(w: _World): void {
  for (const line of w.logs) {
    for (const secret of Object.values(w.secrets)) assert.ok(!line.includes(secret), line);
    assert.ok(!/secret=/.test(line), line);
  }
}

Deno.test("a Plex episode event → exactly one season-scoped request for its library", async () => {
  const w = _world();
  const response = await w.handle(
    _plexRequest(plexPayload("library.new", plexEpisode()), { header: w.secrets[PLEX] }),
  );
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { status: "accepted", requests: 1 });
  assert.equal(w.enqueued.length, 1);
  assert.equal(w.enqueued[0].collectionId, TV);
  assert.deepEqual(w.enqueued[0].filters, { title: "Borderland", season: 2 });
  assert.match(w.enqueued[0].reason, /^plex library\.new: episode 'Borderland' S02E03/);
  assert.equal(w.logs.length, 1);
  assert.match(w.logs[0], new RegExp(`webhook ${PLEX}: plex library.new: .*enqueued for ${TV}`));
  _assertNoSecretLogged(w);
});

Deno.test("the secret may come as ?secret= (Plex takes only a URL), never logged", async () => {
  const w = _world();
  const response = await w.handle(
    _plexRequest(plexPayload("library.new", plexEpisode()), { query: w.secrets[PLEX] }),
  );
  assert.equal(response.status, 202);
  assert.equal(w.enqueued.length, 1);
  _assertNoSecretLogged(w);
});

Deno.test("a bad, missing or other source's secret → 401, nothing enqueued", async () => {
  const w = _world();
  const payload = plexPayload("library.new", plexEpisode());
  const attempts = [
    _plexRequest(payload, { header: `${w.secrets[PLEX]}x` }),
    _plexRequest(payload, { query: "guess" }),
    _plexRequest(payload),
    _plexRequest(payload, { header: w.secrets[JELLYFIN] }),
    _plexRequest(payload, { header: "" }),
  ];
  for (const request of attempts) {
    const response = await w.handle(request);
    assert.equal(response.status, 401);
    await response.body?.cancel();
  }
  assert.equal(w.enqueued.length, 0);
  assert.equal(w.logs.length, attempts.length);
  for (const line of w.logs) assert.match(line, new RegExp(`webhook ${PLEX}: 401`));
  assert.match(w.logs[2], /no secret/);
  _assertNoSecretLogged(w);
});

Deno.test("an oversized body → 413, whether declared or streamed, nothing enqueued", async () => {
  const w = _world({ maxBodyBytes: 4096 });
  const big = plexEpisode({ summary: "x".repeat(8000) });
  const declared = await w.handle(
    _plexRequest(plexPayload("library.new", big), { header: w.secrets[PLEX] }),
  );
  assert.equal(declared.status, 413);

  // No Content-Length: counted as it arrives, and reading stops at the limit.
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024).fill(0x20));
    },
  });
  const streamed = await w.handle(
    new Request(`http://127.0.0.1/hooks/${PLEX}`, {
      method: "POST",
      body: endless,
      headers: { "content-type": "application/json", "X-Retrovue-Secret": w.secrets[PLEX] },
    }),
  );
  assert.equal(streamed.status, 413);
  assert.ok(pulled <= 8, `read ${pulled} KiB of an endless body`);
  assert.equal(w.enqueued.length, 0);
  assert.ok(w.logs.every((l) => /413 the body is larger than 4096 bytes/.test(l)), w.logs.join());
});

Deno.test("a body that does not finish in time → 408", async () => {
  const w = _world({ bodyTimeoutMs: 50 });
  const stalled = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"NotificationType":'));
    },
  });
  const response = await w.handle(
    new Request(`http://127.0.0.1/hooks/${JELLYFIN}`, {
      method: "POST",
      body: stalled,
      headers: { "X-Retrovue-Secret": w.secrets[JELLYFIN] },
    }),
  );
  assert.equal(response.status, 408);
  assert.equal(w.enqueued.length, 0);
});

Deno.test("unknown source, a source type without webhooks, other paths → 404; GET → 405", async () => {
  const w = _world();
  const payload = plexPayload("library.new", plexEpisode());
  const unknown = await w.handle(_plexRequest(payload, { header: "x" }, "plex-ffffffff"));
  assert.equal(unknown.status, 404);
  const files = await w.handle(_plexRequest(payload, { header: w.secrets[FILES] }, FILES));
  assert.equal(files.status, 404);
  for (const path of ["/", "/hooks", "/hooks/", `/hooks/${PLEX}/extra`, "/hooks/%E0%A4%A"]) {
    const r = await w.handle(new Request(`http://127.0.0.1${path}`, { method: "POST" }));
    assert.equal(r.status, 404, path);
  }
  const get = await w.handle(new Request(`http://127.0.0.1/hooks/${PLEX}?secret=abc`));
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
  assert.equal(w.enqueued.length, 0);
  assert.match(w.logs[0], /webhook plex-ffffffff: 404 no such source/);
  assert.match(w.logs[1], /webhook filesystem-0000cccc: 404 a filesystem source takes no webhooks/);
  assert.ok(w.logs.some((l) => /405 GET/.test(l)));
  _assertNoSecretLogged(w);
  assert.ok(!w.logs.some((l) => l.includes("abc")), "the query is not logged");
});

Deno.test("malformed bodies → 400 with the reason logged, nothing enqueued", async () => {
  const w = _world();
  const cases = [
    _jsonRequest(JELLYFIN, "{not json", w.secrets[JELLYFIN]),
    _jsonRequest(JELLYFIN, JSON.stringify({ hello: "world" }), w.secrets[JELLYFIN]),
    _jsonRequest(PLEX, JSON.stringify({ user: true }), w.secrets[PLEX]),
    new Request(`http://127.0.0.1/hooks/${PLEX}`, {
      method: "POST",
      body: "payload",
      headers: { "content-type": "text/plain", "X-Retrovue-Secret": w.secrets[PLEX] },
    }),
  ];
  for (const request of cases) {
    const response = await w.handle(request);
    assert.equal(response.status, 400);
    await response.body?.cancel();
  }
  assert.equal(w.enqueued.length, 0);
  assert.match(w.logs[0], /400 the payload is not JSON/);
  assert.match(w.logs[1], /400 neither a Jellyfin/);
  assert.match(w.logs[2], /400 the payload has no 'event'/);
  assert.match(w.logs[3], /400 the payload is not JSON/);
});

Deno.test("events that ask for nothing → 202 'ignored' and a log line saying why", async () => {
  const w = _world();
  const cases: [unknown, RegExp][] = [
    [plexPayload("media.play", plexEpisode()), /plex media.play ignored: playback/],
    [
      plexPayload("library.new", plexEpisode({ librarySectionID: 3 })),
      /ignored: 'Anime' \(c-[0-9a-f]{10}\) is not sync-enabled/,
    ],
    [
      plexPayload("library.new", plexEpisode({ librarySectionID: 9 })),
      /ignored: library 9 is not a collection of this source \(run 'source discover plex-0000aaaa'\)/,
    ],
    [
      plexPayload("library.new", plexEpisode({ librarySectionID: 1 })),
      /ignored: 'Movies' \(c-[0-9a-f]{10}\) holds movies, not this item/,
    ],
  ];
  for (const [payload, line] of cases) {
    const response = await w.handle(_plexRequest(payload, { header: w.secrets[PLEX] }));
    assert.equal(response.status, 202);
    assert.deepEqual(await response.json(), { status: "ignored", requests: 0 });
    assert.match(w.logs.at(-1)!, line);
  }
  assert.equal(w.enqueued.length, 0);
});

Deno.test("a Jellyfin episode event → one season-scoped request per show collection", async () => {
  const w = _world();
  const response = await w.handle(
    _jsonRequest(
      JELLYFIN,
      JSON.stringify(jellyfinPayload("ItemAdded", jellyfinEpisode())),
      w.secrets[JELLYFIN],
    ),
  );
  assert.equal(response.status, 202);
  assert.deepEqual(await response.json(), { status: "accepted", requests: 2 });
  assert.deepEqual(
    w.enqueued.map((r) => r.collectionId).sort(),
    [collectionIdFor(JELLYFIN, "s1"), collectionIdFor(JELLYFIN, "s2")].sort(),
  );
  for (const r of w.enqueued) {
    assert.deepEqual(r.filters, { title: "Borderland", season: 2 });
    assert.match(
      r.reason,
      /^jellyfin ItemAdded: episode 'Borderland' S02E03 → season 'Borderland' S02$/,
    );
  }
});

Deno.test("payload text reaches the log as one printable line", async () => {
  const w = _world();
  await w.handle(
    _plexRequest(
      plexPayload("library.new", plexEpisode({ grandparentTitle: "Evil\nwebhook 2: forged" })),
      { header: w.secrets[PLEX] },
    ),
  );
  assert.equal(w.logs.length, 1);
  assert.ok(!/[\n\r]/.test(w.logs[0]), w.logs[0]);
});

Deno.test("a failing enqueue or logger never escapes the handler", async () => {
  const db = openMemoryDatabase();
  insertSource(db, { id: PLEX, name: "Plex", typeId: "plex", config: {} });
  upsertDiscoveredCollections(db, PLEX, {
    found: [{ externalId: "2", name: "TV", kind: "shows" }],
  });
  setSyncEnabled(db, TV, { enabled: true });
  const secret = newWebhookSecret(db, PLEX);
  const logs: string[] = [];
  const failingEnqueue = webhookHandler(db, {
    enqueue: () => {
      throw new Error("queue closed");
    },
    log: (line) => logs.push(line),
  });
  const response = await failingEnqueue(
    _plexRequest(plexPayload("library.new", plexEpisode()), { header: secret }),
  );
  assert.equal(response.status, 500);
  assert.match(logs[0], /500 internal error: queue closed/);

  const failingLog = webhookHandler(db, {
    enqueue: () => {},
    log: () => {
      throw new Error("stdout closed");
    },
  });
  const ok = await failingLog(
    _plexRequest(plexPayload("library.new", plexEpisode()), { header: secret }),
  );
  assert.equal(ok.status, 202);
});

Deno.test("a secret replaced while the handler runs takes effect at the next request", async () => {
  const w = _world();
  const old = w.secrets[PLEX];
  const fresh = newWebhookSecret(w.db, PLEX);
  const payload = plexPayload("library.new", plexEpisode());
  assert.equal((await w.handle(_plexRequest(payload, { header: old }))).status, 401);
  assert.equal((await w.handle(_plexRequest(payload, { header: fresh }))).status, 202);
  assert.equal(w.enqueued.length, 1);
});

Deno.test("an Emby source reads Emby's own payload, as JSON or as a form", async () => {
  const w = _world();
  insertSource(w.db, { id: "emby-0000dddd", name: "Emby", typeId: "emby", config: {} });
  upsertDiscoveredCollections(w.db, "emby-0000dddd", {
    found: [{
      externalId: "m",
      name: "M",
      kind: "movies",
    }],
  });
  setSyncEnabled(w.db, collectionIdFor("emby-0000dddd", "m"), { enabled: true });
  const secret = newWebhookSecret(w.db, "emby-0000dddd");
  const response = await w.handle(
    _jsonRequest(
      "emby-0000dddd",
      JSON.stringify(embyPayload("library.new", { Name: "The Long Walk", Type: "Movie" })),
      secret,
    ),
  );
  assert.equal(response.status, 202);
  const expected = {
    collectionId: collectionIdFor("emby-0000dddd", "m"),
    filters: { title: "The Long Walk" },
    reason: "emby library.new: movie 'The Long Walk'",
  };
  assert.deepEqual(w.enqueued, [expected]);

  // Set to multipart/form-data, Emby sends the same JSON in the form field `data`.
  const form = new FormData();
  form.append(
    "data",
    JSON.stringify(embyPayload("library.new", { Name: "The Long Walk", Type: "Movie" })),
  );
  const multipart = await w.handle(
    new Request("http://127.0.0.1/hooks/emby-0000dddd", {
      method: "POST",
      body: form,
      headers: { "X-Retrovue-Secret": secret },
    }),
  );
  assert.equal(multipart.status, 202);
  assert.deepEqual(w.enqueued, [expected, expected]);
});
