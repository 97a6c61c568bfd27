// deno-lint-ignore-file no-explicit-any -- assertions walk parsed JSON documents
/**
 * What the CLI says about the sandbox (issue #13): the isolation level plugin
 * hosts get (`source list-types`, `importer check`), the one warning when
 * plugins run with Deno permissions only, `RETROVUE_ISOLATION=required`,
 * bad settings, manifests that would grant themselves something through a
 * default, and the grants `source add`/`source show` echo for auditing.
 *
 * Most tests run `main.ts` as a subprocess with the `retrovue` task's
 * permissions (see `_cli.ts`); `RETROVUE_ISOLATION=off` forces the Deno-only
 * level on any machine.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { createContext } from "../cli/context.ts";
import { startingPlugin } from "../cli/views.ts";
import { validateConfig } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import { manifestSchema } from "../core/schemas.ts";
import {
  describeIsolation,
  type Isolation,
  loadRegistry,
  probeIsolation,
} from "../registry/mod.ts";
import {
  type CliResult,
  FAKE_PLUGINS,
  ISOLATION_WARNING,
  REPO_ROOT,
  runCli,
  type TempWorld,
  tempWorld,
} from "./_cli.ts";

/** What this machine gives plugin hosts, probed as the CLI probes it. */
const PROBE: Isolation = await probeIsolation({ mode: "auto", executable: Deno.execPath() });

const GRANTS_DEFAULT = join(REPO_ROOT, "tests", "fixtures", "grants_default");
const TOKEN = "Isol4tion-T0ken-9876";
const OFF = { RETROVUE_ISOLATION: "off" };

function _ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed: ${r.fullStderr}${r.stdout}`);
  return r;
}

/** How many isolation warning lines `text` holds. */
function _warnings(text: string): number {
  return text.match(ISOLATION_WARNING)?.length ?? 0;
}

/** Asserts one `Error: …` line on stderr matching `pattern`, exit 1, nothing on stdout. */
function _oneLineError(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1: ${r.fullStderr}${r.stdout}`);
  assert.equal(r.stdout, "");
  const lines = r.fullStderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected: ${r.fullStderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

function _state(world: TempWorld): string {
  return world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: "TV", kind: "shows" }],
    assets: {
      tv: [{ externalId: "e1", kind: "episode", title: "", seriesTitle: "Alpha", season: 1 }],
    },
  });
}

function _run(world: TempWorld, args: string[], env: Record<string, string> = {}) {
  return runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, env });
}

// ---------------------------------------------------------------- list-types

Deno.test("list-types shows the isolation this machine gives plugin hosts", async () => {
  using world = tempWorld();
  const json = _ok(await _run(world, ["source", "list-types", "--json"]), "list-types --json");
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.status, "ok");
  assert.equal(doc.isolation.level, PROBE.level, JSON.stringify(doc.isolation));
  assert.equal(doc.isolation.mode, "auto");
  assert.equal("reason" in doc.isolation, PROBE.level === "deno");
  assert.ok(Array.isArray(doc.types) && doc.types.some((t: any) => t.typeId === "fake"));

  const text = _ok(await _run(world, ["source", "list-types"]), "list-types");
  assert.ok(
    text.stdout.startsWith(`Isolation: ${describeIsolation(PROBE)}\n`),
    text.stdout.slice(0, 200),
  );
  // Listing types starts no importer operation: no warning, whatever the level.
  assert.equal(_warnings(text.fullStderr), 0, text.fullStderr);
});

Deno.test("list-types with RETROVUE_ISOLATION=off: level deno, the reason names the setting", async () => {
  using world = tempWorld();
  const json = _ok(await _run(world, ["source", "list-types", "--json"], OFF), "list-types");
  const { isolation } = JSON.parse(json.stdout);
  assert.equal(isolation.level, "deno");
  assert.equal(isolation.mode, "off");
  assert.match(isolation.reason, /RETROVUE_ISOLATION/);
  const text = _ok(await _run(world, ["source", "list-types"], OFF), "list-types");
  assert.match(text.stdout, /^Isolation: Deno permissions only \(.*RETROVUE_ISOLATION=off.*\)$/m);
});

