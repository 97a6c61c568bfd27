/**
 * Relative paths mean the operator's folder: `deno task` runs the CLI in the
 * repository and says where it was started in `INIT_CWD`, so `--db ./x.db`,
 * `--root ./tv`, `--token-file`, `importer new --dir plugins`, a relative
 * folder in `RETROVUE_PLUGIN_PATH` and the paths `parse` looks at resolve
 * against that folder, through a real `deno task --config <repo>/deno.json`
 * started elsewhere; without `INIT_CWD` the process's own folder counts.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { cliEnv, cliResult, REPO_ROOT, runCli, tempWorld } from "./_cli.ts";

Deno.test("deno task resolves relative paths against the folder it was started from", async () => {
  using world = tempWorld();
  Deno.mkdirSync(join(world.dir, "tv"));
  const task = async (args: string[], pluginPath = "") =>
    cliResult(
      await new Deno.Command(Deno.execPath(), {
        args: ["task", "--config", join(REPO_ROOT, "deno.json"), "-q", "retrovue", ...args],
        cwd: world.dir,
        env: cliEnv({ dataHome: world.dir, pluginPath }),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output(),
    );
  const add = await task([
    "--db",
    "./x.db",
    "source",
    "add",
    "--type",
    "filesystem",
    "--name",
    "Tapes",
    "--root",
    "./tv",
    "--json",
  ]);
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual(JSON.parse(add.stdout).source.config.root, [join(world.dir, "tv")]);
  Deno.statSync(join(world.dir, "x.db"));
  assert.throws(() => Deno.statSync(join(REPO_ROOT, "x.db")), Deno.errors.NotFound);

  const made = await task(["importer", "new", "demo", "--dir", "plugins", "--json"]);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(JSON.parse(made.stdout).module, join(world.dir, "plugins", "demo.ts"));
  // The quick start of docs/importers.md: `RETROVUE_PLUGIN_PATH=plugins deno task …`.
  const types = await task(["source", "list-types", "--json"], "plugins");
  assert.equal(types.code, 0, types.stderr);
  const demo = JSON.parse(types.stdout).types.find((t: { typeId?: string }) => t.typeId === "demo");
  assert.equal(demo?.status, "available", types.stdout);

  // `importer check` sees the same folders: a copy of the plugin claims its type id.
  Deno.copyFileSync(join(world.dir, "plugins", "demo.ts"), join(world.dir, "plugins", "clash.ts"));
  const checked = await task(["importer", "check", "plugins/demo.ts", "--json"], "plugins");
  const unique = JSON.parse(checked.stdout).checks
    ?.find((i: { name: string }) => i.name === "unique_type_id");
  assert.equal(unique?.status, "fail", checked.stdout);
  Deno.removeSync(join(world.dir, "plugins", "clash.ts"));

  // Enrichers are found in the same folders.
  Deno.writeTextFileSync(
    join(world.dir, "plugins", "nullenr.ts"),
    `export default {
      typeId: "nullenr",
      displayName: "Null (test)",
      appliesTo: ["movie"],
      params: [],
      enrich() {
        return Promise.resolve({ tech: {} });
      },
    };\n`,
  );
  const enrichers = await task(["enricher", "list-types", "--json"], "plugins");
  assert.equal(enrichers.code, 0, enrichers.stderr);
  const nullenr = JSON.parse(enrichers.stdout).enricherTypes
    .find((t: { typeId?: string }) => t.typeId === "nullenr");
  assert.equal(nullenr?.status, "available", enrichers.stdout);

  const parsed = await task(["parse", "tv", "--json"]);
  assert.equal(parsed.code, 0, parsed.stderr);
  assert.equal(JSON.parse(parsed.stdout).results[0].folder?.role, "folder", parsed.stdout);
});

Deno.test("INIT_CWD wins over the process folder; without it the process folder counts", async () => {
  using world = tempWorld();
  const other = Deno.makeTempDirSync({ prefix: "retrovue-cwd-" });
  try {
    const state = join(world.dir, "state.json");
    Deno.writeTextFileSync(state, "{}");
    Deno.writeTextFileSync(join(world.dir, "token"), "t0ken-from-init-cwd\n");
    const args = ["source", "add", "--type", "fake", "--name", "Den", "--state-file", state];
    const viaInit = await runCli([...args, "--token-file", "token", "--dry-run"], {
      db: join(world.dir, "a.db"),
      pluginPath: join(REPO_ROOT, "tests", "fixtures", "plugins"),
      cwd: other,
      env: { INIT_CWD: world.dir },
    });
    assert.equal(viaInit.code, 0, viaInit.stderr);
    const plain = await runCli([...args, "--token-file", "token", "--dry-run"], {
      db: join(world.dir, "a.db"),
      pluginPath: join(REPO_ROOT, "tests", "fixtures", "plugins"),
      cwd: other,
    });
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, new RegExp(`cannot read '${other}/token': no such file`));
  } finally {
    Deno.removeSync(other, { recursive: true });
  }
});
