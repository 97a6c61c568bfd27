/**
 * End-to-end tests of `collection ingest`, `source ingest`, `asset list` and
 * `asset show`: the CLI runs as a subprocess with the `retrovue` task's
 * permissions, against a temporary database, with the `fake` test importer
 * (`tests/fixtures/plugins/fake.ts`) whose upstream is a JSON state file.
 *
 * Until these commands are in the command table (`cli/commands.ts`), this
 * file is itself the entry point: run with `deno run`, it calls `main` with
 * the table plus the ingest and asset commands.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  cliEnv,
  type CliResult,
  cliResult,
  dumpDb,
  FAKE_PLUGINS,
  MAIN_TS,
  REPO_ROOT,
  retrovueTaskFlags,
  runCli,
  type TempWorld,
  tempWorld,
} from "./_cli.ts";

function ep(id: string, series: string, season: number, episode: number) {
  return {
    externalId: id,
    kind: "episode",
    title: `Episode ${episode}`,
    seriesTitle: series,
    season,
    episode,
    path: `/data/tv/${series}/S${season}E${episode}.mkv`,
    size: 1000 + episode,
    modified: "m1",
  };
}

const TV_ASSETS = [
  ep("e1", "Alpha", 1, 1),
  ep("e2", "Alpha", 1, 2),
  ep("e3", "Alpha", 2, 1),
  ep("e4", "Beta", 1, 1),
];

function state(extra: Record<string, unknown> = {}) {
  return {
    collections: [
      { externalId: "tv", name: "TV", kind: "shows" },
      { externalId: "mv", name: "Movies", kind: "movies" },
    ],
    assets: {
      tv: TV_ASSETS,
      mv: [{ externalId: "m1", kind: "movie", title: "Heat", year: 1995, path: "/m/heat.mkv" }],
    },
    batchSize: 2,
    ...extra,
  };
}

interface World {
  world: TempWorld;
  stateFile: string;
  setState(value: unknown): void;
  run(args: string[]): Promise<CliResult>;
}

/** Spawns the CLI; returns the child (for tests that interrupt it). */
function spawnCli(world: TempWorld, args: string[], pluginPath = FAKE_PLUGINS): Deno.ChildProcess {
  const env = cliEnv({ pluginPath, dataHome: world.dir });
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), MAIN_TS, "--db", world.db, ...args],
    cwd: REPO_ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function collect(child: Deno.ChildProcess): Promise<CliResult> {
  return cliResult(await child.output());
}

function makeWorld(world: TempWorld): World {
  const stateFile = world.writeJson("state.json", state());
  return {
    world,
    stateFile,
    setState: (value) => world.writeJson("state.json", value),
    run: (args) => runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, dataHome: world.dir }),
  };
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

function json(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stdout);
}

