// deno-lint-ignore-file no-explicit-any -- assertions walk parsed JSON documents
/**
 * Text output is inert: names, titles and messages from a plugin or an
 * upstream server cannot control the operator's terminal (clear the screen,
 * set the window title, rewrite a line, reorder text), while `--json` keeps
 * their exact values and the CLI's own colors and progress line still work.
 *
 * Unit tests of `cli/inert.ts` and the output helpers, then the real CLI
 * (as a subprocess, in-process with colors on, and on a pseudo-terminal)
 * against the `fake` importer whose upstream names carry escape sequences.
 */

import assert from "node:assert/strict";
import { getLogger } from "@logtape/logtape";
import type { Command } from "../cli/command.ts";
import { createContext } from "../cli/context.ts";
import { inertJson, inertLine, inertOutput, inertText } from "../cli/inert.ts";
import { formatIngestResult } from "../cli/ingest_commands.ts";
import {
  errorLine,
  formatFields,
  formatTable,
  inertWriter,
  style,
  writeJson,
} from "../cli/output.ts";
import { RetrovueError } from "../core/errors.ts";
import { main } from "../main.ts";
import {
  cliEnv,
  type CliResult,
  FAKE_PLUGINS,
  MAIN_TS,
  REPO_ROOT,
  retrovueTaskFlags,
  runCli,
  type TempWorld,
  tempWorld,
} from "./_cli.ts";

/** An upstream name that sets the title, clears the screen, forges a line and flips the text. */
const ATTACK = "\x1b]0;pwned\x07\x1b[2J\rAll good\u202e";

/** How {@link ATTACK} shows in a one-line field: visible escapes, CR collapsed to a space. */
const ATTACK_LINE = "\\x1b]0;pwned\\x07\\x1b[2J All good\\u202e";

/** Every character that can control a terminal or reorder text (tab and newline included). */
// deno-lint-ignore no-control-regex
const RAW = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** {@link RAW} without tab and newline, which multi-line output keeps. */
const RAW_BUT_LAYOUT = new RegExp(
  RAW.source.replace("\\u0000-\\u001f", "\\u0000-\\u0008\\u000b-\\u001f"),
);

/** Characters `JSON.stringify` leaves raw that must not reach a terminal either. */
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function _hex(char: string): string {
  return char.charCodeAt(0).toString(16).padStart(4, "0");
}

/** Asserts that `text` holds no raw control character but tab and newline. */
function _inert(text: string, what: string): void {
  const m = RAW_BUT_LAYOUT.exec(text);
  assert.equal(m, null, `${what}: raw U+${m ? _hex(m[0]) : ""} in ${JSON.stringify(text)}`);
}

// ------------------------------------------------------------------ units

