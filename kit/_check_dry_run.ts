/**
 * The dry-run item: a dry-run ingest into a temporary database writes nothing.
 *
 * @module
 */

import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { insertSource, setSyncEnabled, upsertDiscoveredCollections } from "../core/catalog.ts";
import { secretValues } from "../core/config.ts";
import type { ImporterConfig } from "../core/contract.ts";
import { openDatabase } from "../core/db.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import type { ImporterClient, ImporterTypeInfo, ValidCollectionInfo } from "../registry/mod.ts";
import type { CheckOutcome } from "./_report.ts";

/** Every row of every table, sorted, as one string. */
function _dump(db: DatabaseSync): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all().map((r) => String(r.name));
  return tables.map((t) => {
    const rows = db.prepare(`SELECT * FROM "${t}"`).all()
      .map((r) => JSON.stringify(r, (_k, v) => typeof v === "bigint" ? String(v) : v)).sort();
    return `# ${t}\n${rows.join("\n")}`;
  }).join("\n");
}

/**
 * The `dry_run` item: a dry-run ingest of `target` into a temporary catalog
 * must classify the assets and leave every table as it was.
 */
export async function checkDryRun(state: {
  client: ImporterClient;
  info: Extract<ImporterTypeInfo, { status: "available" }>;
  config: ImporterConfig;
  collections: ValidCollectionInfo[];
  target: ValidCollectionInfo;
}): Promise<CheckOutcome> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-check-" });
  try {
    const db = openDatabase(join(dir, "check.db"));
    try {
      const source = insertSource(db, {
        name: "importer check",
        typeId: state.info.typeId,
        config: state.config,
      });
      const found = upsertDiscoveredCollections(db, source.id, { found: state.collections });
      const collection = found.added.find((c) => c.externalId === state.target.externalId)!;
      setSyncEnabled(db, collection.id, { enabled: true });
      const before = _dump(db);
      const result = await ingestCollection(db, {
        client: state.client,
        collection: collection.id,
        dryRun: true,
        secrets: secretValues(state.info.manifest.params, state.config),
      });
      const after = _dump(db);
      if (before !== after) {
        return ["fail", "the dry-run ingest changed the database"];
      }
      return [
        "pass",
        `a dry-run ingest classified ${result.stats.new} new and ${result.stats.invalid} ` +
        "invalid asset(s) and wrote nothing",
      ];
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}
