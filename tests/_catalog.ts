/**
 * Helpers for tests that drive the ingest in-process: a catalog with one
 * source and one sync-enabled collection, and an importer client that
 * streams given items.
 *
 * ```ts
 * const db = seededCatalog({ kind: "movies" });
 * await ingestCollection(db, { client: itemsClient([movie]), collection: SEEDED_COLLECTION });
 * ```
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { CollectionKind } from "../core/contract.ts";
import { openMemoryDatabase } from "../core/db.ts";
import type { IngestClient } from "../ingest/pipeline.ts";

/** The id of the collection {@link seedCatalog} adds. */
export const SEEDED_COLLECTION = "c-1";

/** Options for {@link seedCatalog}. */
export interface SeedOptions {
  /** The collection's kind (default `mixed`). */
  kind?: CollectionKind;
  /** The collection's name (default `X`). */
  name?: string;
}

/**
 * Adds source `s` (type `fake`) and its sync-enabled collection
 * {@link SEEDED_COLLECTION} to `db`.
 */
export function seedCatalog(db: DatabaseSync, options: SeedOptions = {}): void {
  const t = "2024-01-01T00:00:00.000Z";
  db.prepare(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) VALUES ('s', 'S', 'fake', '{}', ?, ?)",
  ).run(t, t);
  db.prepare(
    `INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES (?, 's', 'x', ?, ?, 1, ?, ?)`,
  ).run(SEEDED_COLLECTION, options.name ?? "X", options.kind ?? "mixed", t, t);
}

/** A fresh in-memory catalog seeded by {@link seedCatalog}. */
export function seededCatalog(options: SeedOptions = {}): DatabaseSync {
  const db = openMemoryDatabase();
  seedCatalog(db, options);
  return db;
}

/** An importer client (no filters declared) that streams `items` as one batch. */
export function itemsClient(items: readonly unknown[]): IngestClient {
  return {
    manifest: { typeId: "fake", displayName: "Fake", params: [], capabilities: { filters: {} } },
    async *fetchAssets() {
      await Promise.resolve();
      yield [...items];
    },
  };
}
