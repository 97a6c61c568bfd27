/**
 * The registry and the sandbox, proven by hostile plugins that try to escape.
 *
 * Each escape attempt runs in a real sandboxed worker inside a real
 * plugin-host subprocess; the test asserts the typed error and that the host
 * is still healthy afterwards (the next call on a fresh worker succeeds).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { validateConfig } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import { loadRegistry } from "../registry/mod.ts";
import type { Registry } from "../registry/types.ts";

const FIXTURES = fromFileUrl(new URL("./fixtures/", import.meta.url));
const HOSTILE = join(FIXTURES, "hostile");

const PERMS: Deno.PermissionOptions = {
  read: true,
  write: true,
  run: ["deno"],
  env: false,
  net: ["127.0.0.1"],
};

interface World {
  registry: Registry;
  root: string;
  url: string;
  server: Deno.HttpServer;
}

async function _world(): Promise<World> {
  const base = Deno.makeTempDirSync({ prefix: "retrovue-sandbox-" });
  const root = join(base, "root");
  Deno.mkdirSync(root);
  Deno.writeTextFileSync(join(root, "inside.txt"), "inside");
  Deno.writeTextFileSync(join(base, "outside.txt"), "outside");
  Deno.symlinkSync(join(base, "outside.txt"), join(root, "link-to-outside.txt"));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/redirect") {
      return Response.redirect(`http://localhost:${url.port}/elsewhere`, 302);
    }
    return new Response("hello from the granted server");
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const registry = await loadRegistry({ builtinDir: HOSTILE, timeoutMs: 5_000 });
  return { registry, root, url, server };
}

async function _close(world: World): Promise<void> {
  await world.registry.close();
  await world.server.shutdown();
  Deno.removeSync(join(world.root, ".."), { recursive: true });
}

async function _attempt(
  world: World,
  attempt: string,
  options: { timeoutMs?: number; token?: string } = {},
): Promise<unknown> {
  const info = world.registry.get("escape");
  assert.ok(info, "escape fixture loads");
  const config = validateConfig(info.manifest.params, {
    attempt,
    root: world.root,
    url: world.url,
    token: options.token,
  }, { cwd: "/" });
  const client = await world.registry.open("escape", config, { timeoutMs: options.timeoutMs });
  try {
    return await client.validateConnection();
  } finally {
    await client.close();
  }
}

async function _rejects(promise: Promise<unknown>, code: string, pattern?: RegExp) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RetrovueError, `expected a RetrovueError, got ${error}`);
    assert.equal(error.code, code, `code for: ${error.message}`);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

Deno.test({
  name: "sandbox: hostile plugins are contained with typed denials",
  permissions: PERMS,
  async fn(t) {
    const world = await _world();
    try {
      await t.step(
        "grants work: reading inside the root and fetching the granted server",
        async () => {
          assert.deepEqual(await _attempt(world, "read-inside"), { serverName: "inside" });
          assert.deepEqual(await _attempt(world, "fetch-own"), {
            serverName: "hello from the granted server",
          });
        },
      );
      const denied: Array<[string, RegExp]> = [
        ["read-passwd", /\/etc\/passwd/],
        ["read-dotdot", /outside\.txt/],
        ["fetch-other-port", /net access/],
        ["fetch-other-host", /localhost/],
        ["fetch-redirect", /localhost/],
        ["env", /env access/],
        ["run", /run access/],
        ["write", /write access/],
        ["dlopen", /ffi access/],
        ["import", /read access|import access/],
      ];
      for (const [attempt, pattern] of denied) {
        await t.step(`denied: ${attempt}`, async () => {
          await _rejects(_attempt(world, attempt), "PERMISSION_DENIED", pattern);
        });
      }
      await t.step(
        "a symlink inside the root is followed (the importer must check it)",
        async () => {
          // Deno follows symlinks inside a granted folder; the filesystem importer
          // guards against this itself. This records the platform behaviour.
          const result = await _attempt(world, "symlink-inside").catch((e) => e);
          assert.ok(
            (result as { serverName?: string }).serverName === "outside" ||
              (result as RetrovueError).code === "PERMISSION_DENIED",
          );
        },
      );
      await t.step("a synchronous infinite loop ends in TIMEOUT", async () => {
        await _rejects(_attempt(world, "sync-loop", { timeoutMs: 1_000 }), "TIMEOUT");
      });
      await t.step("never answering ends in TIMEOUT", async () => {
        await _rejects(_attempt(world, "never-answer", { timeoutMs: 500 }), "TIMEOUT");
      });
      await t.step("a heap bomb ends in PLUGIN_CRASHED", async () => {
        // A small heap keeps the test quick; the default limit behaves the same, later.
        const small = await loadRegistry({ builtinDir: HOSTILE, maxHeapMb: 128 });
        try {
          await _rejects(
            _attempt({ ...world, registry: small }, "heap-bomb", { timeoutMs: 60_000 }),
            "PLUGIN_CRASHED",
            /memory|exited|stopped/,
          );
        } finally {
          await small.close();
        }
      });
      await t.step("a 200 MB message is refused as MALFORMED_RESPONSE", async () => {
        await _rejects(_attempt(world, "huge-message"), "MALFORMED_RESPONSE", /MiB/);
      });
      await t.step("a malformed result is MALFORMED_RESPONSE", async () => {
        await _rejects(_attempt(world, "malformed-result"), "MALFORMED_RESPONSE");
      });
      await t.step("throwing a non-Error is PLUGIN_ERROR", async () => {
        await _rejects(_attempt(world, "throw-non-error"), "PLUGIN_ERROR", /non-Error/);
      });
      await t.step("typed errors keep their code, and secrets are scrubbed", async () => {
        const error = await _rejects(
          _attempt(world, "throw-typed", { token: "s3cr3t-t0ken" }),
          "AUTH_FAILED",
        );
        assert.ok(!error.message.includes("s3cr3t-t0ken"), error.message);
        assert.match(error.message, /\*\*\*/);
      });
      await t.step("an unknown error code becomes PLUGIN_ERROR", async () => {
        await _rejects(_attempt(world, "throw-unknown-code"), "PLUGIN_ERROR", /BOGUS/);
      });
      await t.step("a worker closing itself is PLUGIN_CRASHED", async () => {
        await _rejects(_attempt(world, "close-self"), "PLUGIN_CRASHED", /closed itself/);
      });
      await t.step("an uncaught error in a timer is PLUGIN_CRASHED, not a host crash", async () => {
        await _rejects(_attempt(world, "uncaught-async"), "PLUGIN_CRASHED", /boom/);
      });
      await t.step("bytes a plugin prints on stdout are not protocol messages", async () => {
        assert.deepEqual(await _attempt(world, "stdout-noise"), { serverName: "noisy" });
      });
      await t.step("the host is still healthy after all of it", async () => {
        assert.deepEqual(await _attempt(world, "read-inside"), { serverName: "inside" });
      });
    } finally {
      await _close(world);
    }
  },
});

