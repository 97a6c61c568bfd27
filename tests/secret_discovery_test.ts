/**
 * A source's secret never leaks through what discovery brings back or what
 * an operator types as a URL:
 *
 * - a server that names a library after the token (or puts it, disguised, in
 *   a location or reason) gets `***` in every listing and in the catalog; a
 *   collection whose external id carries it is skipped with a warning;
 * - a URL option with a query string, a fragment or `user:password@` is
 *   refused with one `CONFIG_INVALID` line that does not repeat them, in
 *   `source add`, `source update` and `importer check` alike.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { carriesSecret } from "../core/config.ts";
import { type CliResult, FAKE_PLUGINS, REPO_ROOT, runCli, tempWorld } from "./_cli.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";

/** A token with characters that URL-encoding changes. */
const TOKEN = "Fake/Tok3n+Secret=42";

function _ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

/** Asserts that no form of `secret` (see `secretForms`) is in the output. */
function _noSecret(r: CliResult, secret: string, what: string): void {
  assert.ok(!carriesSecret(r.stdout, [secret]), `${what}: the secret in stdout: ${r.stdout}`);
  assert.ok(!carriesSecret(r.stderr, [secret]), `${what}: the secret in stderr: ${r.stderr}`);
}

/** Every row of the catalog's collections table, as text. */
function _collectionRows(db: string): string {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    return JSON.stringify(conn.prepare("SELECT * FROM collections").all());
  } finally {
    conn.close();
  }
}

/** Base64 of `text`'s UTF-8 bytes. */
function _base64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/** Hex of `text`'s UTF-8 bytes. */
function _hex(text: string): string {
  return Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test("secret discovery: a Jellyfin library named after the key is masked everywhere", async () => {
  using world = tempWorld();
  const key = "jf-key-9f3c2a7d41b8e6";
  const mock = await startJellyfinMock({
    apiKey: key,
    libraries: [{ name: `Movies ${key}`, collectionType: "movies", movies: 1 }],
  });
  const cli = (args: string[]) => runCli(args, { db: world.db, dataHome: world.dir });
  try {
    const add = _ok(
      await cli([
        ...["source", "add", "--type", "jellyfin", "--name", "Den"],
        ...["--base-url", mock.url, "--api-key", key, "--discover"],
      ]),
      "source add --discover",
    );
    _noSecret(add, key, "source add --discover");
    assert.match(add.stdout, /Movies \*\*\*/);
    for (const args of [["collection", "list"], ["collection", "list", "--json"]]) {
      const r = _ok(await cli(args), args.join(" "));
      _noSecret(r, key, args.join(" "));
      assert.match(r.stdout, /Movies \*\*\*/, `${args.join(" ")} shows the masked name`);
    }
    const show = _ok(await cli(["source", "show", "Den", "--json"]), "source show --json");
    _noSecret(show, key, "source show --json");
    const again = _ok(await cli(["source", "discover", "Den", "--json"]), "source discover");
    _noSecret(again, key, "source discover --json");
    const rows = _collectionRows(world.db);
    assert.ok(!carriesSecret(rows, [key]), `the key is stored in collections: ${rows}`);
    assert.match(rows, /Movies \*\*\*/);
  } finally {
    await mock.close();
  }
});

Deno.test("secret discovery: disguised forms are masked, an id carrying one is skipped", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {
    collections: [
      { externalId: "plain", name: `Plain ${TOKEN}`, kind: "movies" },
      {
        externalId: "encoded",
        name: `Encoded ${encodeURIComponent(TOKEN)}`,
        kind: "shows",
        locations: [`/media/${_base64(TOKEN)}`],
      },
      {
        externalId: "other",
        name: `Hex ${_hex(TOKEN)}`,
        kind: "other",
        ingestible: false,
        reason: `reversed ${Array.from(TOKEN).reverse().join("")}, upper ${TOKEN.toUpperCase()}`,
      },
      { externalId: `lib-${_base64(TOKEN)}`, name: "Keyed", kind: "movies" },
    ],
  });
  const cli = (args: string[]) =>
    runCli(args, { db: world.db, dataHome: world.dir, pluginPath: FAKE_PLUGINS });
  const add = _ok(
    await cli([
      ...["source", "add", "--type", "fake", "--name", "Up", "--state-file", state],
      ...["--token", TOKEN, "--discover", "--json"],
    ]),
    "source add",
  );
  _noSecret(add, TOKEN, "source add --discover --json");
  assert.match(
    add.stderr,
    /warning: collection 'Keyed' \(id 'lib-\*\*\*'\) skipped: its id carries/,
  );
  for (const args of [["collection", "list"], ["collection", "list", "--json"]]) {
    const r = _ok(await cli(args), args.join(" "));
    _noSecret(r, TOKEN, args.join(" "));
  }
  const list = JSON.parse(_ok(await cli(["collection", "list", "--json"]), "list").stdout);
  const names = list.collections.map((c: { name: string }) => c.name).sort();
  assert.deepEqual(names, ["Encoded ***", "Hex ***", "Plain ***"], "'Keyed' was not stored");
  _noSecret(_ok(await cli(["source", "show", "Up", "--json"]), "show"), TOKEN, "source show");
  const rows = _collectionRows(world.db);
  assert.ok(!carriesSecret(rows, [TOKEN]), `a form of the token is stored: ${rows}`);
  assert.match(rows, /\/media\/\*\*\*/, "the location is masked, not dropped");
});

