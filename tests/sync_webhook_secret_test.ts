/** Webhook secrets: generated once, stored only as a digest, checked exactly. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import { openMemoryDatabase } from "../core/db.ts";
import { RetrovueError } from "../core/errors.ts";
import {
  checkWebhookSecret,
  hasWebhookSecret,
  newWebhookSecret,
  WEBHOOK_SECRET_BYTES,
} from "../sync/webhook_secret.ts";

function _catalog(): DatabaseSync {
  const db = openMemoryDatabase();
  const t = "2030-01-01T00:00:00.000Z";
  for (const id of ["plex-00000001", "plex-00000002"]) {
    db.prepare(
      "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES (?, ?, 'plex', '{}', ?, ?)",
    ).run(id, id, t, t);
  }
  return db;
}

function _storedHash(db: DatabaseSync, id: string): unknown {
  return (db.prepare("SELECT webhook_secret_hash AS h FROM sources WHERE id = ?").get(id) as {
    h: unknown;
  }).h;
}

Deno.test("a new secret is 32 random bytes in base64url; only its SHA-256 is stored", () => {
  const db = _catalog();
  let asked = 0;
  const secret = newWebhookSecret(db, "plex-00000001", {
    random: (bytes) => {
      asked = bytes.length;
      bytes.fill(0xfb); // 0xfb… encodes to '+'/'/' in plain base64: must become '-'/'_'.
    },
  });
  assert.equal(asked, WEBHOOK_SECRET_BYTES);
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  const decoded = atob(secret.replaceAll("-", "+").replaceAll("_", "/") + "=");
  assert.deepEqual([...decoded].map((c) => c.charCodeAt(0)), new Array(32).fill(0xfb));
  const stored = _storedHash(db, "plex-00000001");
  assert.equal(stored, createHash("sha256").update(secret).digest("hex"));
  assert.ok(!String(stored).includes(secret));
  assert.equal(_storedHash(db, "plex-00000002"), null, "another source is untouched");
});

Deno.test("the default secrets differ from one call to the next", () => {
  const db = _catalog();
  const a = newWebhookSecret(db, "plex-00000001");
  const b = newWebhookSecret(db, "plex-00000001");
  assert.notEqual(a, b);
});

Deno.test("checking accepts the current secret only, for its own source only", () => {
  const db = _catalog();
  const first = newWebhookSecret(db, "plex-00000001");
  assert.equal(checkWebhookSecret(db, "plex-00000001", { presented: first }), true);
  assert.equal(
    checkWebhookSecret(db, "plex-00000002", { presented: first }),
    false,
    "other source has none",
  );
  assert.equal(checkWebhookSecret(db, "plex-00000001", { presented: first.slice(0, -1) }), false);
  assert.equal(checkWebhookSecret(db, "plex-00000001", { presented: `${first}x` }), false);
  assert.equal(checkWebhookSecret(db, "plex-00000001", { presented: "" }), false);
  assert.equal(checkWebhookSecret(db, "nope", { presented: first }), false, "unknown source");

  const second = newWebhookSecret(db, "plex-00000001");
  assert.equal(
    checkWebhookSecret(db, "plex-00000001", { presented: first }),
    false,
    "a replaced secret stops",
  );
  assert.equal(checkWebhookSecret(db, "plex-00000001", { presented: second }), true);
});

Deno.test("an empty presentation never matches, even a digest of the empty string", () => {
  const db = _catalog();
  db.prepare("UPDATE sources SET webhook_secret_hash = ? WHERE id = 'plex-00000001'")
    .run(createHash("sha256").update("").digest("hex"));
  assert.equal(checkWebhookSecret(db, "plex-00000001", { presented: "" }), false);
});

Deno.test("hasWebhookSecret says whether one is set", () => {
  const db = _catalog();
  assert.equal(hasWebhookSecret(db, "plex-00000001"), false);
  newWebhookSecret(db, "plex-00000001");
  assert.equal(hasWebhookSecret(db, "plex-00000001"), true);
  assert.equal(hasWebhookSecret(db, "nope"), false);
});

Deno.test("a secret for an unknown source is NOT_FOUND and stores nothing", () => {
  const db = _catalog();
  assert.throws(
    () => newWebhookSecret(db, "plex-ffffffff"),
    (e: unknown) => e instanceof RetrovueError && e.code === "NOT_FOUND",
  );
  const rows = db.prepare("SELECT COUNT(*) AS n FROM sources WHERE webhook_secret_hash IS NOT NULL")
    .get() as { n: number };
  assert.equal(rows.n, 0);
});
