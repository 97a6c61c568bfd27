// deno-lint-ignore-file no-explicit-any -- assertions walk parsed JSON documents
/**
 * End-to-end tests of the catalog commands (`source …`, `collection …`):
 * `main.ts` runs as a subprocess with the `retrovue` task's permissions,
 * against a temporary database, with the `fake` test importer
 * (`tests/fixtures/plugins/fake.ts`) whose upstream is a JSON state file.
 *
 * Every failing or `--dry-run` command is checked to leave the database
 * byte-for-byte unchanged (all rows of all tables compared).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { type CliResult, dumpDb, FAKE_PLUGINS, runCli, type TempWorld, tempWorld } from "./_cli.ts";

const TOKEN = "S3cr3t-T0ken-4242";

const STATE = {
  collections: [
    { externalId: "tv", name: "TV", kind: "shows", locations: ["/data/tv"] },
    { externalId: "mv", name: "Movies", kind: "movies" },
    { externalId: "mu", name: "Music", kind: "other", ingestible: false, reason: "audio only" },
  ],
};

interface Cli {
  world: TempWorld;
  state: string;
  run(args: string[], extra?: { pluginPath?: string; env?: Record<string, string> }): Promise<
    CliResult
  >;
}

function _cli(world: TempWorld): Cli {
  const state = world.writeJson("state.json", STATE);
  return {
    world,
    state,
    run: (args, extra = {}) =>
      runCli(args, { db: world.db, pluginPath: extra.pluginPath ?? FAKE_PLUGINS, env: extra.env }),
  };
}

function _ok(r: CliResult, what = ""): CliResult {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
  return r;
}

function _json(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stdout);
}

/** Asserts a one-line human error (exit `code`) matching `pattern`, with nothing on stdout. */
function _fails(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}: ${r.stderr}${r.stdout}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected: ${r.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

async function _addFake(cli: Cli, name: string, extra: string[] = []): Promise<string> {
  const r = _ok(
    await cli.run([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      name,
      "--state-file",
      cli.state,
      "--token",
      TOKEN,
      "--json",
      ...extra,
    ]),
    `add ${name}`,
  );
  return (_json(r).source as { id: string }).id;
}

Deno.test("help: every command has --help; unknown commands and flags fail in one line", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const top = _ok(await cli.run(["--help"]));
  const commands = [...top.stdout.matchAll(/^ {2}((?:source|collection) [a-z-]+)/gm)].map((m) =>
    m[1]
  );
  assert.ok(commands.length >= 10, top.stdout);
  const helps = await Promise.all(commands.map((c) => cli.run([...c.split(" "), "--help"])));
  helps.forEach((r, i) => {
    assert.equal(r.code, 0, commands[i]);
    assert.match(r.stdout, /^Usage: retrovue /, commands[i]);
    assert.equal(r.stderr, "", commands[i]);
  });
  const typeHelp = _ok(await cli.run(["source", "add", "--type", "fake", "--help"]));
  for (const flag of ["--state-file PATH", "--token STRING", "--page-size INTEGER", "--name"]) {
    assert.ok(typeHelp.stdout.includes(flag), `${flag} missing from:\n${typeHelp.stdout}`);
  }
  assert.doesNotMatch(typeHelp.stdout, /--base-url/, "only the fake type's flags");
  assert.match(typeHelp.stdout, /default: 100/);
  // Help for a type that is not installed is the error adding one gives, not help and exit 0.
  _fails(
    await cli.run(["source", "add", "--type", "fak", "--help"]),
    1,
    /^Error: unknown source type 'fak'; did you mean 'fake'\?/,
  );

  _fails(await cli.run(["frobnicate"]), 1, /unknown command 'frobnicate'/);
  _fails(await cli.run(["source", "frob"]), 1, /unknown command 'source frob'/);
  _fails(await cli.run(["source", "list", "--bogus"]), 1, /unknown option '--bogus'/);
  _fails(await cli.run(["source", "show"]), 1, /needs a <source>/);
  _fails(await cli.run(["collection", "list", "extra"]), 1, /unexpected argument 'extra'/);
  assert.equal(dumpDb(world.db), "<no database>", "help and usage errors create no database");
});

