/**
 * The plugin author's kit: `importer new` and `importer check`, run through
 * `main()` exactly as the CLI runs them (in process, with captured output),
 * against real sandboxed workers.
 *
 * Fixtures: `tests/fixtures/kit/` (deliberately bad importers and a small
 * media tree for the filesystem importer). Needs `--allow-read --allow-write
 * --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { COMMANDS } from "../cli/commands.ts";
import { commands as importerCommands } from "../cli/importer_commands.ts";
import { main } from "../main.ts";
import type { CheckReport } from "../kit/mod.ts";
import { denialInOurTerms } from "../registry/_harden.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const KIT = join(REPO, "tests", "fixtures", "kit");
const EXAMPLE = join(REPO, "examples", "json_importer", "json_file.ts");
const CATALOG = join(REPO, "examples", "json_importer", "catalog.json");

/** The real command table once `importer` is wired in, else it plus the kit's commands. */
const TABLE = COMMANDS.some((c) => c.path[0] === "importer")
  ? COMMANDS
  : [...COMMANDS, ...importerCommands];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function _run(args: string[], options: { cwd?: string } = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    env: { NO_COLOR: "1", RETROVUE_PLUGIN_PATH: "" },
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    isTerminal: false,
    stdinIsTerminal: false,
    cwd: options.cwd ?? REPO,
    now: () => new Date("2024-01-01T00:00:00Z"),
    readLine: () => Promise.resolve(null),
    signal: new AbortController().signal,
  }, { commands: TABLE });
  return { code, stdout, stderr };
}

async function _check(args: string[]): Promise<{ run: Run; report: CheckReport }> {
  const run = await _run(["importer", "check", ...args, "--json"]);
  return { run, report: JSON.parse(run.stdout) as CheckReport };
}

function _statuses(report: CheckReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
}

const CHECK_NAMES = [
  "manifest",
  "unique_type_id",
  "validate_connection",
  "auth_failed",
  "list_collections",
  "fetch_assets",
  "filter_title",
  "filter_season",
  "filter_episode",
  "determinism",
  "sandbox",
  "dry_run",
];

