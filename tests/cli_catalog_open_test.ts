/**
 * Reading never creates, and foreign files are never written, through the
 * real CLI: a read command (or a change to what must exist) with a mistyped
 * `--db`/`RETROVUE_DB` says the catalog does not exist and creates no file or
 * folder; only `source add` creates a catalog, marked with
 * `PRAGMA application_id`; another application's SQLite file, or a file that
 * is not SQLite, is refused byte for byte untouched; a catalog from before
 * the mark is accepted and marked; one from an older RetroVue is upgraded
 * before a reading command reads it.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  APPLICATION_ID,
  migrate,
  MIGRATIONS,
  openDatabase,
  SCHEMA_VERSION,
  schemaVersion,
} from "../core/db.ts";
import { FAKE_PLUGINS, runCli, tempWorld } from "./_cli.ts";

function _applicationId(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare("PRAGMA application_id").get()!.application_id);
  } finally {
    db.close();
  }
}

Deno.test("read commands with a mistyped catalog say it does not exist and create nothing", async () => {
  using world = tempWorld();
  const typo = join(world.dir, "tyop", "retrovue.db");
  const commands = [
    ["source", "list"],
    ["source", "show", "Home"],
    ["collection", "list"],
    ["asset", "list"],
    ["source", "remove", "Home", "--yes"],
    ["collection", "update", "TV", "--sync-enable"],
  ];
  for (const args of commands) {
    for (const how of ["--db", "RETROVUE_DB"]) {
      const r = await runCli(how === "--db" ? ["--db", typo, ...args] : args, {
        db: null,
        pluginPath: FAKE_PLUGINS,
        env: how === "--db" ? {} : { RETROVUE_DB: typo },
      });
      assert.equal(r.code, 1, `${args.join(" ")} (${how}): ${r.stderr}`);
      assert.equal(
        r.stderr,
        `Error: the catalog '${typo}' does not exist; check --db and RETROVUE_DB, or create it ` +
          `by adding a source ('source add')\n`,
      );
      assert.throws(() => Deno.statSync(join(world.dir, "tyop")), Deno.errors.NotFound);
    }
  }
  const json = await runCli(["source", "list", "--json"], { db: typo });
  assert.equal(JSON.parse(json.stdout).error.code, "DB_NOT_FOUND");

  // source add creates it, marked as a RetroVue catalog.
  const state = world.writeJson("state.json", {});
  const add = await runCli(
    ["source", "add", "--type", "fake", "--name", "Home", "--state-file", state],
    { db: typo, pluginPath: FAKE_PLUGINS },
  );
  assert.equal(add.code, 0, add.stderr);
  assert.equal(_applicationId(typo), APPLICATION_ID);
  assert.equal((await runCli(["source", "list"], { db: typo })).code, 0);
});

Deno.test("a foreign SQLite file or a non-SQLite file is refused and left byte for byte", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  const other = join(world.dir, "other.db");
  const notes = new DatabaseSync(other);
  notes.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
  notes.exec("INSERT INTO notes (body) VALUES ('keep me')");
  notes.close();
  const stamped = join(world.dir, "stamped.db");
  const app = new DatabaseSync(stamped);
  app.exec("PRAGMA application_id = 1234");
  app.exec("CREATE TABLE schema_migrations (version INTEGER)");
  app.close();
  const text = join(world.dir, "text.db");
  Deno.writeTextFileSync(text, "just some text, long enough to look like a header to someone\n");
  const cases: [string, RegExp][] = [
    [other, /another application's SQLite database \(tables: notes\)/],
    [stamped, /belongs to another application \(application_id 1234\)/],
    [text, /it is not an SQLite database/],
  ];
  for (const [path, why] of cases) {
    const before = Deno.readFileSync(path);
    for (
      const args of [
        ["source", "add", "--type", "fake", "--name", "Home", "--state-file", state],
        ["source", "list"],
        ["asset", "list"],
      ]
    ) {
      const r = await runCli(args, { db: path, pluginPath: FAKE_PLUGINS });
      assert.equal(r.code, 1, `${args.join(" ")} on ${path}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: '.*' is not a RetroVue catalog: /);
      assert.match(r.stderr, why);
      assert.match(r.stderr, /nothing was written to it\. Use another --db\n$/);
      assert.deepEqual(Deno.readFileSync(path), before, `${path} was changed`);
      for (const suffix of ["-wal", "-shm", "-journal"]) {
        assert.throws(() => Deno.statSync(path + suffix), Deno.errors.NotFound);
      }
    }
  }
});

Deno.test("a catalog from before the mark is accepted and marked", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {});
  const add = await runCli(
    ["source", "add", "--type", "fake", "--name", "Home", "--state-file", state],
    { db: world.db, pluginPath: FAKE_PLUGINS },
  );
  assert.equal(add.code, 0, add.stderr);
  const db = new DatabaseSync(world.db);
  db.exec("PRAGMA application_id = 0");
  db.close();
  const list = await runCli(["source", "list", "--json"], { db: world.db });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout).sources.length, 1);
  assert.equal(_applicationId(world.db), APPLICATION_ID);
});

Deno.test("reading commands upgrade a catalog from an older RetroVue before they read it", async () => {
  using world = tempWorld();
  // Schema 7: before the path check's index (8) and the live count's (9).
  const raw = new DatabaseSync(world.db);
  raw.exec("PRAGMA journal_mode = WAL");
  migrate(raw, { migrations: MIGRATIONS.filter((m) => m.version <= 7) });
  const t = "2024-01-01T00:00:00.000Z";
  raw.exec(
    `INSERT INTO sources (id, name, type_id, config, created_at, updated_at)
     VALUES ('fake-00000001', 'Home', 'fake', '{}', '${t}', '${t}');
     INSERT INTO collections (id, source_id, external_id, name, kind, sync_enabled, created_at, updated_at)
     VALUES ('c-0000000001', 'fake-00000001', 'tv', 'TV', 'shows', 1, '${t}', '${t}');
     INSERT INTO assets (id, collection_id, external_id, kind, title, path, fingerprint,
       file_fingerprint, first_seen, last_seen, updated_at)
     VALUES ('a-000000000001', 'c-0000000001', 'e1', 'movie', 'M', '${world.dir}/m.mkv', 'f', 'f',
       '${t}', '${t}', '${t}');`,
  );
  raw.close();
  const check = await runCli(["collection", "check-paths", "TV", "--json"], { db: world.db });
  assert.equal(check.code, 2, check.stderr); // Partial: the one asset's file does not exist.
  assert.equal(check.stderr, "");
  assert.equal(JSON.parse(check.stdout).missing.length, 1);
  const reader = new DatabaseSync(world.db, { readOnly: true });
  assert.equal(schemaVersion(reader), SCHEMA_VERSION);
  reader.close();
  const list = await runCli(["asset", "list", "--json"], { db: world.db });
  assert.equal(list.code, 0, list.stderr);
  assert.equal(JSON.parse(list.stdout).assets.length, 1);
});

/** Every byte of the catalog's files that exist, and which do not. */
function _files(db: string): string {
  return ["", "-wal", "-journal"].map((suffix) => {
    try {
      const bytes = Deno.readFileSync(db + suffix);
      let sum = 0;
      for (const b of bytes) sum = (sum * 31 + b) >>> 0;
      return `${suffix || "db"}:${bytes.length}:${sum}`;
    } catch {
      return `${suffix || "db"}:absent`;
    }
  }).join(" ");
}

