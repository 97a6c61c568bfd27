/**
 * Plex webhook payloads → scopes. The payloads follow the shape Plex Media
 * Server posts (its webhook documentation, and the Metadata fields of the
 * real captures in ../shared/reference/plex/): `event`, `user`, `owner`,
 * `Account`, `Server`, `Player`, `Metadata`.
 */

import assert from "node:assert/strict";
import { mapPlexWebhook } from "../sync/plex_webhook.ts";
import { assertChange, plexEpisode, plexPayload } from "./_sync_webhook_payloads.ts";

Deno.test("library.new for an episode → its show and season, in its library", () => {
  const e = assertChange(mapPlexWebhook(plexPayload("library.new", plexEpisode())));
  assert.equal(e.event, "library.new");
  assert.deepEqual(e.filters, { title: "Borderland", season: 2 });
  assert.equal(e.libraryId, "2");
  assert.deepEqual([...e.kinds], ["shows", "mixed"]);
  assert.match(e.what, /episode 'Borderland' S02E03 → season 'Borderland' S02/);
});

Deno.test("library.new for a special (season 0) keeps season 0", () => {
  const e = assertChange(
    mapPlexWebhook(plexPayload("library.new", plexEpisode({ parentIndex: 0, index: 1 }))),
  );
  assert.deepEqual(e.filters, { title: "Borderland", season: 0 });
});

Deno.test("an episode without its season number → the whole show", () => {
  const meta = plexEpisode();
  delete meta.parentIndex;
  const e = assertChange(mapPlexWebhook(plexPayload("library.new", meta)));
  assert.deepEqual(e.filters, { title: "Borderland" });
});

Deno.test("library.new for a season → show and season; for a show → the show", () => {
  const season = assertChange(mapPlexWebhook(plexPayload("library.new", {
    librarySectionType: "show",
    ratingKey: "45521",
    key: "/library/metadata/45521/children",
    parentRatingKey: "45520",
    type: "season",
    title: "Season 3",
    parentTitle: "Borderland",
    index: 3,
    librarySectionID: 2,
    addedAt: 1700000000,
  })));
  assert.deepEqual(season.filters, { title: "Borderland", season: 3 });
  assert.equal(season.libraryId, "2");

  const show = assertChange(mapPlexWebhook(plexPayload("library.new", {
    librarySectionType: "show",
    ratingKey: "45520",
    type: "show",
    title: "Borderland",
    year: 2020,
    librarySectionID: "2",
  })));
  assert.deepEqual(show.filters, { title: "Borderland" });
  assert.equal(show.libraryId, "2");
});

Deno.test("library.new for a movie → its title, in a movie library", () => {
  const e = assertChange(mapPlexWebhook(plexPayload("library.new", {
    librarySectionType: "movie",
    ratingKey: "1001",
    key: "/library/metadata/1001",
    guid: "plex://movie/5d776b59ad5437001f79c6f8",
    type: "movie",
    title: "The Long Walk",
    year: 1999,
    librarySectionKey: "/library/sections/1",
  })));
  assert.deepEqual(e.filters, { title: "The Long Walk" });
  assert.equal(e.libraryId, "1", "from librarySectionKey when the id is absent");
  assert.deepEqual([...e.kinds], ["movies", "mixed"]);
  assert.match(e.what, /movie 'The Long Walk' \(1999\)/);
});

Deno.test("an item without the fields to scope it → its whole library", () => {
  const meta = plexEpisode();
  delete meta.grandparentTitle;
  const e = assertChange(mapPlexWebhook(plexPayload("library.new", meta)));
  assert.deepEqual(e.filters, {});
  assert.equal(e.libraryId, "2");
  assert.match(e.what, /whole library/);
});

Deno.test("playback, rating, on-deck and server events are ignored, each with a reason", () => {
  const cases: [string, RegExp][] = [
    ["media.play", /playback/],
    ["media.scrobble", /playback/],
    ["media.rate", /playback/],
    ["playback.started", /playback/],
    ["library.on.deck", /on-deck/],
    ["admin.database.backup", /server notice/],
    ["device.new", /server notice/],
    ["something.future", /not an event that changes/],
  ];
  for (const [event, why] of cases) {
    const out = mapPlexWebhook(plexPayload(event, plexEpisode()));
    assert.equal(out.outcome, "ignored", event);
    if (out.outcome === "ignored") {
      assert.equal(out.event, event);
      assert.match(out.why, why, event);
    }
  }
});

Deno.test("a music or photo item is ignored: only movies and shows are imported", () => {
  const out = mapPlexWebhook(plexPayload("library.new", {
    librarySectionType: "artist",
    type: "track",
    title: "Opening",
    grandparentTitle: "Some Band",
    librarySectionID: 7,
  }));
  assert.equal(out.outcome, "ignored");
  if (out.outcome === "ignored") assert.match(out.why, /track item/);
});

Deno.test("payloads that are not Plex webhooks are malformed", () => {
  for (const payload of [null, [], "library.new", { user: true }, { event: 3 }]) {
    assert.equal(mapPlexWebhook(payload).outcome, "malformed", JSON.stringify(payload));
  }
  const noMeta = mapPlexWebhook(plexPayload("library.new"));
  assert.equal(noMeta.outcome, "malformed");
});