Deno.test("importer check: the example importer passes every item and exits 0", async () => {
  const { run, report } = await _check([EXAMPLE, "--file", CATALOG, "--collection", "tv"]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(report.status, "pass");
  assert.equal(report.typeId, "json-file");
  assert.equal(report.module, EXAMPLE);
  assert.deepEqual(report.checks.map((c) => c.name), CHECK_NAMES);
  const statuses = _statuses(report);
  assert.equal(statuses.auth_failed, "skip"); // No secret param.
  for (const name of CHECK_NAMES.filter((n) => n !== "auth_failed")) {
    assert.equal(statuses[name], "pass", `${name}: ${JSON.stringify(report.checks)}`);
  }
  const episode = report.checks.find((c) => c.name === "filter_episode")!;
  assert.match(episode.detail, /season \d+, episode \d+: 1 of \d+ asset/);
});

Deno.test("importer check: undeclared filters are reported as host-filtered; human output", async () => {
  const run = await _run([
    "importer",
    "check",
    EXAMPLE,
    "--file",
    CATALOG,
    "--collection",
    "movies",
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /skip +filter_season +not pushed down \(host filters\)/);
  assert.match(run.stdout, /pass +dry_run +.*wrote nothing/);
  assert.match(run.stdout, /All checks passed/);
});

Deno.test("importer check: by default one collection of each kind is checked", async () => {
  const { run, report } = await _check([EXAMPLE, "--file", CATALOG]);
  assert.equal(run.code, 0, run.stdout);
  const detail = (name: string) => report.checks.find((c) => c.name === name)!.detail;
  assert.match(detail("fetch_assets"), /\[movies\] .*'Movies'.*; \[shows\] .*'TV Shows'/);
  // The shows collection's filters ran, though the first collection is a movies one.
  assert.equal(_statuses(report).filter_season, "pass");
  assert.match(detail("filter_season"), /\[shows\] title '[^']+', season \d+: \d+ of/);
  assert.match(detail("dry_run"), /\[movies\].*\[shows\]/);
});

Deno.test("importer check: the built-in filesystem importer passes on the kit's media tree", async () => {
  const { run, report } = await _check([
    join(REPO, "importers", "filesystem", "mod.ts"),
    "--root",
    "tests/fixtures/kit/media/shows",
  ]);
  assert.equal(run.code, 0, run.stdout);
  const statuses = _statuses(report);
  for (const name of ["unique_type_id", "filter_title", "filter_season", "filter_episode"]) {
    assert.equal(statuses[name], "pass", name);
  }
});

Deno.test("importer check: a bad importer fails exactly the items it breaks, exits 1", async () => {
  const { run, report } = await _check([join(KIT, "bad.ts"), "--token", "sekrit-token-4821"]);
  assert.equal(run.code, 1);
  assert.equal(report.status, "fail");
  const statuses = _statuses(report);
  assert.deepEqual(
    CHECK_NAMES.filter((n) => statuses[n] === "fail"),
    ["auth_failed", "filter_title", "determinism", "sandbox"],
  );
  for (const name of ["manifest", "validate_connection", "list_collections", "fetch_assets"]) {
    assert.equal(statuses[name], "pass", name);
  }
  const sandbox = report.checks.find((c) => c.name === "sandbox")!;
  assert.match(sandbox.detail, /env access/);
  assert.ok(!run.stdout.includes("sekrit-token-4821") && !run.stderr.includes("sekrit-token-4821"));
});

Deno.test("importer check: a denied call fails the sandbox item; a clashing type id fails uniqueness", async () => {
  const denied = await _check([join(KIT, "denied.ts")]);
  assert.equal(denied.run.code, 1);
  const d = _statuses(denied.report);
  assert.equal(d.list_collections, "fail");
  assert.equal(d.sandbox, "fail");
  assert.match(denied.report.checks.find((c) => c.name === "sandbox")!.detail, /\/etc\/hostname/);

  const clash = await _check([join(KIT, "clash.ts")]);
  assert.equal(clash.run.code, 1);
  const c = _statuses(clash.report);
  assert.equal(c.unique_type_id, "fail");
  assert.equal(c.validate_connection, "pass");
  assert.match(clash.report.checks[1].detail, /importers\/filesystem\/mod\.ts/);
});

Deno.test("importer check: a denial only logged still fails sandbox, in RetroVue's words", async () => {
  const { run, report } = await _check([join(KIT, "swallowed.ts")]);
  assert.equal(run.code, 1);
  const statuses = _statuses(report);
  assert.equal(statuses.fetch_assets, "pass", "the plugin hid the denial from its result");
  assert.equal(statuses.sandbox, "fail");
  const detail = report.checks.find((c) => c.name === "sandbox")!.detail;
  assert.match(detail, /a log line: .*the importer has no net grant for it/);
  assert.match(detail, /127\.0\.0\.1:8765/);
  assert.match(detail, /grants: "net"/);
  assert.doesNotMatch(run.stdout, /--allow-|run again/);
});

Deno.test("denialInOurTerms: names the missing grant, never a Deno flag", () => {
  const net = denialInOurTerms(
    'NotCapable: Requires net access to "127.0.0.1:8765", run again with the --allow-net flag',
  );
  assert.equal(
    net,
    'sandbox denied net access to "127.0.0.1:8765": the importer has no net grant for it — ' +
      'declare the URL param it connects to with `grants: "net"`; this is a plugin bug',
  );
  const kinds = ["read", "write", "env", "run", "ffi", "sys", "import"];
  for (const kind of kinds) {
    const text = denialInOurTerms(
      `Requires ${kind} access to "x", run again with the --allow-${kind} flag`,
      "enricher",
    );
    assert.match(text, new RegExp(`^sandbox denied ${kind} access to "x": the enricher `));
    assert.doesNotMatch(text, /--allow|run again/, kind);
  }
  assert.equal(denialInOurTerms("nothing to see"), "nothing to see");
});

Deno.test("importer check: doubtful is lint, not failure; the shows collection's leak is caught", async () => {
  const { run, report } = await _check([join(KIT, "doubtful.ts")]);
  assert.equal(run.code, 1, "the leaky season filter fails the check");
  const statuses = _statuses(report);
  assert.deepEqual(
    CHECK_NAMES.filter((n) => statuses[n] === "lint"),
    ["manifest", "validate_connection", "list_collections", "fetch_assets"],
  );
  assert.deepEqual(CHECK_NAMES.filter((n) => statuses[n] === "fail"), ["filter_season"]);
  const detail = (name: string) => report.checks.find((c) => c.name === name)!.detail;
  assert.match(detail("manifest"), /'--label' has min\/max/);
  assert.match(detail("validate_connection"), /no serverName/);
  assert.match(detail("list_collections"), /not ingestible without a reason \(Extras\)/);
  assert.match(detail("fetch_assets"), /field\(s\) rating are not part of an asset/);
  assert.match(detail("filter_season"), /\[shows\] .*outside it: s2e1/);
});

Deno.test("importer check: a reserved flag fails 'manifest' before any source add", async () => {
  const { run, report } = await _check([join(KIT, "reserved.ts")]);
  assert.equal(run.code, 1);
  assert.equal(report.checks[0].status, "fail");
  assert.match(report.checks[0].detail, /flag '--name' is one of the CLI's own options/);
});

Deno.test("importer check: a broken manifest fails 'manifest' and skips the rest", async () => {
  const { run, report } = await _check([
    join(REPO, "tests", "fixtures", "broken", "bad_manifest.ts"),
  ]);
  assert.equal(run.code, 1);
  assert.equal(report.checks[0].status, "fail");
  assert.ok(report.checks.slice(1).every((c) => c.status === "skip"));
});

Deno.test("importer check: operator mistakes are one-line errors", async () => {
  const none = await _run(["importer", "check"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^Error: 'importer check' needs a <module>/);
  const helper = await _run(["importer", "check", "tests/fixtures/broken/_helper.ts"]);
  assert.equal(helper.code, 1);
  assert.match(helper.stderr, /not a plugin module name/);
  const missing = await _run(["importer", "check", EXAMPLE]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /missing required option: --file/);
  const help = await _run(["importer", "check", EXAMPLE, "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--file PATH/);
  assert.match(help.stdout, /movies: pushed down: title; not pushed down \(host filters\)/);
});

Deno.test("importer new: writes a skeleton that passes check and its own test; refuses overwrite", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-kit-" });
  try {
    const made = await _run(["importer", "new", "my-source", "--json"], { cwd: dir });
    assert.equal(made.code, 0, made.stderr);
    const doc = JSON.parse(made.stdout);
    assert.deepEqual(doc, {
      status: "ok",
      typeId: "my-source",
      module: join(dir, "plugins", "my-source.ts"),
      test: join(dir, "plugins", "my-source_test.ts"),
      config: join(dir, "plugins", "deno.json"),
    });
    assert.match(Deno.readTextFileSync(doc.module), /from "@retrovue\/contract";/);

    const { run, report } = await _check([doc.module]);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(report.typeId, "my-source");

    const test = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-prompt", "--quiet", doc.test],
      cwd: join(dir, "plugins"),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(test.stdout) + new TextDecoder().decode(test.stderr);
    assert.equal(test.code, 0, out);
    assert.match(out, /4 passed/);

    Deno.writeTextFileSync(doc.module, "// edited by the author\n");
    const again = await _run(["importer", "new", "my-source", "--json"], { cwd: dir });
    assert.equal(again.code, 1);
    assert.equal(JSON.parse(again.stdout).error.code, "CONFLICT");
    assert.equal(Deno.readTextFileSync(doc.module), "// edited by the author\n");
    const forced = await _run(["importer", "new", "my-source", "--force"], { cwd: dir });
    assert.equal(forced.code, 0);
    assert.match(Deno.readTextFileSync(doc.module), /typeId: "my-source"/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("importer new: the plugin folder type-checks after a move; built-in ids refused", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-kit-" });
  try {
    const made = await _run(["importer", "new", "roaming", "--dir", "a/plugins"], { cwd: dir });
    assert.equal(made.code, 0, made.stderr);
    const second = await _run(["importer", "new", "second", "--dir", "a/plugins"], { cwd: dir });
    assert.equal(second.code, 0, "a second plugin shares the folder's deno.json");
    // Moved somewhere else entirely: the import map, not a relative path, finds the contract,
    // and the enricher contract for an enricher written beside the importers.
    Deno.renameSync(join(dir, "a", "plugins"), join(dir, "moved"));
    Deno.writeTextFileSync(
      join(dir, "moved", "probe.ts"),
      `import type { Enricher } from "@retrovue/enricher-contract";
export default {
  typeId: "probe",
  displayName: "Probe",
  appliesTo: ["movie"],
  params: [],
  enrich() {
    return Promise.resolve({ durationMs: 1, tech: {} });
  },
} satisfies Enricher;
`,
    );
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "roaming.ts", "roaming_test.ts", "second.ts", "probe.ts"],
      cwd: join(dir, "moved"),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
    const config = JSON.parse(Deno.readTextFileSync(join(dir, "moved", "deno.json")));
    assert.equal(
      config.imports["@retrovue/contract"],
      new URL("../core/contract.ts", import.meta.url).href,
    );

    for (const builtin of ["plex", "filesystem"]) {
      const r = await _run(["importer", "new", builtin], { cwd: dir });
      assert.equal(r.code, 1, builtin);
      assert.match(r.stderr, /^Error: '\w+' is the type id of a built-in importer/, builtin);
    }
    assert.ok(!existsSync(join(dir, "plugins")), "nothing written for a refused id");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("importer new: a folder configured otherwise is not overridden", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-kit-" });
  try {
    const cases: [string, string, RegExp][] = [
      [
        "deno.jsonc",
        '{ // comments\n "imports": { "zod": "npm:zod" } }',
        /configuration is '.*deno\.jsonc'/,
      ],
      ["deno.json", '{ "importMap": "./map.json" }', /names an import map \("\.\/map\.json"\)/],
      ["deno.json", "[1, 2]", /is not a JSON object/],
      ["deno.json", '{ "imports": "./map.json" }', /has "imports" that is not an object/],
      ["deno.json", '{ "imports": ["a"] }', /has "imports" that is not an object/],
    ];
    for (const [i, [name, text, why]] of cases.entries()) {
      const folder = join(dir, `case${i}`);
      Deno.mkdirSync(folder);
      Deno.writeTextFileSync(join(folder, name), text);
      const r = await _run(["importer", "new", "mine", "--dir", folder]);
      assert.equal(r.code, 1, `${name}: ${r.stdout}`);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /@retrovue\/enricher-contract/, "it says what to add");
      assert.equal(Deno.readTextFileSync(join(folder, name)), text, "left as it was");
      assert.deepEqual([...Deno.readDirSync(folder)].map((e) => e.name), [name], "nothing written");
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("importer new: --dir, and type ids validated like manifests", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-kit-" });
  try {
    const made = await _run(["importer", "new", "kodi_db", "--dir", "ext/plugins"], { cwd: dir });
    assert.equal(made.code, 0, made.stderr);
    Deno.statSync(join(dir, "ext", "plugins", "kodi_db.ts"));
    Deno.statSync(join(dir, "ext", "plugins", "kodi_db_test.ts"));
    for (const bad of ["Plex", "9lives", "has space", "x".repeat(41), "thing_test"]) {
      const r = await _run(["importer", "new", bad], { cwd: dir });
      assert.equal(r.code, 1, bad);
      assert.match(r.stderr, /^Error: invalid type id/, bad);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("importer check: the jellyfin importer against its mock passes, auth_failed included", async () => {
  const mock = await startJellyfinMock();
  try {
    const { run, report } = await _check([
      join(REPO, "importers", "jellyfin", "mod.ts"),
      "--base-url",
      mock.url,
      "--api-key",
      mock.apiKey,
    ]);
    const statuses = _statuses(report);
    assert.equal(statuses.auth_failed, "pass", JSON.stringify(report.checks));
    assert.match(report.checks.find((c) => c.name === "auth_failed")!.detail, /AUTH_FAILED/);
    assert.equal(run.code, 0, JSON.stringify(report.checks));
    assert.ok(!run.stdout.includes(mock.apiKey) && !run.stderr.includes(mock.apiKey));
  } finally {
    await mock.close();
  }
});

Deno.test("importer check: a file that is no module, or a helper's name, says which", async () => {
  const readme = await _run(["importer", "check", "README.md"]);
  assert.equal(readme.code, 1);
  assert.equal(
    readme.stderr.trim(),
    "Error: 'README.md' is not a plugin module: one is a .ts, .js, .mts or .mjs file",
  );
  const helper = await _run(["importer", "check", "importers/plex/_map.ts"]);
  assert.equal(helper.code, 1);
  assert.match(helper.stderr, /is not a plugin module name: the registry skips files starting/);
});
