/**
 * Jellyfin and Emby webhooks → what the catalog should ingest.
 *
 * Two JSON shapes are understood:
 *
 * - The Jellyfin webhook plugin (`jellyfin-plugin-webhook`), a "Generic"
 *   destination with "Send All Properties" or a template that renders its
 *   fields: `NotificationType` (`ItemAdded`, `ItemDeleted`, `PlaybackStart`…),
 *   `ItemType` (`Episode`, `Season`, `Series`, `Movie`…), `Name`,
 *   `SeriesName`, `SeasonNumber` (or `SeasonNumber00`), `EpisodeNumber` (or
 *   `EpisodeNumber00`), `Year`, `ItemId`, `ServerId`. Templates may render
 *   numbers as text and keys in any case; both are accepted.
 * - Emby's own webhooks (Emby Server 4.7+): `Event` (`library.new`,
 *   `library.deleted`, `playback.start`…) and `Item`, a `BaseItemDto` with
 *   `Type`, `Name`, `SeriesName`, `ParentIndexNumber` (an episode's season)
 *   and `IndexNumber` (an episode's number, or a season's).
 *
 * Neither payload reliably names the library, so a change reaches every
 * collection of the source whose kind can hold the item (`webhooks.ts`);
 * where the item is not, the targeted ingest matches nothing and the sync
 * loop logs that as a no-op.
 *
 * Scopes: an added item as in `plex_webhook.ts` (episode → show and season,
 * season → show and season, series → show, movie → title). A deleted item
 * is looked for one level wider, because a targeted ingest of a scope that
 * is now empty matches nothing and removes nothing: a deleted episode → its
 * season, a deleted season → its show, a deleted series or movie → a full
 * ingest of the library (the removal guard still applies).
 *
 * @module
 */

import type { AssetFilters, CollectionKind } from "../core/contract.ts";
import {
  MOVIE_KINDS,
  seasonLabel,
  SHOW_KINDS,
  showScope,
  type WebhookEvent,
  webhookNumber,
  webhookText,
} from "./webhook_event.ts";

/** Jellyfin webhook plugin notification types that mean an item was added. */
const JELLYFIN_ADDED = "itemadded";
/** Jellyfin webhook plugin notification types that mean an item was deleted. */
const JELLYFIN_DELETED = "itemdeleted";
/** Emby events that mean an item was added or deleted. */
const EMBY_ADDED = "library.new";
const EMBY_DELETED = "library.deleted";

/** One item, read from either shape. */
interface _Item {
  event: string;
  change: "added" | "deleted" | undefined;
  type: string | undefined;
  name: string | undefined;
  series: string | undefined;
  season: number | undefined;
  episode: number | undefined;
  year: number | undefined;
}

/**
 * Maps a Jellyfin webhook plugin or Emby webhook payload (parsed JSON) to
 * what it asks of the catalog.
 */
export function mapJellyfinWebhook(payload: unknown): WebhookEvent {
  const p = _fields(payload);
  if (!p) return { outcome: "malformed", why: "the payload is not a JSON object" };
  const item = _embyItem(p) ?? _pluginItem(p);
  if (!item) {
    return {
      outcome: "malformed",
      why: "neither a Jellyfin webhook plugin payload ('NotificationType') nor an Emby one " +
        "('Event' and 'Item')",
    };
  }
  if (!item.change) {
    return { outcome: "ignored", event: item.event, why: "not an item added or deleted" };
  }
  return _map(item);
}

