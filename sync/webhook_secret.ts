/**
 * Per-source webhook secrets: the shared value a Plex or Jellyfin server
 * presents with each webhook so that `retrovue sync --listen` can tell its
 * events from anyone else's.
 *
 * A secret is 32 random bytes, base64url-encoded, shown to the operator once
 * (`source update S --webhook-secret new`). The catalog keeps only its
 * SHA-256 (`sources.webhook_secret_hash`, hex), so a copy of the catalog file
 * does not let anyone post events. Checking compares the SHA-256 of what was
 * presented with the stored one in constant time: both are always 32 bytes,
 * so neither the length nor the position of a difference shows in the time.
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { RetrovueError } from "../core/errors.ts";
import { sha256Hex } from "../core/sha256.ts";

/** The header that carries the secret (else the `secret` query parameter). */
export const WEBHOOK_SECRET_HEADER = "X-Retrovue-Secret";

/** How many random bytes a secret holds (256 bits). */
export const WEBHOOK_SECRET_BYTES = 32;

/** Options for {@link newWebhookSecret}. */
export interface NewWebhookSecretOptions {
  /** Fills the buffer with random bytes; `crypto.getRandomValues` by default (tests pass their own). */
  random?: (bytes: Uint8Array) => void;
}

/**
 * Generates a new webhook secret for `sourceId`, stores only its SHA-256
 * (replacing any earlier secret, which stops working at once) and returns
 * the secret, which the caller shows once and must never log. Throws
 * `NOT_FOUND` for an unknown source.
 */
export function newWebhookSecret(
  db: DatabaseSync,
  sourceId: string,
  options: NewWebhookSecretOptions = {},
): string {
  const bytes = new Uint8Array(WEBHOOK_SECRET_BYTES);
  (options.random ?? ((b: Uint8Array) => crypto.getRandomValues(b)))(bytes);
  const secret = _base64url(bytes);
  const changed = db.prepare("UPDATE sources SET webhook_secret_hash = ? WHERE id = ?")
    .run(sha256Hex(secret), sourceId).changes;
  if (Number(changed) === 0) {
    throw new RetrovueError("NOT_FOUND", `no source with id '${sourceId}'`);
  }
  return secret;
}

/**
 * Whether `options.presented` is the current webhook secret of `sourceId`. False for
 * an unknown source, a source without a secret, and an empty presentation.
 * The comparison of the digests takes the same time wherever they differ.
 */
export function checkWebhookSecret(
  db: DatabaseSync,
  sourceId: string,
  options: { presented: string },
): boolean {
  const { presented } = options;
  const row = db.prepare("SELECT webhook_secret_hash AS hash FROM sources WHERE id = ?")
    .get(sourceId) as { hash: string | null } | undefined;
  const stored = row?.hash;
  if (typeof stored !== "string" || !/^[0-9a-f]{64}$/.test(stored)) return false;
  // Hash even an empty presentation, so that it costs what any other does.
  const equal = _constantTimeEqual(_hexBytes(stored), _hexBytes(sha256Hex(presented)));
  return equal && presented !== "";
}

/** Whether `sourceId` has a webhook secret set (for `source show`; never reveals it). */
export function hasWebhookSecret(db: DatabaseSync, sourceId: string): boolean {
  const row = db.prepare("SELECT webhook_secret_hash AS hash FROM sources WHERE id = ?")
    .get(sourceId) as { hash: string | null } | undefined;
  return typeof row?.hash === "string" && row.hash !== "";
}

function _hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Compares two byte strings touching every byte, whatever differs where. */
function _constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function _base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
