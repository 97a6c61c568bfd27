/**
 * `retrovue sync`: keeps the catalog current by itself. The schedule
 * (`./schedule.ts`), the filesystem watcher (`./watch.ts`) and the webhooks
 * (`./webhooks.ts`) turn what happened into {@link SyncRequest}s; the loop
 * (`./loop.ts`) coalesces them and runs one ingest at a time per source,
 * recording each outcome (`./status.ts`); the lock (`./lock.ts`) keeps it to
 * one sync per catalog. `./settings.ts` is the light half (intervals and
 * webhook secrets) for commands that must start fast. See `docs/sync.md`.
 *
 * @module
 */

export type { Enqueue, SyncLog, SyncRequest } from "./types.ts";
export {
  createSyncLoop,
  describeScope,
  type IngestOutcome,
  MAX_TARGETED_RETRIES,
  retryDelaySeconds,
  type RunIngest,
  scopeCovers,
  type SyncLoop,
  type SyncLoopOptions,
  type SyncOutcome,
} from "./loop.ts";
export {
  backoffSeconds,
  dueCollections,
  nextDueAfterSuccess,
  type ScheduledCollection,
  scheduledCollections,
} from "./schedule.ts";
export * from "./settings.ts";
export { sleepUnlessAborted } from "./sleep.ts";
export {
  type FinishedRun,
  recordFinished,
  type SyncResult,
  syncStatus,
  type SyncStatusEntry,
} from "./status.ts";
export {
  DEFAULT_DEBOUNCE_MS,
  planBurst,
  scopeOfPath,
  type WatchedCollection,
  watchedCollections,
  type WatchOptions,
  watchRoots,
} from "./watch.ts";
export {
  acquireSyncLock,
  type SyncLock,
  type SyncLockHolder,
  syncLockHolder,
  syncLockPath,
} from "./lock.ts";
export {
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  WEBHOOK_SOURCE_TYPES,
  webhookHandler,
  type WebhookHandlerOptions,
} from "./webhooks.ts";