function _map(item: _Item): WebhookEvent {
  const { event, change } = item;
  const deleted = change === "deleted";
  const type = item.type?.toLowerCase();
  const base = { outcome: "change" as const, event };
  const needs = (field: string) => ({
    outcome: "ignored" as const,
    event,
    why: `an item of type ${item.type} without '${field}'; add it to the webhook's template`,
  });
  const library = (what: string, kinds: readonly CollectionKind[]) => ({
    ...base,
    filters: {},
    kinds,
    what: `${what} → the whole library`,
  });
  const scoped = (what: string, filters: AssetFilters, scope: string) => ({
    ...base,
    filters,
    kinds: SHOW_KINDS,
    what: `${what} → ${scope}`,
  });
  switch (type) {
    case "episode": {
      if (item.series === undefined) return needs("SeriesName");
      const label = item.season === undefined ? "" : ` ${seasonLabel(item.season, item.episode)}`;
      const { filters, scope } = showScope(item.series, item.season);
      return scoped(`${change} episode '${item.series}'${label}`, filters, scope);
    }
    case "season": {
      if (item.series === undefined) return needs("SeriesName");
      const label = item.season === undefined ? "" : ` ${seasonLabel(item.season)}`;
      const what = `${change} season '${item.series}'${label}`;
      if (deleted) return scoped(what, { title: item.series }, `show '${item.series}'`);
      const { filters, scope } = showScope(item.series, item.season);
      return scoped(what, filters, scope);
    }
    case "series": {
      if (item.name === undefined) return needs("Name");
      const what = `${change} show '${item.name}'`;
      if (deleted) return library(what, SHOW_KINDS);
      return scoped(what, { title: item.name }, `show '${item.name}'`);
    }
    case "movie": {
      if (item.name === undefined) return needs("Name");
      const year = item.year === undefined ? "" : ` (${item.year})`;
      const what = `${change} movie '${item.name}'${year}`;
      if (deleted) return library(what, MOVIE_KINDS);
      return { ...base, filters: { title: item.name }, kinds: MOVIE_KINDS, what };
    }
    default:
      return {
        outcome: "ignored",
        event,
        why: item.type === undefined
          ? "no 'ItemType'; add it to the webhook's template"
          : `an item of type ${item.type}; only movies and shows are imported`,
      };
  }
}

/** Emby: `Event` and `Item` (a BaseItemDto). */
function _embyItem(p: Map<string, unknown>): _Item | undefined {
  const event = webhookText(p.get("event"));
  const raw = _fields(p.get("item"));
  if (event === undefined || !raw) return undefined;
  const type = webhookText(raw.get("type"));
  const isSeason = type?.toLowerCase() === "season";
  const lower = event.toLowerCase();
  return {
    event,
    change: lower === EMBY_ADDED ? "added" : lower === EMBY_DELETED ? "deleted" : undefined,
    type,
    name: webhookText(raw.get("name")),
    series: webhookText(raw.get("seriesname")),
    season: webhookNumber(raw.get(isSeason ? "indexnumber" : "parentindexnumber")),
    episode: isSeason ? undefined : webhookNumber(raw.get("indexnumber")),
    year: webhookNumber(raw.get("productionyear")),
  };
}

/** The Jellyfin webhook plugin's flat data object. */
function _pluginItem(p: Map<string, unknown>): _Item | undefined {
  const event = webhookText(p.get("notificationtype"));
  if (event === undefined) return undefined;
  const lower = event.toLowerCase();
  return {
    event,
    change: lower === JELLYFIN_ADDED ? "added" : lower === JELLYFIN_DELETED ? "deleted" : undefined,
    type: webhookText(p.get("itemtype")),
    name: webhookText(p.get("name")),
    series: webhookText(p.get("seriesname")),
    season: webhookNumber(p.get("seasonnumber")) ?? webhookNumber(p.get("seasonnumber00")),
    episode: webhookNumber(p.get("episodenumber")) ?? webhookNumber(p.get("episodenumber00")),
    year: webhookNumber(p.get("year")),
  };
}

/** An object's fields by lower-case key (the plugin's keys are case-insensitive). */
function _fields(value: unknown): Map<string, unknown> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const out = new Map<string, unknown>();
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (!out.has(lower)) out.set(lower, v);
  }
  return out;
}