Deno.test("source list-types: stable JSON with params, broken modules, duplicate types", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const extra = join(world.dir, "plugins");
  Deno.mkdirSync(extra);
  Deno.writeTextFileSync(join(extra, "broken.ts"), "export default 42;\n");
  Deno.writeTextFileSync(join(extra, "_helper.ts"), "export const x = 1;\n");
  const pluginPath = `${FAKE_PLUGINS}:${extra}`;
  const a = _ok(await cli.run(["source", "list-types", "--json"], { pluginPath }));
  const b = _ok(await cli.run(["source", "list-types", "--json"], { pluginPath }));
  assert.equal(a.stdout, b.stdout, "deterministic");
  const doc = _json(a) as { status: string; types: Record<string, unknown>[] };
  assert.equal(doc.status, "ok");
  const fake = doc.types.find((t) => t.typeId === "fake")!;
  assert.equal(fake.status, "available");
  assert.equal(fake.displayName, "Fake (tests)");
  assert.equal(fake.file, join(FAKE_PLUGINS, "fake.ts"));
  assert.deepEqual(fake.capabilities, {
    filters: { shows: ["title", "season", "episode"], movies: ["title"] },
  });
  const params = fake.params as Record<string, unknown>[];
  assert.deepEqual(
    params.map((p) => [p.flag, p.kind, p.required, p.default, p.secret, p.grants]),
    [
      ["--state-file", "path", true, null, false, "read"],
      ["--token", "string", false, null, true, null],
      ["--page-size", "integer", false, 100, false, null],
    ],
  );
  const broken = doc.types.find((t) => String(t.file).endsWith("broken.ts"))!;
  assert.equal(broken.status, "broken");
  assert.match(String(broken.reason), /\S/);
  assert.ok(!doc.types.some((t) => String(t.file).endsWith("_helper.ts")));

  const human = _ok(await cli.run(["source", "list-types"], { pluginPath }));
  assert.match(human.stdout, /^fake {2}Fake \(tests\) {2}available$/m);
  assert.match(human.stdout, /broken/);

  const dup = join(world.dir, "dup");
  Deno.mkdirSync(dup);
  Deno.writeTextFileSync(
    join(dup, "other_fake.ts"),
    `export default { typeId: "fake", displayName: "Another", params: [],
      capabilities: { filters: {} }, validateConnection: async () => ({}),
      listCollections: async () => [], fetchAssets: async function* () {} };\n`,
  );
  const r = await cli.run(["source", "list-types"], { pluginPath: `${FAKE_PLUGINS}:${dup}` });
  _fails(r, 1, /Multiple importers claim source type 'fake': \S+\.ts, \S+\.ts$/);
  const add = await cli.run(["source", "add", "--type", "fake", "--name", "x"], {
    pluginPath: `${FAKE_PLUGINS}:${dup}`,
  });
  _fails(add, 1, /Multiple importers claim source type 'fake'/);
});

