/**
 * "Did you mean": through the real CLI, unknown commands, flags, types and
 * source/collection names name the closest match; an option of another
 * importer type (Jellyfin's `--api-key` given to Plex) says whose it is;
 * `source remove` says how many collections and assets go with it.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { closestMatch, editDistance } from "../cli/suggest.ts";
import { type CliResult, FAKE_PLUGINS, fakeEpisode, runCli, tempWorld } from "./_cli.ts";

function _error(r: CliResult): string {
  assert.equal(r.code, 1, `expected exit 1: ${r.stderr}${r.stdout}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  return lines[0];
}

Deno.test("unknown commands, flags, types and names suggest the closest match", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: "TV Shows", kind: "shows" }],
    assets: {
      tv: [
        fakeEpisode("e1", { episode: 1, folder: "/tv" }),
        fakeEpisode("e2", { episode: 2, folder: "/tv" }),
      ],
    },
  });
  const run = (args: string[]) => runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS });
  const add = await run([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Living room",
    "--state-file",
    state,
    "--discover",
  ]);
  assert.equal(add.code, 0, add.stderr);

  assert.equal(
    _error(await run(["sourse", "list"])),
    "Error: unknown command 'sourse list'; did you mean 'source list'?; run 'retrovue --help' " +
      "to list the commands",
  );
  assert.match(_error(await run(["colection", "show", "x"])), /did you mean 'collection show'\?/);
  assert.equal(
    _error(await run(["collection", "list", "--sorce", "x"])),
    "Error: unknown option '--sorce' for 'collection list'; did you mean '--source'?; see " +
      "'collection list --help'",
  );
  assert.doesNotMatch(_error(await run(["collection", "list", "--zzzzzz"])), /did you mean/);
  // Global options mistyped after a command, and at the top.
  assert.match(_error(await run(["source", "list", "--jsno"])), /did you mean '--json'\?/);
  assert.match(_error(await run(["asset", "list", "--tset-db"])), /did you mean '--test-db'\?/);
  assert.match(_error(await run(["--verison"])), /did you mean '--version'\?/);
  const version = await run(["--json", "--version"]);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^retrovue \d+\.\d+\.\d+ \(deno /);
  assert.match(_error(await run(["history"])), /did you mean 'ingest history'\?/);
  assert.match(_error(await run(["sync", "stat"])), /did you mean 'sync status'\?/);
  assert.match(
    _error(await run(["collection", "update", "TV Shows", "--add-enricher", "ffprob"])),
    /no enricher type 'ffprob'; did you mean 'ffprobe'\?/,
  );
  // Another type's option to `source update` says whose it is, as `source add` does.
  assert.match(
    _error(await run(["source", "update", "Living room", "--base-url", "http://x"])),
    /^Error: option '--base-url' belongs to type emby, jellyfin, plex, not 'fake'; 'fake' takes its secret as --token/,
  );
  // `help` is --help, as many tools take it.
  const help = await run(["help", "source"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: retrovue source <command>/);
  // Two letters swapped is one slip, even in a short name.
  assert.match(_error(await run(["collection", "show", "TV Shwos"])), /did you mean 'TV Shows'\?/);
  assert.match(
    _error(await run(["source", "add", "--type", "plx", "--name", "P"])),
    /^Error: unknown source type 'plx'; did you mean 'plex'\?; available types: /,
  );
  assert.equal(
    _error(
      await run([
        "source",
        "add",
        "--type",
        "plex",
        "--name",
        "P",
        "--base-url",
        "http://127.0.0.1:32400",
        "--api-key",
        "k3y",
      ]),
    ),
    "Error: option '--api-key' belongs to type emby, jellyfin, not 'plex'; 'plex' takes its " +
      "secret as --token; see 'source add --type plex --help'",
  );
  assert.equal(
    _error(await run(["source", "show", "Livng room"])),
    "Error: no source 'Livng room'; did you mean 'Living room'? (run 'source list' to see the " +
      "sources)",
  );
  assert.equal(
    _error(await run(["collection", "show", "tv shos"])),
    "Error: no collection 'tv shos'; did you mean 'TV Shows'? (run 'collection list' to see the " +
      "collections)",
  );
  assert.match(
    _error(await run(["collection", "show", "Something else entirely"])),
    /^Error: no collection 'Something else entirely'; run 'collection list'/,
  );

  // source remove says what goes with it.
  assert.match(
    _error(await run(["source", "remove", "Living room"])),
    /removing source 'Living room' \(with 1 collection\(s\) and 0 asset\(s\)\) needs confirmation/,
  );
  assert.equal((await run(["collection", "update", "TV Shows", "--sync-enable"])).code, 0);
  assert.equal((await run(["collection", "ingest", "TV Shows"])).code, 0);
  assert.match(
    _error(await run(["source", "remove", "Living room", "--force"])),
    /\(with 1 collection\(s\) and 2 asset\(s\)\) needs confirmation/,
  );
  const removed = await run(["source", "remove", "Living room", "--force", "--yes"]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /with 1 collections and 2 assets/);
});

Deno.test("a swap of two neighbours is one edit", () => {
  assert.equal(editDistance("Moveis", "Movies"), 1);
  assert.equal(editDistance("Tpaes", "Tapes"), 1);
  assert.equal(editDistance("abc", "cba"), 2);
  assert.equal(closestMatch("Moveis", ["Music", "Movies"]), "Movies");
});
