/**
 * End-to-end tests of the forms that keep a secret off the command line:
 * `--token-file PATH`, `--token-env NAME` and `--token -` (standard input), on `source add` and
 * `source update`, with the fake importer (whose `--token` is secret). The
 * value read must reach the stored config exactly (one trailing newline
 * stripped) and never appear in any output; bad input is one line `Error: …`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { carriesSecret, MASK, redact } from "../core/config.ts";
import { type CliResult, dumpDb, FAKE_PLUGINS, runCli, type TempWorld, tempWorld } from "./_cli.ts";

/** A token long enough to be scrubbed in every disguise. */
const TOKEN = "s3cretFromFile-9f8e7d";
/** A second token, for updates. */
const NEW_TOKEN = "n3wSecretToken-1a2b3c";

function _run(
  world: TempWorld,
  args: string[],
  extra: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, cwd: world.dir, ...extra });
}

function _writeText(world: TempWorld, name: string, text: string): string {
  const path = join(world.dir, name);
  Deno.writeTextFileSync(path, text);
  return path;
}

/** The config stored for the only source, read straight from the database. */
function _storedConfig(world: TempWorld): Record<string, unknown> {
  const db = new DatabaseSync(world.db, { readOnly: true });
  try {
    const rows = db.prepare("SELECT config FROM sources").all();
    assert.equal(rows.length, 1);
    return JSON.parse(String(rows[0].config));
  } finally {
    db.close();
  }
}

function _ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
}

function _noSecret(r: CliResult, ...secrets: string[]): void {
  for (const s of secrets) {
    assert.ok(!r.stdout.includes(s), `stdout carries the secret: ${r.stdout}`);
    assert.ok(!r.fullStderr.includes(s), `stderr carries the secret: ${r.fullStderr}`);
  }
}

