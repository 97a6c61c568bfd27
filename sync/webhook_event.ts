/**
 * What a media server's webhook asks of the catalog, before it is matched to
 * collections: the vocabulary `plex_webhook.ts` and `jellyfin_webhook.ts`
 * map payloads into, and `webhooks.ts` turns into sync requests.
 *
 * Mapping a payload is pure (no catalog, no I/O), so each server's quirks are
 * tested with payloads alone; which collections an event reaches is decided
 * in one place for every server.
 *
 * @module
 */

import type { AssetFilters, CollectionKind } from "../core/contract.ts";

/** A payload that names a change the catalog should pick up. */
export interface WebhookChange {
  /** Discriminant. */
  outcome: "change";
  /** The event as the server named it (`library.new`, `ItemAdded`). */
  event: string;
  /** The narrowest scope that covers the change; `{}` is a full ingest. */
  filters: AssetFilters;
  /** The kinds of collection that can hold the item. */
  kinds: readonly CollectionKind[];
  /** The upstream library's id (a collection's external id), when the payload names it. */
  libraryId?: string;
  /** What changed, for the log line: `episode 'Show' S02E03`. */
  what: string;
}

/** A well-formed payload that asks for nothing (playback, a music item, …). */
export interface WebhookIgnored {
  /** Discriminant. */
  outcome: "ignored";
  /** The event as the server named it. */
  event: string;
  /** Why nothing is done, for the log line. */
  why: string;
}

/** A payload that is not what the server's webhook sends (answered 400). */
export interface WebhookMalformed {
  /** Discriminant. */
  outcome: "malformed";
  /** What is wrong, for the log line (never the payload itself). */
  why: string;
}

/** What one webhook payload means. */
export type WebhookEvent = WebhookChange | WebhookIgnored | WebhookMalformed;

/** Collection kinds that hold shows (episodes). */
export const SHOW_KINDS: readonly CollectionKind[] = ["shows", "mixed"];

/** Collection kinds that hold movies. */
export const MOVIE_KINDS: readonly CollectionKind[] = ["movies", "mixed"];

/** Longest text taken from a payload field; longer values are not titles. */
const MAX_FIELD_CHARS = 1000;

/** A payload field as trimmed, non-empty text, or undefined. */
export function webhookText(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  return text === "" || text.length > MAX_FIELD_CHARS ? undefined : text;
}

/** An id field (a library's), which servers send as a number or as text. */
export function webhookId(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : undefined;
  return webhookText(value);
}

/**
 * A payload field as a season or episode number: a non-negative integer or
 * its decimal text (`2`, `"02"`, as templates render them), else undefined.
 */
export function webhookNumber(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  }
  if (typeof value !== "string" || !/^\s*\d{1,6}\s*$/.test(value)) return undefined;
  return Number(value.trim());
}

/** `S02`, `S02E03`: how the log lines name seasons and episodes. */
export function seasonLabel(season: number, episode?: number): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return episode === undefined ? `S${two(season)}` : `S${two(season)}E${two(episode)}`;
}

/**
 * The scope for an item of a show: its season when the season is known,
 * else the whole show.
 */
export function showScope(
  title: string,
  season: number | undefined,
): { filters: AssetFilters; scope: string } {
  return season === undefined
    ? { filters: { title }, scope: `show '${title}'` }
    : { filters: { title, season }, scope: `season '${title}' ${seasonLabel(season)}` };
}