Deno.test("sources and collections: the whole operator workflow", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  // add + discover in one go
  const added = _json(
    _ok(
      await cli.run([
        "source",
        "add",
        "--type=fake",
        "--name",
        "Home",
        "--state-file",
        cli.state,
        "--token",
        TOKEN,
        "--discover",
        "--json",
      ]),
    ),
  ) as Record<string, any>;
  assert.equal(added.status, "ok");
  assert.equal(added.dryRun, false);
  assert.match(added.source.id, /^fake-[0-9a-f]{8}$/);
  assert.deepEqual(added.source.config, { state_file: cli.state, token: "***", page_size: 100 });
  assert.deepEqual(added.connection, { serverName: "fake" });
  assert.deepEqual(added.discovery.added.map((c: any) => c.name), ["Movies", "Music", "TV"]);
  assert.ok(added.discovery.added.every((c: any) => c.syncEnabled === false));
  const id = added.source.id as string;

  // a second source, without validation or discovery, global options in odd places
  const second = await runCli(
    [
      "source",
      "--json",
      "add",
      "--type",
      "fake",
      "--name",
      "Away",
      "--state-file",
      cli.state,
      "--no-validate",
    ],
    { db: null, pluginPath: FAKE_PLUGINS, env: { RETROVUE_DB: world.db } },
  );
  _ok(second);
  assert.equal((_json(second) as any).connection, null);

  // list: sorted by name, counts, status
  const list = _json(_ok(await cli.run(["source", "list", "--json"]))) as any;
  assert.deepEqual(list.sources.map((s: any) => [s.name, s.status, s.collectionCounts]), [
    ["Away", "available", { enabled: 0, total: 0 }],
    ["Home", "available", { enabled: 0, total: 3 }],
  ]);
  const human = _ok(await cli.run(["source", "list"])).stdout.split("\n");
  assert.match(human[0], /^name +id +type +status +collections$/);
  assert.match(human[1], /^Away +fake-[0-9a-f]{8} +fake +available +0\/0 enabled$/);
  assert.match(human[2], /^Home +fake-[0-9a-f]{8} +fake +available +0\/3 enabled$/);
  assert.deepEqual(
    (_json(_ok(await cli.run(["source", "list", "--type", "plex", "--json"]))) as any).sources,
    [],
  );

  // show by case-insensitive name
  const show = _json(_ok(await cli.run(["source", "show", "HOME", "--json"]))) as any;
  assert.equal(show.source.id, id);
  assert.equal(show.source.config.token, "***");
  assert.equal(show.source.collections.length, 3);

  // collection update: sync, path mappings, idempotence
  const tv = _json(_ok(await cli.run(["collection", "show", "tv", "--json"]))) as any;
  assert.equal(tv.collection.externalId, "tv");
  const upd = _json(
    _ok(
      await cli.run([
        "collection",
        "update",
        tv.collection.id,
        "--sync-enable",
        "--path-mapping",
        "/data/tv=/mnt/tv",
        "--json",
      ]),
    ),
  ) as any;
  assert.deepEqual(upd.changed, ["path mapping /data/tv -> /mnt/tv", "sync enabled"]);
  assert.equal(upd.collection.syncEnabled, true);
  assert.deepEqual(upd.collection.pathMappings, [{ external: "/data/tv", local: "/mnt/tv" }]);
  const before = dumpDb(world.db);
  const again = _ok(
    await cli.run([
      "collection",
      "update",
      "TV",
      "--sync-enable",
      "--path-mapping",
      "/data/tv/=/mnt/tv",
    ]),
  );
  assert.match(again.stdout, /no changes/);
  assert.equal(again.stderr, "");
  assert.equal(dumpDb(world.db), before, "idempotent update writes nothing");
  const removed = _json(
    _ok(
      await cli.run(["collection", "update", "TV", "--remove-path-mapping", "/data/tv", "--json"]),
    ),
  ) as any;
  assert.deepEqual(removed.collection.pathMappings, []);
  // Removing it again changes nothing, and says so.
  const twice = _json(
    _ok(
      await cli.run(["collection", "update", "TV", "--remove-path-mapping", "/data/tv", "--json"]),
    ),
  ) as any;
  assert.deepEqual(twice.changed, []);
  assert.deepEqual(twice.warnings, [
    "no path mapping of /data/tv on this collection: nothing removed",
  ]);
  const colList = _json(_ok(await cli.run(["collection", "list", "--source", "home", "--json"])));
  assert.deepEqual((colList as any).collections.map((c: any) => [c.name, c.syncEnabled]), [
    ["Movies", false],
    ["Music", false],
    ["TV", true],
  ]);

  // rediscovery: rename, removal upstream, new collection
  world.writeJson("state.json", {
    collections: [
      { externalId: "tv", name: "Television", kind: "shows" },
      { externalId: "mv", name: "Movies", kind: "movies" },
      { externalId: "kids", name: "Kids", kind: "mixed" },
    ],
  });
  const disc = _json(_ok(await cli.run(["source", "discover", "Home", "--json"]))) as any;
  assert.deepEqual(disc.added.map((c: any) => c.name), ["Kids"]);
  assert.deepEqual(disc.updated.map((c: any) => [c.name, c.syncEnabled]), [["Television", true]]);
  assert.deepEqual(disc.missing.map((c: any) => [c.name, c.missingUpstream]), [["Music", true]]);
  assert.deepEqual(disc.unchanged.map((c: any) => c.name), ["Movies"]);
  const discHuman = _ok(await cli.run(["source", "discover", id]));
  assert.match(discHuman.stdout, /0 added, 0 updated, 1 missing upstream, 3 unchanged/);

  // update: rename and change a param; id and type stay
  const renamed = _json(
    _ok(
      await cli.run([
        "source",
        "update",
        "home",
        "--name",
        "Main",
        "--page-size",
        "50",
        "--json",
      ]),
    ),
  ) as any;
  assert.deepEqual(renamed.changed, ["--name", "--page-size"]);
  assert.equal(renamed.source.id, id);
  assert.equal(renamed.source.type, "fake");
  assert.equal(renamed.source.config.page_size, 50);
  assert.equal(renamed.source.config.token, "***");
  const raw = new DatabaseSync(world.db, { readOnly: true });
  const config = JSON.parse(
    String(raw.prepare("SELECT config FROM sources WHERE id = ?").get(id)!.config),
  );
  raw.close();
  assert.equal(config.token, TOKEN, "the secret is kept when not given");

  // remove
  const gone = _json(_ok(await cli.run(["source", "remove", "main", "--yes", "--json"]))) as any;
  assert.deepEqual(gone.removed, { id, name: "Main", type: "fake" });
  assert.equal(gone.collectionCount, 4);
  const left = _json(_ok(await cli.run(["collection", "list", "--json"]))) as any;
  assert.deepEqual(left.collections, []);
});

