/**
 * The manifest cache: an unchanged module is not loaded again, so a hostile
 * top level costs its load deadline once; any change to its folder loads it
 * afresh.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadRegistry } from "../registry/mod.ts";
import type { Registry } from "../registry/types.ts";

const PERMS: Deno.PermissionOptions = {
  read: true,
  write: true,
  run: true,
  env: ["NODE_V8_COVERAGE", "HOME"],
};

const SPIN = "/** Never finishes loading. */\nwhile (true) { /* spin */ }\n";
/** As long as {@link SPIN}, so a swap keeps the size. */
const FINE = "export default { typeId: 'x' }; /* 1234567 */\n".slice(0, SPIN.length).padEnd(
  SPIN.length,
  " ",
);

function _reason(registry: Registry, name: string): string {
  const t = registry.types.find((x) => x.file.endsWith(`/${name}`));
  return t?.status === "broken" ? t.reason : `status ${t?.status}`;
}

Deno.test({
  name:
    "manifest cache: a module that never loads is cached as broken (after two misses) until it changes",
  permissions: PERMS,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "retrovue-cache-" });
    const plugins = join(dir, "plugins");
    Deno.mkdirSync(plugins);
    const spin = join(plugins, "spin.ts");
    Deno.writeTextFileSync(spin, SPIN);
    const cache = join(dir, "manifests.json");
    const load = () =>
      loadRegistry({
        builtinDir: plugins,
        manifestCache: cache,
        loadTimeoutMs: 1_500,
        isolation: { level: "deno", mode: "auto" },
      });
    try {
      let mtime = Deno.statSync(spin).mtime!;
      /** Writes `text` keeping the size and modification time: the fingerprint stays. */
      const swap = (text: string) => {
        Deno.writeTextFileSync(spin, text);
        Deno.utimeSync(spin, mtime, mtime);
      };
      const expect = async (pattern: RegExp, why: string) => {
        const registry = await load();
        assert.match(_reason(registry, "spin.ts"), pattern, why);
        await registry.close();
      };
      const TIMEOUT = /did not load within 1\.5s/;
      const LOADED = /invalid manifest|does not implement/;

      await expect(TIMEOUT, "first load");
      assert.ok(Deno.statSync(cache).isFile, "the cache was written");
      // One timeout may be a busy machine: the next command loads the module again.
      swap(FINE);
      await expect(LOADED, "a single timeout is not served from the cache");

      // A new fingerprint; two timeouts in a row, then the cache answers.
      mtime = new Date(mtime.getTime() + 60_000);
      swap(SPIN);
      await expect(TIMEOUT, "loaded: new fingerprint");
      await expect(TIMEOUT, "loaded again: one strike so far");
      swap(FINE);
      await expect(TIMEOUT, "served from the cache after two strikes");

      // Any change to the folder loads the module again.
      Deno.utimeSync(spin, new Date(), new Date());
      await expect(LOADED, "a changed folder is loaded afresh");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "manifest cache: an unreadable or foreign cache file is an empty cache",
  permissions: PERMS,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "retrovue-cache-" });
    const cache = join(dir, "manifests.json");
    Deno.writeTextFileSync(cache, "{ not json");
    try {
      const registry = await loadRegistry({
        builtinDir: join(Deno.cwd(), "tests", "fixtures", "plugins"),
        manifestCache: cache,
        isolation: { level: "deno", mode: "auto" },
      });
      assert.ok(registry.get("fake"), "the plugin loads");
      await registry.close();
      const written = JSON.parse(Deno.readTextFileSync(cache));
      assert.equal(written.format, "retrovue-manifest-cache/1");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
