/**
 * End to end through the CLI (a subprocess with the `retrovue` task's
 * permissions, a temporary database) against the Jellyfin mock: `source add
 * --discover`, a full and a targeted `collection ingest`, Jellyfin 12.0 with
 * an API key, Emby, and the error paths, with the key never in any output.
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
import { type JellyfinMock, startJellyfinMock } from "./mocks/jellyfin_server.ts";

function run(args: string[], db: string, dataHome: string): Promise<CliResult> {
  return runCli(args, { db, dataHome });
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

function noSecret(r: CliResult, secret: string): void {
  assert.ok(!r.stdout.includes(secret), `key in stdout: ${r.stdout}`);
  assert.ok(!r.stderr.includes(secret), `key in stderr: ${r.stderr}`);
}

function assertKeyNeverInUrls(mock: JellyfinMock): void {
  for (const r of mock.requests) assert.ok(!r.url.includes(mock.apiKey), r.url);
}

Deno.test("cli jellyfin: add with discovery, full and targeted ingest, key never printed", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock({ version: "10.10.7" });
  const cli = (args: string[]) => run(args, world.db, world.dir);
  try {
    const add = ok(
      await cli([
        "source",
        "add",
        "--type",
        "jellyfin",
        "--name",
        "Home",
        "--base-url",
        mock.url,
        "--api-key",
        mock.apiKey,
        "--discover",
        "--json",
      ]),
      "source add",
    );
    noSecret(add, mock.apiKey);
    assert.ok(add.stdout.includes("***"), "the key is shown masked");
    const show = ok(await cli(["source", "show", "Home", "--json"]), "source show");
    noSecret(show, mock.apiKey);
    const collections = ok(await cli(["collection", "list", "--json"]), "collection list");
    assert.match(collections.stdout, /"Shows"/);
    assert.match(collections.stdout, /\/media\/Shows/, "folder locations were discovered");
    ok(await cli(["collection", "update", "Shows", "--sync-enable"]), "sync enable");
    const music = await cli(["collection", "update", "Music", "--sync-enable"]);
    assert.equal(music.code, 1, "a music library is not ingestible");

    const full = ok(await cli(["collection", "ingest", "Shows", "--json"]), "ingest");
    noSecret(full, mock.apiKey);
    const doc = JSON.parse(full.stdout);
    assert.equal(doc.status, "ok");
    assert.equal(doc.stats.new, 14, "14 episode files; placeholders are not assets");
    assert.equal(doc.stats.invalid, 0);

    mock.resetRequests();
    const targeted = ok(
      await cli([
        "collection",
        "ingest",
        "Shows",
        "--title",
        "series 00002",
        "--season",
        "1",
        "--json",
      ]),
      "targeted ingest",
    );
    const t = JSON.parse(targeted.stdout);
    assert.equal(t.stats.discovered, 3, "season 1 of Series 00002: E1, E2, E4-5");
    assert.equal(t.stats.unchanged, 3);
    const episodes = mock.requests.filter((r) => r.path.endsWith("/Episodes"));
    assert.equal(episodes.length, 1, "the season was pushed down to /Shows/{id}/Episodes");
    assert.ok(
      !mock.requests.some((r) => r.path === "/Items" && /IncludeItemTypes=Episode/.test(r.url)),
    );
    assertKeyNeverInUrls(mock);
  } finally {
    await mock.close();
  }
});

Deno.test("cli jellyfin 12.0: an API key ingests every episode (user id, MediaBrowser auth only)", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock({ version: "12.0.0" });
  const cli = (args: string[]) => run(args, world.db, world.dir);
  try {
    ok(
      await cli([
        "source",
        "add",
        "--type",
        "jellyfin",
        "--name",
        "Twelve",
        "--base-url",
        mock.url,
        "--api-key",
        mock.apiKey,
        "--discover",
      ]),
      "source add",
    );
    ok(await cli(["collection", "update", "Shows", "--sync-enable"]), "sync enable");
    const r = ok(await cli(["collection", "ingest", "Shows", "--json"]), "ingest");
    noSecret(r, mock.apiKey);
    assert.equal(JSON.parse(r.stdout).stats.new, 14, "not an empty listing (jellyfin#15107)");
    const admin = mock.users.find((u) => u.admin)!;
    const listings = mock.requests.filter((q) => q.path === "/Items");
    assert.ok(listings.length > 0);
    for (const q of listings) assert.match(q.url, new RegExp(`[?&]userId=${admin.id}(&|$)`));
    assert.ok(mock.requests.every((q) => q.status !== 401), "12.0 refused nothing");
    assert.ok(mock.requests.every((q) => q.headers["x-emby-token"] === undefined));
    assertKeyNeverInUrls(mock);
  } finally {
    await mock.close();
  }
});

Deno.test("cli emby: add with discovery and ingest", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock({ flavor: "emby" });
  const cli = (args: string[]) => run(args, world.db, world.dir);
  try {
    ok(
      await cli([
        "source",
        "add",
        "--type",
        "emby",
        "--name",
        "Emby",
        "--base-url",
        mock.url,
        "--api-key",
        mock.apiKey,
        "--discover",
      ]),
      "source add",
    );
    ok(await cli(["collection", "update", "Movies", "--sync-enable"]), "sync enable");
    const r = ok(await cli(["collection", "ingest", "Movies", "--json"]), "ingest");
    assert.equal(JSON.parse(r.stdout).stats.new, 5);
    assert.ok(mock.requests.every((q) => q.path.startsWith("/emby/")));
    assertKeyNeverInUrls(mock);
  } finally {
    await mock.close();
  }
});

Deno.test("cli jellyfin: a bad key exits 1, an unreachable server exits 3; nothing written", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock();
  const cli = (args: string[]) => run(args, world.db, world.dir);
  const key = "not-the-key-7f3a9c";
  try {
    const bad = await cli([
      "source",
      "add",
      "--type",
      "jellyfin",
      "--name",
      "Bad",
      "--base-url",
      mock.url,
      "--api-key",
      key,
    ]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^Error: .*rejected the API key.*--api-key/);
    noSecret(bad, key);
    const json = await cli([
      "source",
      "add",
      "--type",
      "jellyfin",
      "--name",
      "Bad",
      "--base-url",
      mock.url,
      "--api-key",
      key,
      "--json",
    ]);
    assert.equal(JSON.parse(json.stdout).error.code, "AUTH_FAILED");
    noSecret(json, key);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const down = await cli([
      "source",
      "add",
      "--type",
      "jellyfin",
      "--name",
      "Down",
      "--base-url",
      `http://127.0.0.1:${port}`,
      "--api-key",
      key,
    ]);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, /cannot reach Jellyfin/);
    noSecret(down, key);
    const after = dumpDb(world.db);
    assert.ok(!after.includes("Bad") && !after.includes("Down"), "no source was saved");
  } finally {
    await mock.close();
  }
});
