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
 *   and `IndexNumber` (an episode's number, or a season's). Emby posts it
 *   as the body ("application/json") or in the form field `data`
 *   ("multipart/form-data").
 *
 * Neither payload reliably names the library, so a change reaches every
 * collection of the source whose kind can hold the item (`webhooks.ts`);
 * where the item is not, the targeted ingest matches nothing and the sync
 * loop logs that as a no-op.
 *
 * Scopes: an added item as in `plex_webhook.ts` (episode → show and season,
 * season → show and season, series → show, movie → title). A deleted item
 * asks for a full ingest of the collections that can hold it: only a full
 * ingest removes anything (a targeted one never does), and the removal
 * guard checks it like any other.
 *
 * @module
 */

import {
  MOVIE_KINDS,
  seasonLabel,
  SHOW_KINDS,
  showScope,
  type WebhookEvent,
  webhookNumber,
  webhookText,
} from "./webhook_event.ts";

/** The form field Emby's webhooks put the JSON in when set to multipart/form-data. */
export const EMBY_FORM_FIELD = "data";

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
  const { event } = item;
  const type = item.type?.toLowerCase();
  const kinds = type === "movie" ? MOVIE_KINDS : SHOW_KINDS;
  if (type !== "episode" && type !== "season" && type !== "series" && type !== "movie") {
    return {
      outcome: "ignored",
      event,
      why: item.type === undefined
        ? "no 'ItemType'; add it to the webhook's template"
        : `an item of type ${item.type}; only movies and shows are imported`,
    };
  }
  if (item.change === "deleted") {
    return {
      outcome: "change",
      event,
      filters: {},
      kinds,
      what: `${_describe(type, item)} → the whole library (only a full ingest removes)`,
    };
  }
  const title = type === "episode" || type === "season" ? item.series : item.name;
  if (title === undefined) {
    const field = type === "episode" || type === "season" ? "SeriesName" : "Name";
    return {
      outcome: "ignored",
      event,
      why: `an item of type ${item.type} without '${field}'; add it to the webhook's template`,
    };
  }
  if (type === "movie") {
    return { outcome: "change", event, filters: { title }, kinds, what: _describe(type, item) };
  }
  const { filters, scope } = showScope(title, type === "series" ? undefined : item.season);
  return { outcome: "change", event, filters, kinds, what: `${_describe(type, item)} → ${scope}` };
}

/** `episode 'Show' S02E03`, `season 'Show' S02`, `show 'Show'`, `movie 'Title' (1999)`. */
function _describe(type: "episode" | "season" | "series" | "movie", item: _Item): string {
  const quoted = (text: string | undefined) => (text === undefined ? "" : ` '${text}'`);
  switch (type) {
    case "episode":
    case "season": {
      const number = item.season === undefined
        ? ""
        : ` ${seasonLabel(item.season, type === "episode" ? item.episode : undefined)}`;
      return `${type}${quoted(item.series)}${number}`;
    }
    case "series":
      return `show${quoted(item.name)}`;
    case "movie":
      return `movie${quoted(item.name)}${item.year === undefined ? "" : ` (${item.year})`}`;
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
