/**
 * Plex webhooks → what the catalog should ingest.
 *
 * Plex Media Server posts each event as `multipart/form-data` with the event
 * as JSON in the `payload` field (and, for some events, a JPEG in a `thumb`
 * file part, which is ignored). Of its events only `library.new` means the
 * library changed: playback (`media.*`, `playback.started`), ratings, on-deck
 * changes (they follow viewing) and server or device notices do not. Plex
 * sends no event when something is deleted; the scheduled full ingest finds
 * those.
 *
 * `Metadata` names the item and its library (`librarySectionID`, which is a
 * Plex collection's external id, see `importers/plex/_map.ts`). The scope is
 * the narrowest that covers the item: an episode → its show and season, a
 * season → show and season, a show → the show, a movie → its title. An
 * episode asks for its season rather than itself because a season arriving
 * sends one event per episode, and equal scopes coalesce into one ingest in
 * the sync loop; the Plex importer fetches a show's episodes in the same
 * requests either way. An item without the fields to scope it becomes a
 * full ingest of its library, so that a change is never missed.
 *
 * @module
 */

import {
  MOVIE_KINDS,
  seasonLabel,
  SHOW_KINDS,
  showScope,
  type WebhookEvent,
  webhookId,
  webhookNumber,
  webhookText,
} from "./webhook_event.ts";

/** The one Plex event that means the library has something new. */
export const PLEX_CHANGE_EVENT = "library.new";

/** The form field of Plex's multipart body that holds the JSON payload. */
export const PLEX_FORM_FIELD = "payload";

/** Maps a Plex webhook payload (the parsed `payload` field) to what it asks of the catalog. */
export function mapPlexWebhook(payload: unknown): WebhookEvent {
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return { outcome: "malformed", why: "the payload is not a JSON object" };
  }
  const p = payload as Record<string, unknown>;
  const event = webhookText(p.event);
  if (event === undefined) return { outcome: "malformed", why: "the payload has no 'event'" };
  if (event !== PLEX_CHANGE_EVENT) {
    return { outcome: "ignored", event, why: _whyIgnored(event) };
  }
  const meta = p.Metadata;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    return { outcome: "malformed", why: `${event} without 'Metadata'` };
  }
  return _mapItem(event, meta as Record<string, unknown>);
}

function _mapItem(event: string, m: Record<string, unknown>): WebhookEvent {
  const type = webhookText(m.type);
  const libraryId = _libraryId(m);
  const base = { outcome: "change" as const, event, ...(libraryId ? { libraryId } : {}) };
  const full = (what: string, kinds: typeof SHOW_KINDS) => ({
    ...base,
    filters: {},
    kinds,
    what: `${what} without the fields to scope it: the whole library`,
  });
  switch (type) {
    case "episode": {
      const show = webhookText(m.grandparentTitle);
      if (show === undefined) return full("an episode", SHOW_KINDS);
      const season = webhookNumber(m.parentIndex);
      const episode = season === undefined ? undefined : webhookNumber(m.index);
      const { filters, scope } = showScope(show, season);
      const item = season === undefined
        ? `episode '${show}'`
        : `episode '${show}' ${seasonLabel(season, episode)}`;
      return { ...base, filters, kinds: SHOW_KINDS, what: `${item} → ${scope}` };
    }
    case "season": {
      const show = webhookText(m.parentTitle);
      if (show === undefined) return full("a season", SHOW_KINDS);
      const { filters, scope } = showScope(show, webhookNumber(m.index));
      return { ...base, filters, kinds: SHOW_KINDS, what: scope };
    }
    case "show": {
      const show = webhookText(m.title);
      if (show === undefined) return full("a show", SHOW_KINDS);
      return { ...base, filters: { title: show }, kinds: SHOW_KINDS, what: `show '${show}'` };
    }
    case "movie": {
      const title = webhookText(m.title);
      if (title === undefined) return full("a movie", MOVIE_KINDS);
      const year = webhookNumber(m.year);
      const what = `movie '${title}'${year === undefined ? "" : ` (${year})`}`;
      return { ...base, filters: { title }, kinds: MOVIE_KINDS, what };
    }
    default:
      return {
        outcome: "ignored",
        event,
        why: `a Plex ${type ?? "untyped"} item; only movies and shows are imported`,
      };
  }
}

/** `librarySectionID` (a number in real payloads), else the key in `librarySectionKey`. */
function _libraryId(m: Record<string, unknown>): string | undefined {
  const id = webhookId(m.librarySectionID);
  if (id !== undefined) return id;
  const key = webhookText(m.librarySectionKey);
  return key?.match(/^\/library\/sections\/([^/]+)$/)?.[1];
}

function _whyIgnored(event: string): string {
  if (event.startsWith("media.") || event.startsWith("playback.")) {
    return "playback, not a library change";
  }
  if (event === "library.on.deck") return "on-deck changes follow viewing, not the library";
  if (event.startsWith("admin.") || event.startsWith("device.")) {
    return "a server notice, not a library change";
  }
  return "not an event that changes the library";
}