Deno.test("a dry run writes nothing: no upgrade, no journal mode, no checkpoint", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: "TV", kind: "shows" }],
    assets: { tv: [{ externalId: "e1", kind: "movie", title: "M", path: "/m/m.mkv" }] },
  });
  const cli = (args: string[]) => runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS });
  const add = ["source", "add", "--type", "fake", "--name", "Home", "--state-file", state];
  assert.equal((await cli([...add, "--discover"])).code, 0);
  assert.equal((await cli(["collection", "update", "TV", "--sync-enable"])).code, 0);
  const dryRuns = [
    ["collection", "ingest", "TV", "--dry-run"],
    ["source", "ingest", "Home", "--dry-run"],
    ["collection", "update", "TV", "--sync-every", "2h", "--dry-run"],
    ["source", "update", "Home", "--token", "t2", "--dry-run"],
    ["source", "discover", "Home", "--dry-run"],
    ["source", "remove", "Home", "--dry-run"],
  ];
  /** Runs every dry run: each exits `code` (its stderr matching `stderr`), the files untouched. */
  const dryRunAll = async (code: number, stderr?: RegExp) => {
    const before = _files(world.db);
    for (const args of dryRuns) {
      const r = await cli(args);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      if (stderr) assert.match(r.stderr, stderr);
      assert.equal(_files(world.db), before, args.join(" "));
    }
    return before;
  };

  // A committed write that no checkpoint folded into the file yet: a writer killed before it
  // closed leaves one. Every dry run leaves it where it is, and the file as it was.
  const killed = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { DatabaseSync } from "node:sqlite";
       const d = new DatabaseSync(${JSON.stringify(world.db)});
       d.exec("PRAGMA wal_autocheckpoint = 0");
       d.exec("UPDATE sources SET updated_at = updated_at || ''");
       Deno.kill(Deno.pid, "SIGKILL");`,
    ],
  }).output();
  assert.equal(killed.signal, "SIGKILL");
  assert.doesNotMatch(await dryRunAll(0), /-wal:absent/);

  // A catalog in rollback-journal mode (set by another tool) stays so, byte for byte.
  const raw = new DatabaseSync(world.db);
  raw.exec("PRAGMA journal_mode = DELETE");
  raw.close();
  await dryRunAll(0);

  // An older catalog is not upgraded: the dry run says how to, and writes nothing.
  const old = new DatabaseSync(world.db);
  old.exec("DELETE FROM schema_migrations WHERE version > 7");
  old.close();
  const older = await dryRunAll(
    1,
    /^Error: the catalog '.*' is from an older RetroVue \(schema version 7,/,
  );
  // `source update` opens the catalog before its options are parsed: `--dry-run=…` counts too.
  const valued = await cli(["source", "update", "Home", "--token", "t3", "--dry-run=true"]);
  assert.equal(valued.code, 1, valued.stderr);
  assert.equal(_files(world.db), older);
});

Deno.test("a FIFO given as the catalog is refused at once, not waited on for ever", async () => {
  using world = tempWorld();
  const fifo = join(world.dir, "catalog.db");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output().catch(() => null);
  if (!made?.success) {
    console.log("FIFO test skipped: no mkfifo here");
    return;
  }
  // A real catalog with a FIFO where SQLite opens its rollback journal.
  const catalog = join(world.dir, "real.db");
  openDatabase(catalog).close();
  await new Deno.Command("mkfifo", { args: [`${catalog}-journal`] }).output();
  // Were one opened, SQLite would block until a writer came: a guard ends the test instead.
  const guard = setTimeout(() => {
    for (const f of [fifo, `${catalog}-journal`]) Deno.openSync(f, { write: true }).close();
  }, 20_000);
  try {
    for (const args of [["asset", "list"], ["source", "list", "--json"]]) {
      const r = await runCli(args, { db: fifo, pluginPath: FAKE_PLUGINS });
      assert.equal(r.code, 1, r.stderr);
      const message = args.includes("--json") ? JSON.parse(r.stdout).error.message : r.stderr;
      assert.match(message, /is not a file \(a FIFO, socket or device\)/);
    }
    // A folder given as the catalog says so, rather than SQLite's "unable to open".
    const folder = await runCli(["source", "list"], { db: world.dir, pluginPath: FAKE_PLUGINS });
    assert.equal(folder.code, 1, folder.stderr);
    assert.match(folder.stderr, /^Error: the catalog '.*' is a folder; give the catalog's file/);
    const beside = await runCli(["source", "list"], { db: catalog, pluginPath: FAKE_PLUGINS });
    assert.equal(beside.code, 1, beside.stderr);
    assert.match(beside.stderr, /-journal', beside the catalog, is not a file/);
    // The same where `source add` would make the catalog: nothing is made, nothing removed.
    const fresh = join(world.dir, "fresh.db");
    Deno.symlinkSync(`${catalog}-journal`, `${fresh}-journal`);
    const state = world.writeJson("state.json", {});
    const add = ["source", "add", "--type", "fake", "--name", "N", "--state-file", state];
    const made = await runCli(add, { db: fresh, pluginPath: FAKE_PLUGINS });
    assert.equal(made.code, 1, made.stderr);
    assert.match(made.stderr, /fresh\.db-journal', beside the catalog, is not a file/);
    assert.throws(() => Deno.statSync(fresh), Deno.errors.NotFound);
    assert.ok(Deno.lstatSync(`${fresh}-journal`).isSymlink, "the operator's link stays");
  } finally {
    clearTimeout(guard);
  }
});
