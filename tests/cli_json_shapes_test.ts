/**
 * Every command's `--json` against the shapes in `docs/cli.md` (see
 * `tests/_json_shape.ts` for the notation): each command of the table runs
 * through the real CLI with the `fake` importer, its document must match its
 * documented shape exactly (no undocumented key, none missing), and every key
 * is camelCase except inside `config` objects (keyed by param name). A
 * command without a documented shape, or a shape for no command, fails.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { COMMANDS } from "../cli/commands.ts";
import { docShapes, shapeErrors } from "./_json_shape.ts";
import { type CliResult, FAKE_PLUGINS, fakeEpisode, REPO_ROOT, runCli, tempWorld } from "./_cli.ts";

const DOC = join(REPO_ROOT, "docs", "cli.md");

/** Keys that are not camelCase: everything but `config` objects (keyed by param name). */
function _nonCamelKeys(value: unknown, path = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => _nonCamelKeys(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(/^[a-z][a-zA-Z0-9]*$/.test(k) ? [] : [`${path}.${k}`]),
    ...(k === "config" ? [] : _nonCamelKeys(v, `${path}.${k}`)),
  ]);
}

Deno.test("every command's --json matches its shape in docs/cli.md, keys camelCase", async () => {
  using world = tempWorld();
  const stateFile = world.writeJson("state.json", {
    collections: [
      { externalId: "tv", name: "TV", kind: "shows", locations: ["/data/tv"] },
      { externalId: "mv", name: "Movies", kind: "movies" },
    ],
    assets: {
      tv: [
        fakeEpisode("e1", { episode: 1, folder: "/data/tv" }),
        fakeEpisode("e2", { episode: 2, folder: "/data/tv" }),
        {
          externalId: "bad",
          kind: "episode",
        },
      ],
      mv: [{ externalId: "m1", kind: "movie", title: "Heat", year: 1995, path: "/m/heat.mkv" }],
    },
    failAfter: { mv: 0 },
  });
  Deno.writeTextFileSync(join(world.dir, "token"), "tok3n-for-shapes\n");
  const outputs: { name: string; args: string[]; result: CliResult }[] = [];
  const run = async (name: string, args: string[]) => {
    const result = await runCli([...args, "--json"], {
      db: world.db,
      pluginPath: FAKE_PLUGINS,
      cwd: world.dir,
    });
    outputs.push({ name, args, result });
    return result.stdout ? JSON.parse(result.stdout) : null;
  };

  await run("source list-types", ["source", "list-types"]);
  const fake = ["--state-file", stateFile, "--token-file", "token"];
  await run("source add", ["source", "add", "--type", "fake", "--name", "Home", ...fake]);
  await run("source discover", ["source", "discover", "Home"]);
  await run("source list", ["source", "list"]);
  await run("source show", ["source", "show", "Home"]);
  await run("source update", ["source", "update", "Home", "--page-size", "7"]);
  await run("collection list", ["collection", "list"]);
  await run("collection update", [
    "collection",
    "update",
    "TV",
    "--sync-enable",
    "--path-mapping",
    "/data/tv=/mnt/tv",
  ]);
  await run("collection update", ["collection", "update", "Movies", "--sync-enable"]);
  await run("collection show", ["collection", "show", "TV"]);
  await run("collection ingest", ["collection", "ingest", "TV"]);
  await run("collection check-paths", ["collection", "check-paths", "TV"]);
  await run("source ingest", ["source", "ingest", "Home", "--dry-run"]);
  const listed = await run("asset list", ["asset", "list"]);
  const changed = await run("asset list", ["asset", "list", "--changed-in", "last"]);
  assert.ok(changed?.run?.id > 0 && changed.assets.every((a: { change: string }) => a.change));
  await run("ingest history", ["ingest", "history"]);
  // Sync: TV on its source's schedule (Movies, whose upstream fails, opted out), run once.
  await run("source update", [
    ...["source", "update", "Home", "--sync-every", "6h", "--webhook-secret", "new"],
  ]);
  await run("collection update", ["collection", "update", "Movies", "--sync-every", "off"]);
  const once = await run("sync", ["sync", "--once"]);
  assert.deepEqual(once?.ran?.map((r: { collectionName: string }) => r.collectionName), ["TV"]);
  await run("sync status", ["sync", "status"]);
  await run("asset show", ["asset", "show", String(listed?.assets?.[0]?.id)]);
  await run("collection update", ["collection", "update", "TV", "--add-enricher", "ffprobe"]);
  await run("collection enrich", ["collection", "enrich", "TV", "--dry-run"]);
  await run("enricher list-types", ["enricher", "list-types"]);
  // A file and a folder (a path ending in `/`): the two kinds of result.
  const parsed = await run("parse", [
    "parse",
    "Alpha (2001)/Season 01/Alpha - S01E02 - Two.mkv",
    "Alpha (2001)/",
  ]);
  assert.deepEqual(parsed?.results?.map((r: object) => Object.keys(r)[1]), ["parsed", "folder"]);
  await run("importer new", ["importer", "new", "demo", "--dir", "plugins"]);
  await run("importer check", ["importer", "check", join(world.dir, "plugins", "demo.ts")]);
  await run("source remove", ["source", "remove", "Home", "--yes", "--force"]);
  await run("$Error", ["source", "show", "Nowhere"]);

  const shapes = docShapes(Deno.readTextFileSync(DOC));
  const problems: string[] = [];
  for (const { name, args, result } of outputs) {
    const shape = shapes.get(name);
    if (shape === undefined) {
      problems.push(`${name}: no '<!-- shape: ${name} -->' block in docs/cli.md`);
      continue;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(result.stdout);
    } catch {
      problems.push(`${args.join(" ")}: stdout is not one JSON document: ${result.stdout}`);
      continue;
    }
    const where = `${args.join(" ")} (exit ${result.code})`;
    problems.push(...shapeErrors(doc, shape, { named: shapes }).map((e) => `${where}: ${e}`));
    problems.push(..._nonCamelKeys(doc).map((k) => `${where}: key ${k} is not camelCase`));
  }
  assert.deepEqual(problems, [], problems.join("\n"));
  // Status and exit code agree (the table in docs/cli.md), and each run here ended as planned.
  const exits: Record<string, number[]> = { ok: [0], pass: [0], partial: [2], error: [1, 3, 130] };
  for (const { name, args, result } of outputs) {
    const status = JSON.parse(result.stdout).status;
    assert.ok(exits[status]?.includes(result.code), `${args.join(" ")}: ${status}, ${result.code}`);
    const partial = ["source ingest", "collection check-paths"];
    const expected = name === "$Error" ? "error" : partial.includes(name) ? "partial" : /ok|pass/;
    assert.match(status, typeof expected === "string" ? new RegExp(`^${expected}$`) : expected);
  }

  // Every command has a shape, and every command shape is a command that ran here.
  const commands = COMMANDS.map((c) => c.path.join(" "));
  const ran = new Set(outputs.map((o) => o.name));
  assert.deepEqual(commands.filter((c) => !ran.has(c)), [], "commands this test does not run");
  const documented = [...shapes.keys()].filter((k) => !k.startsWith("$"));
  assert.deepEqual(documented.filter((d) => !commands.includes(d)), [], "shapes of no command");
});

