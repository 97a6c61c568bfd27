/**
 * Finding a source or collection by what the operator typed (id or name),
 * with "did you mean" on a miss. Kept apart from `views.ts` so that commands
 * that only read the catalog (`asset list`, `ingest history`) load no
 * registry code.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import {
  type CollectionRecord,
  listCollections,
  listSources,
  resolveCollection,
  resolveSource,
  type SourceRecord,
} from "../core/catalog.ts";
import { RetrovueError } from "../core/errors.ts";
import { didYouMean } from "./suggest.ts";

/**
 * `resolveSource` (by id or exact name) whose `NOT_FOUND` names the closest
 * source name when there is one: `no source 'Livng room'; did you mean
 * 'Living room'? (run 'source list' to see the sources)`.
 */
export function findSource(db: DatabaseSync, selector: string): SourceRecord {
  try {
    return resolveSource(db, selector);
  } catch (error) {
    const hint = _notFound(error) && didYouMean(selector, listSources(db).map((s) => s.name));
    if (!hint) throw error;
    throw new RetrovueError(
      "NOT_FOUND",
      `no source '${selector}'${hint} (run 'source list' to see the sources)`,
    );
  }
}

/**
 * `resolveCollection` whose `NOT_FOUND` names the closest collection name,
 * like {@link findSource}, and whose `AMBIGUOUS` points at `--source` where
 * the command takes it (`sourceOption`, default true) and none was given.
 */
export function findCollection(
  db: DatabaseSync,
  selector: string,
  options: { sourceId?: string; sourceOption?: boolean } = {},
): CollectionRecord {
  try {
    return resolveCollection(db, selector, { sourceId: options.sourceId });
  } catch (error) {
    if (
      error instanceof RetrovueError && error.code === "AMBIGUOUS" &&
      options.sourceId === undefined && options.sourceOption !== false
    ) {
      throw new RetrovueError("AMBIGUOUS", `${error.message}, or name its source with --source`, {
        details: error.details,
      });
    }
    const names = () => listCollections(db, { sourceId: options.sourceId }).map((c) => c.name);
    const hint = _notFound(error) && didYouMean(selector, names());
    if (!hint) throw error;
    throw new RetrovueError(
      "NOT_FOUND",
      `no collection '${selector}'${hint} (run 'collection list' to see the collections)`,
    );
  }
}

function _notFound(error: unknown): boolean {
  return error instanceof RetrovueError && error.code === "NOT_FOUND";
}