Deno.test("inertText: every C0, DEL, C1 and bidi character becomes visible", () => {
  assert.equal(inertText("a\x1bb"), "a\\x1bb");
  assert.equal(inertText("\r"), "\\r");
  assert.equal(inertText("\n\t"), "\\n\\t");
  assert.equal(inertText("\x07\x00\x0b\x0c\x1f"), "\\x07\\x00\\x0b\\x0c\\x1f");
  assert.equal(inertText("\x7f"), "\\x7f");
  assert.equal(inertText("\u0080\u009b\u009f"), "\\x80\\x9b\\x9f");
  assert.equal(
    inertText("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
    "\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069",
  );
  assert.equal(inertText("\u200e\u200f\u061c"), "\\u200e\\u200f\\u061c");
  assert.equal(inertText(ATTACK), "\\x1b]0;pwned\\x07\\x1b[2J\\rAll good\\u202e");
  for (let code = 0; code <= 0x9f; code++) {
    if (code >= 0x20 && code < 0x7f) continue;
    const out = inertText(`x${String.fromCharCode(code)}y`);
    assert.doesNotMatch(out, RAW, `U+${code.toString(16)}`);
    assert.ok(out.length > 3, `U+${code.toString(16)} is visible: ${out}`);
  }
});

Deno.test("inert functions: plain text, letters, emoji and backslashes pass unchanged", () => {
  const samples = [
    "",
    "The Wire",
    "Amélie",
    "日本のテレビ",
    "Привет",
    "🎬 Movies 🍿",
    "C:\\TV\\Show",
    "a\\x1b is not an escape",
    "Ａ\u00a0b", // full-width letter and no-break space
    "👨\u200d👩\u200d👧", // an emoji sequence: zero-width joiners stay
    "می\u200cخواهم", // Persian: the zero-width non-joiner stays
  ];
  for (const s of samples) {
    assert.equal(inertText(s), s);
    assert.equal(inertLine(s), s);
    assert.equal(inertOutput(s), s);
    assert.equal(inertOutput(s, { color: true }), s);
    assert.equal(inertJson(s), s);
  }
  const multi = "line 1\n\tline 2\n";
  assert.equal(inertOutput(multi), multi, "our own layout stays");
  assert.equal(inertJson(multi), multi);
});

Deno.test("inertLine: one visual line, the rest visible", () => {
  assert.equal(inertLine(ATTACK), ATTACK_LINE);
  assert.equal(inertLine("a\r\nb\n\nc\td"), "a b c d");
  // U+2028, U+2029 start a line in some terminals and viewers; a zero-width space hides.
  assert.equal(inertLine("a\u2028b\x0bc\x0cd"), "a\\u2028b\\x0bc\\x0cd");
  assert.equal(inertLine("p\u2029q\u200br\ufeffs"), "p\\u2029q\\u200br\\ufeffs");
  assert.doesNotMatch(inertLine(`x${"\r\n\t\x1b\x7f\u009b\u202e".repeat(3)}y`), RAW);
});

Deno.test("inertOutput: keeps tab, newline and (with color) plain SGR only", () => {
  const ours = "\x1b[1mname\x1b[22m  \x1b[32mavailable\x1b[39m\n\tnext \x1b[0;31mX\x1b[m\n";
  assert.equal(inertOutput(ours, { color: true }), ours);
  assert.equal(
    inertOutput(ours),
    ours.replaceAll("\x1b", "\\x1b"),
    "without color every SGR is shown",
  );
  for (const color of [false, true]) {
    const out = inertOutput(`a${ATTACK}b\x1b[5;1H\x1b[?25l\u009b2J\x7f\n`, { color });
    assert.equal(
      out,
      "a\\x1b]0;pwned\\x07\\x1b[2J\\rAll good\\u202eb\\x1b[5;1H\\x1b[?25l\\x9b2J\\x7f\n",
    );
  }
});

Deno.test("inertJson: the same values, no raw DEL, C1 or bidi character", () => {
  const all = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join("");
  const values: unknown[] = [
    ATTACK,
    all,
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    'é 日本 🎬 \\ " \\u202e \ud800',
    { name: ATTACK, list: [all, { deep: "\u009b\u202e\x7f" }], n: 1, ok: true, none: null },
  ];
  for (const value of values) {
    for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2)]) {
      const out = inertJson(text);
      assert.deepEqual(JSON.parse(out), value);
      assert.doesNotMatch(out, RAW_IN_JSON);
      assert.doesNotMatch(out, RAW_BUT_LAYOUT);
    }
  }
  assert.equal(inertJson(JSON.stringify("a\x7fb\u009bc\u202ed")), '"a\\u007fb\\u009bc\\u202ed"');
});

Deno.test("output helpers: tables, fields, errors, writers and JSON are inert", () => {
  const table = formatTable(["name", "status"], [[ATTACK, "ok"], ["Plain", "\x1b[31mred\x1b[39m"]]);
  _inert(table, "table");
  assert.ok(table.includes(ATTACK_LINE));
  assert.equal(table.trimEnd().split("\n").length, 3, "one line per row");
  assert.ok(table.includes("\\x1b[31mred\\x1b[39m"), "an upstream color code is shown, not used");
  const rows = table.trimEnd().split("\n");
  assert.equal(rows[0].indexOf("status"), rows[1].indexOf("ok"), "columns still align");

  const s = style(true);
  const colored = formatTable(["a", "b"], [[s.green("available"), `\x1b[32m${ATTACK}`]], {
    color: true,
  });
  assert.ok(colored.includes("\x1b[1ma\x1b[22m"), "header bold");
  assert.ok(colored.includes("\x1b[32mavailable\x1b[39m"), "our styling stays");
  assert.ok(colored.includes(`\\x1b[32m${ATTACK_LINE}`), "upstream styling does not");
  assert.ok(
    formatTable(["x"], [[s.red(`broken: ${ATTACK}`)]], { color: true })
      .includes(`\x1b[31mbroken: ${ATTACK_LINE}\x1b[39m`),
    "text inside our styling is inert",
  );

  const fields = formatFields([["name", ATTACK], ["path", "/tv/a\nb"], ["ok", "plain"]]);
  _inert(fields, "fields");
  assert.equal(fields, `name:  ${ATTACK_LINE}\npath:  /tv/a b\nok:    plain\n`);

  const line = errorLine(new RetrovueError("NOT_FOUND", `no collection '${ATTACK}'\nat all`));
  assert.equal(line, `Error: no collection '${ATTACK_LINE}' at all`);

  let out = "";
  const sink = { write: (t: string) => void (out += t) };
  writeJson({ stdout: sink }, { name: ATTACK });
  assert.doesNotMatch(out, RAW_IN_JSON);
  assert.equal(JSON.parse(out).name, ATTACK);

  out = "";
  inertWriter(sink).write(`${ATTACK}\n`);
  assert.equal(out, "\\x1b]0;pwned\\x07\\x1b[2J\\rAll good\\u202e\n");
  out = "";
  inertWriter(sink, { json: true }).write(JSON.stringify({ name: ATTACK }));
  assert.equal(JSON.parse(out).name, ATTACK);
  _inert(out, "json writer");
});

