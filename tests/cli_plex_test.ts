/**
 * End to end through the CLI (a subprocess with the `retrovue` task's
 * permissions, a temporary database) against the Plex mock: `source add
 * --discover`, a full and a targeted `collection ingest`, and the error paths
 * with their exit codes, with the token never in any output or URL.
 *
 * Until the ingest commands are in the command table (`cli/commands.ts`),
 * this file is itself the entry point: run with `deno run`, it calls `main`
 * with the table plus the ingest and asset commands (as
 * `tests/cli_ingest_test.ts` does).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliResult, dumpDb, runCli, tempWorld } from "./_cli.ts";
import { type PlexMock, startPlexMock } from "./mocks/plex_server.ts";

function run(args: string[], db: string, dataHome: string): Promise<CliResult> {
  return runCli(args, { db, dataHome });
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

function noSecret(r: CliResult, secret: string): void {
  assert.ok(!r.stdout.includes(secret), `token in stdout: ${r.stdout}`);
  assert.ok(!r.stderr.includes(secret), `token in stderr: ${r.stderr}`);
}

function assertTokenNeverInUrls(mock: PlexMock): void {
  for (const r of mock.requests) {
    assert.ok(!r.url.includes(mock.token), r.url);
    assert.ok(!/x-plex-token/i.test(r.url), r.url);
  }
}

Deno.test("cli plex: add with discovery, full and targeted ingest, token never printed", async () => {
  using world = tempWorld();
  const mock = await startPlexMock({
    sections: [
      { type: "movie", title: "Films", movies: 6, multiPartEvery: 3 },
      {
        type: "show",
        title: "TV Shows",
        shows: 3,
        seasonsPerShow: 2,
        episodesPerSeason: 3,
        specialsPerShow: 1,
      },
      { type: "artist", title: "Music" },
    ],
  });
  const cli = (args: string[]) => run(args, world.db, world.dir);
  try {
    const add = ok(
      await cli([
        ...["source", "add", "--type", "plex", "--name", "Home", "--base-url", mock.url],
        ...["--token", mock.token, "--page-size", "5", "--discover", "--json"],
      ]),
      "source add",
    );
    noSecret(add, mock.token);
    assert.ok(add.stdout.includes("***"), "the token is shown masked");
    noSecret(ok(await cli(["source", "show", "Home", "--json"]), "source show"), mock.token);
    const collections = ok(await cli(["collection", "list", "--json"]), "collection list");
    assert.match(collections.stdout, /"TV Shows"/);
    assert.match(collections.stdout, /\/media\/TV Shows/, "folder locations were discovered");
    const music = await cli(["collection", "update", "Music", "--sync-enable"]);
    assert.equal(music.code, 1, "a music library is not ingestible");
    ok(await cli(["collection", "update", "TV Shows", "--sync-enable"]), "sync enable");
    ok(await cli(["collection", "update", "Films", "--sync-enable"]), "sync enable");

    mock.resetRequests();
    const full = ok(await cli(["collection", "ingest", "TV Shows", "--json"]), "ingest");
    noSecret(full, mock.token);
    const doc = JSON.parse(full.stdout);
    assert.equal(doc.status, "ok");
    assert.equal(doc.stats.new, 21, "3 shows × (1 special + 2 seasons × 3)");
    assert.equal(doc.stats.invalid, 0);
    const pages = mock.requests.filter((r) => /\/library\/sections\/\d+\/all/.test(r.path));
    assert.equal(pages.length, 5, "21 episodes in pages of 5, one paged listing");
    assert.ok(pages.every((r) => /type=4/.test(r.url) && /includeGuids=1/.test(r.url)));

    const films = JSON.parse(
      ok(await cli(["collection", "ingest", "Films", "--json"]), "ingest films").stdout,
    );
    assert.equal(films.stats.new, 6);

    // One film comes back malformed (a title that is not text) with its ratingKey: it is
    // skipped, and its stored asset is kept, not removed; the others are unchanged.
    const film = mock.sections[0].movies[0];
    const title = film.title;
    film.title = ["not", "text"] as unknown as string;
    const again = JSON.parse(
      ok(await cli(["collection", "ingest", "Films", "--json"]), "ingest films again").stdout,
    );
    film.title = title;
    assert.deepEqual([again.stats.removed, again.stats.unchanged], [0, 5]);
    assert.ok(
      again.warnings.includes(
        "kept 1 stored asset(s) as they were: the importer could not list or read them",
      ),
      JSON.stringify(again),
    );

    mock.resetRequests();
    const targeted = ok(
      await cli([
        ...["collection", "ingest", "TV Shows", "--title", "show 00002", "--season", "0"],
        "--json",
      ]),
      "targeted ingest",
    );
    const t = JSON.parse(targeted.stdout);
    assert.equal(t.stats.discovered, 1, "the one special of Show 00002");
    assert.equal(t.stats.unchanged, 1);
    assert.ok(mock.requests.some((r) => r.path.endsWith("/allLeaves")), "pushed down");
    assert.ok(!mock.requests.some((r) => /type=4/.test(r.url)), "no full listing");
    assertTokenNeverInUrls(mock);
  } finally {
    await mock.close();
  }
});

Deno.test("cli plex: a bad token exits 1, an unreachable server exits 3; nothing written", async () => {
  using world = tempWorld();
  const mock = await startPlexMock();
  const cli = (args: string[]) => run(args, world.db, world.dir);
  const token = "not-the-token-5e1d2c";
  const add = (name: string, url: string, json = false) =>
    cli([
      ...["source", "add", "--type", "plex", "--name", name, "--base-url", url],
      ...["--token", token, ...(json ? ["--json"] : [])],
    ]);
  try {
    const bad = await add("Bad", mock.url);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^Error: .*rejected the token.*--token/);
    noSecret(bad, token);
    const json = await add("Bad", mock.url, true);
    assert.equal(JSON.parse(json.stdout).error.code, "AUTH_FAILED");
    noSecret(json, token);

    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const down = await add("Down", `http://127.0.0.1:${port}`);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /cannot reach Plex.*--base-url/);
    noSecret(down, token);

    mock.setFault({ kind: "html" });
    const notPlex = await add("NotPlex", mock.url);
    assert.equal(notPlex.code, 1, notPlex.stderr);
    assert.match(notPlex.stderr, /not JSON.*--base-url/);

    const after = dumpDb(world.db);
    assert.ok(!/Bad|Down|NotPlex/.test(after), "no source was saved");
    assert.ok(!after.includes(token));
    assertTokenNeverInUrls(mock);
  } finally {
    await mock.close();
  }
});
