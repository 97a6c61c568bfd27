/**
 * Webhook payloads as the servers send them, for the webhook tests: Plex
 * Media Server's (its webhook documentation, and the Metadata fields of the
 * real captures in ../shared/reference/plex/), the Jellyfin webhook plugin's
 * data object (jellyfin-plugin-webhook `DataObjectHelpers`, as "Send All
 * Properties" posts it) and Emby's own (`Event` and a `BaseItemDto` `Item`).
 * The values are made up.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { WebhookChange, WebhookEvent } from "../sync/webhook_event.ts";

/** Asserts that a mapping asks for a change, and returns it. */
export function assertChange(event: WebhookEvent): WebhookChange {
  assert.equal(event.outcome, "change", JSON.stringify(event));
  if (event.outcome !== "change") throw new Error("unreachable");
  return event;
}

/** A Plex webhook payload around `metadata`, as the server sends it. */
export function plexPayload(event: string, metadata?: Record<string, unknown>): unknown {
  return {
    event,
    user: true,
    owner: true,
    Account: { id: 1, thumb: "https://plex.tv/users/5e1b6c2f/avatar?c=1700000000", title: "owner" },
    Server: { title: "Living Room NAS", uuid: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567" },
    ...(event.startsWith("media.")
      ? {
        Player: {
          local: true,
          publicAddress: "203.0.113.7",
          title: "Plex Web (Firefox)",
          uuid: "p8y2kq3n7v5xw1zr4t6u9m0c",
        },
      }
      : {}),
    ...(metadata ? { Metadata: metadata } : {}),
  };
}

/** Metadata of an episode, modelled on `/library/sections/{id}/all?type=4` items. */
export function plexEpisode(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    librarySectionType: "show",
    ratingKey: "45522",
    key: "/library/metadata/45522",
    parentRatingKey: "45521",
    grandparentRatingKey: "45520",
    guid: "plex://episode/5f68d2a93109960041ef8aed",
    parentGuid: "plex://season/602e7872c47d69002c8ce7b3",
    grandparentGuid: "plex://show/5e16253691c20300412003a8",
    librarySectionTitle: "TV Shows",
    librarySectionID: 2,
    librarySectionKey: "/library/sections/2",
    type: "episode",
    title: "The Bathroom",
    grandparentKey: "/library/metadata/45520",
    parentKey: "/library/metadata/45521",
    grandparentTitle: "Borderland",
    parentTitle: "Season 2",
    contentRating: "TV-MA",
    summary: "They hide, and the streets empty.",
    index: 3,
    parentIndex: 2,
    year: 2022,
    thumb: "/library/metadata/45522/thumb/1700000000",
    art: "/library/metadata/45520/art/1700000000",
    originallyAvailableAt: "2022-12-22",
    addedAt: 1700000000,
    updatedAt: 1700000100,
    ...overrides,
  };
}

/** The plugin's data object for an item event ("Send All Properties"). */
export function jellyfinPayload(
  notificationType: string,
  item: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ServerId: "8f3d7c0e2b5a4d6f9e1c3b5a7d9f1e3c",
    ServerName: "den",
    ServerVersion: "10.10.7",
    ServerUrl: "http://den.lan:8096",
    NotificationType: notificationType,
    Timestamp: "2030-01-01T12:00:00.0000000+01:00",
    UtcTimestamp: "2030-01-01T11:00:00.0000000Z",
    ...item,
  };
}

/** The item fields the plugin adds for an episode. */
export function jellyfinEpisode(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Name: "The Bathroom",
    Overview: "They hide, and the streets empty.",
    Tagline: "",
    ItemId: "5b2e9a7c1d3f4e6a8b0c2d4e6f8a0b1c",
    ItemType: "Episode",
    RunTimeTicks: 29115200000,
    RunTime: "00:48:31",
    Year: 2020,
    PremiereDate: "2022-12-22",
    Path: "/media/tv/Borderland (2020)/Season 02/Borderland - S02E03.mkv",
    SeriesName: "Borderland",
    SeriesId: "0c1d2e3f405162738495a6b7c8d9e0f1",
    SeasonId: "1a2b3c4d5e6f708192a3b4c5d6e7f809",
    SeriesPremiereDate: "2020-12-10",
    SeasonNumber: 2,
    SeasonNumber00: "02",
    SeasonNumber000: "002",
    EpisodeNumber: 3,
    EpisodeNumber00: "03",
    EpisodeNumber000: "003",
    Provider_tvdb: "8166012",
    Video_0_Title: "4K HEVC",
    Video_0_Codec: "hevc",
    Audio_0_Language: "jpn",
    ...overrides,
  };
}

/** Emby's own webhook body for an item event. */
export function embyPayload(event: string, item: Record<string, unknown>): Record<string, unknown> {
  return {
    Title: `${item.Name} on den`,
    Date: "2030-01-01T11:00:00.0000000Z",
    Event: event,
    Severity: "Info",
    Item: {
      ServerId: "5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a",
      Id: "812345",
      DateCreated: "2030-01-01T10:59:00.0000000Z",
      ...item,
    },
    Server: { Name: "den", Id: "5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a", Version: "4.8.10.0" },
  };
}