Deno.test("bad input fails with exit 1 (3 when unreachable) and writes nothing", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const id = await _addFake(cli, "Home", ["--discover"]);
  const otherState = world.writeJson("other.json", {
    collections: [{ externalId: "x", name: "movies", kind: "movies" }],
  });
  _ok(
    await cli.run([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      id, // a name equal to the first source's id
      "--state-file",
      otherState,
      "--discover",
    ]),
  );
  const before = dumpDb(world.db);
  const add = ["source", "add", "--type", "fake", "--name", "New"];
  const st = ["--state-file", cli.state];
  const failing = world.writeJson("fail.json", { connection: { fail: "AUTH_FAILED" } });
  const malformed = world.writeJson("bad.json", { collections: [{ externalId: "", name: "x" }] });
  const cases: [string[], number, RegExp][] = [
    [["source", "add", "--type", "nope", "--name", "x"], 1, /unknown source type 'nope'.*fake/],
    [["source", "add", "--name", "x"], 1, /needs --type; available types: .*fake/],
    [[...add], 1, /missing required option: --state-file/],
    [[...add, ...st, "--page-size", "abc"], 1, /--page-size expects an integer/],
    [[...add, ...st, "--page-size", "0"], 1, /--page-size must be at least 1/],
    [[...add, ...st, "--state-file", "/other"], 1, /--state-file may be given only once/],
    [[...add, ...st, "--bogus", "1"], 1, /unknown option '--bogus'/],
    [["source", "add", "--type", "fake", ...st], 1, /needs --name/],
    [["source", "add", "--type", "fake", "--name", "HOME", ...st], 1, /already exists/],
    [["source", "add", "--type", "fake", "--name", "  ", ...st], 1, /must not be empty/],
    [[...add, "--state-file", failing], 1, /connection refused by fake upstream/],
    [[...add, "--state-file", join(world.dir, "absent.json")], 3, /cannot read state file/],
    [[...add, "--state-file", malformed, "--discover", "--no-validate"], 1, /./],
    [["source", "show", "nope"], 1, /no source 'nope'/],
    [["source", "show", id], 1, /matches several sources: .*\(fake-/],
    [["source", "update", "nope", "--name", "x"], 1, /no source 'nope'/],
    [["source", "update", "home", "--name", ""], 1, /must not be empty/],
    [["source", "update", "home", "--type", "plex"], 1, /type never changes/],
    [["source", "update", "home", "--page-size=-5"], 1, /--page-size must be at least 1/],
    [["source", "update", "home", "--state-file", failing], 1, /connection refused/],
    [["source", "update", "home", "--name", id], 1, /already exists/],
    [["source", "remove", "nope", "--yes"], 1, /no source 'nope'/],
    [["source", "remove", "home"], 1, /needs confirmation; pass --yes/],
    [["source", "discover", "nope"], 1, /no source 'nope'/],
    [["collection", "show", "nope"], 1, /no collection 'nope'/],
    [
      ["collection", "show", "Movies"],
      1,
      /matches several collections: .*Movies in Home \(c-[0-9a-f]{10}\)/,
    ],
    [["collection", "update", "Movies", "--sync-enable"], 1, /matches several collections/],
    [["collection", "update", "Music", "--sync-enable"], 1, /cannot be synced: audio only/],
    [["collection", "update", "TV", "--path-mapping", "/data/tv"], 1, /invalid path mapping/],
    [["collection", "update", "TV", "--path-mapping", "/a=rel/x"], 1, /invalid path mapping/],
    [["collection", "update", "TV", "--path-mapping", "=/mnt"], 1, /invalid path mapping/],
    [["collection", "update", "TV", "--sync-enable", "--sync-disable"], 1, /not both/],
    [["collection", "update", "TV"], 1, /nothing to update/],
    [["collection", "list", "--source", "nope"], 1, /no source 'nope'/],
  ];
  // Failing commands only read, so they may run a few at a time; the database
  // is compared after each batch.
  for (let i = 0; i < cases.length; i += 4) {
    const batch = cases.slice(i, i + 4);
    const results = await Promise.all(batch.map(([args]) => cli.run(args)));
    batch.forEach(([args, code, pattern], j) => {
      try {
        _fails(results[j], code, pattern);
      } catch (error) {
        throw new Error(`${args.join(" ")}: ${(error as Error).message}`);
      }
    });
    assert.equal(
      dumpDb(world.db),
      before,
      `one of ${batch.map(([a]) => a.join(" ")).join(" | ")} wrote to the database`,
    );
  }
  // --json errors: one document on stdout, nothing else
  const j = await cli.run(["source", "show", "nope", "--json"]);
  assert.equal(j.code, 1);
  assert.deepEqual(JSON.parse(j.stdout), {
    status: "error",
    error: { code: "NOT_FOUND", message: "no source 'nope'; run 'source list' to see the sources" },
  });
  const u = await cli.run([...add, "--state-file", join(world.dir, "absent.json"), "--json"]);
  assert.equal(u.code, 3);
  assert.equal((JSON.parse(u.stdout) as any).error.code, "UNREACHABLE");
  const amb = JSON.parse((await cli.run(["collection", "show", "movies", "--json"])).stdout);
  assert.equal(amb.error.code, "AMBIGUOUS");
  assert.equal(amb.error.details.candidates.length, 2);
  assert.match(amb.error.message, /; use an id, or name its source with --source$/);
  // scoping by source resolves the ambiguity
  _ok(await cli.run(["collection", "show", "Movies", "--source", "Home"]));
  assert.equal(dumpDb(world.db), before);
});