// ------------------------------------------------------------ the warning

Deno.test("RETROVUE_ISOLATION=off: each plugin-running command warns exactly once", async () => {
  using world = tempWorld();
  const state = _state(world);
  const add = _ok(
    await _run(world, [
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Home",
      "--state-file",
      state,
      "--token",
      TOKEN,
      "--discover",
      "--json",
    ], OFF),
    "add",
  );
  assert.equal(_warnings(add.fullStderr), 1, add.fullStderr);
  assert.match(
    add.fullStderr,
    /^Warning: plugins run with Deno permissions only: .*RETROVUE_ISOLATION=off.*; see docs\/importers\.md "Isolation"$/m,
  );
  const doc = JSON.parse(add.stdout); // One valid document: the warning is on stderr only.
  assert.equal(doc.status, "ok");
  assert.doesNotMatch(add.stdout, /Warning/);

  const discover = _ok(await _run(world, ["source", "discover", "Home"], OFF), "discover");
  assert.equal(_warnings(discover.fullStderr), 1, discover.fullStderr);
  assert.doesNotMatch(discover.stdout, /Warning/);

  _ok(await _run(world, ["collection", "update", "TV", "--sync-enable"], OFF), "sync");
  const ingest = _ok(await _run(world, ["source", "ingest", "Home", "--json"], OFF), "ingest");
  assert.equal(_warnings(ingest.fullStderr), 1, ingest.fullStderr);
  assert.equal(JSON.parse(ingest.stdout).status, "ok");

  // Commands that start no plugin never warn.
  for (const args of [["source", "list"], ["source", "show", "Home"], ["collection", "list"]]) {
    const r = _ok(await _run(world, args, OFF), args.join(" "));
    assert.equal(_warnings(r.fullStderr), 0, `${args.join(" ")}: ${r.fullStderr}`);
  }
  // Nor does adding without contacting the source.
  const quiet = _ok(
    await _run(world, [
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Quiet",
      "--state-file",
      state,
      "--no-validate",
    ], OFF),
    "add --no-validate",
  );
  assert.equal(_warnings(quiet.fullStderr), 0, quiet.fullStderr);
});

Deno.test("importer check: isolation in its header and --json; one warning for two plugin starts", async () => {
  using world = tempWorld();
  const state = _state(world);
  const module = join(FAKE_PLUGINS, "fake.ts");
  // The fake importer has a secret param, so the check starts it twice (auth_failed).
  const args = ["importer", "check", module, "--state-file", state, "--token", TOKEN];
  const json = await _run(world, [...args, "--json"], OFF);
  const report = JSON.parse(json.stdout);
  assert.deepEqual(report.isolation, {
    level: "deno",
    mode: "off",
    reason: "turned off with RETROVUE_ISOLATION=off",
  });
  assert.notEqual(
    report.checks.find((c: any) => c.name === "auth_failed").status,
    "skip",
    "the wrong-credential run started a second plugin host",
  );
  assert.equal(_warnings(json.fullStderr), 1, json.fullStderr);

  const text = await _run(world, args, OFF);
  const [header, second] = text.stdout.split("\n");
  assert.equal(header, `importer check: fake (${module})`);
  assert.equal(second, "isolation: Deno permissions only (turned off with RETROVUE_ISOLATION=off)");
  assert.equal(_warnings(text.fullStderr), 1, text.fullStderr);

  const auto = await _run(world, [...args, "--json"]);
  assert.equal(JSON.parse(auto.stdout).isolation.level, PROBE.level);
  assert.equal(_warnings(auto.fullStderr), PROBE.level === "deno" ? 1 : 0, auto.fullStderr);
});

