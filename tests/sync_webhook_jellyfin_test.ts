/**
 * Jellyfin webhook plugin and Emby webhook payloads → scopes. The plugin's
 * payloads carry the keys its data object has (jellyfin-plugin-webhook,
 * `DataObjectHelpers`: `NotificationType`, `ItemType`, `Name`, `SeriesName`,
 * `SeasonNumber`, `SeasonNumber00`, `EpisodeNumber`, …) as "Send All
 * Properties" sends them, or as a hand-written template renders them; Emby's
 * carry `Event` and a `BaseItemDto` `Item`.
 */

import assert from "node:assert/strict";
import { mapJellyfinWebhook } from "../sync/jellyfin_webhook.ts";
import {
  assertChange,
  embyPayload,
  jellyfinEpisode,
  jellyfinPayload,
} from "./_sync_webhook_payloads.ts";

Deno.test("ItemAdded episode → its show and season, in every show collection (no library id)", () => {
  const e = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemAdded", jellyfinEpisode())));
  assert.equal(e.event, "ItemAdded");
  assert.deepEqual(e.filters, { title: "Borderland", season: 2 });
  assert.equal(e.libraryId, undefined);
  assert.deepEqual([...e.kinds], ["shows", "mixed"]);
  assert.match(e.what, /^episode 'Borderland' S02E03 → season 'Borderland' S02$/);
});

Deno.test("a template's text numbers, padded numbers and lower-case keys are read alike", () => {
  const templated = {
    notificationType: "ItemAdded",
    itemType: "Episode",
    seriesName: "Borderland",
    seasonNumber00: "02",
    episodeNumber00: "03",
  };
  const e = assertChange(mapJellyfinWebhook(templated));
  assert.deepEqual(e.filters, { title: "Borderland", season: 2 });

  const text = assertChange(
    mapJellyfinWebhook(jellyfinPayload("ItemAdded", jellyfinEpisode({ SeasonNumber: "0" }))),
  );
  assert.deepEqual(text.filters, { title: "Borderland", season: 0 });
});

Deno.test("ItemAdded season → show and season; series → the show; movie → its title", () => {
  const season = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemAdded", {
    Name: "Season 3",
    ItemId: "7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b",
    ItemType: "Season",
    SeriesName: "Borderland",
    SeriesId: "0c1d2e3f405162738495a6b7c8d9e0f1",
    SeasonNumber: 3,
    SeasonNumber00: "03",
    Year: 2020,
  })));
  assert.deepEqual(season.filters, { title: "Borderland", season: 3 });

  const series = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemAdded", {
    Name: "Borderland",
    ItemId: "0c1d2e3f405162738495a6b7c8d9e0f1",
    ItemType: "Series",
    Year: 2020,
  })));
  assert.deepEqual(series.filters, { title: "Borderland" });

  const movie = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemAdded", {
    Name: "The Long Walk",
    ItemId: "2f3e4d5c6b7a89012f3e4d5c6b7a8901",
    ItemType: "Movie",
    Year: 1999,
    Provider_imdb: "tt0000001",
  })));
  assert.deepEqual(movie.filters, { title: "The Long Walk" });
  assert.deepEqual([...movie.kinds], ["movies", "mixed"]);
  assert.match(movie.what, /^movie 'The Long Walk' \(1999\)$/);
});

Deno.test("a deletion → a full ingest of the collections that can hold it (only full ingests remove)", () => {
  const episode = assertChange(
    mapJellyfinWebhook(jellyfinPayload("ItemDeleted", jellyfinEpisode())),
  );
  assert.deepEqual(episode.filters, {});
  assert.deepEqual([...episode.kinds], ["shows", "mixed"]);
  assert.match(episode.what, /episode 'Borderland' S02E03 → the whole library/);

  const season = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemDeleted", {
    Name: "Season 2",
    ItemType: "Season",
    SeriesName: "Borderland",
    SeasonNumber: 2,
  })));
  assert.deepEqual(season.filters, {});
  assert.deepEqual([...season.kinds], ["shows", "mixed"]);

  // Nothing but the type is needed to know which collections a deletion concerns.
  const series = assertChange(
    mapJellyfinWebhook(jellyfinPayload("ItemDeleted", { ItemType: "Series" })),
  );
  assert.deepEqual(series.filters, {});
  assert.deepEqual([...series.kinds], ["shows", "mixed"]);

  const movie = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemDeleted", {
    Name: "The Long Walk",
    ItemType: "Movie",
  })));
  assert.deepEqual(movie.filters, {});
  assert.deepEqual([...movie.kinds], ["movies", "mixed"]);
});

