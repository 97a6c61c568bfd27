/**
 * Counting a full ingest's removals: the shortcut through the collection's
 * live count (`assets_live`, migration 9) must give exactly what the
 * per-row query gives, since that count feeds the removal guard and the
 * apply's check that the catalog did not move under the plan.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { migrate, MIGRATIONS } from "../core/db.ts";
import { liveAssetCount } from "../core/catalog.ts";
import { classifyStaged } from "../ingest/diff.ts";
import { createStage, type Stage, unseenLiveSql } from "../ingest/staging.ts";
import { seedCatalog, SEEDED_COLLECTION, seededCatalog } from "./_catalog.ts";

const TV = SEEDED_COLLECTION;
const OTHER = "c-2";

/** The seeded catalog, with a second collection of the same source. */
function _catalog(): DatabaseSync {
  const db = seededCatalog();
  const t = "2024-01-01T00:00:00.000Z";
  db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES (?, 's', 'other', 'Other', 'mixed', 1, ?, ?)`,
  ).run(OTHER, t, t);
  return db;
}

/** A test asset's id: which collection and external id it has. */
function _assetId(collectionId: string, externalId: string): string {
  return `a-${collectionId}-${externalId}`;
}

function _addAsset(
  db: DatabaseSync,
  collectionId: string,
  options: { externalId: string; deleted: boolean; updatedAt: string },
): void {
  db.prepare(
    `INSERT INTO assets (id, collection_id, external_id, kind, title, fingerprint,
       file_fingerprint, first_seen, last_seen, updated_at, deleted_at)
     VALUES (?, ?, ?, 'movie', 'T', 'f', 'f', 'x', 'x', ?, ?)`,
  ).run(
    _assetId(collectionId, options.externalId),
    collectionId,
    options.externalId,
    options.updatedAt,
    options.deleted ? "2024-01-01" : null,
  );
}

/** What the per-row query counts: the live rows of TV the stage did not see, and the newest of them. */
function _gonePerRow(db: DatabaseSync, stage: Stage): { n: number; latest: string | null } {
  const row = db.prepare(
    `SELECT count(*) AS n, max(a.updated_at) AS latest FROM main.assets a
     WHERE ${unseenLiveSql(stage, "a")}`,
  ).get(TV) as { n: number; latest: string | null };
  return { n: Number(row.n), latest: row.latest };
}

/** TV's live rows not staged: all of them, and those not named by an invalid item either. */
function _liveNotStaged(db: DatabaseSync, stage: Stage): { all: number; notInvalid: number } {
  const row = db.prepare(
    `SELECT count(*) AS "all",
       coalesce(sum(a.external_id NOT IN (SELECT external_id FROM ${stage.invalid})), 0) AS not_invalid
     FROM main.assets a WHERE a.collection_id = ? AND a.deleted_at IS NULL
       AND a.external_id NOT IN (SELECT external_id FROM ${stage.table})`,
  ).get(TV) as Record<string, number>;
  return { all: Number(row.all), notInvalid: Number(row.not_invalid) };
}

/** A small deterministic generator, so a failing case can be replayed by its seed. */
function _random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("the live count reads its index and follows soft deletes and restores", () => {
  const db = _catalog();
  try {
    _addAsset(db, TV, { externalId: "e1", deleted: false, updatedAt: "u" });
    _addAsset(db, TV, { externalId: "e2", deleted: true, updatedAt: "u" });
    _addAsset(db, OTHER, { externalId: "e1", deleted: false, updatedAt: "u" });
    assert.equal(liveAssetCount(db, TV), 1);
    db.exec(`UPDATE assets SET deleted_at = NULL WHERE collection_id = '${TV}'`);
    assert.equal(liveAssetCount(db, TV), 2);
    db.exec(`UPDATE assets SET deleted_at = 'x' WHERE collection_id = '${TV}'`);
    assert.equal(liveAssetCount(db, TV), 0);
    assert.equal(liveAssetCount(db, OTHER), 1);
    assert.equal(liveAssetCount(db, "c-nosuchthing"), 0);
    const plan = db.prepare(
      `EXPLAIN QUERY PLAN SELECT count(*) FROM main.assets INDEXED BY assets_live
       WHERE collection_id = ? AND deleted_at IS NULL`,
    ).all(TV).map((r) => String(r.detail)).join("\n");
    assert.match(plan, /INDEX assets_live\b/, plan);
  } finally {
    db.close();
  }
});

Deno.test("migration 9 indexes the live assets of a catalog made before it", () => {
  const db = new DatabaseSync(":memory:");
  try {
    migrate(db, { migrations: MIGRATIONS.filter((m) => m.version < 9) });
    seedCatalog(db);
    for (let i = 0; i < 10; i++) {
      _addAsset(db, TV, { externalId: `e${i}`, deleted: i % 3 === 0, updatedAt: "u" });
    }
    assert.throws(() => liveAssetCount(db, TV), /no such index: assets_live/);
    assert.deepEqual(migrate(db), [9]);
    assert.equal(liveAssetCount(db, TV), 6);
  } finally {
    db.close();
  }
});

Deno.test("a full ingest's removals: the live-count shortcut agrees with the per-row query", () => {
  // Each case: a catalog of live and soft-deleted rows in TV (and rows of
  // another collection under the same external ids), a stage that lists some
  // of them and new ones, invalid items naming some, re-keys onto others.
  // Half the cases list every live row, where the shortcut answers alone;
  // the others must cover every clause of the per-row query.
  const seen = { shortcut: 0, gone: 0, keptByInvalid: 0, keptByRekey: 0 };
  for (let seed = 1; seed <= 300; seed++) {
    const rnd = _random(seed);
    const db = _catalog();
    try {
      const size = Math.floor(rnd() * 12);
      const live: string[] = [];
      for (let i = 0; i < size; i++) {
        const deleted = rnd() < 0.3;
        const externalId = `e${i}`;
        _addAsset(db, TV, { externalId, deleted, updatedAt: `2024-0${1 + (i % 9)}` });
        if (rnd() < 0.5) _addAsset(db, OTHER, { externalId, deleted: false, updatedAt: "z" });
        if (!deleted) live.push(externalId);
      }
      const listsAll = seed % 2 === 0;
      const stage = createStage(db);
      const stageRow = db.prepare(
        `INSERT INTO ${stage.table} (external_id, fingerprint, file_fingerprint, rekey_id)
         VALUES (?, 'f', 'f', ?)`,
      );
      for (let i = 0; i < size; i++) {
        const externalId = `e${i}`;
        const isLive = live.includes(externalId);
        if ((listsAll && isLive) || rnd() < 0.5) stageRow.run(externalId, null);
        else if (rnd() < 0.3) stage.markInvalid(externalId);
      }
      const newItems = Math.floor(rnd() * 3);
      for (let i = 0; i < newItems; i++) {
        // New items; some take over an existing asset (a re-key).
        const target = rnd() < 0.5 && size > 0
          ? _assetId(TV, `e${Math.floor(rnd() * size)}`)
          : null;
        stageRow.run(`n${i}`, target);
      }
      const counts = classifyStaged(db, stage, { collectionId: TV, full: true });
      const expected = _gonePerRow(db, stage);
      assert.equal(counts.gone, expected.n, `seed ${seed}: gone`);
      assert.equal(JSON.parse(counts.signature)[2], expected.latest, `seed ${seed}: latest`);
      const targeted = classifyStaged(db, stage, { collectionId: TV, full: false });
      assert.equal(targeted.gone, 0, `seed ${seed}: a targeted ingest removes nothing`);
      if (listsAll) {
        assert.equal(counts.gone, 0, `seed ${seed}: every live row listed`);
        seen.shortcut++;
      }
      const notStaged = _liveNotStaged(db, stage);
      if (expected.n > 0) seen.gone++;
      if (notStaged.all > notStaged.notInvalid) seen.keptByInvalid++;
      if (notStaged.notInvalid > expected.n) seen.keptByRekey++;
      stage.drop();
    } finally {
      db.close();
    }
  }
  assert.equal(seen.shortcut, 150);
  for (const [what, n] of Object.entries(seen)) assert.ok(n >= 10, `${what}: only ${n} cases`);
});