// ---------------------------------------------------------- the real CLI

const SOURCE_NAME = "Evil\u009b2J\u202eSource";

function _state(): unknown {
  return {
    connection: { serverName: ATTACK },
    collections: [
      { externalId: "tv", name: ATTACK, kind: "shows", locations: [`/tv/${ATTACK}`] },
    ],
    assets: {
      tv: [{
        externalId: `ep-${ATTACK}`,
        kind: "episode",
        title: `Pilot \u202eevil`,
        seriesTitle: `Show ${ATTACK}`,
        season: 1,
        episode: 1,
        path: `/tv/${ATTACK}/s01e01.mkv`,
      }],
    },
  };
}

function _ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
  return r;
}

async function _world(world: TempWorld) {
  const state = world.writeJson("state.json", _state());
  const run = (args: string[]) => runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS });
  const added = JSON.parse(
    _ok(
      await run([
        "source",
        "add",
        "--type",
        "fake",
        "--name",
        SOURCE_NAME,
        "--state-file",
        state,
        "--discover",
        "--json",
      ]),
      "source add",
    ).stdout,
  );
  const sourceId = added.source?.id ?? added.id;
  assert.equal(typeof sourceId, "string", JSON.stringify(added));
  const collections = JSON.parse(
    _ok(await run(["collection", "list", "--json"]), "collection list").stdout,
  ).collections;
  assert.equal(collections.length, 1);
  const collectionId = collections[0].id as string;
  _ok(await run(["collection", "update", collectionId, "--sync-enable"]), "sync");
  _ok(await run(["collection", "ingest", collectionId]), "ingest");
  const assets = JSON.parse(_ok(await run(["asset", "list", "--json"]), "asset list").stdout)
    .assets;
  assert.equal(assets.length, 1);
  return { run, sourceId, collectionId, assetId: assets[0].id as string };
}

Deno.test("CLI text output shows upstream escapes; --json keeps the exact names", async () => {
  using world = tempWorld();
  const { run, sourceId, collectionId, assetId } = await _world(world);

  const views: [string[], (doc: any) => string[]][] = [
    [["source", "list"], (d) => [d.sources[0].name]],
    [["source", "show", sourceId], (d) => [d.source.name, d.source.collections[0].name]],
    [["collection", "list"], (d) => [d.collections[0].name, d.collections[0].sourceName]],
    [["collection", "show", collectionId], (d) => [d.collection.name, d.collection.locations[0]]],
    [["asset", "list"], (d) => [d.assets[0].collectionName, d.assets[0].externalId]],
    [["asset", "show", assetId], (d) => [d.asset.collectionName, d.asset.path]],
  ];
  for (const [args, names] of views) {
    const what = args.join(" ");
    const text = _ok(await run(args), what);
    _inert(text.stdout, what);
    _inert(text.stderr, `${what} (stderr)`);
    assert.ok(
      text.stdout.includes(
        args[0] === "source" && args[1] === "list" ? "Evil\\x9b2J\\u202eSource" : ATTACK_LINE,
      ),
      `${what} shows the escapes: ${text.stdout}`,
    );
    assert.ok(!text.stdout.includes("\nAll good"), `${what}: no forged line`);

    const json = _ok(await run([...args, "--json"]), `${what} --json`);
    assert.doesNotMatch(json.stdout, RAW_IN_JSON, `${what} --json`);
    _inert(json.stdout, `${what} --json`);
    const doc = JSON.parse(json.stdout);
    for (const name of names(doc)) {
      assert.ok(
        [ATTACK, SOURCE_NAME, `ep-${ATTACK}`, `/tv/${ATTACK}`, `/tv/${ATTACK}/s01e01.mkv`]
          .includes(name),
        `${what} --json keeps the exact value, got ${JSON.stringify(name)}`,
      );
    }
  }
  const listed = JSON.parse((await run(["collection", "list", "--json"])).stdout);
  assert.equal(listed.collections[0].name, ATTACK);
  assert.equal(listed.collections[0].sourceName, SOURCE_NAME);
  const shown = JSON.parse((await run(["asset", "show", assetId, "--json"])).stdout);
  assert.equal(shown.asset.externalId, `ep-${ATTACK}`);
  assert.equal(shown.asset.path, `/tv/${ATTACK}/s01e01.mkv`);

  // What ingest printed about the collection is inert too.
  const again = _ok(await run(["collection", "ingest", collectionId]), "ingest again");
  _inert(again.stdout, "collection ingest");
  _inert(again.stderr, "collection ingest (stderr)");
});