/** The I/O of an in-process context: no terminal, stdout dropped, stderr to `stderr`. */
function _io(
  env: Record<string, string>,
  stderr: (text: string) => void = () => {},
): Parameters<typeof createContext>[0] {
  return {
    env,
    stdout: { write() {} },
    stderr: { write: stderr },
    isTerminal: false,
    stdinIsTerminal: false,
    cwd: "/",
    now: () => new Date(0),
    readLine: () => Promise.resolve(null),
    signal: new AbortController().signal,
  };
}

Deno.test("the context warns once per invocation, and only at level deno", () => {
  let err = "";
  const handle = createContext(_io({}, (t) => void (err += t)), {
    args: [],
    path: ["x"],
    globals: { testDb: false, json: true },
  });
  const ctx = handle.context;
  ctx.warnIsolation({ level: "os", mode: "auto" });
  assert.equal(err, "");
  ctx.warnIsolation({ level: "deno", mode: "auto", reason: "bwrap is not installed" });
  ctx.warnIsolation({ level: "deno", mode: "auto", reason: "bwrap is not installed" });
  assert.equal(
    err,
    'Warning: plugins run with Deno permissions only: bwrap is not installed; see docs/importers.md "Isolation"\n',
  );
});

Deno.test("the context's probed isolation prepares nothing; isolation() makes ready for plugins once", async () => {
  let prepared = 0;
  const handle = createContext(_io({ RETROVUE_ISOLATION: "off" }), {
    args: [],
    path: ["x"],
    globals: { testDb: false, json: true },
    beforePlugins: () => Promise.resolve(void prepared++),
  });
  const ctx = handle.context;
  const reported = await ctx.probedIsolation();
  assert.equal(reported.level, "deno");
  assert.equal(prepared, 0, "only reporting the isolation sets up nothing for plugins");
  assert.deepEqual(await ctx.isolation(), reported, "the same answer");
  await ctx.isolation();
  assert.equal(prepared, 1, "made ready for plugins once");
  await handle.close();
});

// --------------------------------------------------------------- required

Deno.test("required without OS isolation: third-party plugins refused, built-ins run", async () => {
  const isolation: Isolation = { level: "deno", mode: "required", reason: "test" };
  const registry = await loadRegistry({ isolation, pluginDirs: [FAKE_PLUGINS] });
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-required-" });
  try {
    assert.deepEqual(await registry.isolation(), isolation);
    const fake = registry.get("fake")!;
    assert.equal(registry.isBuiltin(fake.file), false);
    const fakeConfig = validateConfig(fake.manifest.params, { state_file: join(dir, "s.json") }, {
      cwd: dir,
    });
    await assert.rejects(
      registry.open("fake", fakeConfig),
      (e: unknown) =>
        e instanceof RetrovueError && e.code === "ISOLATION_REQUIRED" && /test/.test(e.message),
    );
    const fs = registry.get("filesystem")!;
    assert.equal(registry.isBuiltin(fs.file), true);
    const client = await registry.open(
      "filesystem",
      validateConfig(fs.manifest.params, { root: dir }, { cwd: dir }),
    );
    try {
      await client.validateConnection();
    } finally {
      await client.close();
    }
  } finally {
    await registry.close();
    Deno.removeSync(dir, { recursive: true });
  }

  // The CLI's one gate before any plugin starts says the same, and does not warn when it refuses.
  let warned = 0;
  const ctx = {
    isolation: () => Promise.resolve(isolation),
    warnIsolation: () => void warned++,
  };
  await assert.rejects(
    startingPlugin(ctx, { typeId: "fake", builtin: false }),
    (e: unknown) =>
      e instanceof RetrovueError && e.code === "ISOLATION_REQUIRED" &&
      /RETROVUE_ISOLATION=required.*test/.test(e.message),
  );
  assert.equal(warned, 0);
  assert.deepEqual(await startingPlugin(ctx, { typeId: "filesystem", builtin: true }), isolation);
  assert.equal(warned, 1);
});

