/**
 * The vocabulary shared by the parts of `retrovue sync`: the schedule, the
 * filesystem watcher and the webhook server all produce {@linkcode SyncRequest}s
 * and hand them to the sync loop through an {@linkcode Enqueue}; every part
 * reports what it did through a {@linkcode SyncLog}.
 *
 * @module
 */
import type { AssetFilters } from "../core/contract.ts";

/** One ingest the sync loop should run: a collection, narrowed by filters ({} = full). */
export interface SyncRequest {
  /** The collection to ingest. */
  collectionId: string;
  /** The scope of the ingest; `{}` is a full ingest of the collection. */
  filters: AssetFilters;
  /** Why, for the log line: "schedule", "watch: 3 files under Show/Season 02", "plex library.new". */
  reason: string;
}

/** Hands a request to the sync loop, which coalesces it with pending ones. */
export type Enqueue = (request: SyncRequest) => void;

/** One log line per action (the sync command prints it with a timestamp). */
export type SyncLog = (line: string) => void;