Deno.test("an error quoting escapes is one inert Error: line; --json keeps it parseable", async () => {
  using world = tempWorld();
  const run = (args: string[]) => runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS });
  // A catalog to look things up in (reading never creates one).
  const state = world.writeJson("state.json", {});
  const seed = await run([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Seed",
    "--state-file",
    state,
  ]);
  assert.equal(seed.code, 0, seed.stderr);
  const r = await run(["collection", "show", ATTACK]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0], /^Error: /);
  _inert(r.stderr, "error line");
  assert.ok(lines[0].includes("\\x1b]0;pwned\\x07\\x1b[2J"), lines[0]);
  assert.ok(lines[0].includes("\\u202e"), lines[0]);

  const bidi = await run(["source", "show", "x\u202e\u009b\u2066y"]);
  assert.equal(bidi.code, 1);
  _inert(bidi.stderr, "source show error");
  assert.ok(bidi.stderr.includes("x\\u202e\\x9b\\u2066y"), bidi.stderr);

  const json = await run(["collection", "show", `${ATTACK}\u009b`, "--json"]);
  assert.equal(json.code, 1);
  _inert(json.stdout, "--json error");
  assert.doesNotMatch(json.stdout, RAW_IN_JSON);
  const doc = JSON.parse(json.stdout);
  assert.equal(doc.status, "error");
  assert.ok(doc.error.message.includes("\x1b]0;pwned\x07\x1b[2J"), "the value is exact JSON");
  assert.ok(doc.error.message.includes("All good\u202e\u009b"));
});