Deno.test("an episode without its season → the show; without its series → ignored, naming the field", () => {
  const noSeason = jellyfinEpisode();
  for (const key of ["SeasonNumber", "SeasonNumber00", "SeasonNumber000"]) delete noSeason[key];
  const e = assertChange(mapJellyfinWebhook(jellyfinPayload("ItemAdded", noSeason)));
  assert.deepEqual(e.filters, { title: "Borderland" });

  const noSeries = jellyfinEpisode();
  delete noSeries.SeriesName;
  const out = mapJellyfinWebhook(jellyfinPayload("ItemAdded", noSeries));
  assert.equal(out.outcome, "ignored");
  if (out.outcome === "ignored") assert.match(out.why, /'SeriesName'/);
});

Deno.test("playback, other notifications and other item types are ignored with a reason", () => {
  for (const type of ["PlaybackStart", "PlaybackStop", "UserDataSaved", "SessionStart"]) {
    const out = mapJellyfinWebhook(jellyfinPayload(type, jellyfinEpisode()));
    assert.equal(out.outcome, "ignored", type);
    if (out.outcome === "ignored") assert.match(out.why, /not an item added or deleted/);
  }
  const audio = mapJellyfinWebhook(jellyfinPayload("ItemAdded", {
    Name: "Opening",
    ItemType: "Audio",
    Album: "Live",
  }));
  assert.equal(audio.outcome, "ignored");
  if (audio.outcome === "ignored") assert.match(audio.why, /type Audio; only movies and shows/);

  const untyped = mapJellyfinWebhook({ NotificationType: "ItemAdded", Name: "x" });
  assert.equal(untyped.outcome, "ignored");
  if (untyped.outcome === "ignored") assert.match(untyped.why, /no 'ItemType'/);
});

Deno.test("Emby library.new / library.deleted map like the plugin's events", () => {
  const episode = assertChange(mapJellyfinWebhook(embyPayload("library.new", {
    Name: "The Bathroom",
    Type: "Episode",
    SeriesName: "Borderland",
    SeriesId: "812000",
    SeasonId: "812300",
    IndexNumber: 3,
    ParentIndexNumber: 2,
    ProductionYear: 2022,
  })));
  assert.equal(episode.event, "library.new");
  assert.deepEqual(episode.filters, { title: "Borderland", season: 2 });
  assert.match(episode.what, /S02E03/);

  const season = assertChange(mapJellyfinWebhook(embyPayload("library.new", {
    Name: "Season 4",
    Type: "Season",
    SeriesName: "Borderland",
    IndexNumber: 4,
  })));
  assert.deepEqual(season.filters, { title: "Borderland", season: 4 });

  const movie = assertChange(mapJellyfinWebhook(embyPayload("library.deleted", {
    Name: "The Long Walk",
    Type: "Movie",
    ProductionYear: 1999,
  })));
  assert.deepEqual(movie.filters, {});

  const play = mapJellyfinWebhook(embyPayload("playback.start", { Name: "x", Type: "Movie" }));
  assert.equal(play.outcome, "ignored");
});

Deno.test("payloads that are neither shape are malformed", () => {
  for (const payload of [null, 7, [], {}, { Event: "library.new" }, { Item: {} }]) {
    assert.equal(mapJellyfinWebhook(payload).outcome, "malformed", JSON.stringify(payload));
  }
});
