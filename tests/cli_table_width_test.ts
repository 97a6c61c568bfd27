/**
 * Width-aware tables through the real CLI: with `COLUMNS`, `source list`
 * cuts long cells with `…` so no line is wider; `--output wide` never cuts;
 * `source show` keeps the whole reason; a bad `--output` is a usage error.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { FAKE_PLUGINS, runCli, tempWorld } from "./_cli.ts";

Deno.test("tables fit COLUMNS with …, --output wide does not cut, show keeps reasons", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  const name = "A rather long source name that goes on and on";
  const add = await runCli(
    ["source", "add", "--type", "fake", "--name", name, "--state-file", state],
    { db: world.db, pluginPath: FAKE_PLUGINS },
  );
  assert.equal(add.code, 0, add.stderr);
  // Without the fake importer the source is unavailable, with a long reason.
  const reason = "unavailable: importer type 'fake' is not installed";
  const run = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { db: world.db, env });

  const narrow = await run(["source", "list"], { COLUMNS: "60" });
  assert.equal(narrow.code, 0, narrow.stderr);
  const lines = narrow.stdout.trimEnd().split("\n");
  assert.ok(lines.every((l) => [...l].length <= 60), narrow.stdout);
  assert.match(narrow.stdout, /…/);
  assert.ok(!narrow.stdout.includes(name), "the long name is cut");
  assert.ok(narrow.stdout.includes(name.slice(0, 7)), "…but starts as it should");

  const wide = await run(["source", "list", "--output", "wide"], { COLUMNS: "60" });
  assert.equal(wide.code, 0, wide.stderr);
  assert.ok(wide.stdout.includes(name) && wide.stdout.includes(reason), wide.stdout);
  assert.doesNotMatch(wide.stdout, /…/);

  const piped = await run(["source", "list"]);
  assert.ok(piped.stdout.includes(name) && piped.stdout.includes(reason), "no limit when piped");

  const show = await run(["source", "show", name], { COLUMNS: "40" });
  assert.equal(show.code, 0, show.stderr);
  assert.ok(show.stdout.includes("importer type 'fake' is not installed"), show.stdout);

  const bad = await run(["source", "list", "--output", "tall"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, "Error: option '--output' must be 'wide' or 'normal', not 'tall'\n");
});
