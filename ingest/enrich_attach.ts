/**
 * Which enrichers a collection runs: the `collection_enrichers` rows, each a
 * type id with a priority and a config keyed by param name.
 *
 * Enrichers run in ascending priority (then type id): the first result for a
 * field wins, so a lower number is the more trusted enricher.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import type { EnricherConfig } from "../core/enricher_contract.ts";
import { RetrovueError } from "../core/errors.ts";

/** One enricher attached to a collection. */
export interface AttachedEnricher {
  /** The enricher's type id (e.g. `ffprobe`). */
  typeId: string;
  /** Run order: lower first. */
  priority: number;
  /** The operator's config, keyed by param name (run paths resolved when the run starts). */
  config: EnricherConfig;
  /** When it was attached (ISO-8601 UTC). */
  createdAt: string;
}

/**
 * The enrichers attached to a collection, in run order.
 *
 * @example
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { listAttachedEnrichers } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * for (const e of listAttachedEnrichers(db, "c-0123456789")) console.log(e.priority, e.typeId);
 * ```
 */
export function listAttachedEnrichers(db: DatabaseSync, collectionId: string): AttachedEnricher[] {
  const rows = db.prepare(
    `SELECT type_id, priority, config, created_at FROM collection_enrichers
     WHERE collection_id = ? ORDER BY priority, type_id`,
  ).all(collectionId);
  return rows.map((r) => ({
    typeId: String(r.type_id),
    priority: Number(r.priority),
    config: _config(r.config),
    createdAt: String(r.created_at),
  }));
}

/** Options for {@link attachEnricher}. */
export interface AttachOptions {
  /** Run order (default 0; lower first). An attached enricher keeps its own unless given. */
  priority?: number;
  /** Config keyed by param name (default `{}`). */
  config?: EnricherConfig;
  /** The clock. */
  now?: () => Date;
}

/**
 * Attaches an enricher to a collection, or updates the priority and config
 * of one already attached. Returns whether it was newly attached.
 *
 * @example ffprobe first, with the executable the operator chose
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { attachEnricher } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const added = attachEnricher(db, { collectionId: "c-0123456789", typeId: "ffprobe" }, {
 *   priority: 0,
 *   config: { ffprobe: "/usr/bin/ffprobe" },
 * });
 * console.log(added ? "attached" : "updated");
 * ```
 */
export function attachEnricher(
  db: DatabaseSync,
  target: { collectionId: string; typeId: string },
  options: AttachOptions = {},
): boolean {
  const now = (options.now ?? (() => new Date()))().toISOString();
  const existing = db.prepare(
    "SELECT priority, config FROM collection_enrichers WHERE collection_id = ? AND type_id = ?",
  ).get(target.collectionId, target.typeId);
  if (existing) {
    db.prepare(
      "UPDATE collection_enrichers SET priority = ?, config = ? WHERE collection_id = ? AND type_id = ?",
    ).run(
      options.priority ?? Number(existing.priority),
      JSON.stringify(options.config ?? _config(existing.config)),
      target.collectionId,
      target.typeId,
    );
    return false;
  }
  db.prepare(
    `INSERT INTO collection_enrichers (collection_id, type_id, priority, config, created_at)
     VALUES (?, ?, ?, ?, ?)`,
  ).run(
    target.collectionId,
    target.typeId,
    options.priority ?? 0,
    JSON.stringify(options.config ?? {}),
    now,
  );
  return true;
}

/**
 * Detaches an enricher; throws `NOT_FOUND` when it is not attached.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { detachEnricher } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const target = { collectionId: "c-0123456789", typeId: "ffprobe" };
 * assert.throws(() => detachEnricher(db, target), { code: "NOT_FOUND" });
 * ```
 */
export function detachEnricher(
  db: DatabaseSync,
  target: { collectionId: string; typeId: string },
): void {
  const result = db.prepare(
    "DELETE FROM collection_enrichers WHERE collection_id = ? AND type_id = ?",
  ).run(target.collectionId, target.typeId);
  if (Number(result.changes) === 0) {
    throw new RetrovueError(
      "NOT_FOUND",
      `enricher '${target.typeId}' is not attached to this collection`,
      { details: { typeId: target.typeId } },
    );
  }
}

function _config(text: unknown): EnricherConfig {
  try {
    const value = JSON.parse(String(text));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/**
 * Which enricher new collections of an importer type get at discovery: a
 * folder on disk reports no durations, so `filesystem` collections get the
 * built-in `ffprobe` enricher, when ffprobe is found.
 */
export const DEFAULT_ENRICHERS: Readonly<Record<string, { typeId: string; executable: string }>> = {
  filesystem: { typeId: "ffprobe", executable: "ffprobe" },
};

/**
 * Attaches the default enricher of `importerType` (see
 * {@link DEFAULT_ENRICHERS}) to newly discovered collections when
 * `isAvailable(executable)` says its executable is here. Collections already
 * known are left alone (the operator may have removed it). Returns the type
 * id attached, if any.
 *
 * @example After a discovery added collections
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { findOnPath } from "../registry/mod.ts";
 * import { attachDefaultEnrichers } from "./mod.ts";
 *
 * const db = openMemoryDatabase();
 * const attached = attachDefaultEnrichers(db, [{ id: "c-0123456789" }], {
 *   importerType: "filesystem",
 *   isAvailable: (executable) => findOnPath(executable, Deno.env.get("PATH")) !== undefined,
 * });
 * if (attached) console.log(`attached ${attached}`);
 * ```
 */
export function attachDefaultEnrichers(
  db: DatabaseSync,
  added: readonly { id: string }[],
  options: {
    importerType: string;
    isAvailable: (executable: string) => boolean;
    now?: () => Date;
  },
): string | undefined {
  const chosen = DEFAULT_ENRICHERS[options.importerType];
  if (!chosen || added.length === 0 || !options.isAvailable(chosen.executable)) return undefined;
  for (const c of added) {
    attachEnricher(db, { collectionId: c.id, typeId: chosen.typeId }, { now: options.now });
  }
  return chosen.typeId;
}
