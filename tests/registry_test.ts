/**
 * The registry and the sandbox, proven by hostile plugins that try to escape.
 *
 * Each escape attempt runs in a real sandboxed worker inside a real
 * plugin-host subprocess; the test asserts the typed denial (or clean
 * failure) and that the host is still healthy afterwards. The whole matrix
 * runs twice: with Deno's permissions alone, and under OS isolation
 * (bubblewrap) where this machine has it — otherwise those tests say why
 * they are skipped.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath as fromFileUrl, pathToFileURL } from "node:url";
import { configureSync, type LogRecord, resetSync } from "@logtape/logtape";
import { validateConfig } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import {
  DEFAULT_LIMITS,
  type IsolationLevel,
  type Limits,
  loadRegistry,
  probeIsolation,
} from "../registry/mod.ts";
import type { PluginNotice, Registry } from "../registry/_types.ts";
import { BATCH_SIZE, STREAM_CREDIT } from "../registry/_protocol.ts";

const FIXTURES = fromFileUrl(new URL("./fixtures/", import.meta.url));
const HOSTILE = join(FIXTURES, "hostile");
const LOCKFILE = fromFileUrl(new URL("../deno.lock", import.meta.url));

const PERMS: Deno.PermissionOptions = {
  read: true,
  write: true,
  run: true,
  // Starting a plugin host (node:child_process, for its fd-3 channel) reads these two.
  env: ["NODE_V8_COVERAGE", "HOME"],
  net: ["127.0.0.1"],
};

const PROBE = await probeIsolation({ mode: "auto", executable: Deno.execPath() });
if (PROBE.level !== "os") {
  console.log(`OS isolation (bubblewrap) tests are skipped on this machine: ${PROBE.reason}`);
}
const LEVELS: IsolationLevel[] = ["deno", "os"];

/** Small limits so the limit tests finish quickly; the mechanism is the default's. */
const TEST_LIMITS: Limits = {
  ...DEFAULT_LIMITS,
  maxMessageBytes: 4 * 1024 * 1024,
  // Room for what a consumer reads before it stops plus the credit the worker sent ahead.
  maxAssets: (STREAM_CREDIT + 2) * BATCH_SIZE,
  maxStreamBytes: 12 * 1024 * 1024,
  maxLogLines: 50,
};

interface World {
  registry: Registry;
  root: string;
  url: string;
  server: Deno.HttpServer;
}

/**
 * A granted root whose name has a comma, spaces, quotes and non-ASCII (the
 * plugin host's permission flags are comma-separated lists), holding a file,
 * a link to a file outside and a link to the folder above it.
 */
async function _world(level: IsolationLevel): Promise<World> {
  const base = Deno.makeTempDirSync({ prefix: "retrovue-sandbox-" });
  const root = join(base, `Movies, Kids 'n' "Quotes" ü`);
  Deno.mkdirSync(root);
  Deno.writeTextFileSync(join(root, "inside.txt"), "inside");
  Deno.writeTextFileSync(join(base, "outside.txt"), "outside");
  Deno.symlinkSync(join(base, "outside.txt"), join(root, "link-to-outside.txt"));
  Deno.symlinkSync(base, join(root, "link-to-base"));
  Deno.symlinkSync("inside.txt", join(root, "link-to-inside.txt"));
  Deno.symlinkSync("../outside.txt", join(root, "rel-to-outside.txt"));
  Deno.mkdirSync(join(root, "sub"));
  Deno.symlinkSync("..", join(root, "sub", "up"));
  Deno.writeTextFileSync(join(root, "inside.json"), '{"inside":true}');
  Deno.writeTextFileSync(join(base, "outside.json"), '{"outside":true}');
  Deno.writeTextFileSync(join(base, "outside.js"), 'export const secret = "outside";\n');
  Deno.symlinkSync(join(base, "outside.json"), join(root, "link-to-outside.json"));
  Deno.symlinkSync(join(base, "outside.js"), join(root, "link-to-outside.js"));
  const db = new DatabaseSync(join(base, "outside.db"));
  db.exec("CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('outside')");
  db.close();
  Deno.symlinkSync(join(base, "outside.db"), join(root, "link-to-outside.db"));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/redirect") {
      return Response.redirect(`http://localhost:${url.port}/elsewhere`, 302);
    }
    return new Response("hello from the granted server");
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const registry = await loadRegistry({
    builtinDir: HOSTILE,
    timeoutMs: 5_000,
    isolation: { level, mode: "auto" },
    limits: TEST_LIMITS,
    maxHeapMb: 128,
  });
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

