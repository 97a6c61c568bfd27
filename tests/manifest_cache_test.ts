/**
 * The manifest cache: an unchanged module is not loaded again, so a hostile
 * top level costs its load deadline once; a change to the module or to a
 * helper beside it loads it afresh, one to another plugin does not.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadRegistry, probeIsolation } from "../registry/mod.ts";
import type { Registry } from "../registry/_types.ts";

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
      assert.equal(written.format, "retrovue-manifest-cache/2");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

/** A valid importer module of type `id`, padded to `size` characters. */
function _module(id: string, size: number): string {
  const text = `export default { typeId: "${id}", displayName: "${id}", params: [], ` +
    `capabilities: { filters: {} }, validateConnection() {}, listCollections() {}, ` +
    `fetchAssets() {} };\n`;
  return text.padEnd(size, " ");
}

/** Rewrites `file` with `text` (same length) and puts its modification time back. */
function _swapKeepingStamp(file: string, text: string): void {
  const { mtime, size } = Deno.statSync(file);
  assert.equal(text.length, size, "the swap keeps the size");
  Deno.writeTextFileSync(file, text);
  Deno.utimeSync(file, mtime!, mtime!);
}

Deno.test({
  name:
    "manifest cache: keyed per module (and its folder's helpers); a warm registry probes nothing",
  permissions: PERMS,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "retrovue-cache-" });
    const plugins = join(dir, "plugins");
    Deno.mkdirSync(plugins);
    const a = join(plugins, "a.ts");
    const b = join(plugins, "b.ts");
    const helper = join(plugins, "_helper.ts");
    Deno.writeTextFileSync(a, _module("aa", 400));
    Deno.writeTextFileSync(b, _module("bb", 400));
    Deno.writeTextFileSync(helper, "export const x = 1;\n");
    let probes = 0;
    const load = () =>
      loadRegistry({
        builtinDir: plugins,
        manifestCache: join(dir, "manifests.json"),
        isolation: () => {
          probes++;
          return Promise.resolve({ level: "deno", mode: "auto" });
        },
      });
    const status = async () => {
      const registry = await load();
      await registry.close();
      return [_reason(registry, "a.ts"), _reason(registry, "b.ts")];
    };
    try {
      assert.deepEqual(await status(), ["status available", "status available"]);
      assert.equal(probes, 1, "loading manifests starts a plugin host: isolation probed");

      // Both served from the cache: no plugin host, no probe, not even for b's new text.
      _swapKeepingStamp(b, "throw new Error('b was loaded again');".padEnd(400, " "));
      assert.deepEqual(await status(), ["status available", "status available"]);
      assert.equal(probes, 1, "a registry served from the cache probes nothing");

      // Another plugin changing re-loads only that one.
      Deno.utimeSync(a, new Date(), new Date(Date.now() + 5_000));
      assert.deepEqual(await status(), ["status available", "status available"]);
      assert.equal(probes, 2, "a changed module is loaded again");

      // A helper changing re-loads every plugin beside it: b now shows its new text.
      Deno.writeTextFileSync(helper, "export const x = 2;\n");
      const [aStatus, bStatus] = await status();
      assert.equal(aStatus, "status available");
      assert.match(bStatus, /b was loaded again/);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

const OS_PROBE = await probeIsolation({ mode: "auto", executable: Deno.execPath() });

Deno.test({
  name:
    "manifest cache: a module denied node:fs for want of OS isolation is not cached, so it loads once isolation is there",
  permissions: PERMS,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "retrovue-cache-" });
    const plugins = join(dir, "plugins");
    Deno.mkdirSync(plugins);
    Deno.writeTextFileSync(
      join(plugins, "uses_fs.ts"),
      `import { existsSync } from "node:fs";
export default {
  typeId: "uses-fs",
  displayName: "Uses node:fs",
  params: [],
  capabilities: { filters: {} },
  validateConnection: () => Promise.resolve({ serverName: String(typeof existsSync) }),
  listCollections: () => Promise.resolve([]),
  async *fetchAssets() {},
};
`,
    );
    const cache = join(dir, "manifests.json");
    const load = async (level: "deno" | "os") => {
      const registry = await loadRegistry({
        builtinDir: plugins,
        manifestCache: cache,
        isolation: { level, mode: "auto" },
      });
      await registry.close();
      return _reason(registry, "uses_fs.ts");
    };
    try {
      assert.match(await load("deno"), /node:fs and node:sqlite are not available to plugins/);
      let cached = "";
      try {
        cached = Deno.readTextFileSync(cache);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e; // nothing worth saving: no file
      }
      assert.ok(!cached.includes("uses_fs.ts"), `not cached: ${cached}`);
      if (OS_PROBE.level !== "os") {
        console.log(`  (the OS-isolation half is skipped: ${OS_PROBE.reason})`);
        return;
      }
      assert.equal(await load("os"), "status available", "loads where bubblewrap runs it");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