Deno.test("an uninstalled importer: sources stay listed as unavailable; discover refuses", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const id = await _addFake(cli, "Home", ["--discover"]);
  const before = dumpDb(world.db);
  const none = { pluginPath: "" };
  const list = _json(_ok(await cli.run(["source", "list", "--json"], none))) as any;
  assert.deepEqual(list.sources.map((s: any) => [s.id, s.status, s.reason]), [
    [id, "unavailable", "importer type 'fake' is not installed"],
  ]);
  const human = _ok(await cli.run(["source", "list"], none));
  assert.match(human.stdout, /unavailable: importer type 'fake' is not installed/);
  const show = _json(_ok(await cli.run(["source", "show", id, "--json"], none))) as any;
  assert.equal(show.source.status, "unavailable");
  assert.deepEqual(
    show.source.config,
    { state_file: "***", token: "***", page_size: "***" },
    "unknown secrets: everything masked",
  );
  _fails(
    await cli.run(["source", "discover", id], none),
    1,
    /uses importer type 'fake', which is not installed; .*RETROVUE_PLUGIN_PATH/,
  );
  _fails(
    await cli.run(["source", "update", id, "--page-size", "5"], none),
    1,
    /which is not installed/,
  );
  _ok(await cli.run(["collection", "list"], none));
  assert.equal(dumpDb(world.db), before);
  // Renaming needs no importer.
  _ok(await cli.run(["source", "update", id, "--name", "Renamed"], none));
});

Deno.test("--dry-run: same output, nothing written", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const id = await _addFake(cli, "Home");
  const before = dumpDb(world.db);
  const dry = async (args: string[]) => {
    const r = _ok(await cli.run([...args, "--dry-run", "--json"]), args.join(" "));
    const doc = _json(r) as any;
    assert.equal(doc.status, "ok");
    assert.equal(doc.dryRun, true);
    assert.equal(dumpDb(world.db), before, `${args.join(" ")} --dry-run wrote`);
    return doc;
  };
  const add = await dry([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Other",
    "--state-file",
    cli.state,
    "--discover",
  ]);
  assert.equal(add.source.name, "Other");
  assert.equal(add.discovery.added.length, 3);
  const disc = await dry(["source", "discover", id]);
  assert.equal(disc.added.length, 3);
  const upd = await dry(["source", "update", id, "--name", "Renamed"]);
  assert.equal(upd.source.name, "Renamed");
  const rem = await dry(["source", "remove", id]);
  assert.equal(rem.removed.id, id);
  _ok(await cli.run(["source", "discover", id]));
  const withCollections = dumpDb(world.db);
  const col = _json(
    _ok(
      await cli.run([
        "collection",
        "update",
        "TV",
        "--sync-enable",
        "--path-mapping",
        "/a=/b",
        "--dry-run",
        "--json",
      ]),
    ),
  ) as any;
  assert.equal(col.collection.syncEnabled, true);
  assert.equal(dumpDb(world.db), withCollections);
  const human = _ok(await cli.run(["source", "remove", id, "--dry-run"]));
  assert.match(human.stdout, /^Dry run: would remove source 'Home'/);
  assert.match(human.stdout, /Nothing was written/);
  assert.equal(dumpDb(world.db), withCollections);
});

