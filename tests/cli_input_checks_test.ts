/**
 * Input checks through the real CLI: negative numbers say what is wrong with
 * them (not "needs a value"); names, URLs, paths and path mappings have
 * length limits and refuse control characters and line breaks; a secret with
 * CR/LF or beyond Latin-1 is `CONFIG_INVALID` at `source add`, never shown.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type CliResult, dumpDb, FAKE_PLUGINS, runCli, tempWorld } from "./_cli.ts";

function _fails(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1: ${r.stderr}${r.stdout}`);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

Deno.test("bad input is one clear line and writes nothing", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: "TV", kind: "shows" }],
  });
  const run = (args: string[]) => runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS });
  const addFake = (...extra: string[]) =>
    run(["source", "add", "--type", "fake", "--name", "Home", "--state-file", state, ...extra]);
  assert.equal((await addFake("--discover")).code, 0);
  const before = dumpDb(world.db);

  _fails(
    await run(["collection", "ingest", "TV", "--title", "A", "--season", "-1"]),
    /^Error: --season must be a whole number from 0 to 999999999, not '-1'$/m,
  );
  _fails(
    await run(["asset", "list", "--limit", "-5"]),
    /--limit must be a whole number from 0 to 999999999/,
  );
  _fails(
    await run(["source", "update", "Home", "--page-size", "-3"]),
    /^Error: --page-size must be at least 1, got -3$/m,
  );

  const secrets = ["tok\r\nen-injected", "tök€n-not-latin1"];
  _fails(
    await run([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "A",
      "--state-file",
      state,
      "--token",
      secrets[0],
    ]),
    /^Error: --token must not contain control characters or line breaks$/m,
  );
  Deno.writeTextFileSync(join(world.dir, "token"), `${secrets[1]}\n`);
  const latin = await run([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "B",
    "--state-file",
    state,
    "--token-file",
    join(world.dir, "token"),
    "--json",
  ]);
  assert.equal(latin.code, 1);
  const doc = JSON.parse(latin.stdout);
  assert.equal(doc.error.code, "CONFIG_INVALID");
  assert.match(doc.error.message, /--token must contain only Latin-1 characters/);
  for (const s of secrets) assert.ok(!(latin.stdout + latin.stderr).includes(s));

  _fails(
    await run([
      "source",
      "add",
      "--type",
      "plex",
      "--name",
      "P",
      "--base-url",
      `http://${"a".repeat(260)}.example:32400`,
      "--token",
      "t0ken",
      "--no-validate",
    ]),
    /--base-url has a host name longer than 253 characters/,
  );
  _fails(
    await run([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "C",
      "--state-file",
      `/${"x".repeat(5000)}`,
    ]),
    /--state-file is longer than 4096 characters/,
  );
  _fails(
    await run(["source", "add", "--type", "fake", "--name", "Line\nbreak", "--state-file", state]),
    /a source name must not contain control characters/,
  );
  _fails(
    await run(["collection", "update", "TV", "--path-mapping", "/data\n/tv=/mnt/tv"]),
    /^Error: --path-mapping must not contain control characters or line breaks$/m,
  );
  _fails(
    await run(["collection", "update", "TV", "--path-mapping", `/data=/${"m".repeat(9000)}`]),
    /--path-mapping is longer than 8193 characters/,
  );
  assert.equal(dumpDb(world.db), before);
});
