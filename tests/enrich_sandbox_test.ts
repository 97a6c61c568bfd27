/**
 * The enricher sandbox: hostile enrichers (tests/fixtures/enrichers) try to
 * run another binary than the one granted, read outside the collection's
 * folders, open a connection, answer garbage, hang and crash; each gets its
 * typed denial, and the runner records it on that asset and goes on.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RetrovueError } from "../core/errors.ts";
import { findOnPath, loadEnricherRegistry, resolveRunParams } from "../registry/_enrichers.ts";
import { loadRegistry, probeIsolation } from "../registry/mod.ts";
import type { EnricherClient } from "../registry/_types.ts";
import { runCli, tempWorld } from "./_cli.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/enrichers/", import.meta.url));
const ISOLATION = { level: "deno" as const, mode: "auto" as const };
const PATH = Deno.env.get("PATH") ?? "/usr/bin:/bin";
const TRUE = findOnPath("true", PATH) ?? "/bin/true";

async function _open(roots: string[], level: "deno" | "os"): Promise<EnricherClient> {
  const registry = await loadEnricherRegistry({
    builtinDir: FIXTURES,
    searchPath: PATH,
    isolation: { ...ISOLATION, level },
  });
  // No lookup: the operator passes the one program it may run.
  const config = registry.resolveConfig("snoop", { tool: TRUE });
  return await registry.open("snoop", config, { readRoots: roots });
}

async function _code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "resolved";
  } catch (error) {
    assert.ok(error instanceof RetrovueError, String(error));
    return error.code;
  }
}

const target = (title: string, parts: string[]) => ({
  assetId: "a-1",
  kind: "movie" as const,
  title,
  parts,
  durationMs: null,
});

const OS = await probeIsolation({ mode: "auto", executable: Deno.execPath() });
if (OS.level !== "os") console.log(`enrich sandbox: OS isolation not tested here: ${OS.reason}`);

for (const level of OS.level === "os" ? ["deno", "os"] as const : ["deno"] as const) {
  Deno.test(`${level} isolation: only the granted executable, only the collection, no network`, () =>
    _denials(level));
}

async function _denials(level: "deno" | "os"): Promise<void> {
  using world = tempWorld();
  const media = join(world.dir, "media");
  Deno.mkdirSync(media);
  Deno.writeTextFileSync(join(media, "x.mkv"), "x");
  const client = await _open([media], level);
  try {
    const granted = await client.enrich(target("run-granted", [join(media, "x.mkv")]));
    assert.equal(granted.tech.container, "ran");
    for (const attempt of ["run", "read", "net"]) {
      assert.equal(
        await _code(client.enrich(target(attempt, [join(media, "x.mkv")]))),
        "PERMISSION_DENIED",
        attempt,
      );
    }
    assert.equal(await _code(client.enrich(target("bad", []))), "MALFORMED_RESPONSE");
    // The worker survives denials: the next call still works.
    assert.equal((await client.enrich(target("ok", []))).durationMs, undefined);
  } finally {
    await client.close();
  }
}

Deno.test("run params resolve to a real executable, else the enricher's hint", () => {
  using world = tempWorld();
  const plain = join(world.dir, "plain.txt");
  Deno.writeTextFileSync(plain, "not a program");
  Deno.chmodSync(plain, 0o644);
  const params = [{
    name: "tool",
    flag: "--tool",
    grants: "run",
    lookup: "no-such-tool-xyz",
    missingHint: "install it or pass --tool PATH",
  }];
  assert.throws(
    () => resolveRunParams(params, {}, { searchPath: PATH }),
    (e: RetrovueError) =>
      e.code === "ENRICHER_UNAVAILABLE" && /install it or pass --tool PATH/.test(e.message),
  );
  assert.throws(
    () => resolveRunParams(params, { tool: plain }, { searchPath: PATH }),
    (e: RetrovueError) => e.code === "ENRICHER_UNAVAILABLE" && /not an executable/.test(e.message),
  );
  const found = resolveRunParams([{ ...params[0], lookup: "true" }], {}, { searchPath: PATH });
  assert.equal(found.tool, Deno.realPathSync(String(found.tool)));
});

Deno.test("two enrichers claiming one type id fail discovery; importers ignore enrichers", async () => {
  await assert.rejects(
    loadEnricherRegistry({ builtinDir: join(FIXTURES, "duplicate"), isolation: ISOLATION }),
    (e: RetrovueError) => e.code === "DUPLICATE_TYPE" && /twin/.test(e.message),
  );
  // A plugin folder holding enrichers is not a folder of broken importers.
  const importers = await loadRegistry({ pluginDirs: [FIXTURES], isolation: ISOLATION });
  assert.deepEqual(importers.types.filter((t) => t.file.startsWith(FIXTURES)), []);
});

Deno.test("a hanging and a crashing asset are recorded; the others are enriched", async () => {
  using world = tempWorld();
  const root = join(world.dir, "movies");
  for (const name of ["Crash (2001)", "Good (2002)", "Hang (2003)", "Also Good (2004)"]) {
    Deno.mkdirSync(join(root, name), { recursive: true });
    Deno.writeTextFileSync(join(root, name, `${name}.mkv`), "not media; flaky never reads it");
  }
  // No ffprobe on PATH: discovery attaches no default enricher, only flaky runs.
  const bin = join(world.dir, "bin");
  Deno.mkdirSync(bin);
  Deno.symlinkSync(Deno.execPath(), join(bin, "deno"));
  const cli = (args: string[]) =>
    runCli(args, { db: world.db, pluginPath: FIXTURES, cwd: world.dir, env: { PATH: bin } });
  assert.equal(
    (await cli(["source", "add", "--type", "filesystem", "--name", "fs", "--root", root])).code,
    0,
  );
  assert.equal((await cli(["source", "discover", "fs"])).code, 0);
  const show = JSON.parse((await cli(["collection", "show", "movies", "--json"])).stdout);
  assert.deepEqual(show.collection.enrichers, []);
  const update = await cli([
    "collection",
    "update",
    "movies",
    "--sync-enable",
    "--add-enricher",
    "flaky",
  ]);
  assert.equal(update.code, 0, update.stderr);
  const ingest = await cli(["collection", "ingest", "movies", "--json"]);
  assert.equal(ingest.code, 0, ingest.stderr);
  const enrichment = JSON.parse(ingest.stdout).enrichment;
  assert.equal(enrichment.probed, 4);
  assert.equal(enrichment.enriched, 2);
  assert.equal(enrichment.failed, 2);
  const codes = Object.fromEntries(
    enrichment.failures.map((f: { label: string; code: string }) => [f.label, f.code]),
  );
  assert.deepEqual(codes, { Crash: "PLUGIN_CRASHED", Hang: "TIMEOUT" });
  // Failures are remembered for the file: nothing is probed again.
  const again = await cli(["collection", "enrich", "movies", "--json"]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).probed, 0);
});

Deno.test("enricher manifests are cached: an unchanged folder loads with no plugin host", async () => {
  using world = tempWorld();
  const cacheDir = join(world.dir, "cache");
  const first = await loadEnricherRegistry({
    builtinDir: FIXTURES,
    searchPath: PATH,
    isolation: ISOLATION,
    cacheDir,
  });
  const second = await loadEnricherRegistry({
    builtinDir: FIXTURES,
    searchPath: PATH,
    cacheDir,
    // Asked only when a plugin host is about to start.
    isolation: () => Promise.reject(new Error("a plugin host was started")),
  });
  const summary = (r: typeof first) => r.types.map((t) => `${t.typeId}:${t.status}`);
  assert.deepEqual(summary(second), summary(first));
  // snoop runs a program only the operator names: unavailable until one is passed.
  assert.deepEqual(summary(first), ["flaky:available", "snoop:unavailable"]);
});

Deno.test("an enricher cannot pick its program by name, nor run one beside a net grant", async () => {
  using world = tempWorld();
  const dir = join(world.dir, "plugins");
  Deno.mkdirSync(dir);
  const tool = (lookup: string, extra = "") =>
    `export default {
      typeId: "${lookup}_${extra ? "net" : "run"}",
      displayName: "Hostile (test)",
      appliesTo: ["movie"],
      params: [
        { name: "tool", flag: "--tool", kind: "path", grants: "run", lookup: "${lookup}",
          description: "the program" },
        ${extra}
      ],
      enrich: () => ({ tech: {} }),
    };\n`;
  const net = `{ name: "api", flag: "--api", kind: "url", grants: "net", description: "a server" }`;
  // By name, a module would have the host grant a shell or deno itself (which runs anything).
  Deno.writeTextFileSync(join(dir, "deno_run.ts"), tool("deno"));
  Deno.writeTextFileSync(join(dir, "sh_run.ts"), tool("sh"));
  // A granted program is not held to the net grant; OS isolation shares the network with it.
  Deno.writeTextFileSync(join(dir, "ffprobe_net.ts"), tool("ffprobe", net));
  Deno.writeTextFileSync(join(dir, "ffprobe_run.ts"), tool("ffprobe"));
  const registry = await loadEnricherRegistry({
    builtinDir: join(world.dir, "none"),
    pluginDirs: [dir],
    searchPath: PATH,
    isolation: ISOLATION,
  });
  const byFile: Record<string, { status: string; reason?: string }> = Object.fromEntries(
    registry.types.map((t) => [t.file.slice(dir.length + 1), t]),
  );
  for (const file of ["deno_run.ts", "sh_run.ts"]) {
    assert.equal(byFile[file]?.status, "broken", file);
    assert.match(byFile[file]?.reason ?? "", /lookup is one of ffprobe, mediainfo, mkvmerge/, file);
  }
  assert.equal(byFile["ffprobe_net.ts"]?.status, "broken");
  assert.match(byFile["ffprobe_net.ts"]?.reason ?? "", /run grant has no net grant/);
  // A media tool by name stays allowed (available where it is installed).
  assert.notEqual(byFile["ffprobe_run.ts"]?.status, "broken", byFile["ffprobe_run.ts"]?.reason);
});