Deno.test("RETROVUE_ISOLATION=required through the CLI, on a machine without bwrap", async () => {
  using world = tempWorld();
  const state = _state(world);
  // A PATH with deno but no bwrap: what a machine without bubblewrap sees.
  const bin = join(world.dir, "bin");
  Deno.mkdirSync(bin);
  Deno.symlinkSync(Deno.execPath(), join(bin, "deno"));
  const noBwrap = { PATH: bin };
  const auto = _ok(await _run(world, ["source", "list-types"], noBwrap), "list-types");
  assert.match(auto.stdout, /^Isolation: Deno permissions only \(bwrap is not installed.*\)$/m);

  const required = { ...noBwrap, RETROVUE_ISOLATION: "required" };
  const third = await _run(world, [
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Req",
    "--state-file",
    state,
  ], required);
  _oneLineError(
    third,
    /importer 'fake' is a third-party plugin and RETROVUE_ISOLATION=required, but OS isolation is unavailable: bwrap is not installed/,
  );
  const check = await _run(world, [
    "importer",
    "check",
    join(FAKE_PLUGINS, "fake.ts"),
    "--state-file",
    state,
  ], required);
  _oneLineError(check, /RETROVUE_ISOLATION=required.*bwrap is not installed/);

  const lib = join(world.dir, "lib");
  Deno.mkdirSync(lib);
  const builtin = _ok(
    await _run(world, ["source", "add", "--type", "filesystem", "--name", "Files", "--root", lib], {
      ...required,
    }),
    "a built-in importer still runs",
  );
  assert.equal(_warnings(builtin.fullStderr), 1, builtin.fullStderr);
  assert.match(builtin.fullStderr, /Deno permissions only: bwrap is not installed/);

  if (PROBE.level === "os") {
    // With bwrap, required means OS isolation: the third-party plugin runs, and nothing warns.
    const r = _ok(
      await _run(world, [
        "source",
        "add",
        "--type",
        "fake",
        "--name",
        "Req",
        "--state-file",
        state,
      ], { RETROVUE_ISOLATION: "required" }),
      "add with required and bwrap",
    );
    assert.equal(_warnings(r.fullStderr), 0, r.fullStderr);
  }
});

// ---------------------------------------------------------- bad settings

Deno.test("a bad RETROVUE_ISOLATION or limit value is a one-line error, exit 1", async () => {
  using world = tempWorld();
  _oneLineError(
    await _run(world, ["source", "list-types"], { RETROVUE_ISOLATION: "maybe" }),
    /RETROVUE_ISOLATION must be one of auto, required, off; got 'maybe'/,
  );
  // Enrichers too, their manifests cached or not (the first run fills the cache).
  for (let i = 0; i < 2; i++) {
    _oneLineError(
      await _run(world, ["enricher", "list-types"], { RETROVUE_ISOLATION: "maybe" }),
      /RETROVUE_ISOLATION must be one of auto, required, off; got 'maybe'/,
    );
    _ok(await _run(world, ["enricher", "list-types"]), "fills the cache");
  }
  // An ingest probes while its module loads: the probe's failure is never left unhandled.
  _oneLineError(
    await _run(world, ["collection", "ingest", "NoSuch"], { RETROVUE_ISOLATION: "maybe" }),
    /^Error: (?!.*Uncaught)/,
  );
  _oneLineError(
    await _run(world, ["source", "list-types"], { RETROVUE_MAX_ASSETS: "lots" }),
    /RETROVUE_MAX_ASSETS must be a positive whole number/,
  );
  _oneLineError(
    await _run(world, ["importer", "check", join(FAKE_PLUGINS, "fake.ts")], {
      RETROVUE_MAX_STREAM_MB: "-1",
    }),
    /RETROVUE_MAX_STREAM_MB must be a positive whole number/,
  );
  // A log level that is none is said, not silently ignored.
  const log = await _run(world, ["collection", "ingest", "NoSuch"], { RETROVUE_LOG: "verbose" });
  assert.match(log.fullStderr, /^Warning: RETROVUE_LOG 'verbose' is not a level \(trace, /m);
  const json = await _run(world, ["source", "list-types", "--json"], {
    RETROVUE_ISOLATION: "maybe",
  });
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.status, "error");
  assert.equal(doc.error.code, "USAGE");
});

