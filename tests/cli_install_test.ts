/**
 * `deno task install --root DIR` puts a `retrovue` command in `DIR/bin` that
 * runs with exactly the `retrovue` task's permissions and this checkout's
 * config (import map, `worker-options`): it answers `--version`, starts a
 * plugin host (`source list-types`), and reads a `--token-env` secret from a
 * `RETROVUE_SECRET_*` variable while `PLEX_TOKEN` stays unreadable.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { cliEnv, cliResult, FAKE_PLUGINS, REPO_ROOT, retrovueTaskFlags } from "./_cli.ts";

Deno.test("deno task install: a retrovue command with exactly the task's permissions", async () => {
  const root = Deno.makeTempDirSync({ prefix: "retrovue-install-" });
  try {
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "install", "--root", root],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const why = new TextDecoder().decode(install.stderr);
    assert.equal(install.code, 0, `install failed: ${why}`);
    const bin = join(root, "bin", "retrovue");
    const script = Deno.readTextFileSync(bin);
    const exec = script.split("\n").find((l) => l.startsWith("exec "));
    assert.ok(exec, `no exec line in ${script}`);
    // Every flag between `run` and the module, except the copied `--config FILE`.
    const words = [...exec.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]);
    const flags = words.slice(words.indexOf("run") + 1, -2);
    flags.splice(flags.indexOf("--config"), 2);
    assert.deepEqual(flags.sort(), retrovueTaskFlags().sort());

    const env = {
      ...cliEnv({ pluginPath: FAKE_PLUGINS, dataHome: root }),
      // `deno` must be on PATH for the installed script.
      PATH: `${dirname(Deno.execPath())}:${Deno.env.get("PATH") ?? ""}`,
      RETROVUE_SECRET_DEN: "s3cret-from-env-42",
      PLEX_TOKEN: "s3cret-never-read-42",
    };
    const run = async (args: string[]) =>
      cliResult(
        await new Deno.Command(bin, {
          args,
          cwd: root,
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        })
          .output(),
      );
    const version = await run(["--version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^retrovue \d+\.\d+\.\d+ \(deno /);

    const types = await run(["source", "list-types", "--json"]);
    assert.equal(types.code, 0, types.stderr);
    const ids = JSON.parse(types.stdout).types.map((t: { typeId: string }) => t.typeId);
    assert.ok(ids.includes("plex") && ids.includes("fake"), `types: ${ids}`);

    const db = join(root, "x.db");
    const state = join(root, "state.json");
    Deno.writeTextFileSync(state, "{}");
    const add = (variable: string) =>
      run([
        "source",
        "add",
        "--db",
        db,
        "--type",
        "fake",
        "--name",
        `Den ${variable}`,
        "--state-file",
        state,
        "--token-env",
        variable,
      ]);
    const denied = await add("PLEX_TOKEN");
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /may not read environment variable 'PLEX_TOKEN'/);
    const added = await add("RETROVUE_SECRET_DEN");
    assert.equal(added.code, 0, added.stderr);
    for (const r of [denied, added]) {
      assert.ok(!(r.stdout + r.fullStderr).includes("s3cret"), r.stdout + r.fullStderr);
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