/** Asserts a one-line `Error: …` (exit 1) matching `pattern`, with nothing on stdout. */
function _fails(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, `expected exit 1, got ${r.code}: ${r.stderr}${r.stdout}`);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line expected: ${r.stderr}`);
  assert.match(lines[0], /^Error: /);
  assert.match(lines[0], pattern);
}

function _addArgs(state: string, ...rest: string[]): string[] {
  return ["source", "add", "--type", "fake", "--name", "Den", "--state-file", state, ...rest];
}

Deno.test("--token-file: a relative path against the cwd, CRLF stripped, stored exactly", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  _writeText(world, "token.txt", `${TOKEN}\r\n`);
  const r = await _run(world, _addArgs(state, "--token-file", "token.txt", "--json"));
  _ok(r, "add --token-file");
  _noSecret(r, TOKEN);
  assert.equal((JSON.parse(r.stdout).source.config as Record<string, unknown>).token, "***");
  assert.equal(_storedConfig(world).token, TOKEN);
});

Deno.test("--token-file: the plugin gets the token, and its error never shows it", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", { connection: { fail: "AUTH_FAILED" } });
  const file = _writeText(world, "token", `${TOKEN}\n`);
  const r = await _run(world, _addArgs(state, `--token-file=${file}`));
  // The fake importer puts the token it was given into its error message.
  _fails(r, /connection refused by fake upstream \(token \*\*\*\)/);
  _noSecret(r, TOKEN);
  assert.equal(dumpDb(world.db).includes(TOKEN), false);
});

Deno.test("--token -: the first line of stdin, stored exactly, never printed", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  const r = await _run(world, _addArgs(state, "--token", "-"), {
    stdin: `${TOKEN}\r\nsecond line\n`,
  });
  _ok(r, "add --token -");
  _noSecret(r, TOKEN);
  assert.equal(_storedConfig(world).token, TOKEN);
});

Deno.test("source update takes --token-file and --token -", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  _ok(await _run(world, _addArgs(state, "--token", "-"), { stdin: TOKEN }), "add");
  _writeText(world, "new-token", `${NEW_TOKEN}\n`);
  const viaFile = await _run(world, ["source", "update", "Den", "--token-file", "new-token"]);
  _ok(viaFile, "update --token-file");
  _noSecret(viaFile, TOKEN, NEW_TOKEN);
  assert.match(viaFile.stdout, /--token/);
  assert.equal(_storedConfig(world).token, NEW_TOKEN);

  const viaStdin = await _run(world, ["source", "update", "Den", "--token", "-", "--json"], {
    stdin: `${TOKEN}\n`,
  });
  _ok(viaStdin, "update --token -");
  _noSecret(viaStdin, TOKEN, NEW_TOKEN);
  assert.deepEqual(JSON.parse(viaStdin.stdout).changed, ["--token"]);
  assert.equal(_storedConfig(world).token, TOKEN);
});

Deno.test("bad secret files are one-line CONFIG_INVALID errors and write nothing", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  _writeText(world, "empty", "");
  _writeText(world, "newline-only", "\n");
  _writeText(world, "huge", "x".repeat(64 * 1024 + 1));
  Deno.mkdirSync(join(world.dir, "folder"));
  const cases: [string, RegExp][] = [
    ["empty", /^Error: --token-file: '.*empty' is empty$/],
    ["newline-only", /^Error: --token-file: '.*newline-only' is empty$/],
    ["huge", /^Error: --token-file: '.*huge' is larger than 64 KiB$/],
    ["missing", /^Error: --token-file: cannot read '.*missing': no such file$/],
    ["folder", /^Error: --token-file: cannot read '.*folder': not a regular file$/],
  ];
  for (const [name, pattern] of cases) {
    const r = await _run(world, _addArgs(state, "--token-file", name));
    _fails(r, pattern);
    assert.equal(dumpDb(world.db).includes("Den"), false, name);
  }
});

Deno.test("a file of exactly 64 KiB is accepted", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  const big = "k".repeat(64 * 1024 - 1);
  _writeText(world, "big", `${big}\n`);
  const r = await _run(world, _addArgs(state, "--token-file", "big", "--no-validate"));
  _ok(r, "add with a 64 KiB token file");
  assert.equal(_storedConfig(world).token, big);
});

Deno.test("--token - with empty stdin is CONFIG_INVALID", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  for (const stdin of ["", "\n"]) {
    const r = await _run(world, _addArgs(state, "--token", "-"), { stdin });
    _fails(r, /^Error: --token -: standard input is empty$/);
  }
  const closed = await _run(world, _addArgs(state, "--token", "-"));
  _fails(closed, /^Error: --token -: standard input is empty$/);
  assert.equal(dumpDb(world.db).includes("Den"), false);
});

Deno.test("both forms, a repeated file form, or a file form of a plain option are refused", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  _writeText(world, "token", TOKEN);
  const both = await _run(world, _addArgs(state, "--token", "abcdef", "--token-file", "token"));
  _fails(both, /give either '--token' or '--token-file', not both/);
  _noSecret(both, TOKEN, "abcdef");
  const bothStdin = await _run(world, _addArgs(state, "--token", "-", "--token-file", "token"), {
    stdin: TOKEN,
  });
  _fails(bothStdin, /give either '--token' or '--token-file', not both/);
  const twice = await _run(world, _addArgs(state, "--token-file", "token", "--token-file=token"));
  _fails(twice, /'--token-file' may be given only once/);
  const plain = await _run(
    world,
    _addArgs(state, "--token-file", "token", "--page-size-file", "x"),
  );
  _fails(plain, /'--page-size-file' exists only for secret options; '--page-size' is not secret/);
  const update = await _run(world, ["source", "update", "Den", "--token-file", "token"]);
  assert.equal(update.code, 1);
  assert.equal(dumpDb(world.db).includes(TOKEN), false);
});

Deno.test("--token-env: a RETROVUE_SECRET_ variable the operator names, stored exactly", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  const env = { RETROVUE_SECRET_DEN_TOKEN: TOKEN };
  const r = await _run(
    world,
    _addArgs(state, "--token-env", "RETROVUE_SECRET_DEN_TOKEN", "--json"),
    {
      env,
    },
  );
  _ok(r, "add --token-env");
  _noSecret(r, TOKEN);
  assert.equal(_storedConfig(world).token, TOKEN);
  const update = await _run(world, ["source", "update", "Den", "--token-env=RETROVUE_SECRET_NEW"], {
    env: { RETROVUE_SECRET_NEW: NEW_TOKEN },
  });
  _ok(update, "update --token-env");
  _noSecret(update, NEW_TOKEN);
  assert.equal(_storedConfig(world).token, NEW_TOKEN);
});

Deno.test("--token-env: unreadable, unset, empty or badly named variables are refused", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  // PLEX_TOKEN is set, but the task's --allow-env does not let the CLI read it.
  const env = { PLEX_TOKEN: TOKEN, RETROVUE_SECRET_EMPTY: "" };
  const cases: [string, RegExp][] = [
    [
      "PLEX_TOKEN",
      /^Error: --token-env: this command may not read environment variable 'PLEX_TOKEN'; name one that starts with RETROVUE_SECRET_ \(e\.g\. RETROVUE_SECRET_PLEX_TOKEN\), or use '--token-file PATH'$/,
    ],
    [
      "RETROVUE_SECRET_UNSET",
      /^Error: --token-env: environment variable 'RETROVUE_SECRET_UNSET' is not set$/,
    ],
    [
      "RETROVUE_SECRET_EMPTY",
      /^Error: --token-env: environment variable 'RETROVUE_SECRET_EMPTY' is empty$/,
    ],
    ["NOT-A-NAME", /^Error: --token-env: 'NOT-A-NAME' is not an environment variable name$/],
  ];
  for (const [name, pattern] of cases) {
    const r = await _run(world, _addArgs(state, "--token-env", name), { env });
    _fails(r, pattern);
    _noSecret(r, TOKEN);
  }
  const both = await _run(world, _addArgs(state, "--token-file", "x", "--token-env", "X"));
  _fails(both, /give either '--token-file' or '--token-env', not both/);
  const plain = await _run(world, _addArgs(state, "--page-size-env", "X"));
  _fails(plain, /'--page-size-env' exists only for secret options/);
  assert.equal(dumpDb(world.db).includes("Den"), false);
});

Deno.test("source add --type fake --help lists the -file and - forms of the secret", async () => {
  using world = tempWorld();
  const r = await _run(world, ["source", "add", "--type", "fake", "--help"]);
  _ok(r, "help");
  assert.match(r.stdout, /--token STRING\|-, --token-file PATH, --token-env NAME +A secret/);
  assert.doesNotMatch(r.stdout, /--page-size-env/);
  assert.doesNotMatch(r.stdout, /--page-size-file/);
  assert.doesNotMatch(r.stdout, /--state-file-file/);
});

Deno.test("the scrubber masks a 64 KiB secret, its upper-case and hex forms", () => {
  const big = "s3cr".repeat(16 * 1024);
  const hex = Array.from(new TextEncoder().encode(big), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  for (const form of [big, big.toUpperCase(), hex]) {
    const text = `before ${form} after`;
    assert.ok(carriesSecret(text, [big]));
    assert.equal(redact(text, [big]), `before ${MASK} after`);
  }
  assert.equal(carriesSecret("before s3cr after", [big]), false);
});
