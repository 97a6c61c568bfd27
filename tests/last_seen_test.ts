/**
 * When assets were last seen, stored lazily (`lastSeenSql`): what migration
 * 7 does to a catalog written before it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { migrate, MIGRATIONS, openDatabase } from "../core/db.ts";
import { listAssets } from "../ingest/assets_query.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import { itemsClient, seedCatalog, SEEDED_COLLECTION } from "./_catalog.ts";

const MOVIES = [
  { externalId: "m1", kind: "movie", title: "Amélie", year: 2001 },
  { externalId: "m2", kind: "movie", title: "Heat", year: 1995 },
];

Deno.test("migration 7: assets keep when they were last seen, then follow the stamp", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-seen-" });
  try {
    const path = join(dir, "old.db");
    const old = new DatabaseSync(path);
    migrate(old, { migrations: MIGRATIONS.slice(0, 6) });
    seedCatalog(old);
    old.exec(
      `INSERT INTO assets (id, collection_id, external_id, kind, title, fingerprint,
         file_fingerprint, first_seen, last_seen, updated_at)
       VALUES ('a-000000000001', '${SEEDED_COLLECTION}', 'm0', 'movie', 'Old', 'f', 'f',
         '2020-01-01T00:00:00.000Z', '2020-05-05T00:00:00.000Z', '2020-01-01T00:00:00.000Z')`,
    );
    old.close();
    const db = openDatabase(path);
    try {
      const seen = () =>
        Object.fromEntries(
          listAssets(db, { collectionId: SEEDED_COLLECTION, includeDeleted: true }).assets
            .map((a) => [a.externalId, a.lastSeen]),
        );
      assert.deepEqual(seen(), { m0: "2020-05-05T00:00:00.000Z" }, "kept by the migration");
      const first = await ingestCollection(db, {
        client: itemsClient([{ externalId: "m0", kind: "movie", title: "Old" }, ...MOVIES]),
        collection: SEEDED_COLLECTION,
      });
      assert.deepEqual(seen(), {
        m0: first.lastIngestTime,
        m1: first.lastIngestTime,
        m2: first.lastIngestTime,
      });
      const second = await ingestCollection(db, {
        client: itemsClient(MOVIES.slice(0, 1)),
        collection: SEEDED_COLLECTION,
        allowRemoval: true,
      });
      assert.equal(second.stats.removed, 2);
      assert.deepEqual(seen(), {
        m0: first.lastIngestTime,
        m1: second.lastIngestTime,
        m2: first.lastIngestTime,
      });
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