/** The one-line error a URL carrying a query is refused with. */
const QUERY_ERROR =
  /^Error: --base-url must not carry a query string \(\?…\): remove it and give the server's base URL only/;

Deno.test("secret discovery: a --base-url with a query, fragment or credentials is refused", async () => {
  using world = tempWorld();
  const secret = "abcdefsecretthing";
  const cli = (args: string[]) => runCli(args, { db: world.db, dataHome: world.dir });
  const add = (url: string, json = false) =>
    cli([
      ...["source", "add", "--type", "jellyfin", "--name", "Den", "--base-url", url],
      ...["--api-key", "some-other-key", ...(json ? ["--json"] : [])],
    ]);
  const cases: [string, RegExp][] = [
    [`http://127.0.0.1:18500/?api_key=${secret}`, QUERY_ERROR],
    [`http://127.0.0.1:18500/#${secret}`, /^Error: --base-url must not carry a fragment \(#…\)/],
    [
      `http://admin:${secret}@127.0.0.1:18500/`,
      /^Error: --base-url must not carry credentials \(user:password@\): remove them/,
    ],
    [
      `127.0.0.1:18500/?api_key=${secret}`,
      /^Error: --base-url expects an http\(s\) URL, got '127\.0\.0\.1:18500\/…'\n$/,
    ],
  ];
  for (const [url, error] of cases) {
    const r = await add(url);
    assert.equal(r.code, 1, `${url}: ${r.stderr}`);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, error);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), r.stderr);
  }
  const json = await add(`http://127.0.0.1:18500/?api_key=${secret}`, true);
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.stdout).error.code, "CONFIG_INVALID");
  assert.ok(!json.stdout.includes(secret) && !json.stderr.includes(secret), json.stdout);
});

Deno.test("secret discovery: source update and importer check refuse a URL query alike", async () => {
  using world = tempWorld();
  const secret = "abcdefsecretthing";
  const cli = (args: string[]) => runCli(args, { db: world.db, dataHome: world.dir });
  _ok(
    await cli([
      ...["source", "add", "--type", "jellyfin", "--name", "Den"],
      ...["--base-url", "http://127.0.0.1:18500", "--api-key", "some-other-key", "--no-validate"],
    ]),
    "source add",
  );
  const url = `http://127.0.0.1:18500/?api_key=${secret}`;
  const update = await cli(["source", "update", "Den", "--base-url", url, "--no-validate"]);
  const check = await cli([
    ...["importer", "check", join(REPO_ROOT, "importers", "jellyfin", "mod.ts")],
    ...["--base-url", url, "--api-key", "some-other-key"],
  ]);
  for (const [what, r] of [["source update", update], ["importer check", check]] as const) {
    assert.equal(r.code, 1, `${what}: ${r.stderr}${r.stdout}`);
    assert.match(r.stderr, QUERY_ERROR, what);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), `${what}: ${r.stderr}`);
  }
  const show = JSON.parse(_ok(await cli(["source", "show", "Den", "--json"]), "show").stdout);
  assert.equal(show.source.config.base_url, "http://127.0.0.1:18500", "not updated");
});
