/**
 * What an ingest loads before its plugin host starts. The host takes ~0.2 s
 * to start, with the CLI idle meanwhile, so the ingest pipeline (validation
 * schemas, zod, hashing) loads then, not before: `Registry.open` tells its
 * caller when the host has been started (`onStarted`), and neither the
 * ingest command nor the plugin client imports that code statically. And
 * commands that need no importer (`asset …`, `collection list`) do not load
 * the registry at all.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadRegistry } from "../registry/mod.ts";
import type { Isolation, Registry } from "../registry/mod.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const NO_OS_ISOLATION: Isolation = { level: "deno", mode: "auto" };

/** Whether `ps` (procps), which these tests look for the plugin host with, runs here. */
function _hasPs(): boolean {
  try {
    return new Deno.Command("ps", {
      args: ["-p", String(Deno.pid)],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

const PS = _hasPs();
if (!PS) {
  console.log("startup_loading_test: `ps` (procps) is not installed: the tests that look for");
  console.log("  the plugin host process with it are skipped");
}

/**
 * Command lines of this process's children that run a plugin host granted
 * `root` (`ps`, procps): a unique folder tells this test's host from those
 * that tests running alongside it start.
 */
function _pluginHosts(root: string): string[] {
  const out = new Deno.Command("ps", {
    args: ["-ww", "-o", "args=", "--ppid", String(Deno.pid)],
    stdout: "piped",
    stderr: "inherit",
  }).outputSync();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    l.includes("_plugin_host.ts") && l.includes(root)
  );
}

/**
 * Runs `fn` with a fresh media folder and a registry of the built-in
 * importers (no OS isolation), `protect`ing the folder from sources when
 * asked; removes both afterwards.
 */
async function _withRegistry(
  options: { protect?: boolean },
  fn: (media: string, registry: Registry) => Promise<void>,
): Promise<void> {
  const media = Deno.makeTempDirSync({ prefix: "retrovue-startup-" });
  const registry = await loadRegistry({
    isolation: NO_OS_ISOLATION,
    ...(options.protect ? { protectedPaths: [media] } : {}),
  });
  try {
    await fn(media, registry);
  } finally {
    await registry.close();
    Deno.removeSync(media, { recursive: true });
  }
}

Deno.test({
  name: "registry: open() calls onStarted once, with its plugin host running, before it resolves",
  ignore: !PS,
  async fn() {
    await _withRegistry({}, async (media, registry) => {
      const calls: string[][] = [];
      let opened = false;
      const client = await registry.open("filesystem", { root: [media] }, {
        onStarted: () => {
          assert.equal(opened, false, "called before open() resolves");
          calls.push(_pluginHosts(media));
        },
      });
      opened = true;
      try {
        assert.equal(calls.length, 1, "called once");
        assert.equal(calls[0].length, 1, "the plugin host process was running when it was called");
        assert.equal(client.manifest.typeId, "filesystem");
      } finally {
        await client.close();
      }
    });
  },
});

Deno.test("registry: an open() refused before any host starts never calls onStarted", async () => {
  await _withRegistry({ protect: true }, async (media, registry) => {
    let called = false;
    await assert.rejects(
      registry.open("filesystem", { root: [media] }, { onStarted: () => called = true }),
      { code: "CONFIG_INVALID" },
    );
    assert.equal(called, false);
  });
});

Deno.test({
  name: "registry: an onStarted that throws fails open() and stops the plugin host",
  ignore: !PS,
  async fn() {
    await _withRegistry({}, async (media, registry) => {
      let running: string[] = [];
      await assert.rejects(
        registry.open("filesystem", { root: [media] }, {
          onStarted: () => {
            running = _pluginHosts(media);
            throw new Error("caller failed");
          },
        }),
        /caller failed/,
      );
      assert.equal(running.length, 1, "the host was running when onStarted threw");
      // Killed at once; gone once the kernel has reaped it.
      for (let i = 0; i < 100 && _pluginHosts(media).length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(_pluginHosts(media), [], "no plugin host left running");
    });
  },
});

/** The modules `entry` imports statically, transitively (dynamic imports excluded). */
async function _staticGraph(entry: string): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: Array<{
      specifier: string;
      dependencies?: Array<{ isDynamic?: boolean; code?: { specifier?: string } }>;
    }>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of bySpecifier.get(specifier)?.dependencies ?? []) {
      // Type-only imports carry no `code`: they load nothing.
      if (!dep.isDynamic && dep.code?.specifier) todo.push(dep.code.specifier);
    }
  }
  return seen;
}

for (const entry of ["cli/ingest_commands.ts", "registry/_client.ts"]) {
  Deno.test(`start-up: ${entry} imports no validation schema, zod or node:crypto statically`, async () => {
    const graph = await _staticGraph(entry);
    assert.ok(graph.size > 5, `the graph was read (${graph.size} modules)`);
    const heavy = [...graph].filter((s) =>
      s.endsWith("/core/schemas.ts") || s.endsWith("/ingest/normalize.ts") ||
      s.endsWith("/ingest/pipeline.ts") || s === "node:crypto" || s.includes("zod")
    );
    assert.deepEqual(heavy, [], `loaded before the plugin host starts: ${heavy.join(", ")}`);
  });
}

for (const entry of ["main.ts", "cli/asset_commands.ts", "cli/collection_commands.ts"]) {
  Deno.test(`start-up: ${entry} imports no registry code statically`, async () => {
    // `asset …` and `collection list` need no importer: the registry (plugin
    // discovery, the manifest cache, the isolation probe) loads only for the
    // commands that reach for plugins.
    const graph = await _staticGraph(entry);
    assert.ok(graph.size > 5, `the graph was read (${graph.size} modules)`);
    const registry = [...graph].filter((s) => s.includes("/registry/"));
    assert.deepEqual(registry, [], `loaded at start-up: ${registry.join(", ")}`);
  });
}
