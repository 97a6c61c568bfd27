/**
 * A source whose importer module is on `RETROVUE_PLUGIN_PATH` but fails to
 * load is not reported as "not installed" with advice to add the folder that
 * is already there: the operator is told which module failed and why.
 * Runs `main.ts` as a subprocess against the `fake` test importer.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { FAKE_PLUGINS, runCli, tempWorld } from "./_cli.ts";

Deno.test("a plugin module that fails to load is named where the operator hits it", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", { collections: [] });
  const added = await runCli([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Home",
    "--state-file",
    state,
    "--token",
    "T0ken-for-broken-test",
    "--no-validate",
  ], { db: world.db, pluginPath: FAKE_PLUGINS });
  assert.equal(added.code, 0, added.stderr);

  // The same folder, now with a module that throws before it says what it is.
  const plugins = join(world.dir, "plugins");
  Deno.mkdirSync(plugins);
  const broken = join(plugins, "fake.ts");
  Deno.writeTextFileSync(broken, 'throw new Error("cannot initialise");\n');
  const run = (args: string[]) => runCli(args, { db: world.db, pluginPath: plugins });

  const discover = await run(["source", "discover", "Home"]);
  assert.equal(discover.code, 1);
  const expected = `1 module in RETROVUE_PLUGIN_PATH failed to load (${broken}: `;
  assert.ok(discover.stderr.includes(expected), discover.stderr);
  assert.match(discover.stderr, /cannot initialise.*\); see 'source list-types'/);
  assert.doesNotMatch(discover.stderr, /add the importer's folder/);

  const list = await run(["source", "list", "--json"]);
  assert.equal(list.code, 0, list.stderr);
  const [source] = JSON.parse(list.stdout).sources;
  assert.equal(source.status, "unavailable");
  assert.ok(source.reason.includes(expected), source.reason);

  // With nothing failing, the advice to extend RETROVUE_PLUGIN_PATH stays.
  Deno.removeSync(broken);
  const missing = await run(["source", "discover", "Home"]);
  assert.match(missing.stderr, /which is not installed; .*add the importer's folder/);
});
