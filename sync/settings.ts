/**
 * The light half of the sync face: the settings a source or collection
 * carries for `retrovue sync`, read and changed without starting it. How
 * often each is ingested (`--sync-every`) and the source's webhook secret.
 *
 * `source …` and `collection …` commands import this module instead of
 * `mod.ts`: it loads neither the sync loop nor the ingest, so they start
 * fast. `mod.ts` re-exports all of it.
 *
 * @example Ingest a source every six hours
 * ```ts
 * import { openMemoryDatabase } from "../core/db.ts";
 * import { formatInterval, parseInterval, setSourceInterval } from "./settings.ts";
 *
 * const db = openMemoryDatabase();
 * const seconds = parseInterval("6h");
 * setSourceInterval(db, { sourceId: "plex-1a2b3c4d", seconds });
 * console.log(seconds === null ? "off" : formatInterval(seconds)); // "6h"
 * ```
 *
 * @module
 */

export {
  effectiveInterval,
  formatInterval,
  intervalsOf,
  parseCollectionInterval,
  parseInterval,
  setCollectionInterval,
  setSourceInterval,
  sourceInterval,
} from "./schedule.ts";
export {
  checkWebhookSecret,
  hasWebhookSecret,
  newWebhookSecret,
  WEBHOOK_SECRET_HEADER,
} from "./webhook_secret.ts";