Deno.test("source remove: refuses with assets unless --force; confirmation from stdin", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const id = await _addFake(cli, "Home", ["--discover"]);
  const db = new DatabaseSync(world.db);
  const tv = String(db.prepare("SELECT id FROM collections WHERE external_id = 'tv'").get()!.id);
  db.prepare(
    `INSERT INTO assets (id, collection_id, external_id, kind, title, fingerprint,
       file_fingerprint, first_seen, last_seen, updated_at) VALUES
       ('a-000000000001', ?, 'e1', 'movie', 'A film', 'f', 'f', 't', 't', 't')`,
  ).run(tv);
  db.close();
  const before = dumpDb(world.db);
  _fails(
    await cli.run(["source", "remove", id, "--yes"]),
    1,
    /still has 1 assets in 1 collections; pass --force/,
  );
  assert.equal(dumpDb(world.db), before);
  // Non-terminal stdin never counts as a confirmation, whatever it says.
  const piped = await runCli(["source", "remove", id, "--force"], {
    db: world.db,
    pluginPath: FAKE_PLUGINS,
    stdin: "y\n",
  });
  _fails(piped, 1, /needs confirmation; pass --yes/);
  assert.equal(dumpDb(world.db), before);
  const forced = _json(
    _ok(await cli.run(["source", "remove", id, "--force", "--yes", "--json"])),
  ) as any;
  assert.equal(forced.assetCount, 1);
  const raw = new DatabaseSync(world.db, { readOnly: true });
  assert.equal(raw.prepare("SELECT COUNT(*) AS n FROM assets").get()!.n, 0);
  raw.close();
});

Deno.test("database location: --db, RETROVUE_DB, XDG_DATA_HOME, --test-db never the real one", async () => {
  using world = tempWorld();
  const data = join(world.dir, "xdg");
  const env = (extra: Record<string, string> = {}) => ({
    db: null,
    pluginPath: FAKE_PLUGINS,
    dataHome: data,
    env: extra,
  });
  const state = world.writeJson("s.json", STATE);
  const add = (
    name: string,
  ) => ["source", "add", "--type", "fake", "--name", name, "--state-file", state];
  // Only source add creates a catalog (reading never does: see cli_catalog_open_test.ts).
  _ok(await runCli(add("X"), env()));
  const xdgDb = join(data, "retrovue", "retrovue.db");
  assert.match(dumpDb(xdgDb), /"name":"X"/);
  if (Deno.build.os !== "windows") assert.equal(Deno.statSync(xdgDb).mode! & 0o777, 0o600);
  const real = join(world.dir, "real", "retrovue.db");
  _ok(await runCli(add("R"), env({ RETROVUE_DB: real })));
  assert.match(dumpDb(real), /"name":"R"/);
  const realBefore = dumpDb(real);
  _ok(
    await runCli(
      ["--test-db", "source", "add", "--type", "fake", "--name", "T", "--state-file", state],
      env({ RETROVUE_DB: real }),
    ),
  );
  assert.equal(dumpDb(real), realBefore, "--test-db never touches the real database");
  assert.match(dumpDb(join(world.dir, "real", "retrovue-test.db")), /"name":"T"/);
  _fails(
    await runCli(["--test-db", "--db", real, "source", "list"], env()),
    1,
    /either --db or --test-db/,
  );
  const explicit = join(world.dir, "explicit.db");
  _ok(await runCli([...add("E"), "--db", explicit], env({ RETROVUE_DB: real })));
  assert.match(dumpDb(explicit), /"name":"E"/);
  assert.equal(dumpDb(real), realBefore);
});