// ------------------------------------------------------ grants and defaults

Deno.test("a param with grants and a default: the manifest is refused, the module listed broken", async () => {
  using world = tempWorld();
  const r = _ok(
    await runCli(["source", "list-types", "--json"], { db: world.db, pluginPath: GRANTS_DEFAULT }),
    "list-types",
  );
  const types = JSON.parse(r.stdout).types as any[];
  const byFile = (name: string) => types.find((t) => t.file === join(GRANTS_DEFAULT, name));
  const read = byFile("read_default.ts");
  assert.equal(read.status, "broken");
  assert.match(
    read.reason,
    /param 'root': a param with grants may not have a default — the operator must type every path or host it grants/,
  );
  const net = byFile("net_default.ts");
  assert.equal(net.status, "broken");
  assert.match(net.reason, /param 'base_url': a param with grants may not have a default/);
  // The built-in importers, the example and the test fixtures declare no such default.
  const builtins = types.filter((t) => t.file.startsWith(join(REPO_ROOT, "importers")));
  assert.ok(builtins.length >= 4 && builtins.every((t) => t.status === "available"));

  const base = {
    typeId: "x",
    displayName: "X",
    capabilities: { filters: {} },
    params: [{ name: "a", flag: "--a", kind: "path", description: "", grants: "read" }],
  };
  assert.equal(manifestSchema.safeParse(base).success, true);
  const withDefault = { ...base, params: [{ ...base.params[0], default: "/srv" }] };
  assert.equal(manifestSchema.safeParse(withDefault).success, false);
});

Deno.test("source add and show echo every grant; a root behind a symlink shows both spellings", async () => {
  using world = tempWorld();
  const base = Deno.realPathSync(world.dir);
  const real = join(base, "media", "tv");
  Deno.mkdirSync(real, { recursive: true });
  const link = join(base, "tv-link");
  Deno.symlinkSync(real, link);
  const plain = join(base, "movies");
  Deno.mkdirSync(plain);

  const text = _ok(
    await _run(world, [
      "source",
      "add",
      "--type",
      "filesystem",
      "--name",
      "Files",
      "--root",
      link,
      "--root",
      `Films=${plain}`,
    ]),
    "add",
  );
  assert.match(text.stdout, /^Grants: read (.*)$/m);
  const line = text.stdout.match(/^Grants: .*$/m)![0];
  assert.ok(line.includes(`${link} (real path ${real})`), line);
  assert.ok(line.includes(plain), line);
  assert.doesNotMatch(line, /net /);

  const json = _ok(
    await _run(world, [
      "source",
      "add",
      "--type",
      "filesystem",
      "--name",
      "Files2",
      "--root",
      link,
      "--json",
    ]),
    "add --json",
  );
  const doc = JSON.parse(json.stdout);
  assert.deepEqual(doc.source.grants, { read: [real, link].sort(), net: [] });

  const show = JSON.parse(
    _ok(await _run(world, ["source", "show", "Files", "--json"]), "show")
      .stdout,
  );
  assert.deepEqual(show.source.grants, { read: [real, link, plain].sort(), net: [] });
  const showText = _ok(await _run(world, ["source", "show", "Files"]), "show").stdout;
  assert.match(showText, /^grants: +read .*\(real path /m);

  // The fake importer's grant is its state file; its token is a secret and never a grant.
  const state = _state(world);
  const fake = _ok(
    await _run(world, [
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Fake",
      "--state-file",
      state,
      "--token",
      TOKEN,
      "--json",
    ]),
    "add fake",
  );
  assert.deepEqual(JSON.parse(fake.stdout).source.grants, {
    read: [...new Set([state, Deno.realPathSync(state)])].sort(),
    net: [],
  });
  assert.ok(!fake.stdout.includes(TOKEN));
});
