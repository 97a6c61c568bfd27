/**
 * Plugins as folders: discovery takes a top-level folder with a `mod.ts` as
 * one plugin (the built-in importers are such folders), skips `_`-named
 * folders, and the plugin host of a third-party folder plugin reads only
 * that folder, so a helper outside it is out of reach under OS isolation.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BUILTIN_IMPORTERS_DIR,
  findPluginFiles,
  isPluginModulePath,
  loadRegistry,
  pluginReadRoot,
  probeIsolation,
} from "../registry/mod.ts";

const PERMS: Deno.PermissionOptions = {
  read: true,
  write: true,
  run: true,
  env: ["NODE_V8_COVERAGE", "HOME"],
};

const OS = await probeIsolation({ mode: "auto", executable: Deno.execPath() });

/** A minimal importer module whose display name comes from `from` (a helper module). */
function _importer(typeId: string, from: string): string {
  return `import { NAME } from "${from}";
export default {
  typeId: "${typeId}",
  displayName: NAME,
  description: "test",
  version: "1.0.0",
  params: [],
  capabilities: { kinds: ["movies"], filters: { movies: [], shows: [] } },
  validateConnection() { return { serverName: NAME }; },
  listCollections() { return []; },
  async *fetchAssets() {},
};
`;
}

function _pluginTree(): string {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-folders-" });
  Deno.writeTextFileSync(join(dir, "flat.ts"), _importer("flat", "./_flat_name.ts"));
  Deno.writeTextFileSync(join(dir, "_flat_name.ts"), `export const NAME = "Flat";\n`);
  Deno.mkdirSync(join(dir, "boxed"));
  Deno.writeTextFileSync(join(dir, "boxed", "mod.ts"), _importer("boxed", "./_name.ts"));
  Deno.writeTextFileSync(join(dir, "boxed", "_name.ts"), `export const NAME = "Boxed";\n`);
  // A folder plugin reaching for a helper beside its folder.
  Deno.mkdirSync(join(dir, "reaching"));
  Deno.writeTextFileSync(
    join(dir, "reaching", "mod.ts"),
    _importer("reaching", "../_flat_name.ts"),
  );
  // Not plugins: a private folder with a mod.ts, and a folder without one.
  Deno.mkdirSync(join(dir, "_private"));
  Deno.writeTextFileSync(join(dir, "_private", "mod.ts"), _importer("private", "../_flat_name.ts"));
  Deno.mkdirSync(join(dir, "notes"));
  Deno.writeTextFileSync(join(dir, "notes", "readme.ts"), `export const NAME = "no";\n`);
  return Deno.realPathSync(dir);
}

Deno.test("discovery: a folder with a mod.ts is one plugin; _-named folders and others are not", () => {
  const dir = _pluginTree();
  try {
    const found = findPluginFiles([dir]);
    assert.deepEqual(found.files, [
      join(dir, "boxed", "mod.ts"),
      join(dir, "flat.ts"),
      join(dir, "reaching", "mod.ts"),
    ]);
    assert.deepEqual(found.unreadable, []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("discovery: the built-in importers are folder plugins reading the built-in folder", () => {
  const found = findPluginFiles([BUILTIN_IMPORTERS_DIR]);
  const names = found.files.map((f) => f.slice(found.files[0].lastIndexOf("/importers/") + 11));
  assert.deepEqual(names, ["emby/mod.ts", "filesystem/mod.ts", "jellyfin/mod.ts", "plex/mod.ts"]);
  const root = Deno.realPathSync(BUILTIN_IMPORTERS_DIR);
  for (const file of found.files) assert.equal(pluginReadRoot(file), root, file);
  assert.equal(pluginReadRoot("/srv/plugins/boxed/mod.ts"), "/srv/plugins/boxed");
  assert.equal(pluginReadRoot("/srv/plugins/flat.ts"), "/srv/plugins");
  assert.ok(isPluginModulePath("/srv/plugins/boxed/mod.ts"));
  assert.ok(!isPluginModulePath("/srv/plugins/boxed/_name.ts"));
});

Deno.test({
  name: "registry: folder plugins run; one importing outside its folder fails under OS isolation",
  permissions: PERMS,
  async fn() {
    const dir = _pluginTree();
    const registry = await loadRegistry({
      builtinDir: join(dir, "no-builtins"),
      pluginDirs: [dir],
      isolation: OS,
    });
    try {
      const status = (typeId: string) =>
        registry.types.find((t) => t.file.includes(`/${typeId}`))?.status;
      assert.equal(status("boxed"), "available");
      assert.equal(status("flat"), "available");
      assert.equal(registry.types.some((t) => t.file.includes("/_private/")), false);
      const boxed = await registry.open("boxed", {});
      assert.equal((await boxed.validateConnection()).serverName, "Boxed");
      if (OS.level === "os") {
        await assert.rejects(
          async () => {
            const reaching = await registry.open("reaching", {});
            await reaching.validateConnection();
          },
          "the host of a folder plugin reads only that folder",
        );
      } else {
        console.log(`OS isolation unavailable (${OS.reason}): not checking the folder boundary`);
      }
    } finally {
      await registry.close();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