Deno.test("secrets never appear in any output, even in the importer's own error", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const outputs: CliResult[] = [];
  const run = async (args: string[], extra?: { pluginPath?: string }) => {
    const r = await cli.run(args, extra);
    outputs.push(r);
    return r;
  };
  const failing = world.writeJson("fail.json", { connection: { fail: "AUTH_FAILED" } });
  const add = ["source", "add", "--type", "fake", "--name", "S", "--token", TOKEN];
  // The fake importer puts the token in its error message on purpose.
  assert.equal((await run([...add, "--state-file", failing])).code, 1);
  assert.equal((await run([...add, "--state-file", failing, "--json"])).code, 1);
  assert.equal((await run([...add, "--state-file", failing, "--json", "--discover"])).code, 1);
  assert.equal((await run([...add, "--state-file", cli.state, "--page-size", "x"])).code, 1);
  _ok(await run([...add, "--state-file", cli.state, "--discover"]));
  for (const json of [[], ["--json"]]) {
    const reads = await Promise.all([
      run(["source", "list", ...json]),
      run(["source", "show", "S", ...json]),
      run(["collection", "list", ...json]),
      run(["collection", "show", "TV", ...json]),
      run(["source", "show", "S", ...json], { pluginPath: "" }),
    ]);
    reads.forEach((r) => _ok(r));
    _ok(await run(["source", "discover", "S", ...json]));
  }
  _ok(await run(["source", "update", "S", "--token", TOKEN + "-new", "--page-size", "7"]));
  assert.equal(
    (await run(["source", "update", "S", "--state-file", failing, "--token", TOKEN])).code,
    1,
  );
  assert.equal((await run(["source", "update", "S", "--state-file", failing, "--json"])).code, 1);
  _ok(await run(["source", "add", "--type", "fake", "--help", "--token", TOKEN]));
  _ok(await run(["source", "remove", "S", "--yes", "--json"]));
  for (const r of outputs) {
    assert.ok(!r.stdout.includes(TOKEN), `token leaked on stdout:\n${r.stdout}`);
    assert.ok(!r.stderr.includes(TOKEN), `token leaked on stderr:\n${r.stderr}`);
  }
  assert.ok(
    outputs.some((r) => r.stderr.includes("token ***")),
    "the importer's error is shown, scrubbed",
  );
});

Deno.test("source remove asks on a terminal: 'n' keeps the source, 'y' removes it", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const id = await _addFake(cli, "Home", ["--no-validate"]);
  const { main } = await import("../main.ts");
  const answer = async (reply: string) => {
    let out = "";
    let err = "";
    const code = await main(["--db", world.db, "source", "remove", id], {
      env: { NO_COLOR: "1" },
      stdout: { write: (t) => (out += t) },
      stderr: { write: (t) => (err += t) },
      isTerminal: true,
      stdinIsTerminal: true,
      cwd: world.dir,
      now: () => new Date("2030-01-01T00:00:00Z"),
      readLine: () => Promise.resolve(reply),
      signal: new AbortController().signal,
    });
    return { code, out, err };
  };
  const before = dumpDb(world.db);
  const no = await answer("n");
  assert.equal(no.code, 1);
  assert.match(
    no.err,
    /Remove source 'Home' \(fake-[0-9a-f]{8}\) with its 0 collection\(s\) and 0 asset\(s\)\? \[y\/N\] /,
  );
  assert.match(no.err, /Error: not removed/);
  assert.equal(dumpDb(world.db), before);
  const yes = await answer("yes");
  assert.equal(yes.code, 0, yes.err);
  assert.match(yes.out, /^Removed source 'Home'/);
  assert.doesNotMatch(dumpDb(world.db), /"name":"Home"/);
});

Deno.test("source add makes the catalog only when it adds: not on a dry run, nor on a failure", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const add = ["source", "add", "--type", "fake", "--name", "A", "--state-file", cli.state];
  const dry = _ok(await cli.run([...add, "--discover", "--dry-run"]), "dry run");
  assert.match(dry.stdout, /Nothing was written\./);
  assert.match(dry.stdout, /added\s+TV/, "the dry run still shows what it would add");
  assert.equal(dumpDb(world.db), "<no database>");
  const refused = world.writeJson("refused.json", { connection: { fail: "AUTH_FAILED" } });
  const failed = await cli.run([
    ...["source", "add", "--type", "fake", "--name", "B", "--state-file", refused],
  ]);
  assert.equal(failed.code, 1, failed.stderr);
  assert.equal(dumpDb(world.db), "<no database>");
  _ok(await cli.run(add), "add");
  assert.notEqual(dumpDb(world.db), "<no database>");
});