Deno.test("the shape checker reports drift: extra, missing and mistyped keys", () => {
  const named = new Map([["$Base", { id: "string" }]]);
  const shape = { "...": "$Base", "n": "integer | null", "opt?": "'a' | 'b'", "list": ["boolean"] };
  assert.deepEqual(shapeErrors({ id: "x", n: null, list: [true] }, shape, { named }), []);
  assert.deepEqual(shapeErrors({ id: "x", n: 2, opt: "b", list: [] }, shape, { named }), []);
  assert.deepEqual(shapeErrors({ id: "x", n: 1, list: [], extra: 1 }, shape, { named }), [
    "$: key 'extra' is not documented",
  ]);
  assert.deepEqual(shapeErrors({ n: 1, list: [] }, shape, { named }), ["$: missing key 'id'"]);
  assert.equal(shapeErrors({ id: "x", n: 1.5, list: [] }, shape, { named }).length, 1);
  assert.equal(shapeErrors({ id: "x", n: 1, opt: "c", list: [] }, shape, { named }).length, 1);
  assert.deepEqual(shapeErrors({ id: "x", n: 1, list: [1] }, shape, { named }), [
    "$.list[0]: expected boolean, got number 1",
  ]);
  assert.deepEqual(shapeErrors(null, { $oneOf: ["$Base", "null"] }, { named }), []);
  assert.deepEqual(shapeErrors({ a: "1", b: "2" }, { $record: "string" }, { named }), []);
  assert.throws(() => docShapes("<!-- shape: x -->\n\nno block\n"), /no ```json block/);
  assert.deepEqual([...docShapes('<!-- shape: y -->\n\n```json\n{ "a": "string" }\n```\n')], [
    ["y", { a: "string" }],
  ]);
});
