/**
 * Builds the single binary and runs a smoke flow with it.
 *
 * `deno compile` needs Deno's `denort` runtime, downloaded on first use or
 * taken from `DENORT_BIN`. Where neither is possible (no network, no
 * `DENORT_BIN`, nothing cached) the test says so on one line and is reported
 * as ignored, not passed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

function _denortAvailable(): string | undefined {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  const bin = env("DENORT_BIN");
  if (bin) return `DENORT_BIN=${bin}`;
  const denoDir = env("DENO_DIR") ?? join(env("HOME") ?? "/nonexistent", ".cache", "deno");
  const cached = join(
    denoDir,
    "dl",
    "release",
    `v${Deno.version.deno}`,
    `denort-${Deno.build.target}.zip`,
  );
  try {
    Deno.statSync(cached);
    return cached;
  } catch {
    return undefined;
  }
}

const denort = _denortAvailable();
if (!denort) {
  console.log(
    "compile test ignored: deno compile needs the denort runtime, and here there is no DENORT_BIN " +
      "and no cached copy (the download host is not reachable)",
  );
}

async function _run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test({
  name: "compile: the binary runs list-types, the demo flow and a third-party plugin",
  ignore: !denort,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "retrovue-bin-" });
    try {
      const bin = join(dir, "retrovue");
      const built = await _run(Deno.execPath(), [
        "run",
        "-A",
        join(ROOT, "cli", "compile.ts"),
        "--output",
        bin,
      ]);
      assert.equal(built.code, 0, built.stderr);

      const version = await _run(bin, ["--version"]);
      assert.match(version.stdout, /^retrovue \d+\.\d+\.\d+ \(deno \d/);

      const plugins = join(ROOT, "tests", "fixtures", "plugins");
      const env = { RETROVUE_PLUGIN_PATH: plugins, HOME: dir, XDG_DATA_HOME: dir };
      const types = await _run(bin, ["source", "list-types", "--json"], env);
      assert.equal(types.code, 0, types.stderr);
      const ids = JSON.parse(types.stdout).types.map((t: { typeId: string }) => t.typeId);
      for (const id of ["filesystem", "plex", "jellyfin", "emby", "fake"]) {
        assert.ok(ids.includes(id), `${id} in ${ids}`);
      }

      const media = join(dir, "media", "Show", "Season 01");
      Deno.mkdirSync(media, { recursive: true });
      Deno.writeTextFileSync(join(media, "Show - S01E01.mkv"), "");
      const db = join(dir, "catalog.db");
      const step = async (...args: string[]) => {
        const r = await _run(bin, ["--db", db, ...args], env);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      };
      await step(
        "source",
        "add",
        "--type",
        "filesystem",
        "--name",
        "Disk",
        "--root",
        `TV=${join(dir, "media")}`,
        "--discover",
      );
      await step("collection", "update", "TV", "--sync-enable");
      const ingest = JSON.parse(await step("collection", "ingest", "TV", "--json"));
      assert.equal(ingest.stats.new, 1);

      const state = join(dir, "state.json");
      Deno.writeTextFileSync(
        state,
        JSON.stringify({ collections: [{ externalId: "x", name: "X", kind: "movies" }] }),
      );
      await step("source", "add", "--type", "fake", "--name", "Fake", "--state-file", state);
      const listed = JSON.parse(await step("source", "discover", "Fake", "--json"));
      assert.equal(listed.status, "ok");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("a failed build says why in one line and leaves no output folder behind", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-compile-" });
  try {
    const out = join(dir, "dist", "retrovue");
    const r = await _run(Deno.execPath(), [
      "run",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-env",
      join(ROOT, "cli", "compile.ts"),
      "--output",
      out,
    ], { DENORT_BIN: join(dir, "no-such-denort") });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^Error: deno compile needs the denort runtime/);
    assert.throws(() => Deno.statSync(join(dir, "dist")), Deno.errors.NotFound);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