Deno.test("in-process with colors on: our styling stays, upstream escapes do not", async () => {
  using world = tempWorld();
  const { sourceId } = await _world(world);
  const run = async (args: string[]) => {
    let out = "";
    let err = "";
    const code = await main(["--db", world.db, ...args], {
      env: { RETROVUE_PLUGIN_PATH: FAKE_PLUGINS },
      stdout: { write: (t) => void (out += t) },
      stderr: { write: (t) => void (err += t) },
      isTerminal: true,
      stdinIsTerminal: false,
      cwd: world.dir,
      now: () => new Date("2030-01-01T00:00:00Z"),
      readLine: () => Promise.resolve(null),
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, `${args.join(" ")}: ${err}`);
    return { out, err };
  };
  const sgrOnly = (text: string, what: string) => {
    // Every raw ESC left starts a plain SGR color sequence.
    // deno-lint-ignore no-control-regex
    const stray = text.replace(/\x1b\[[0-9;]*m/g, "");
    _inert(stray, what);
  };
  assert.notEqual(RAW_BUT_LAYOUT.source, RAW.source);
  const sources = await run(["source", "list"]);
  assert.ok(sources.out.includes("\x1b[32mavailable\x1b[39m"), JSON.stringify(sources.out));
  assert.ok(sources.out.includes("\x1b[1mname\x1b[22m"));
  sgrOnly(sources.out, "source list");
  for (const args of [["collection", "list"], ["source", "show", sourceId], ["asset", "list"]]) {
    const r = await run(args);
    sgrOnly(r.out, args.join(" "));
    sgrOnly(r.err, `${args.join(" ")} (stderr)`);
    assert.ok(r.out.includes(ATTACK_LINE), `${args.join(" ")}: ${r.out}`);
  }
});

/** Upstream text that would keep its (green) color and forge a line if quoted as is. */
const PAINTED = "\x1b[32mTV\x1b[39m\nforged: line";

Deno.test("our own lines quote plugin words inert, before any styling (colors on)", async () => {
  const ingested = formatIngestResult({
    status: "ok",
    scope: "title",
    collectionId: "c-1",
    collectionName: PAINTED,
    filters: { title: PAINTED },
    dryRun: false,
    stats: {
      discovered: 0,
      new: 0,
      changed: 0,
      unchanged: 0,
      removed: 0,
      rekeyed: 0,
      restored: 0,
      invalid: 1,
    },
    errors: [{ kind: "invalid", externalId: PAINTED, message: PAINTED }],
    lastIngestTime: null,
    removalGuard: null,
    notices: {
      warnings: [PAINTED],
      warningsTotal: 1,
      skipped: 1,
      skippedByReason: { [PAINTED]: 1 },
      skippedSample: [{ item: PAINTED, reason: PAINTED }],
    },
    runId: null,
    plannedChanges: [{ change: "new", externalId: PAINTED, assetId: null }],
  });
  assert.ok(!ingested.includes("\x1b"), ingested);
  assert.doesNotMatch(ingested, /^forged/m, ingested);
  assert.ok(ingested.includes(inertLine(PAINTED)), ingested);

  using world = tempWorld();
  const plugins = `${world.dir}/plugins`;
  Deno.mkdirSync(plugins);
  Deno.writeTextFileSync(
    `${plugins}/painted.ts`,
    `export default { typeId: ${JSON.stringify(PAINTED)}, displayName: "x", params: [] };\n`,
  );
  const state = world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: PAINTED, kind: "shows" }],
    assets: { tv: [] },
  });
  const run = async (args: string[], pluginPath: string) => {
    let out = "";
    const code = await main(["--db", world.db, ...args], {
      env: { RETROVUE_PLUGIN_PATH: pluginPath },
      stdout: { write: (t) => void (out += t) },
      stderr: { write() {} },
      isTerminal: true,
      stdinIsTerminal: false,
      cwd: world.dir,
      now: () => new Date("2030-01-01T00:00:00Z"),
      readLine: () => Promise.resolve(null),
      signal: new AbortController().signal,
    });
    return { code, out };
  };
  const painted = (text: string, what: string) => {
    assert.ok(!text.includes("\x1b[32mTV"), `${what} kept the upstream color: ${text}`);
    assert.doesNotMatch(text, /^forged/m, `${what} forged a line: ${text}`);
  };
  const types = await run(["source", "list-types"], plugins);
  assert.equal(types.code, 0);
  assert.ok(types.out.includes("\x1b[31mbroken\x1b[39m"), "our own styling stays");
  painted(types.out, "list-types");
  const check = await run(
    ["importer", "check", `${FAKE_PLUGINS}/fake.ts`, "--state-file", state],
    FAKE_PLUGINS,
  );
  assert.ok(check.out.includes(inertLine(PAINTED)), check.out);
  painted(check.out, "importer check");
  const add = await run([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Painted",
    "--state-file",
    state,
    "--discover",
  ], FAKE_PLUGINS);
  assert.equal(add.code, 0);
  const empty = await run(["collection", "list", "--source", "Painted"], FAKE_PLUGINS);
  painted(empty.out, "collection list");
  const updated = await run(["collection", "update", PAINTED, "--sync-enable"], FAKE_PLUGINS);
  assert.equal(updated.code, 0, updated.out);
  painted(updated.out, "collection update");
  const ingest = await run(["source", "ingest", "Painted"], FAKE_PLUGINS);
  assert.equal(ingest.code, 0, ingest.out);
  assert.ok(ingest.out.includes(inertLine(PAINTED)), ingest.out);
  painted(ingest.out, "source ingest");
});