/** Runs `fn` with the `retrovue` loggers writing to memory; returns what they logged. */
async function _captureLogs(fn: () => Promise<void>): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  configureSync({
    sinks: { memory: (r: LogRecord) => records.push(r) },
    loggers: [
      { category: ["retrovue"], lowestLevel: "debug", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  try {
    await fn();
  } finally {
    resetSync();
  }
  return records;
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

function _sha(path: string): string {
  return createHash("sha256").update(Deno.readFileSync(path)).digest("hex");
}

for (const level of LEVELS) {
  Deno.test({
    name: `sandbox (${level}): hostile plugins are contained with typed denials`,
    ignore: level === "os" && PROBE.level !== "os",
    permissions: PERMS,
    async fn(t) {
      const world = await _world(level);
      try {
        assert.equal((await world.registry.isolation()).level, level);
        await t.step(
          "grants work: reading inside the root and fetching the granted server",
          async () => {
            assert.deepEqual(await _attempt(world, "read-inside"), { serverName: "inside" });
            assert.deepEqual(await _attempt(world, "readdir-inside"), { serverName: "listed" });
            assert.deepEqual(await _attempt(world, "node-allowed"), { serverName: "loaded 6" });
            assert.deepEqual(await _attempt(world, "readlink-inside"), {
              serverName: "inside.txt|inside.txt",
            });
            assert.deepEqual(await _attempt(world, "fetch-own"), {
              serverName: "hello from the granted server",
            });
          },
        );
        const denied: Array<[string, RegExp]> = [
          ["read-passwd", /\/etc\/passwd/],
          ["read-dotdot", /outside\.txt/],
          ["symlink-inside", /link-to-outside\.txt" leads outside the paths this source grants/],
          ["symlink-dir", /link-to-base\/outside\.txt" leads outside/],
          ["stat-outside", /leads outside/],
          ["realpath-outside", /link-to-outside\.txt" leads outside/],
          // Where a link out points is not told either (the target names a path outside).
          ["readlink-outside", /link-to-outside\.txt" leads outside/],
          ["readlink-outside-async", /link-to-outside\.txt" leads outside/],
          ["readlink-dir", /link-to-base" leads outside/],
          ["readlink-via-link", /rel-to-outside\.txt" leads outside/],
          ["path-object", /link-to-outside\.txt" leads outside/],
          ["fetch-other-port", /net access/],
          ["fetch-other-host", /localhost/],
          ["fetch-redirect", /localhost/],
          ["env", /env access/],
          ["run", /run access/],
          ["write", /write access/],
          ["dlopen", /ffi access/],
          ["import", /an import from outside the importer's own folder \('\/etc\/hostname\.js'\)/],
          ["import-json-link", /an import from outside the importer's own folder/],
          ["import-js-link", /an import from outside the importer's own folder/],
          ["import-data", /read data under a granted path with Deno\.readTextFile, not import/],
          ["import-data-spelled", /an import from outside the importer's own folder/],
          ["remote-import", /remote modules|import access/],
          ["cache-api", /caches is not available to plugins/],
          ["local-storage", /localStorage is not available/],
          ["broadcast", /BroadcastChannel is not available/],
          ["kv", /Deno KV/],
          ["listen", /listening for connections is not available/],
          ["serve", /serving HTTP is not available/],
          ["node-worker", /Node\.js module is not available to plugins/],
          ["node-require", /Node\.js module is not available to plugins/],
          ["get-builtin", /getBuiltinModule is not available/],
          ["process-builtin", /node:process is not available to plugins/],
          ["node-listen", /serves or opens raw sockets/],
          ["node-internal-listen", /serves or opens raw sockets/],
          ["binding-listen", /process\.binding is not available/],
          ["node-repl", /Node\.js module is not available to plugins \(they may import/],
          ["node-tty", /Node\.js module is not available to plugins \(they may import/],
          ["chdir", /changing the working folder is not available/],
          ["process-chdir", /process\.chdir is not available/],
          ["fetch-location-throws", /link-to-outside\.txt" leads outside/],
        ];
        for (const [attempt, pattern] of denied) {
          await t.step(`denied: ${attempt}`, async () => {
            await _rejects(_attempt(world, attempt), "PERMISSION_DENIED", pattern);
          });
        }
        await t.step("its own folder's modules still import on demand", async () => {
          assert.deepEqual(await _attempt(world, "import-own"), { serverName: "object" });
        });
        await t.step("denied: import('npm:…'), and deno.lock is left alone", async () => {
          const before = _sha(LOCKFILE);
          await _rejects(_attempt(world, "npm-import"), "PERMISSION_DENIED", /npm packages/);
          assert.equal(_sha(LOCKFILE), before, "deno.lock unchanged");
        });
        await t.step("a helper worker the plugin starts is hardened the same way", async () => {
          const result = await _attempt(world, "nested-worker") as { serverName: string };
          const seen = JSON.parse(result.serverName);
          assert.equal(seen.caches, "undefined");
          assert.equal(seen.localStorage, "undefined");
          assert.equal(seen.BroadcastChannel, "undefined");
          assert.match(seen.listen, /listening for connections is not available to plugins/);
          assert.match(seen.symlink, /leads outside the paths this source grants/);
          assert.equal(seen.worker, "Worker");
          assert.equal(seen.original, "gone", "and so are its own helpers");
        });
        await t.step("no way back to the unhardened Worker constructor", async () => {
          const result = await _attempt(world, "original-worker") as { serverName: string };
          const seen = JSON.parse(result.serverName);
          // Object.getPrototypeOf(Worker) was Deno's own Worker: a helper without any hardening.
          assert.equal(seen.prototypeOf, "not a constructor");
          for (const route of ["prototypeConstructor", "instanceConstructor"]) {
            assert.match(seen[route].symlink, /leads outside the paths this source grants/, route);
            assert.equal(seen[route].caches, "undefined", route);
            assert.equal(seen[route].internal, "undefined", route);
          }
        });
        await t.step("a helper is hardened whatever the plugin patched first", async () => {
          const result = await _attempt(world, "worker-patched-builtins") as { serverName: string };
          const seen = JSON.parse(result.serverName);
          for (const route of ["createObjectURL", "Blob", "stringify"]) {
            assert.deepEqual(seen[route], { read: "denied", caches: "undefined" }, route);
          }
        });
        await t.step("the read guard holds whatever the plugin patched", async () => {
          const result = await _attempt(world, "patched-builtins") as { serverName: string };
          const seen = JSON.parse(result.serverName);
          assert.deepEqual(seen, {
            read: "denied",
            readLink: "denied",
            readLinkAsync: "denied",
            stolen: "object", // what .call saw: never one of Deno's own functions
          });
        });
        await t.step("the runtime's internals are gone from the worker", async () => {
          assert.deepEqual(await _attempt(world, "internals"), { serverName: "undefined/0" });
        });
        await t.step("fetch('file:…') cannot follow a link out, however it is asked", async () => {
          // Upper-case scheme; a Request whose url getter names another file; relative.
          for (
            const attempt of [
              "fetch-file-link",
              "fetch-upper-scheme",
              "request-getter-swap",
              "fetch-relative",
            ]
          ) {
            const result = await _attempt(world, attempt).catch((e) => e);
            assert.ok(
              result instanceof RetrovueError,
              `${attempt} read through the link: ${JSON.stringify(result)}`,
            );
            if (attempt !== "fetch-relative") {
              assert.equal(result.code, "PERMISSION_DENIED", `${attempt}: ${result.message}`);
              assert.match(result.message, /link-to-outside\.txt" leads outside/, attempt);
            }
          }
        });
        await t.step("a URL is read as it is, whatever its subclass's getters say", async () => {
          assert.deepEqual(await _attempt(world, "url-getter-swap"), { serverName: "inside" });
        });
        if (level === "os") {
          await t.step("node:fs cannot follow a link out either (it sees nothing)", async () => {
            const result = await _attempt(world, "symlink-node-fs").catch((e) => e);
            assert.ok(result instanceof RetrovueError, `read through the link: ${result}`);
            assert.match(result.message, /no such file/i);
          });
          await t.step("nor can node:sqlite open a database through one", async () => {
            const result = await _attempt(world, "symlink-node-sqlite").catch((e) => e);
            assert.ok(result instanceof RetrovueError, `read through the link: ${result}`);
            assert.match(result.message, /unable to open/i);
          });
        } else {
          // They open files beneath Deno's APIs, where no check sees a link out.
          for (const attempt of ["symlink-node-fs", "symlink-node-sqlite"]) {
            await t.step(`without OS isolation, ${attempt.slice(8)} is denied`, async () => {
              await _rejects(
                _attempt(world, attempt),
                "PERMISSION_DENIED",
                /node:fs and node:sqlite are not available to plugins without OS isolation/,
              );
            });
          }
        }
        await t.step("Deno.exit() is reported at once, by name", async () => {
          await _rejects(
            _attempt(world, "deno-exit", { timeoutMs: 60_000 }),
            "PLUGIN_CRASHED",
            /called Deno\.exit\(3\)/,
          );
        });
        await t.step("close() is reported at once", async () => {
          await _rejects(
            _attempt(world, "close-self", { timeoutMs: 60_000 }),
            "PLUGIN_CRASHED",
            /closed itself/,
          );
        });
        await t.step("the protocol channel is out of reach: node:net is a denial", async () => {
          // It opened the inherited descriptor 3 and forged the host's frames; the host also
          // stops, loudly, on anything written there that is not its own framing.
          await _rejects(
            _attempt(world, "channel-forge"),
            "PERMISSION_DENIED",
            /serves or opens raw sockets/,
          );
        });
        await t.step("a synchronous infinite loop ends in TIMEOUT", async () => {
          await _rejects(_attempt(world, "sync-loop", { timeoutMs: 1_000 }), "TIMEOUT");
        });
        await t.step("never answering ends in TIMEOUT", async () => {
          await _rejects(_attempt(world, "never-answer", { timeoutMs: 500 }), "TIMEOUT");
        });
        await t.step(
          "a heap bomb is reported as running out of memory, with the limit",
          async () => {
            await _rejects(
              _attempt(world, "heap-bomb", { timeoutMs: 60_000 }),
              "PLUGIN_CRASHED",
              /ran out of memory \(limit 128 MiB\)/,
            );
          },
        );
        await t.step(
          "memory outside the heap (ArrayBuffers) is bounded too: the host ends as out of memory",
          async () => {
            await _rejects(
              _attempt(world, "buffer-bomb", { timeoutMs: 60_000 }),
              "PLUGIN_CRASHED",
              /ran out of memory \(limit 384 MiB resident, 128 MiB of it heap\)/,
            );
          },
        );
        await t.step("a message over the limit is LIMIT_EXCEEDED, naming the setting", async () => {
          await _rejects(
            _attempt(world, "huge-message"),
            "LIMIT_EXCEEDED",
            /4 MiB per message.*RETROVUE_MAX_MESSAGE_MB/,
          );
        });
        await t.step("the limit counts UTF-8 bytes, not characters", async () => {
          await _rejects(
            _attempt(world, "huge-message-multibyte"),
            "LIMIT_EXCEEDED",
            /4 MiB per message/,
          );
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
        await t.step(
          "a secret in disguise (base64, reversed, upper-case) is scrubbed",
          async () => {
            const token = "xyzAB12cd34EF56gh78i";
            const error = await _rejects(
              _attempt(world, "secret-disguised", { token }),
              "AUTH_FAILED",
            );
            const b64 = btoa(`user:${token}`);
            for (const form of [token.toUpperCase(), [...token].reverse().join(""), b64.slice(8)]) {
              assert.ok(!error.message.includes(form), `${form} in: ${error.message}`);
            }
          },
        );
        await t.step("an unknown error code becomes PLUGIN_ERROR", async () => {
          await _rejects(_attempt(world, "throw-unknown-code"), "PLUGIN_ERROR", /BOGUS/);
        });
        await t.step(
          "an uncaught error in a timer is PLUGIN_CRASHED, not a host crash",
          async () => {
            await _rejects(_attempt(world, "uncaught-async"), "PLUGIN_CRASHED", /boom/);
          },
        );
        await t.step("what a plugin prints never reaches the protocol", async () => {
          assert.deepEqual(await _attempt(world, "stdout-noise"), { serverName: "noisy" });
          assert.deepEqual(await _attempt(world, "stdout-progress"), { serverName: "progress" });
        });
        await t.step("a plugin's log line is shown as written, braces and all", async () => {
          const records = await _captureLogs(async () => {
            assert.deepEqual(await _attempt(world, "log-braces"), { serverName: "braces" });
          });
          const lines = records.map((r) => r.message.map(String).join(""));
          assert.ok(
            lines.some((l) => l.includes('payload {"a":1} and {name}')),
            lines.join("\n"),
          );
        });
        await t.step("a log flood is cut at the limit per call", async () => {
          const records = await _captureLogs(async () => {
            assert.deepEqual(await _attempt(world, "log-flood"), { serverName: "flooded" });
          });
          assert.ok(records.length > 0, "some lines are shown");
          assert.ok(records.length <= TEST_LIMITS.maxLogLines + 1, `${records.length} records`);
          const last = records.at(-1)!.message.join("");
          assert.match(last, /dropped.*RETROVUE_MAX_LOG_LINES/);
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
    name: `rpc (${level}): malformed batches, stream limits, back-pressure and cancel`,
    ignore: level === "os" && PROBE.level !== "os",
    permissions: PERMS,
    async fn(t) {
      const world = await _world(level);
      try {
        const info = world.registry.get("escape")!;
        const open = (attempt: string) =>
          world.registry.open(
            "escape",
            validateConfig(info.manifest.params, { attempt }, { cwd: "/" }),
            { timeoutMs: 5_000 },
          );
        const collection = { externalId: "c", kind: "movies" as const, name: "C" };
        const drain = async (attempt: string) => {
          const client = await open(attempt);
          try {
            for await (const _ of client.fetchAssets({ collection, filters: {} })) { /* drain */ }
          } finally {
            await client.close();
          }
        };
        await t.step("a malformed batch is MALFORMED_RESPONSE", async () => {
          await _rejects(drain("malformed-batch"), "MALFORMED_RESPONSE", /array/);
        });
        await t.step(
          "raw bytes that would forge a second frame are MALFORMED_RESPONSE",
          async () => {
            await _rejects(drain("raw-newline"), "MALFORMED_RESPONSE");
          },
        );
        await t.step(
          "a raw string that would forge a second frame is MALFORMED_RESPONSE",
          async () => {
            await _rejects(drain("raw-newline-string"), "MALFORMED_RESPONSE", /line break/);
          },
        );
        await t.step("batches sent without credit are MALFORMED_RESPONSE", async () => {
          // A consumer that takes its time: a runtime would wait for credit, the flood does not.
          const flood = await open("flood-batches");
          try {
            const slow = async () => {
              for await (const _ of flood.fetchAssets({ collection, filters: {} })) {
                await new Promise((resolve) => setTimeout(resolve, 300));
              }
            };
            await _rejects(slow(), "MALFORMED_RESPONSE", /back-pressure/);
          } finally {
            await flood.close();
          }
        });
        await t.step("a message of too many lists and objects is refused unparsed", async () => {
          await _rejects(drain("dense-batch"), "MALFORMED_RESPONSE", /500000 lists and objects/);
        });
        await t.step("bytes that are not JSON are MALFORMED_RESPONSE", async () => {
          await _rejects(drain("not-json"), "MALFORMED_RESPONSE");
        });
        await t.step("an asset JSON cannot carry (a BigInt) is MALFORMED_RESPONSE", async () => {
          await _rejects(drain("bigint-asset"), "MALFORMED_RESPONSE");
        });
        await t.step("an endless stream stops at the asset limit", async () => {
          await _rejects(drain("stream-forever"), "LIMIT_EXCEEDED", /RETROVUE_MAX_ASSETS/);
        });
        await t.step("an endless stream of maximal assets stops at the byte limit", async () => {
          await _rejects(drain("stream-maximal"), "LIMIT_EXCEEDED", /RETROVUE_MAX_STREAM_MB/);
        });
        await t.step(
          "forging the end of a stream into the channel is out of reach too",
          async () => {
            await _rejects(drain("channel-forge"), "PERMISSION_DENIED", /raw sockets/);
          },
        );
        await t.step("batches of 1000 arrive until the consumer stops", async () => {
          const endless = await open("stream-forever");
          try {
            let seen = 0;
            for await (const batch of endless.fetchAssets({ collection, filters: {} })) {
              seen += batch.length;
              if (seen >= 2_000) break; // 2 batches + the credit stay within the asset limit
            }
            assert.equal(seen, 2_000);
            // The worker is still usable: back-pressure and cancel kept it sane.
            assert.deepEqual(await endless.listCollections(), [
              { externalId: "c", name: "C", kind: "movies" },
            ]);
          } finally {
            await endless.close();
          }
        });
        await t.step("cancelling a stream is CANCELLED", async () => {
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
        });
      } finally {
        await _close(world);
      }
    },
  });

  Deno.test({
    name: `registry (${level}): plugin folders that reach outside, or exit while loading`,
    ignore: level === "os" && PROBE.level !== "os",
    permissions: PERMS,
    async fn() {
      const dir = Deno.makeTempDirSync({ prefix: "retrovue-plugins-" });
      const linked = join(dir, "linked");
      const exits = join(dir, "exits");
      Deno.mkdirSync(linked);
      Deno.mkdirSync(exits);
      Deno.copyFileSync(join(FIXTURES, "broken", "good.ts"), join(linked, "good.ts"));
      Deno.symlinkSync("/etc/hostname", join(linked, "_cfg.json"));
      Deno.writeTextFileSync(join(exits, "bye.ts"), "Deno.exit(7);\nexport default {};\n");
      try {
        const started = performance.now();
        const registry = await loadRegistry({
          builtinDir: HOSTILE,
          pluginDirs: [linked, exits],
          loadTimeoutMs: 20_000,
          isolation: { level, mode: "auto" },
        });
        const seconds = (performance.now() - started) / 1000;
        const reason = (name: string) => {
          const t = registry.types.find((x) => x.file.endsWith(name));
          return t?.status === "broken" ? t.reason : `not broken: ${t?.status}`;
        };
        assert.match(reason("/good.ts"), /links outside its folder: _cfg\.json -> \/etc\/hostname/);
        assert.match(reason("/bye.ts"), /exited while loading: the plugin called Deno\.exit\(7\)/);
        assert.ok(seconds < 20, "the exit was reported at once, not at the deadline");
        assert.ok(registry.get("escape"), "other plugins still load");
        await registry.close();
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });

  Deno.test({
    name: `registry (${level}): a module cannot read another plugin folder's files while loading`,
    ignore: level === "os" && PROBE.level !== "os",
    permissions: PERMS,
    async fn() {
      const dir = Deno.makeTempDirSync({ prefix: "retrovue-plugins-" });
      const nosy = join(dir, "nosy");
      const other = join(dir, "other");
      Deno.mkdirSync(join(dir, "builtin"));
      Deno.mkdirSync(nosy);
      Deno.mkdirSync(other);
      Deno.writeTextFileSync(join(other, "_cfg.json"), '{"apiKey":"OTHER-FOLDER-SECRET"}');
      Deno.copyFileSync(join(FIXTURES, "broken", "good.ts"), join(other, "good.ts"));
      // Both folders load in one run (nothing cached): the nosy module's top level reaches over.
      const secretUrl = JSON.stringify(pathToFileURL(join(other, "_cfg.json")).href);
      Deno.writeTextFileSync(
        join(nosy, "nosy.ts"),
        `let seen = "denied";
try {
  seen = JSON.stringify((await import(${secretUrl}, { with: { type: "json" } })).default);
} catch { /* denied */ }
export default {
  typeId: "nosy",
  displayName: "nosy " + seen,
  description: "test",
  version: "1.0.0",
  params: [],
  capabilities: { kinds: ["movies"], filters: { movies: [], shows: [] } },
  validateConnection() { return { serverName: "nosy" }; },
  listCollections() { return []; },
  async *fetchAssets() {},
};
`,
      );
      try {
        const registry = await loadRegistry({
          builtinDir: join(dir, "builtin"),
          pluginDirs: [nosy, other],
          isolation: { level, mode: "auto" },
        });
        try {
          assert.equal(registry.get("nosy")?.manifest.displayName, "nosy denied");
          assert.ok(registry.types.some((t) => t.file === join(other, "good.ts")));
        } finally {
          await registry.close();
        }
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  });
}

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

Deno.test({
  name: "registry: no source may be granted the catalog's folder, or a folder holding it",
  permissions: PERMS,
  async fn() {
    const world = await _world("deno");
    const catalog = join(world.root, "catalog");
    Deno.mkdirSync(catalog);
    const guarded = await loadRegistry({
      builtinDir: HOSTILE,
      isolation: { level: "deno", mode: "auto" },
      protectedPaths: [catalog],
    });
    try {
      await _rejects(
        _attempt({ ...world, registry: guarded }, "read-inside"),
        "CONFIG_INVALID",
        /contains RetroVue's catalog/,
      );
    } finally {
      await guarded.close();
      await _close(world);
    }
  },
});

Deno.test("notices past the cap between two batches are counted in one warning, not lost silently", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-notices-" });
  try {
    Deno.writeTextFileSync(
      join(dir, "chatty.ts"),
      `export default {
        typeId: "chatty",
        displayName: "Chatty (test)",
        params: [],
        capabilities: { filters: {} },
        validateConnection: () => ({}),
        listCollections: () => [],
        async *fetchAssets(_config, context) {
          for (let i = 0; i < 10_010; i++) context.skipped("item " + i, "sample");
          for (let i = 0; i < 3; i++) context.warn("odd " + i);
          yield [{ externalId: "a", kind: "movie", title: "A" }];
        },
      };\n`,
    );
    const registry = await loadRegistry({
      builtinDir: join(dir, "none"),
      pluginDirs: [dir],
      isolation: { level: "deno", mode: "auto" },
    });
    const client = await registry.open("chatty", {});
    const notices: PluginNotice[] = [];
    try {
      const collection = { externalId: "c", kind: "movies" as const, name: "C" };
      for await (
        const _ of client.fetchAssets({ collection, filters: {} }, {
          onNotice: (n) => notices.push(n),
        })
      ) { /* drain */ }
    } finally {
      await client.close();
      await registry.close();
    }
    const skipped = notices.filter((n) => n.kind === "skipped").length;
    const warnings = notices.flatMap((n) => n.kind === "warn" ? [n.message] : []);
    assert.equal(skipped, 10_000, "the cap");
    assert.deepEqual(warnings, [
      "3 more warning(s) and 10 more skipped item(s) were not reported (over 10000 between two " +
      "batches)",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