function fails(r: CliResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}: ${r.stderr}${r.stdout}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected: ${r.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

/** Adds source `Home` (fake) with its collections discovered, and enables sync on `syncOn`. */
async function seed(w: World, syncOn: string[] = ["TV"]): Promise<void> {
  ok(
    await w.run([
      "source",
      "add",
      "--type",
      "fake",
      "--name",
      "Home",
      "--state-file",
      w.stateFile,
      "--discover",
    ]),
    "source add",
  );
  for (const name of syncOn) {
    ok(await w.run(["collection", "update", name, "--sync-enable"]), `sync ${name}`);
  }
}

Deno.test("bad inputs exit 1 with a message saying which", async () => {
  using world = tempWorld();
  const w = makeWorld(world);
  await seed(w, []);
  const before = dumpDb(world.db);
  const cases: [string[], RegExp][] = [
    [["collection", "ingest", "TV", "--season", "1"], /--season needs --title/],
    [["collection", "ingest", "TV", "--verbose"], /--verbose lists what a --dry-run would change/],
    [["collection", "ingest", "TV", "--title", "A", "--episode", "1"], /--episode needs --season/],
    [
      ["collection", "ingest", "TV", "--title", "A", "--season", "x"],
      /--season must be a whole number from 0 to 999999999/,
    ],
    [
      ["collection", "ingest", "TV", "--title", "A", "--season=-1"],
      /--season must be a whole number from 0 to 999999999/,
    ],
    [
      ["collection", "ingest", "TV", "--title", "A", "--season", "1", "--episode", "1.5"],
      /--episode must be a whole number from 0 to 999999999/,
    ],
    [["collection", "ingest", "TV", "--title", " "], /--title needs a non-empty title/],
    [["collection", "ingest"], /needs a <collection>/],
    [["collection", "ingest", "Nope"], /no collection 'Nope'/],
    [["collection", "ingest", "TV"], /not sync-enabled/],
    [["collection", "ingest", "TV", "--dry-run"], /not sync-enabled/],
    [["source", "ingest", "Home", "--title", "A"], /takes no --title; use 'collection ingest/],
    [["source", "ingest", "Home", "--season", "1"], /takes no --season/],
    [["source", "ingest", "Nope"], /no source|Nope/],
    [["asset", "list", "--season", "one"], /--season must be a whole number from 0 to 999999999/],
    [
      ["asset", "list", "--limit", "-3"],
      /--limit must be a whole number from 0 to 999999999, not .-3./,
    ],
    [["asset", "list", "--collection", "Nope"], /no collection 'Nope'/],
    [["asset", "show", "a-000000000000"], /no asset 'a-000000000000'/],
    [["asset", "show"], /needs an <asset>/],
    [["asset", "list", "--changed-in", "yesterday"], /--changed-in takes 'last' or a run number/],
    [["asset", "list", "--changed-in", "last"], /no ingest has been recorded yet/],
    [["ingest", "history", "Nope"], /no collection 'Nope'/],
    [["ingest", "history", "--limit", "x"], /--limit must be a whole number from 0 to 999999999/],
  ];
  const results = await Promise.all(cases.map(([args]) => w.run(args)));
  results.forEach((r, i) => fails(r, 1, cases[i][1]));
  assert.equal(dumpDb(world.db), before, "failed commands wrote nothing");
});

Deno.test("collection ingest: full, re-run, dry run, targeted, scope empty, asset list/show", async () => {
  using world = tempWorld();
  const w = makeWorld(world);
  await seed(w);

  const first = json(ok(await w.run(["collection", "ingest", "TV", "--json"]), "ingest"));
  assert.deepEqual(Object.keys(first), [
    "status",
    "scope",
    "collectionId",
    "collectionName",
    "filters",
    "dryRun",
    "stats",
    "errors",
    "lastIngestTime",
    "runId",
    "plannedChanges",
    "removalGuard",
    "warnings",
    "skipped",
    "localPaths",
  ]);
  assert.equal(first.status, "ok");
  assert.equal(first.scope, "collection");
  assert.equal(first.collectionName, "TV");
  assert.equal(first.dryRun, false);
  assert.deepEqual(first.stats, {
    discovered: 4,
    new: 4,
    changed: 0,
    unchanged: 0,
    removed: 0,
    rekeyed: 0,
    restored: 0,
    invalid: 0,
  });
  assert.deepEqual(first.errors, []);
  assert.match(String(first.lastIngestTime), /^\d{4}-\d\d-\d\dT/);

  // Determinism: the same upstream gives the same document apart from the time.
  const again = json(ok(await w.run(["collection", "ingest", "TV", "--json"]), "re-run"));
  assert.equal((again.stats as Record<string, number>).unchanged, 4);
  const strip = (d: Record<string, unknown>) => ({
    ...d,
    lastIngestTime: null,
    stats: null,
    runId: null,
  });
  assert.equal(again.runId, Number(first.runId) + 1, "each applied run is recorded");
  assert.deepEqual(strip(again), strip(first));

  // asset list / show.
  const listed = json(ok(await w.run(["asset", "list", "--collection", "TV", "--json"]), "list"));
  assert.equal(listed.total, 4);
  const assets = listed.assets as Record<string, unknown>[];
  assert.deepEqual(assets.map((a) => a.externalId), ["e1", "e2", "e3", "e4"]);
  const shown = json(ok(await w.run(["asset", "show", String(assets[0].id), "--json"]), "show"));
  assert.equal((shown.asset as Record<string, unknown>).seriesTitle, "Alpha");
  const human = ok(await w.run(["asset", "list", "--title", "alpha", "--season", "1"]), "list");
  assert.match(human.stdout, /Alpha S01E01 · Episode 1/);
  assert.doesNotMatch(human.stdout, /S02E01|Beta/);

  // Upstream changes: e2 gone, e4 changed, e9 new, one invalid item.
  const changed = [
    TV_ASSETS[0],
    TV_ASSETS[2],
    { ...TV_ASSETS[3], title: "Renamed" },
    ep("e9", "Beta", 1, 2),
    { externalId: "broken", kind: "episode", title: "x" },
  ];
  w.setState(state({ assets: { tv: changed } }));
  const before = dumpDb(world.db);
  const dry = json(ok(await w.run(["collection", "ingest", "TV", "--dry-run", "--json"]), "dry"));
  assert.equal(dumpDb(world.db), before, "a dry run writes nothing");
  assert.equal(dry.dryRun, true);
  assert.equal(dry.lastIngestTime, again.lastIngestTime);
  assert.equal(dry.plannedChanges, null, "listed only with --verbose");
  const verbose = ok(await w.run(["collection", "ingest", "TV", "--dry-run", "--verbose"]), "v");
  assert.match(verbose.stdout, /It would:\n {2}new +'e9'\n {2}changed +'e4' \(a-[0-9a-f]{12}\)\n/);
  assert.match(verbose.stdout, /removed +'e2' \(a-[0-9a-f]{12}\)/);
  assert.equal(dumpDb(world.db), before, "a verbose dry run writes nothing either");
  const real = json(ok(await w.run(["collection", "ingest", "TV", "--json"]), "ingest changes"));
  const made = json(ok(await w.run(["asset", "list", "--changed-in", "last", "--json"]), "made"));
  assert.deepEqual(
    (made.assets as Record<string, unknown>[]).map((a) => [a.externalId, a.change]).sort(),
    [["e2", "removed"], ["e4", "changed"], ["e9", "new"]],
  );
  const expected = {
    discovered: 5,
    new: 1,
    changed: 1,
    unchanged: 2,
    removed: 1,
    rekeyed: 0,
    restored: 0,
    invalid: 1,
  };
  assert.deepEqual(dry.stats, expected);
  assert.deepEqual(real.stats, expected);
  assert.deepEqual(real.errors, [{
    kind: "invalid",
    externalId: "broken",
    message: "an episode needs a seriesTitle",
  }]);
  const deleted = json(ok(await w.run(["asset", "list", "--include-deleted", "--json"]), "list"));
  const e2 = (deleted.assets as Record<string, unknown>[]).find((a) => a.externalId === "e2")!;
  assert.ok(e2.deletedAt, "a removed asset is soft-deleted");

  // Targeted: one season; works without sync too.
  ok(await w.run(["collection", "update", "TV", "--sync-disable"]), "sync off");
  const season = json(
    ok(
      await w.run(["collection", "ingest", "TV", "--title", "alpha", "--season", "2", "--json"]),
      "season",
    ),
  );
  assert.equal(season.scope, "season");
  assert.deepEqual(season.filters, { title: "alpha", season: 2, episode: null });
  assert.equal((season.stats as Record<string, number>).unchanged, 1);
  assert.equal((season.stats as Record<string, number>).discovered, 1);

  // A scope matching nothing: an error (exit 1, status error), named, nothing written.
  const unchanged = dumpDb(world.db);
  const empty = await w.run(["collection", "ingest", "TV", "--title", "Alpha", "--season", "7"]);
  fails(empty, 1, /season 7 of 'Alpha' not found in collection 'TV'/);
  const emptyJson = await w.run(["collection", "ingest", "TV", "--title", "Zeta", "--json"]);
  assert.equal(emptyJson.code, 1);
  assert.equal(json(emptyJson).status, "error");
  assert.equal((json(emptyJson).error as Record<string, unknown>).code, "SCOPE_EMPTY");
  assert.equal(dumpDb(world.db), unchanged);

  // The human output: counts and issues, no progress line when stderr is not a terminal.
  ok(await w.run(["collection", "update", "TV", "--sync-enable"]), "sync on");
  const text = ok(await w.run(["collection", "ingest", "TV"]), "human");
  assert.match(
    text.stdout,
    /Ingested collection 'TV' .*5 discovered, 0 new, 0 changed, 4 unchanged/,
  );
  assert.match(text.stdout, /invalid 'broken': an episode needs a seriesTitle/);
  assert.equal(text.stderr, "");
});

Deno.test("importer failure midway: exit 3, database unchanged", async () => {
  using world = tempWorld();
  const w = makeWorld(world);
  await seed(w);
  ok(await w.run(["collection", "ingest", "TV"]), "first ingest");
  const before = dumpDb(world.db);
  const more = [...TV_ASSETS, ep("e5", "Gamma", 1, 1), ep("e6", "Gamma", 1, 2)];
  w.setState(state({ assets: { tv: more }, failAfter: { tv: 4 } }));
  const r = await w.run(["collection", "ingest", "TV", "--json"]);
  assert.equal(r.code, 3, r.stderr + r.stdout);
  assert.equal((json(r).error as Record<string, unknown>).code, "UNREACHABLE");
  assert.equal(dumpDb(world.db), before);
});

Deno.test("source ingest: each collection on its own; partial failure exits 2", async () => {
  using world = tempWorld();
  const w = makeWorld(world);
  await seed(w, ["TV", "Movies"]);
  const all = json(ok(await w.run(["source", "ingest", "Home", "--json"]), "source ingest"));
  assert.equal(all.status, "ok");
  w.setState(state({ assets: { tv: [...TV_ASSETS, ep("e5", "Gamma", 1, 1)] }, failAfter: {} }));
  const r = await w.run(["source", "ingest", "Home", "--json"]);
  assert.equal(r.code, 2, r.stderr + r.stdout);
  const doc = json(r);
  assert.equal(doc.status, "partial");
  const cols = doc.collections as Record<string, unknown>[];
  assert.deepEqual(cols.map((c) => [c.collectionName, c.status]), [
    ["Movies", "error"],
    ["TV", "ok"],
  ]);
  assert.equal((cols[0].error as Record<string, unknown>).code, "COLLECTION_NOT_FOUND");
  assert.equal((cols[1].stats as Record<string, number>).new, 1);
  const listed = json(ok(await w.run(["asset", "list", "--json"]), "list"));
  assert.equal(listed.total, 6, "TV's new asset landed, Movies kept its asset");
});

/**
 * A world whose TV collection was ingested once, and whose importer now hangs
 * after two assets; with the catalog's dump before the next ingest.
 */
async function _hangingIngest(
  world: TempWorld,
): Promise<{ w: World; before: string }> {
  const w = makeWorld(world);
  await seed(w);
  ok(await w.run(["collection", "ingest", "TV"]), "first ingest");
  w.setState(state({
    assets: { tv: [...TV_ASSETS, ep("e5", "Gamma", 1, 1)] },
    hangAfter: { tv: 2 },
  }));
  return { w, before: dumpDb(world.db) };
}

Deno.test("readers never wait on a running ingest; Ctrl-C leaves the catalog as it was", async () => {
  using world = tempWorld();
  const { w, before } = await _hangingIngest(world);
  const ingest = spawnCli(world, ["collection", "ingest", "TV"]);
  const result = collect(ingest);
  let exited = false;
  result.then(() => exited = true);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const [sources, assets] = await Promise.all([
      w.run(["source", "list", "--json"]),
      w.run(["asset", "list", "--json"]),
    ]);
    ok(sources, "source list");
    assert.equal(json(ok(assets, "asset list")).total, 4);
    assert.equal(exited, false, "the ingest was still running while the readers ran");
  } finally {
    ingest.kill("SIGINT");
  }
  const r = await result;
  assert.equal(r.code, 130, r.stderr);
  assert.equal(dumpDb(world.db), before);
});

Deno.test("SIGTERM cancels an ingest like Ctrl-C: exit 143, its --json document, nothing written", async () => {
  using world = tempWorld();
  const { before } = await _hangingIngest(world);
  const ingest = spawnCli(world, ["collection", "ingest", "TV", "--json"]);
  const result = collect(ingest);
  await new Promise((r) => setTimeout(r, 1500));
  ingest.kill("SIGTERM");
  const r = await result;
  assert.equal(r.code, 143, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.status, "error");
  assert.equal(doc.error.code, "CANCELLED");
  assert.equal(dumpDb(world.db), before);
});

Deno.test("a second writer waits for the busy timeout, then exits 1 with a clear message", async () => {
  using world = tempWorld();
  const w = makeWorld(world);
  await seed(w);
  const before = dumpDb(world.db);
  const holder = new DatabaseSync(world.db);
  holder.exec("BEGIN IMMEDIATE"); // another ingest in its apply step
  try {
    const [ingest, assets] = await Promise.all([
      w.run(["collection", "ingest", "TV"]),
      w.run(["asset", "list", "--json"]),
    ]);
    assert.equal(json(ok(assets, "asset list under a held write lock")).total, 0);
    fails(ingest, 1, /(busy|locked).*try again/);
  } finally {
    holder.exec("ROLLBACK");
    holder.close();
  }
  assert.equal(dumpDb(world.db), before);
});

const HAS_FFPROBE = new Deno.Command("sh", { args: ["-c", "command -v ffprobe"], stdout: "null" })
  .outputSync().success;
if (!HAS_FFPROBE) {
  console.log("cli_ingest_test: ffprobe is not installed: the enrichment test is skipped");
}

Deno.test({
  name: "an enrichment that cannot run after an ingest is a warning; the ingest's result stands",
  ignore: !HAS_FFPROBE,
  async fn() {
    using world = tempWorld();
    const w = makeWorld(world);
    // The collection's folder holds the catalog: the enricher may not be given it to read,
    // even when the operator maps that folder to itself.
    const media = `${world.dir}/tv`;
    w.setState(state({
      collections: [{ externalId: "tv", name: "TV", kind: "shows", locations: [world.dir] }],
      assets: { tv: [{ ...ep("e1", "Alpha", 1, 1), path: `${media}/a.mkv` }] },
    }));
    await seed(w);
    const itself = `${world.dir}=${world.dir}`;
    const attach = ["--add-enricher", "ffprobe", "--path-mapping", itself];
    ok(await w.run(["collection", "update", "TV", ...attach]), "attach");
    const r = ok(await w.run(["collection", "ingest", "TV", "--json"]), "ingest");
    assert.equal(JSON.parse(r.stdout).stats.new, 1, "the ingest is reported");
    assert.match(r.stderr, /Warning: enrichment skipped: .*contains RetroVue's catalog/);
  },
});

/**
 * A fake source `home` (added, its collections discovered) of one episode,
 * `<media>/a.mkv` holding `content`, in collection `TV` located at `media`;
 * beside it, in a plugin folder of its own, the test enricher `typeId` with
 * `enrich` (the source of its `enrich` method). Returns how to run the CLI
 * with both plugin folders.
 */
async function _enricherWorld(
  world: TempWorld,
  options: { typeId: string; enrich: string; media: string; content: string },
): Promise<{ run: (args: string[]) => Promise<CliResult>; pluginPath: string }> {
  const plugins = `${world.dir}/plugins`;
  const { media } = options;
  Deno.mkdirSync(plugins);
  Deno.mkdirSync(media);
  Deno.writeTextFileSync(`${media}/a.mkv`, options.content);
  Deno.writeTextFileSync(
    `${plugins}/${options.typeId}.ts`,
    `export default {
      typeId: ${JSON.stringify(options.typeId)},
      displayName: "Test enricher",
      appliesTo: ["episode"],
      params: [],
      ${options.enrich},
    };\n`,
  );
  const w = makeWorld(world);
  w.setState(state({
    collections: [{ externalId: "tv", name: "TV", kind: "shows", locations: [media] }],
    assets: { tv: [{ ...ep("e1", "Alpha", 1, 1), path: `${media}/a.mkv` }] },
  }));
  const pluginPath = `${FAKE_PLUGINS}:${plugins}`;
  const run = (args: string[]) => runCli(args, { db: world.db, pluginPath, dataHome: world.dir });
  const add = "source add --type fake --name home --discover --state-file".split(" ");
  ok(await run([...add, w.stateFile]), "add");
  return { run, pluginPath };
}

/**
 * A fake source of one episode whose collection has the test enricher
 * `typeId`, which answers `answer` (a JS expression) after `delayMs`. Starts
 * `collection ingest TV --json` and returns once the ingest is written (its
 * enrichment then runs), with the child and its collected output.
 */
async function _ingestThenEnrich(
  world: TempWorld,
  enricher: { typeId: string; delayMs: number; answer: string },
): Promise<{ ingest: Deno.ChildProcess; result: Promise<CliResult> }> {
  const media = `${world.dir}/media`;
  const { run, pluginPath } = await _enricherWorld(world, {
    typeId: enricher.typeId,
    media,
    content: "x",
    enrich: `async enrich() {
        await new Promise((r) => setTimeout(r, ${enricher.delayMs}));
        return ${enricher.answer};
      }`,
  });
  // The fake source grants no folder: the operator maps the media folder to itself.
  const attach = [
    ...["--sync-enable", "--add-enricher", enricher.typeId],
    ...["--path-mapping", `${media}=${media}`],
  ];
  ok(await run(["collection", "update", "TV", ...attach]), "attach");
  const ingest = spawnCli(world, ["collection", "ingest", "TV", "--json"], pluginPath);
  const result = collect(ingest);
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const db = new DatabaseSync(world.db, { readOnly: true });
    try {
      const row = db.prepare("SELECT count(*) AS n FROM assets").get() as { n: number };
      if (Number(row.n) > 0) break;
    } finally {
      db.close();
    }
  }
  return { ingest, result };
}

Deno.test("SIGTERM during the enrichment after an ingest: the written ingest is still reported", async () => {
  using world = tempWorld();
  // An enricher that takes its time: the signal arrives while it runs.
  const { ingest, result } = await _ingestThenEnrich(world, {
    typeId: "slow",
    delayMs: 30_000,
    answer: "{ tech: {} }",
  });
  await new Promise((r) => setTimeout(r, 500));
  ingest.kill("SIGTERM");
  const r = await result;
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.stats.new, 1, r.stdout);
  assert.match(r.stderr, /Warning: enrichment skipped: .*/);
});

