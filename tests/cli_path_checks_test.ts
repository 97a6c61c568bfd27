/**
 * Path mappings that explain themselves, through the real CLI with the
 * `fake` importer: `collection update` warns about a mapping that matches no
 * location or asset path (naming the closest), an ingest reports unmapped
 * assets and missing local files, and `collection check-paths` lists them.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type CliResult,
  FAKE_PLUGINS,
  fakeEpisode,
  runCli,
  type TempWorld,
  tempWorld,
} from "./_cli.ts";

function _run(world: TempWorld, args: string[]): Promise<CliResult> {
  return runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, cwd: world.dir });
}

function _ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

async function _seed(world: TempWorld): Promise<void> {
  const state = world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: "TV", kind: "shows", locations: ["/media/Shows"] }],
    assets: {
      tv: [1, 2, 3].map((n) => fakeEpisode(`e${n}`, { episode: n, folder: "/media/Shows" })),
    },
  });
  _ok(
    await _run(world, [
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Home",
      "--state-file",
      state,
      "--discover",
    ]),
    "add",
  );
}

Deno.test("collection update warns about a mapping that can never match, naming the closest", async () => {
  using world = tempWorld();
  await _seed(world);
  const wrong = _ok(
    await _run(world, ["collection", "update", "TV", "--path-mapping", "/media/shows=/mnt/tv"]),
    "update",
  );
  assert.match(wrong.stdout, /Updated collection 'TV'/);
  assert.equal(
    wrong.stderr.trim(),
    "Warning: path mapping '/media/shows' matches none of the collection's locations " +
      "(/media/Shows) or known asset paths, so it changes nothing; did you mean '/media/Shows'?",
  );
  const json = _ok(
    await _run(world, [
      "collection",
      "update",
      "TV",
      "--path-mapping",
      "/media/Shows=/mnt/tv",
      "--path-mapping",
      "/nowhere/at/all/really=/mnt/x",
      "--json",
    ]),
    "update --json",
  );
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.warnings.length, 1, json.stdout);
  assert.match(doc.warnings[0], /^path mapping '\/nowhere\/at\/all\/really' matches none/);
  assert.doesNotMatch(doc.warnings[0], /did you mean/, "nothing close: no suggestion");
  assert.equal(json.stderr, "");
});

Deno.test("ingest reports unmapped assets and missing files; check-paths lists them", async () => {
  using world = tempWorld();
  await _seed(world);
  // Map the library into the temp folder where only two of the three files exist.
  const local = join(world.dir, "tv");
  Deno.mkdirSync(join(local, "Alpha"), { recursive: true });
  for (const n of [1, 2]) Deno.writeTextFileSync(join(local, "Alpha", `S01E0${n}.mkv`), "");
  _ok(
    await _run(world, [
      "collection",
      "update",
      "TV",
      "--sync-enable",
      "--path-mapping",
      `/media/Shows=${local}`,
    ]),
    "update",
  );
  const ingest = _ok(await _run(world, ["collection", "ingest", "TV"]), "ingest");
  const missing = join(local, "Alpha", "S01E03.mkv");
  assert.ok(
    ingest.stdout.includes(
      `Local files: 1 of 3 checked do not exist (e.g. ${missing}); see 'collection check-paths c-`,
    ),
    ingest.stdout,
  );
  assert.doesNotMatch(ingest.stdout, /match no path mapping/);

  const check = await _run(world, ["collection", "check-paths", "TV", "--json"]);
  assert.equal(check.code, 2, check.stderr);
  const doc = JSON.parse(check.stdout);
  assert.equal(doc.status, "partial");
  assert.deepEqual([doc.withPath, doc.unmapped, doc.checked], [3, 0, 3]);
  assert.deepEqual(
    doc.missing.map((m: { localPath: string; mapped: boolean }) => [m.localPath, m.mapped]),
    [
      [missing, true],
    ],
  );

  // A mapping for another prefix only: every asset keeps its upstream path.
  _ok(
    await _run(world, [
      "collection",
      "update",
      "TV",
      "--remove-path-mapping",
      "/media/Shows",
      "--path-mapping",
      "/media/Movies=/mnt/movies",
    ]),
    "remap",
  );
  const again = _ok(await _run(world, ["collection", "ingest", "TV", "--json"]), "ingest");
  const paths = JSON.parse(again.stdout).localPaths;
  assert.deepEqual([paths.withPath, paths.unmapped, paths.missing.length], [3, 3, 3]);
  const text = await _run(world, ["collection", "check-paths", "TV", "--sample", "1"]);
  assert.equal(text.code, 2);
  assert.match(text.stdout, /3 asset\(s\) with a path; 1 local file\(s\) checked, 1 missing/);
  assert.match(text.stdout, /3 asset\(s\) match no path mapping/);

  // Every file present and mapped: exit 0.
  _ok(
    await _run(world, [
      "collection",
      "update",
      "TV",
      "--remove-path-mapping",
      "/media/Movies",
      "--path-mapping",
      `/media/Shows=${local}`,
    ]),
    "remap back",
  );
  Deno.writeTextFileSync(missing, "");
  _ok(await _run(world, ["collection", "ingest", "TV"]), "ingest");
  const fine = _ok(await _run(world, ["collection", "check-paths", "TV"]), "check-paths");
  assert.match(fine.stdout, /3 local file\(s\) checked, 0 missing/);
  const bad = await _run(world, ["collection", "check-paths", "TV", "--sample", "-1"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^Error: (--sample must be a whole number ≥ 0|option '--sample')/);
});