Deno.test("writes, log lines and errors of any command pass the inert filter", async () => {
  const command: Command = {
    path: ["noisy"],
    summary: "writes untrusted text everywhere",
    help: "Usage: retrovue noisy\n",
    run(ctx) {
      ctx.stdout.write(`raw ${ATTACK}\n\tindented\n`);
      ctx.stderr.write(`warn ${ATTACK}\n`);
      getLogger(["retrovue", "plugin", "fake"]).warn(`plugin says ${ATTACK}\nsecond line`);
      getLogger(["retrovue", "plugin", "fake"]).warn("value {v}", { v: ATTACK });
      throw new RetrovueError("PLUGIN_ERROR", `upstream failed: ${ATTACK}`);
    },
  };
  for (const json of [false, true]) {
    let out = "";
    let err = "";
    const code = await main(json ? ["noisy", "--json"] : ["noisy"], {
      env: {},
      stdout: { write: (t) => void (out += t) },
      stderr: { write: (t) => void (err += t) },
      isTerminal: true,
      stdinIsTerminal: false,
      cwd: REPO_ROOT,
      now: () => new Date("2030-01-01T00:00:00Z"),
      readLine: () => Promise.resolve(null),
      signal: new AbortController().signal,
    }, { commands: [command] });
    assert.equal(code, 1);
    _inert(out, "stdout");
    _inert(err, "stderr");
    const lines = err.trimEnd().split("\n");
    assert.ok(
      lines.includes(`warn ${"\\x1b]0;pwned\\x07\\x1b[2J\\rAll good\\u202e"}`),
      "stderr keeps its newline, shows the CR",
    );
    assert.ok(
      lines.some((l) =>
        l === `warning retrovue.plugin.fake: plugin says ${ATTACK_LINE} second line`
      ),
      `the log line is one inert line: ${err}`,
    );
    assert.ok(lines.some((l) => l.endsWith(`: value ${ATTACK_LINE}`)), err);
    if (json) {
      assert.ok(out.includes("\\u001b]0;pwned"), "stdout is escaped as JSON");
      const doc = JSON.parse(out.slice(out.indexOf("{", out.indexOf("\tindented"))));
      assert.equal(doc.status, "error");
      assert.ok(doc.error.message.includes("\x1b]0;pwned\x07"));
    } else {
      assert.ok(out.startsWith("raw \\x1b]0;pwned\\x07\\x1b[2J\\rAll good\\u202e\n\tindented\n"));
      assert.ok(lines.includes(`Error: upstream failed: ${ATTACK_LINE}`), err);
    }
  }
});

// -------------------------------------------------------- the progress line

function _hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("progress line on a terminal: still drawn, its upstream label inert", async () => {
  if (!_hasScript()) {
    console.log("skipped: util-linux `script` is not installed, so no pseudo-terminal");
    return;
  }
  using world = tempWorld();
  const { collectionId } = await _world(world);
  const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;
  const command = [
    Deno.execPath(),
    "run",
    ...retrovueTaskFlags(),
    MAIN_TS,
    "--db",
    world.db,
    "collection",
    "ingest",
    collectionId,
  ].map(quote).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: REPO_ROOT,
    env: { ...cliEnv({ dataHome: world.dir, pluginPath: FAKE_PLUGINS }), TERM: "xterm" },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const shown = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, shown);
  // The terminal shows CR LF line ends and our own "\r\x1b[K" redraws; nothing else raw.
  const ours = shown.replaceAll("\r\x1b[K", "").replaceAll("\r\n", "\n");
  _inert(ours, "terminal");
  assert.ok(ours.includes(`Ingesting '${ATTACK_LINE}': `), JSON.stringify(ours));
  assert.ok(shown.includes("\r\x1b[KIngesting '"), "the progress line is drawn raw");
});

Deno.test("a secret with control characters is still scrubbed in its inert forms", () => {
  const secret = "tok\u202e\x1bXYZ\n123";
  let out = "";
  let err = "";
  const handle = createContext({
    env: {},
    stdout: { write: (t) => void (out += t) },
    stderr: { write: (t) => void (err += t) },
    isTerminal: false,
    stdinIsTerminal: false,
    cwd: REPO_ROOT,
    now: () => new Date("2030-01-01T00:00:00Z"),
    readLine: () => Promise.resolve(null),
    signal: new AbortController().signal,
  }, { args: [], path: ["x"], globals: { testDb: false, json: false } });
  const ctx = handle.context;
  ctx.addSecrets([secret]);
  ctx.stdout.write(formatFields([["token", secret]]));
  ctx.stdout.write(`${secret}\n`);
  ctx.stderr.write(errorLine(new Error(`bad token ${secret}`)) + "\n");
  writeJson(ctx, { token: secret });
  assert.ok(!out.includes("XYZ") && !err.includes("XYZ"), `${out}${err}`);
  assert.equal(out.split("***").length - 1, 3, out);
  assert.ok(err.includes("***"), err);
});