Deno.test("an enrichment that cannot write its results (catalog busy) leaves the ingest reported ok", async () => {
  using world = tempWorld();
  // Its result comes once the test holds the catalog's write lock past the busy timeout (5 s).
  const { result } = await _ingestThenEnrich(world, {
    typeId: "late",
    delayMs: 1500,
    answer: "{ durationMs: 1000, tech: {} }",
  });
  const holder = new DatabaseSync(world.db);
  try {
    holder.exec("BEGIN IMMEDIATE");
    await new Promise((r) => setTimeout(r, 8000));
    holder.exec("ROLLBACK");
  } finally {
    holder.close();
  }
  const r = await result;
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.status, "ok", r.stdout);
  assert.equal(doc.stats.new, 1, r.stdout);
  assert.match(r.stderr, /Warning: enrichment skipped: the database is busy.*'collection enrich /);
});

Deno.test("ingest history names each run's source: collections of two sources may share a name", async () => {
  using world = tempWorld();
  const w = makeWorld(world);
  await seed(w);
  ok(await w.run(["collection", "ingest", "TV"]), "ingest");
  const text = ok(await w.run(["ingest", "history"]), "history").stdout;
  const [header, row] = text.split("\n");
  assert.match(header, /^run\s+finished\s+source\s+collection\s+scope/);
  assert.match(row, /^1\s+\S+\s+Home\s+TV\s+full\s/);
});

