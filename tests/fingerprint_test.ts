/**
 * The asset fingerprints (`core/fingerprint.ts`) and schema migration 3,
 * which recomputes the fingerprints an older release stored.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { migrate, MIGRATIONS, openDatabase } from "../core/db.ts";
import { type FingerprintFields, fingerprintsOf } from "../core/fingerprint.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import { itemsClient, seedCatalog } from "./_catalog.ts";

const BASE: FingerprintFields = {
  kind: "episode",
  title: "Pilot",
  seriesTitle: "Show",
  season: 1,
  episode: 1,
  episodeEnd: null,
  year: 2001,
  airDate: "2001-09-01",
  durationMs: 1_300_000,
  externalIds: '{"tvdb":"1"}',
  path: "/tv/Show/S01E01.mkv",
  parts: '["/tv/Show/S01E01.mkv"]',
  localPath: "/mnt/tv/Show/S01E01.mkv",
  size: 123_456_789,
  modified: "1700000000",
};

const FILE_FIELDS = new Set<keyof FingerprintFields>(["path", "parts", "size", "modified"]);

Deno.test("every stored field moves the fingerprint; only file fields move the file fingerprint", () => {
  const base = fingerprintsOf(BASE);
  assert.match(base.fingerprint, /^[0-9a-f]{16}$/);
  assert.match(base.fileFingerprint, /^[0-9a-f]{16}$/);
  assert.deepEqual(fingerprintsOf({ ...BASE }), base, "deterministic");
  for (const key of Object.keys(BASE) as (keyof FingerprintFields)[]) {
    const value = BASE[key];
    const other = typeof value === "number" ? value + 1 : `${value}x`;
    const moved = fingerprintsOf({ ...BASE, [key]: other });
    assert.notEqual(moved.fingerprint, base.fingerprint, `${key} must move the fingerprint`);
    if (FILE_FIELDS.has(key)) {
      assert.notEqual(moved.fileFingerprint, base.fileFingerprint, `${key} is a file field`);
    } else {
      assert.equal(moved.fileFingerprint, base.fileFingerprint, `${key} is not a file field`);
    }
  }
});

Deno.test("the encoding is canonical: null, empty, split text and number forms differ", () => {
  const fp = (f: Partial<FingerprintFields>) => fingerprintsOf({ ...BASE, ...f }).fingerprint;
  assert.notEqual(fp({ seriesTitle: null }), fp({ seriesTitle: "" }));
  assert.notEqual(fp({ season: null }), fp({ season: 0 }));
  // Text moved from one field to its neighbour.
  assert.notEqual(fp({ title: "ab", seriesTitle: "c" }), fp({ title: "a", seriesTitle: "bc" }));
  assert.notEqual(fp({ airDate: "1", durationMs: null }), fp({ airDate: null, durationMs: 1 }));
  // Large and fractional numbers are hashed too.
  assert.notEqual(fp({ size: 2 ** 40 }), fp({ size: 2 ** 40 + 1 }));
  assert.notEqual(fp({ durationMs: 1.5 }), fp({ durationMs: 1 }));
  // Characters beyond Latin-1 and surrogate pairs.
  assert.notEqual(fp({ title: "Amélie 🎬" }), fp({ title: "Amelie 🎬" }));
});

/** What the previous release stored: three SHA-256 digests (128 bits each) per asset. */
function _oldFingerprints(f: FingerprintFields): { fingerprint: string; fileFingerprint: string } {
  const h = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 32);
  const fileFingerprint = h(JSON.stringify([f.path, f.parts, f.size, f.modified]));
  const fingerprint = h(JSON.stringify([
    f.kind,
    f.title,
    f.seriesTitle,
    f.season,
    f.episode,
    f.episodeEnd,
    f.year,
    f.airDate,
    f.durationMs,
    f.externalIds,
    f.localPath,
    fileFingerprint,
  ]));
  return { fingerprint, fileFingerprint };
}

function _items(): unknown[] {
  return [
    {
      externalId: "e1",
      kind: "episode",
      title: "Pilot",
      seriesTitle: "Show",
      season: 1,
      episode: 1,
      path: "/tv/Show/S01E01.mkv",
      size: 10,
      modified: "1700000000 parts=1:2",
      externalIds: { tvdb: "1" },
    },
    { externalId: "m1", kind: "movie", title: "Amélie", year: 2001, durationMs: 7_200_000 },
    { externalId: "m2", kind: "movie", title: "Heat", path: "/m/Heat.mkv", size: 99 },
  ];
}

Deno.test("migration 3: ingest, upgrade, re-ingest finds 0 changed and keeps states", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-fp-" });
  try {
    const path = join(dir, "old.db");
    // A version-2 catalog with what the previous release stored: today's
    // ingest into a current catalog, its version-2 columns copied over
    // (today's ingest writes columns a version-2 catalog does not have).
    const old = new DatabaseSync(path);
    migrate(old, { migrations: MIGRATIONS.slice(0, 2) });
    const currentPath = join(dir, "current.db");
    const current = openDatabase(currentPath);
    seedCatalog(old);
    seedCatalog(current);
    await ingestCollection(current, { client: itemsClient(_items()), collection: "c-1" });
    const columns = old.prepare("SELECT name FROM pragma_table_info('assets')").all()
      .map((r) => String(r.name));
    const copy = old.prepare(
      `INSERT INTO assets (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
    );
    for (const r of current.prepare(`SELECT ${columns.join(", ")} FROM assets`).all()) {
      copy.run(...columns.map((c) => r[c] as SQLInputValue));
    }
    current.close();
    const rows = old.prepare("SELECT * FROM assets ORDER BY external_id").all();
    for (const r of rows) {
      const f = _oldFingerprints({
        kind: String(r.kind),
        title: String(r.title),
        seriesTitle: r.series_title as string | null,
        season: r.season as number | null,
        episode: r.episode as number | null,
        episodeEnd: r.episode_end as number | null,
        year: r.year as number | null,
        airDate: r.air_date as string | null,
        durationMs: r.duration_ms as number | null,
        externalIds: String(r.external_ids),
        path: r.path as string | null,
        parts: String(r.parts),
        localPath: r.local_path as string | null,
        size: r.size as number | null,
        modified: r.modified as string | null,
      });
      old.prepare(
        "UPDATE assets SET fingerprint = ?, file_fingerprint = ?, state = 'ready' WHERE id = ?",
      ).run(f.fingerprint, f.fileFingerprint, String(r.id));
    }
    old.close();

    const db = openDatabase(path);
    try {
      const stored = db.prepare("SELECT fingerprint, file_fingerprint FROM assets").all();
      for (const r of stored) {
        assert.match(String(r.fingerprint), /^[0-9a-f]{16}$/, "recomputed by the migration");
        assert.match(String(r.file_fingerprint), /^[0-9a-f]{16}$/);
      }
      const again = await ingestCollection(db, {
        client: itemsClient(_items()),
        collection: "c-1",
      });
      assert.equal(again.stats.changed, 0);
      assert.equal(again.stats.new, 0);
      assert.equal(again.stats.unchanged, 3);
      const states = db.prepare("SELECT DISTINCT state FROM assets").all().map((r) => r.state);
      assert.deepEqual(states, ["ready"]);
      // A real change after the upgrade is still seen.
      const changed = _items();
      (changed[2] as Record<string, unknown>).size = 100;
      const third = await ingestCollection(db, { client: itemsClient(changed), collection: "c-1" });
      assert.equal(third.stats.changed, 1);
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