Deno.test({
  name: "rpc: a malformed batch is MALFORMED_RESPONSE; streams stop when the consumer stops",
  permissions: PERMS,
  async fn() {
    const world = await _world();
    try {
      const info = world.registry.get("escape")!;
      const open = (attempt: string) =>
        world.registry.open(
          "escape",
          validateConfig(info.manifest.params, { attempt }, { cwd: "/" }),
          { timeoutMs: 5_000 },
        );
      const collection = { externalId: "c", kind: "movies" as const, name: "C" };
      const bad = await open("malformed-batch");
      try {
        const consume = async () => {
          for await (const _ of bad.fetchAssets({ collection, filters: {} })) { /* drain */ }
        };
        await _rejects(consume(), "MALFORMED_RESPONSE", /array/);
      } finally {
        await bad.close();
      }
      const endless = await open("stream-forever");
      try {
        let seen = 0;
        for await (const batch of endless.fetchAssets({ collection, filters: {} })) {
          seen += batch.length;
          if (seen >= 20_000) break;
        }
        assert.equal(seen, 20_000, "batches of 1000 arrive until the consumer stops");
        // The worker is still usable: back-pressure and cancel kept it sane.
        assert.deepEqual(await endless.listCollections(), [
          { externalId: "c", name: "C", kind: "movies" },
        ]);
      } finally {
        await endless.close();
      }
      const cancelled = await open("stream-forever");
      try {
        const controller = new AbortController();
        const consume = async () => {
          for await (
            const _ of cancelled.fetchAssets({ collection, filters: {} }, {
              signal: controller.signal,
            })
          ) controller.abort();
        };
        await _rejects(consume(), "CANCELLED");
      } finally {
        await cancelled.close();
      }
    } finally {
      await _close(world);
    }
  },
});

Deno.test({
  name: "registry: two modules claiming one type id fail loudly",
  permissions: PERMS,
  async fn() {
    const error = await _rejects(
      loadRegistry({ builtinDir: join(FIXTURES, "duplicate") }),
      "DUPLICATE_TYPE",
    );
    assert.equal(
      error.message,
      `Multiple importers claim source type 'plex': ${join(FIXTURES, "duplicate", "plex_a.ts")}, ${
        join(FIXTURES, "duplicate", "plex_b.ts")
      }`,
    );
  },
});

Deno.test({
  name: "registry: broken modules are listed with a reason and do not hide good ones",
  permissions: PERMS,
  async fn() {
    const registry = await loadRegistry({
      builtinDir: join(FIXTURES, "broken"),
      pluginDirs: ["/nonexistent/plugins"],
      loadTimeoutMs: 3_000,
    });
    const byFile = new Map(registry.types.map((t) => [t.file.split("/").pop(), t]));
    assert.equal(byFile.get("good.ts")?.status, "available");
    for (
      const name of ["throws_on_load.ts", "bad_manifest.ts", "no_default.ts", "syntax_error.ts"]
    ) {
      assert.equal(byFile.get(name)?.status, "broken", name);
    }
    const reason = (name: string) => {
      const t = byFile.get(name);
      return t?.status === "broken" ? t.reason : "";
    };
    assert.match(reason("throws_on_load.ts"), /cannot initialise/);
    assert.match(reason("bad_manifest.ts"), /invalid manifest/);
    assert.match(reason("no_default.ts"), /no default export/);
    assert.match(reason("loops_on_load.ts"), /did not load within/);
    assert.match(reason("plugins"), /cannot be read/);
    assert.ok(!byFile.has("_helper.ts"), "helpers are not plugins");
    assert.ok(!byFile.has("thing_test.ts"), "tests are not plugins");
    assert.ok(registry.get("good"));
    await registry.close();
  },
});