Deno.test("a source may not be granted the catalog's folder, even with --no-validate", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  _ok(await cli.run(["source", "add", "--type", "fake", "--name", "A", "--state-file", cli.state]));
  const before = dumpDb(world.db);
  const args = ["--type", "filesystem", "--root", `Disk=${world.dir}`, "--no-validate"];
  _fails(
    await cli.run(["source", "add", "--name", "Disk", ...args]),
    1,
    /contains RetroVue's catalog/,
  );
  // The catalog file itself, or its write-ahead log, is no better.
  for (const file of [world.db, `${world.db}-wal`]) {
    Deno.writeTextFileSync(`${world.db}-wal`, "", { append: true });
    _fails(
      await cli.run(["source", "update", "A", "--state-file", file, "--no-validate"]),
      1,
      /is RetroVue's catalog/,
    );
  }
  assert.equal(dumpDb(world.db), before);
  // Nor through a symlinked --db: the folder of the real catalog counts.
  const links = Deno.makeTempDirSync({ prefix: "retrovue-links-" });
  try {
    Deno.symlinkSync(world.db, join(links, "cat.db"));
    const viaLink = await runCli(
      ["source", "add", "--type", "filesystem", "--name", "L", "--root", `M=${world.dir}`],
      { db: join(links, "cat.db"), pluginPath: FAKE_PLUGINS },
    );
    _fails(viaLink, 1, /contains RetroVue's catalog/);
    assert.equal(dumpDb(world.db), before);
  } finally {
    Deno.removeSync(links, { recursive: true });
  }
});

Deno.test("the server's name is shown on one line, made inert", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  const state = world.writeJson("evil.json", {
    connection: { serverName: "Evil\nSecond line\u001b[31mRED" },
  });
  const r = _ok(
    await cli.run(["source", "add", "--type", "fake", "--name", "E", "--state-file", state]),
  );
  const line = r.stdout.split("\n").find((l) => l.startsWith("Connection OK"));
  assert.ok(line, r.stdout);
  assert.match(line, /Evil.*Second line/, "both parts on the Connection OK line");
  assert.ok(!r.stdout.includes("\u001b"), "no raw escape reaches the terminal");
  assert.ok(!r.stdout.split("\n").some((l) => l.startsWith("Second line")));
});

Deno.test("a secret inside another value is hidden by source show and source list", async () => {
  using world = tempWorld();
  const cli = _cli(world);
  // The token also sits in another param's value (as it can in a base URL's path).
  const state = world.writeJson(`${TOKEN}.json`, STATE);
  _ok(
    await cli.run([
      ...["source", "add", "--type", "fake", "--name", "A", "--state-file", state],
      ...["--token", TOKEN],
    ]),
  );
  for (
    const args of [["source", "show", "A"], ["source", "show", "A", "--json"], [
      "source",
      "list",
      "--json",
    ]]
  ) {
    const r = _ok(await cli.run(args), args.join(" "));
    assert.ok(!r.stdout.includes(TOKEN), `${args.join(" ")}: ${r.stdout}`);
    assert.match(r.stdout, /\*\*\*\.json/, "the rest of the value is shown");
  }
});

Deno.test("a plugin's words in --help stay on their lines: no forged line", async () => {
  using world = tempWorld();
  const plugins = join(world.dir, "plugins");
  Deno.mkdirSync(plugins);
  const forged = "\\nFAKE: Connection OK\\nOptions:\\n  --fake-flag   injected";
  Deno.writeTextFileSync(
    join(plugins, "forge.ts"),
    `export default {
      typeId: "forge",
      displayName: "Forge${forged}",
      version: "1.0${forged}",
      description: "desc${forged}",
      params: [{ name: "root", flag: "--root", kind: "path", grants: "read", required: true,
        description: "the folder${forged}" }],
      capabilities: { filters: {} },
      validateConnection: () => ({}),
      listCollections: () => [],
      async *fetchAssets() {},
    };\n`,
  );
  const r = _ok(
    await runCli(["source", "add", "--type", "forge", "--help"], {
      db: world.db,
      pluginPath: plugins,
    }),
  );
  const lines = r.stdout.split("\n");
  assert.ok(lines.some((l) => l.startsWith("Forge")), r.stdout);
  assert.ok(!lines.some((l) => /^(FAKE|Options:| {2}--fake-flag)/.test(l)), r.stdout);
});
