/**
 * A stream's idle deadline measures the time between two messages of the
 * plugin: an importer whose pages bring no new asset for a while (a listing
 * read again during a library scan, pages of skipped items) yields empty
 * arrays, which reach the host as beats, so it is not killed as stuck while
 * every request succeeds; one whose pages bring a few assets each has them
 * sent before the deadline, in small batches. One that goes quiet is still a
 * `TIMEOUT`.
 */

import assert from "node:assert/strict";
import { RetrovueError } from "../core/errors.ts";
import type { PluginNotice } from "../registry/mod.ts";
import { withPluginFolder } from "./_plugin_folder.ts";

/** Eight slow pages of nothing new (each reported skipped), then one asset; or all silent. */
const SLOW_PLUGIN = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  typeId: "slow",
  displayName: "Slow",
  params: [
    { name: "silent", flag: "--silent", kind: "boolean", description: "Never yield" },
    { name: "trickle", flag: "--trickle", kind: "boolean", description: "One asset a page" },
  ],
  capabilities: { filters: {} },
  validateConnection() { return {}; },
  listCollections() { return [{ externalId: "c", name: "C", kind: "movies" }]; },
  async *fetchAssets(config, request) {
    for (let page = 0; page < 8; page++) {
      await sleep(700);
      request.skipped("clip " + page, "a clip, not a movie");
      if (config.trickle) yield [{ externalId: "t" + page, kind: "movie", title: "T" + page }];
      else if (!config.silent) yield [];
    }
    yield [{ externalId: "m1", kind: "movie", title: "M" }];
  },
};
`;

const REQUEST = {
  collection: { externalId: "c", kind: "movies" as const, name: "C" },
  filters: {},
};

Deno.test("a stream that yields empty pages stays alive past its idle deadline; a silent one times out", async () => {
  await withPluginFolder({ "slow.js": SLOW_PLUGIN }, async (registry) => {
    // ~5.6 s in all against a 3 s deadline between two messages.
    const alive = await registry.open("slow", {}, { timeoutMs: 3_000 });
    const notices: PluginNotice[] = [];
    try {
      const assets = [];
      for await (const batch of alive.fetchAssets(REQUEST, { onNotice: (n) => notices.push(n) })) {
        assets.push(...batch);
      }
      assert.equal(assets.length, 1);
    } finally {
      await alive.close();
    }
    // The skips travel with the beats (and the last batch): none is lost.
    assert.equal(notices.filter((n) => n.kind === "skipped").length, 8);

    // One asset a page, far fewer than a batch: what was gathered goes along before the deadline.
    const trickle = await registry.open("slow", { trickle: true }, { timeoutMs: 3_000 });
    try {
      const batches = [];
      for await (const batch of trickle.fetchAssets(REQUEST)) batches.push(batch);
      assert.equal(batches.flat().length, 9);
      assert.ok(batches.length > 1, "sent in several small batches, not one at the end");
    } finally {
      await trickle.close();
    }

    const silent = await registry.open("slow", { silent: true }, { timeoutMs: 3_000 });
    try {
      await assert.rejects(
        async () => {
          for await (const _ of silent.fetchAssets(REQUEST)) { /* drain */ }
        },
        (error) => error instanceof RetrovueError && error.code === "TIMEOUT",
      );
    } finally {
      await silent.close();
    }
  });
});