Deno.test("an importer's locations grant an enricher nothing: a folder the operator did not grant is not read", async () => {
  using world = tempWorld();
  const hidden = `${world.dir}/private`;
  // The fake importer, granted no folder, names the private folder as its collection's location;
  // the enricher reads the file it is handed and reports its length as the duration.
  const { run } = await _enricherWorld(world, {
    typeId: "peek",
    media: hidden,
    content: "private bytes",
    enrich: `async enrich(target) {
        const text = await Deno.readTextFile(target.parts[0]);
        return { durationMs: text.length, tech: {} };
      }`,
  });
  ok(
    await run(["collection", "update", "TV", "--sync-enable", "--add-enricher", "peek"]),
    "attach",
  );
  ok(await run(["collection", "ingest", "TV", "--json"]), "ingest");
  const enrich = await run(["collection", "enrich", "TV", "--force", "--json"]);
  assert.equal(enrich.code, 2, `a failed asset is a partial success: ${enrich.stderr}`);
  assert.equal(JSON.parse(enrich.stdout).failed, 1);
  const row = () => {
    const db = new DatabaseSync(world.db, { readOnly: true });
    try {
      return db.prepare("SELECT probed_duration_ms AS ms, enrichment_error AS error FROM assets")
        .get() as { ms: number | null; error: string | null };
    } finally {
      db.close();
    }
  };
  const denied = row();
  assert.equal(denied.ms, null, "the enricher read nothing");
  assert.match(String(denied.error), /outside the folders this collection's enrichers may read/);

  // The operator grants the folder (mapped to itself): now the same enricher reads it.
  const itself = ["--path-mapping", `${hidden}=${hidden}`];
  ok(await run(["collection", "update", "TV", ...itself]), "map");
  ok(await run(["collection", "enrich", "TV", "--force", "--json"]), "enrich again");
  assert.deepEqual({ ...row() }, { ms: "private bytes".length, error: null });
});
