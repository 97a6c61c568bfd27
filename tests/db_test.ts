/** The database layer: file permissions, WAL, migrations, version refusal, transactions. */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  migrate,
  MIGRATIONS,
  openDatabase,
  openMemoryDatabase,
  SCHEMA_VERSION,
  schemaVersion,
  transaction,
} from "../core/db.ts";
import { RetrovueError, toRetrovueError } from "../core/errors.ts";

const FIXED = () => new Date("2030-01-02T03:04:05.000Z");

function _tmp(): string {
  return Deno.makeTempDirSync({ prefix: "retrovue-db-" });
}

Deno.test("openDatabase creates an owner-only file, in WAL mode, migrated, with foreign keys", () => {
  const dir = _tmp();
  const path = join(dir, "nested", "retrovue.db");
  const db = openDatabase(path, { now: FIXED });
  try {
    if (Deno.build.os !== "windows") {
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    }
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    assert.equal(db.prepare("PRAGMA foreign_keys").get()?.foreign_keys, 1);
    assert.equal(schemaVersion(db), SCHEMA_VERSION);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all().map((r) => r.name);
    for (const t of ["assets", "collections", "path_mappings", "schema_migrations", "sources"]) {
      assert.ok(tables.includes(t), `missing table ${t}`);
    }
    assert.deepEqual(
      db.prepare("SELECT version, applied_at FROM schema_migrations").all().map((r) => ({ ...r })),
      [
        { version: 1, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 2, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 3, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 4, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 5, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 6, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 7, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 8, applied_at: "2030-01-02T03:04:05.000Z" },
        { version: 9, applied_at: "2030-01-02T03:04:05.000Z" },
      ],
    );
  } finally {
    db.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("reopening does not re-run migrations and keeps data", () => {
  const dir = _tmp();
  const path = join(dir, "r.db");
  try {
    const a = openDatabase(path);
    a.exec(
      "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) " +
        "VALUES ('fake-00000001', 'x', 'fake', '{}', '2020-01-01', '2020-01-01')",
    );
    a.close();
    const b = openDatabase(path);
    assert.equal(
      b.prepare("SELECT COUNT(*) AS n FROM schema_migrations").get()?.n,
      MIGRATIONS.length,
    );
    assert.equal(b.prepare("SELECT COUNT(*) AS n FROM sources").get()?.n, 1);
    b.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a database from a newer RetroVue is refused, untouched", () => {
  const dir = _tmp();
  const path = join(dir, "new.db");
  try {
    openDatabase(path).close();
    const raw = new DatabaseSync(path);
    raw.exec(`INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, '2099-01-01')`);
    raw.close();
    assert.throws(
      () => openDatabase(path),
      (e) => e instanceof RetrovueError && e.code === "SCHEMA_TOO_NEW" && /upgrade/.test(e.message),
    );
    assert.throws(
      () => openDatabase(path, { readOnly: true }),
      (e) => e instanceof RetrovueError && e.code === "SCHEMA_TOO_NEW",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("migrate applies only newer steps, in order", () => {
  const db = new DatabaseSync(":memory:");
  const steps = [
    { version: 1, sql: "CREATE TABLE a (x)" },
    { version: 2, sql: "CREATE TABLE b (y)" },
  ];
  assert.deepEqual(migrate(db, { migrations: steps.slice(0, 1) }), [1]);
  assert.deepEqual(migrate(db, { migrations: steps }), [2]);
  assert.deepEqual(migrate(db, { migrations: steps }), []);
  assert.equal(schemaVersion(db), 2);
  db.close();
});

Deno.test("a failing migration leaves the previous version intact", () => {
  const db = new DatabaseSync(":memory:");
  const steps = [
    { version: 1, sql: "CREATE TABLE a (x)" },
    { version: 2, sql: "CREATE TABLE c (z); THIS IS NOT SQL" },
  ];
  assert.throws(() => migrate(db, { migrations: steps }));
  assert.equal(schemaVersion(db), 1);
  assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'c'").get(), undefined);
  db.close();
});

Deno.test("transaction commits, rolls back on throw, and nests as savepoints", () => {
  const db = openMemoryDatabase();
  const count = () => Number(db.prepare("SELECT COUNT(*) AS n FROM sources").get()?.n);
  const insert = (id: string) =>
    db.prepare(
      "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) " +
        "VALUES (?, ?, 'fake', '{}', 't', 't')",
    ).run(id, id);
  transaction(db, () => insert("fake-00000001"));
  assert.equal(count(), 1);
  assert.throws(() =>
    transaction(db, () => {
      insert("fake-00000002");
      throw new Error("boom");
    }), /boom/);
  assert.equal(count(), 1);
  transaction(db, () => {
    insert("fake-00000003");
    assert.throws(() =>
      transaction(db, () => {
        insert("fake-00000004");
        throw new Error("inner");
      })
    );
  });
  assert.deepEqual(
    db.prepare("SELECT id FROM sources ORDER BY id").all().map((r) => r.id),
    ["fake-00000001", "fake-00000003"],
  );
  assert.equal(db.isTransaction, false);
  db.close();
});

Deno.test("SQLite constraint failures become DB_ERROR", () => {
  const db = openMemoryDatabase();
  assert.throws(
    () =>
      transaction(db, () => {
        db.exec(
          "INSERT INTO collections (id, source_id, external_id, name, kind, created_at, " +
            "updated_at) VALUES ('c-1', 'no-such-source', 'x', 'x', 'movies', 't', 't')",
        );
      }),
    (e) => e instanceof RetrovueError && e.code === "DB_ERROR" && /FOREIGN KEY/.test(e.message),
  );
  db.close();
});

Deno.test("a second writer waits, then fails with DB_BUSY instead of hanging", () => {
  const dir = _tmp();
  const path = join(dir, "busy.db");
  const a = openDatabase(path);
  const b = openDatabase(path, { busyTimeoutMs: 50 });
  try {
    a.exec("BEGIN IMMEDIATE");
    assert.throws(
      () => transaction(b, () => {}, { immediate: true }),
      (e) => e instanceof RetrovueError && e.code === "DB_BUSY" && e.retryable,
    );
    a.exec("ROLLBACK");
    transaction(b, () => {}, { immediate: true });
  } finally {
    a.close();
    b.close();
    Deno.removeSync(dir, { recursive: true });
  }
});

/** A catalog file at schema `version`, as an older RetroVue left it, with one source. */
function _olderCatalog(path: string, version: number): void {
  const raw = new DatabaseSync(path);
  raw.exec("PRAGMA journal_mode = WAL");
  migrate(raw, { migrations: MIGRATIONS.filter((m) => m.version <= version) });
  raw.exec(
    "INSERT INTO sources (id, name, type_id, config, created_at, updated_at) " +
      "VALUES ('fake-00000001', 'x', 'fake', '{}', '2020-01-01', '2020-01-01')",
  );
  raw.close();
}

Deno.test("a read-only open of an older catalog upgrades it first, then reads it read-only", () => {
  const dir = _tmp();
  const path = join(dir, "old.db");
  try {
    _olderCatalog(path, 7);
    const db = openDatabase(path, { readOnly: true, now: FIXED });
    try {
      assert.equal(schemaVersion(db), SCHEMA_VERSION);
      assert.equal(db.prepare("SELECT COUNT(*) AS n FROM sources").get()?.n, 1);
      assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'assets_live'").get());
      assert.throws(() => db.exec("DELETE FROM sources"), /readonly/);
    } finally {
      db.close();
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an older catalog that cannot be upgraded for reading is DB_BUSY or DB_ERROR, left as it was", () => {
  const dir = _tmp();
  const path = join(dir, "old.db");
  try {
    _olderCatalog(path, 7);
    // Another process holds the write lock: the upgrade waits, then gives up.
    const other = new DatabaseSync(path);
    other.exec("BEGIN IMMEDIATE");
    assert.throws(
      () => openDatabase(path, { readOnly: true, busyTimeoutMs: 50 }),
      (e) => e instanceof RetrovueError && e.code === "DB_BUSY",
    );
    other.exec("ROLLBACK");
    // A migration fails (here: a name it needs is taken): both versions are named.
    other.exec("CREATE TABLE assets_live (x)");
    other.close();
    assert.throws(
      () => openDatabase(path, { readOnly: true }),
      (e) =>
        e instanceof RetrovueError && e.code === "DB_ERROR" &&
        e.message.includes(
          `is from an older RetroVue (schema version 7, this one needs ${SCHEMA_VERSION}) ` +
            "and upgrading it failed:",
        ) && /assets_live/.test(e.message),
    );
    const raw = new DatabaseSync(path, { readOnly: true });
    assert.equal(schemaVersion(raw), 8, "the migrations before the failing one stay applied");
    raw.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an empty file is no catalog to read or update; a creating open makes it owner-only", () => {
  const dir = _tmp();
  const path = join(dir, "empty.db");
  try {
    Deno.writeFileSync(path, new Uint8Array(), { mode: 0o644 });
    Deno.chmodSync(path, 0o644);
    for (const options of [{ readOnly: true }, { create: false }]) {
      assert.throws(
        () => openDatabase(path, options),
        (e: RetrovueError) => e.code === "DB_NOT_FOUND" && /is an empty file/.test(e.message),
      );
      assert.equal(Deno.statSync(path).size, 0, "nothing was written");
    }
    // `source add` (a creating open) makes it a catalog, which will hold credentials.
    openDatabase(path, { now: FIXED }).close();
    if (Deno.build.os !== "windows") assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a catalog that could not be set up is not left half made", () => {
  // A folder where SQLite keeps its -wal is refused once the file is made (as a full disk
  // mid-migration fails it later): the file made is removed again, what was in the way stays.
  const dir = _tmp();
  try {
    const path = join(dir, "catalog.db");
    Deno.mkdirSync(`${path}-wal`);
    assert.throws(
      () => openDatabase(path, { now: FIXED }),
      (e) => e instanceof RetrovueError && e.code === "DB_ERROR",
    );
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    assert.ok(Deno.statSync(`${path}-wal`).isDirectory, "what was not ours stays");
    // A catalog that was there before is never removed, whatever fails.
    Deno.removeSync(`${path}-wal`);
    openDatabase(path, { now: FIXED }).close();
    Deno.mkdirSync(`${path}-wal`);
    assert.throws(() => openDatabase(path, { now: FIXED }).exec("DELETE FROM sources"));
    Deno.statSync(path);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SQLite's 'unable to open database file' says the catalog's folder must be writable", () => {
  // The error a read-only folder gives (SQLite cannot make the -wal and -shm files there); as
  // root, permissions do not stop it, so a folder that is not there raises the same one.
  const dir = _tmp();
  try {
    const e = (() => {
      try {
        new DatabaseSync(join(dir, "no-such-folder", "catalog.db"));
      } catch (error) {
        return toRetrovueError(error);
      }
    })();
    assert.equal(e?.code, "DB_ERROR", e?.message);
    assert.match(
      e.message,
      /unable to open database file.* \(SQLite keeps .*folder must be writable\)$/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a full disk says it may be SQLite's temporary folder, not the catalog's", () => {
  // node:sqlite's error for SQLITE_FULL, as a full temporary folder raises it mid-ingest.
  const full = Object.assign(new Error("database or disk is full"), { code: "ERR_SQLITE_ERROR" });
  const e = toRetrovueError(full);
  assert.equal(e.code, "DB_ERROR");
  assert.match(e.message, /disk is full \(the catalog's disk, or the temporary folder .*TMPDIR/);
});

Deno.test("a damaged catalog is DB_ERROR saying so; our own SQL mistakes stay INTERNAL", () => {
  const dir = _tmp();
  const path = join(dir, "damaged.db");
  try {
    const db = openDatabase(path, { now: FIXED });
    db.exec("PRAGMA journal_mode = DELETE");
    db.close();
    const bytes = Deno.readFileSync(path);
    bytes.fill(0x5a, 4096); // every page after the first
    Deno.writeFileSync(path, bytes);
    const damaged = (() => {
      try {
        const again = openDatabase(path, { readOnly: true });
        again.prepare("SELECT count(*) FROM assets").get();
        again.close();
      } catch (error) {
        return toRetrovueError(error);
      }
    })();
    assert.equal(damaged?.code, "DB_ERROR", damaged?.message);
    assert.match(damaged.message, /the catalog file is damaged .*restore it from a backup/);
    const mistake = (() => {
      try {
        openMemoryDatabase().exec("SELEC 1");
      } catch (error) {
        return toRetrovueError(error);
      }
    })();
    assert.equal(mistake?.code, "INTERNAL");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a --db that is a link to nothing is one clear DB_ERROR", () => {
  const dir = _tmp();
  try {
    const link = join(dir, "dangling.db");
    Deno.symlinkSync(join(dir, "missing", "real.db"), link);
    assert.throws(
      () => openDatabase(link),
      (e: RetrovueError) => e.code === "DB_ERROR" && /is a link to nothing/.test(e.message),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
