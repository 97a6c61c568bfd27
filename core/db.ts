/**
 * The SQLite catalog: opening, migrating and transactions.
 *
 * One `node:sqlite` connection per process, in WAL mode with foreign keys on
 * and a busy timeout. Migrations are forward-only and recorded in
 * `schema_migrations`; a database written by a newer RetroVue (a version this
 * code does not know) is refused with `SCHEMA_TOO_NEW` rather than touched.
 * The file is created owner-only (0600) because source configs hold tokens.
 *
 * @module
 */

import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ASSETS_DDL } from "./db_assets.ts";
import { fingerprintsOf } from "./fingerprint.ts";
import { RetrovueError, sqliteError } from "./errors.ts";

/** One forward-only schema step. */
export interface Migration {
  /** Schema version this step produces (1, 2, …, in order). */
  version: number;
  /** SQL run inside the migration's transaction. */
  sql: string;
  /** Work SQL cannot express, run after `sql` in the same transaction. */
  run?: (db: DatabaseSync) => void;
}

/** Every migration, in order. The last one's version is {@link SCHEMA_VERSION}. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE sources (
  id          TEXT PRIMARY KEY,              -- '<type>-<8 hex>'
  name        TEXT NOT NULL,
  type_id     TEXT NOT NULL,
  config      TEXT NOT NULL,                 -- JSON, includes secrets
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);
CREATE UNIQUE INDEX sources_name ON sources (name COLLATE NOCASE);
CREATE TABLE collections (
  id                TEXT PRIMARY KEY,        -- 'c-' + 10 hex of sha-256(source_id \\0 external_id)
  source_id         TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  external_id       TEXT NOT NULL,
  name              TEXT NOT NULL,
  kind              TEXT NOT NULL,
  locations         TEXT NOT NULL DEFAULT '[]',
  sync_enabled      INTEGER NOT NULL DEFAULT 0,
  ingestible        INTEGER NOT NULL DEFAULT 1,
  ingestible_reason TEXT,
  missing_upstream  INTEGER NOT NULL DEFAULT 0,
  last_ingest_time  TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  UNIQUE (source_id, external_id)
);
CREATE TABLE path_mappings (
  collection_id   TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  external_prefix TEXT NOT NULL,
  local_prefix    TEXT NOT NULL,
  PRIMARY KEY (collection_id, external_prefix)
);
${ASSETS_DDL}
`,
  },
  {
    // The removal guard's per-collection limit (percent of active assets an
    // ingest may remove); NULL means the default. Old rows keep NULL.
    version: 2,
    sql: `
ALTER TABLE collections ADD COLUMN max_removal_pct INTEGER
  CHECK (max_removal_pct IS NULL OR max_removal_pct BETWEEN 0 AND 100);
`,
  },
  {
    // Fingerprints moved from three SHA-256 digests to one fast hash
    // (core/fingerprint.ts): recompute every stored one, so that no asset
    // shows as changed on the first ingest after the upgrade.
    version: 3,
    sql: "",
    run: recomputeFingerprints,
  },
  {
    // Enrichment (technical metadata from servers and enrichers such as
    // ffprobe). These columns belong to enrichment: the ingest writes them
    // only for the technical fields its importer reported (tech_source
    // 'server', see ingest/apply.ts) and never over an enricher's result for
    // the current file, so a metadata change upstream cannot wipe a probe's
    // result, and an asset needs enrichment exactly when
    // enriched_file_fingerprint is not its file_fingerprint.
    version: 4,
    sql: `
ALTER TABLE assets ADD COLUMN tech TEXT;                      -- JSON technical fields, or NULL
ALTER TABLE assets ADD COLUMN tech_source TEXT;               -- 'server' or an enricher type id
ALTER TABLE assets ADD COLUMN probed_duration_ms INTEGER;     -- duration found by an enricher
ALTER TABLE assets ADD COLUMN enriched_file_fingerprint TEXT; -- the file the result is for
ALTER TABLE assets ADD COLUMN enrichment_error TEXT;          -- why the last attempt failed
ALTER TABLE assets ADD COLUMN enriched_at TEXT;
CREATE TABLE collection_enrichers (
  collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  type_id       TEXT NOT NULL,
  priority      INTEGER NOT NULL DEFAULT 0,
  config        TEXT NOT NULL DEFAULT '{}',                 -- JSON, keyed by param name
  created_at    TEXT NOT NULL,
  PRIMARY KEY (collection_id, type_id)
);
`,
  },
  {
    // Ingest history: each applied run, and which assets it added, changed,
    // removed, restored or re-keyed (`ingest history`, `asset list --changed-in`).
    // Old runs are pruned by the ingest (see ingest/history.ts).
    version: 5,
    sql: `
CREATE TABLE ingest_runs (
  id            INTEGER PRIMARY KEY,
  collection_id TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  finished_at   TEXT NOT NULL,
  scope         TEXT NOT NULL,
  filters       TEXT NOT NULL DEFAULT '{}',   -- JSON
  stats         TEXT NOT NULL                 -- JSON, the run's counts
);
CREATE INDEX ingest_runs_collection ON ingest_runs (collection_id, id);
CREATE TABLE ingest_changes (
  run_id   INTEGER NOT NULL REFERENCES ingest_runs(id) ON DELETE CASCADE,
  asset_id TEXT NOT NULL,
  change   TEXT NOT NULL CHECK (change IN ('new', 'changed', 'removed', 'restored', 'rekeyed')),
  PRIMARY KEY (run_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX ingest_changes_asset ON ingest_changes (asset_id);
`,
  },
  {
    // `retrovue sync`: how often a source's (or one collection's) full ingest
    // is due (NULL on a collection inherits the source's; NULL on both means
    // not scheduled; 0 on a collection opts it out of its source's), the hash of a source's webhook secret (the secret itself
    // is shown once and never stored), and the sync loop's per-collection
    // record of what ran, how it ended and when it is next due.
    version: 6,
    sql: `
ALTER TABLE sources ADD COLUMN sync_every_seconds INTEGER
  CHECK (sync_every_seconds IS NULL OR sync_every_seconds > 0);
ALTER TABLE collections ADD COLUMN sync_every_seconds INTEGER
  CHECK (sync_every_seconds IS NULL OR sync_every_seconds >= 0);
ALTER TABLE sources ADD COLUMN webhook_secret_hash TEXT;      -- SHA-256 hex, or NULL
CREATE TABLE sync_state (
  collection_id    TEXT PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,
  last_started_at  TEXT,
  last_finished_at TEXT,
  last_result      TEXT CHECK (last_result IS NULL OR last_result IN ('ok', 'partial', 'error')),
  last_error       TEXT,
  last_run_id      INTEGER,
  failures         INTEGER NOT NULL DEFAULT 0,
  next_due_at      TEXT
);
`,
  },
  {
    // When assets were last seen, stored lazily (see lastSeenSql in
    // db_assets.ts): a full ingest stamps its collection instead of
    // rewriting every asset it saw. Existing rows keep their exact last_seen
    // (seen_at starts NULL). Adding columns with constant defaults rewrites
    // no row, so the migration is instant on any catalog.
    version: 7,
    sql: `
ALTER TABLE collections ADD COLUMN seen_at TEXT;
ALTER TABLE assets ADD COLUMN seen_held INTEGER NOT NULL DEFAULT 0
  CHECK (seen_held IN (0, 1));
CREATE INDEX assets_held ON assets (collection_id) WHERE seen_held = 1;
`,
  },
  {
    // What the path check after every ingest counts and samples (live assets
    // with an upstream path, and whether each kept it as its local path),
    // narrow enough that a 100k-asset collection is read in milliseconds
    // instead of scanning its rows (see cli/path_checks.ts).
    version: 8,
    sql: `
CREATE INDEX assets_live_paths ON assets (collection_id, local_path IS NULL OR local_path = path)
  WHERE deleted_at IS NULL AND path IS NOT NULL;
`,
  },
  {
    // How many live assets a collection has (see liveAssetCount in
    // catalog.ts), read from this narrow index in milliseconds instead of
    // from the collection's rows: every full ingest compares it with what it
    // saw, so that "nothing went" needs no per-row query, and the removal
    // guard, `collection show` and `source remove` count with it.
    version: 9,
    sql: `
CREATE INDEX assets_live ON assets (collection_id) WHERE deleted_at IS NULL;
`,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** How long a write waits for another process's lock, in milliseconds (default 5000). */
  busyTimeoutMs?: number;
  /**
   * Open an existing database read-only (never created). A catalog from an
   * older RetroVue is upgraded first, as any writing command would upgrade
   * it, so that reading commands never run this version's SQL on an older
   * schema; `DB_BUSY` or `DB_ERROR` (naming both versions) when it cannot be.
   */
  readOnly?: boolean;
  /**
   * Upgrade a catalog from an older RetroVue (default true). False, for a
   * dry run, which writes nothing: such a catalog is a `CONFLICT` saying how
   * to upgrade it, and the file's journal mode is left as it is.
   */
  upgrade?: boolean;
  /**
   * Create the file (and its folder) when missing (default true). False:
   * a missing file is `DB_NOT_FOUND` and nothing is created, for commands
   * that only read or change what must already be there.
   */
  create?: boolean;
  /** Clock for `schema_migrations.applied_at`. */
  now?: () => Date;
}

/**
 * The `PRAGMA application_id` of a RetroVue catalog ("RVue"), so that another
 * application's SQLite file is recognised and never written to.
 */
export const APPLICATION_ID = 0x52567565;

/**
 * Opens (creating it owner-only if needed and allowed) and migrates the
 * database at `path`. Throws `DB_NOT_FOUND` for a missing file when it may
 * not create one (`readOnly`, or `create: false`), `DB_FOREIGN` (before
 * writing anything) for a file that is not a RetroVue catalog,
 * `SCHEMA_TOO_NEW` for a database from a newer RetroVue and `DB_ERROR` when
 * the file cannot be opened.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): DatabaseSync {
  const opened = _open(path, options);
  if (opened instanceof DatabaseSync) return opened;
  if (options.upgrade === false) throw _notUpgraded(path, opened.version);
  _upgrade(path, { ...options, version: opened.version });
  const db = _open(path, options);
  if (db instanceof DatabaseSync) return db;
  throw new RetrovueError(
    "DB_ERROR",
    `database '${path}' still has schema version ${db.version} after its upgrade`,
  );
}

/**
 * Opens `path` as {@link openDatabase} does, except that a read-only open of
 * an older catalog is closed again and only its version returned.
 */
function _open(
  path: string,
  options: OpenDatabaseOptions,
): DatabaseSync | { version: number } {
  const create = !options.readOnly && (options.create ?? true);
  let created = false;
  if (create) created = _createOwnerOnly(path);
  else _assertExists(path);
  try {
    _refuseBeside(path);
  } catch (error) {
    if (created) _removeCatalogFiles(path); // Only what is a file: not what was in the way.
    throw error;
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: options.readOnly ?? false });
  } catch (error) {
    // Deno's own wording (`run again with the --allow-all flag`) is no advice to an operator.
    const why = error instanceof Deno.errors.NotCapable
      ? "this process may not use that place (a system folder?); choose another --db"
      : (error as Error).message;
    throw new RetrovueError("DB_ERROR", `cannot open database '${path}': ${why}`, {
      cause: error,
    });
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    db.exec("PRAGMA foreign_keys = ON");
    const stamp = _assertOurs(db, path);
    if (!create && _isEmpty(db)) {
      // An empty file (`touch catalog.db`) is no catalog yet: only `source add` makes one.
      throw new RetrovueError(
        "DB_NOT_FOUND",
        `the catalog '${path}' is an empty file, not a catalog yet; check --db and RETROVUE_DB, ` +
          `or create it by adding a source ('source add')`,
        { details: { path } },
      );
    }
    if (options.readOnly) {
      _assertKnownVersion(db, path);
      const version = schemaVersion(db);
      if (version < SCHEMA_VERSION) {
        db.close();
        return { version };
      }
    } else if (options.upgrade === false) {
      _assertKnownVersion(db, path);
      const version = schemaVersion(db);
      if (version < SCHEMA_VERSION) throw _notUpgraded(path, version);
    } else {
      db.exec("PRAGMA journal_mode = WAL");
      migrate(db, { now: options.now, label: path });
      if (stamp) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    }
  } catch (error) {
    db.close();
    // A catalog this call made and could not set up (a full disk mid-migration) is not left
    // half made, for the next command to trip on. Unless another process holds it busy: then
    // the file may already be that process's.
    const failure = toDbError(error);
    const busy = failure instanceof RetrovueError && failure.code === "DB_BUSY";
    if (created && !busy) _removeCatalogFiles(path);
    throw failure;
  }
  return db;
}

/** SQLite's own files beside a catalog at `path`: its rollback journal, WAL and WAL index. */
function _besideFiles(path: string): string[] {
  return [`${path}-journal`, `${path}-wal`, `${path}-shm`];
}

/** Removes a catalog file and SQLite's files beside it: those that are there, and files. */
function _removeCatalogFiles(path: string): void {
  for (const file of [path, ..._besideFiles(path)]) {
    try {
      if (Deno.lstatSync(file).isFile) Deno.removeSync(file);
    } catch {
      // Not there.
    }
  }
}

/** An older catalog that a dry run may not upgrade (see {@link OpenDatabaseOptions.upgrade}). */
function _notUpgraded(path: string, version: number): RetrovueError {
  return new RetrovueError(
    "CONFLICT",
    `the catalog '${path}' is from an older RetroVue (schema version ${version}, this one ` +
      `needs ${SCHEMA_VERSION}); a dry run writes nothing, so it does not upgrade it: run any ` +
      `command without --dry-run first (e.g. 'retrovue source list'), which upgrades it`,
    { details: { version, needed: SCHEMA_VERSION } },
  );
}

/** Whether the database holds nothing at all (no table, index or view). */
function _isEmpty(db: DatabaseSync): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master LIMIT 1").get() === undefined;
}

/**
 * Upgrades the older catalog at `path` (schema `options.version`) through a
 * writing open, for a command that reads it. Fails as a writing command
 * would, saying which versions and why.
 */
function _upgrade(
  path: string,
  options: OpenDatabaseOptions & { version: number },
): void {
  try {
    openDatabase(path, {
      busyTimeoutMs: options.busyTimeoutMs,
      create: false,
      now: options.now,
    }).close();
  } catch (error) {
    if (error instanceof RetrovueError && error.code === "DB_BUSY") throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new RetrovueError(
      "DB_ERROR",
      `database '${path}' is from an older RetroVue (schema version ${options.version}, ` +
        `this one needs ${SCHEMA_VERSION}) and upgrading it failed: ${reason}`,
      { cause: error, details: { version: options.version, needed: SCHEMA_VERSION } },
    );
  }
}

/**
 * What no source may be granted to read, for the catalog at `path`: its
 * folder (and any folder holding it) and the catalog's own files (the
 * database, its `-wal`, `-shm` and `-journal`), each as given and, when it
 * differs, as its real path (a symlinked `--db`). A source granted any of
 * them could read every other source's credentials.
 */
export function protectedCatalogPaths(path: string): string[] {
  if (path === "" || path === ":memory:") return [];
  const out = new Set<string>();
  for (const file of [path, ..._besideFiles(path)]) out.add(file);
  out.add(dirname(path));
  try {
    const real = Deno.realPathSync(path);
    out.add(real);
    out.add(dirname(real));
  } catch {
    // No catalog yet, or a dangling link: the paths as given are all there is to protect.
  }
  return [...out];
}

/**
 * An in-memory, migrated database: for tests, and for a dry run with no
 * catalog yet (`source add --dry-run`), which computes on it and writes no file.
 */
export function openMemoryDatabase(options: { now?: () => Date } = {}): DatabaseSync {
  const db = new DatabaseSync(":memory:");
  db.exec("PRAGMA foreign_keys = ON");
  migrate(db, { now: options.now, label: ":memory:" });
  return db;
}

/** Options for {@link migrate}. */
export interface MigrateOptions {
  /** Clock for `applied_at`. */
  now?: () => Date;
  /** How to name the database in errors. */
  label?: string;
  /** The migrations to apply (default {@link MIGRATIONS}); for tests. */
  migrations?: readonly Migration[];
}

/**
 * Applies every migration newer than the database's version, each in its
 * own immediate transaction. Returns the versions applied.
 */
export function migrate(db: DatabaseSync, options: MigrateOptions = {}): number[] {
  const migrations = options.migrations ?? MIGRATIONS;
  const now = options.now ?? (() => new Date());
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
  );
  const applied: number[] = [];
  const last = migrations.at(-1)?.version ?? 0;
  if (schemaVersion(db) >= last) {
    // Up to date: take no write lock, so readers never wait on a running ingest.
    _assertKnownVersion(db, options.label ?? "database", migrations);
    return applied;
  }
  for (const migration of migrations) {
    transaction(db, () => {
      const current = schemaVersion(db);
      _assertKnownVersion(db, options.label ?? "database", migrations);
      if (current >= migration.version) return;
      if (migration.sql.trim() !== "") db.exec(migration.sql);
      migration.run?.(db);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)")
        .run(migration.version, now().toISOString());
      applied.push(migration.version);
    }, { immediate: true });
  }
  _assertKnownVersion(db, options.label ?? "database", migrations);
  return applied;
}

/**
 * Recomputes every asset's stored `fingerprint` and `file_fingerprint` from
 * its stored fields with {@link fingerprintsOf}. Streams the table (one row
 * in memory at a time) and writes only the two non-key columns, so the scan
 * is unaffected by its own updates. Schema migration 3; reads `tech` when
 * the catalog has that column.
 */
export function recomputeFingerprints(db: DatabaseSync): void {
  // `tech` (migration 4) enters a fingerprint only when not null, so a
  // catalog from before that column fingerprints as if it were null.
  const hasTech = db.prepare("SELECT 1 FROM pragma_table_info('assets') WHERE name = 'tech'").get();
  const read = db.prepare(
    `SELECT id, kind, title, series_title, season, episode, episode_end, year, air_date,
       duration_ms, external_ids, path, parts, local_path, size, modified,
       ${hasTech ? "tech" : "NULL"} FROM assets`,
  );
  (read as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
  const write = db.prepare("UPDATE assets SET fingerprint = ?, file_fingerprint = ? WHERE id = ?");
  const num = (v: unknown) => (v === null ? null : Number(v));
  const str = (v: unknown) => (v === null ? null : String(v));
  for (const r of read.iterate() as Iterable<unknown[]>) {
    const f = fingerprintsOf({
      kind: String(r[1]),
      title: String(r[2]),
      seriesTitle: str(r[3]),
      season: num(r[4]),
      episode: num(r[5]),
      episodeEnd: num(r[6]),
      year: num(r[7]),
      airDate: str(r[8]),
      durationMs: num(r[9]),
      externalIds: String(r[10]),
      path: str(r[11]),
      parts: String(r[12]),
      localPath: str(r[13]),
      size: num(r[14]),
      modified: str(r[15]),
      tech: str(r[16]),
    });
    write.run(f.fingerprint, f.fileFingerprint, r[0] as string);
  }
}

/** The database's schema version (0 when nothing has been applied). */
export function schemaVersion(db: DatabaseSync): number {
  const exists = db.prepare(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
  ).get();
  if (!exists) return 0;
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as
    | { v: number | null }
    | undefined;
  return Number(row?.v ?? 0);
}

/** Options for {@link transaction}. */
export interface TransactionOptions {
  /** Take the write lock at the start (`BEGIN IMMEDIATE`), for read-then-write steps. */
  immediate?: boolean;
}

/**
 * Runs `fn` in a transaction: commits when it returns, rolls back when it
 * throws. Nested calls become savepoints. `fn` must be synchronous: do any
 * importer calls before, and only write inside.
 */
export function transaction<T>(
  db: DatabaseSync,
  fn: () => T,
  options: TransactionOptions = {},
): T {
  if (db.isTransaction) {
    const name = `sp_${crypto.randomUUID().replaceAll("-", "")}`;
    db.exec(`SAVEPOINT ${name}`);
    try {
      const result = fn();
      db.exec(`RELEASE ${name}`);
      return result;
    } catch (error) {
      db.exec(`ROLLBACK TO ${name}`);
      db.exec(`RELEASE ${name}`);
      throw error;
    }
  }
  try {
    db.exec(options.immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  } catch (error) {
    throw toDbError(error);
  }
  try {
    const result = fn();
    if (result instanceof Promise) {
      throw new RetrovueError("INTERNAL", "transaction() needs a synchronous function");
    }
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw toDbError(error);
  }
}

/**
 * Maps SQLite failures to `DB_BUSY` (locked by another process) or
 * `DB_ERROR`; `RetrovueError`s pass through unchanged.
 */
export function toDbError(error: unknown): unknown {
  if (error instanceof RetrovueError) return error;
  if ((error as { code?: string })?.code !== "ERR_SQLITE_ERROR") return error;
  return sqliteError(error) ??
    new RetrovueError("DB_ERROR", `database error: ${(error as Error).message}`, { cause: error });
}

function _assertKnownVersion(
  db: DatabaseSync,
  label: string,
  migrations: readonly Migration[] = MIGRATIONS,
): void {
  const known = migrations[migrations.length - 1]?.version ?? 0;
  const version = schemaVersion(db);
  if (version > known) {
    throw new RetrovueError(
      "SCHEMA_TOO_NEW",
      `database '${label}' has schema version ${version}, newer than this RetroVue knows ` +
        `(${known}); upgrade RetroVue or use another --db`,
      { details: { version, known } },
    );
  }
}

/**
 * Refuses, without writing, a file that is not a RetroVue catalog: another
 * application id, or no id and tables other than ours. Returns whether the
 * catalog still needs its id (a new file, or one from before ids).
 */
function _assertOurs(db: DatabaseSync, path: string): boolean {
  let id: number;
  let tables: string[];
  try {
    id = Number(
      (db.prepare("PRAGMA application_id").get() as { application_id: number })
        .application_id,
    );
    tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
      .map((r) => String(r.name));
  } catch (error) {
    if (/not a database|file is encrypted/i.test((error as Error).message)) {
      throw _foreign(path, "it is not an SQLite database");
    }
    throw error;
  }
  if (id === APPLICATION_ID) return false;
  if (id !== 0) {
    throw _foreign(path, `it belongs to another application (application_id ${id})`);
  }
  if (tables.length > 0 && !tables.includes("schema_migrations")) {
    throw _foreign(
      path,
      `it is another application's SQLite database (tables: ${tables.slice(0, 5).join(", ")}${
        tables.length > 5 ? ", …" : ""
      })`,
    );
  }
  return true;
}

function _foreign(path: string, why: string): RetrovueError {
  return new RetrovueError(
    "DB_FOREIGN",
    `'${path}' is not a RetroVue catalog: ${why}; nothing was written to it. Use another --db`,
    { details: { path } },
  );
}

function _assertExists(path: string): void {
  if (path === ":memory:" || path === "") return;
  try {
    _refuseSpecial(path, Deno.statSync(path));
  } catch (error) {
    if (error instanceof RetrovueError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) return; // Let the open report it.
    throw new RetrovueError(
      "DB_NOT_FOUND",
      `the catalog '${path}' does not exist; check --db and RETROVUE_DB, or create it by ` +
        `adding a source ('source add')`,
      { details: { path } },
    );
  }
}

/**
 * Refuses a folder, FIFO, socket or device as the catalog: SQLite's open of a
 * FIFO blocks until a writer comes, and no signal ends the wait.
 */
function _refuseSpecial(path: string, info: Deno.FileInfo): void {
  if (info.isDirectory) {
    throw new RetrovueError(
      "DB_ERROR",
      `the catalog '${path}' is a folder; give the catalog's file with --db (e.g. ` +
        `'${path.replace(/\/+$/, "")}/retrovue.db')`,
      { details: { path } },
    );
  }
  if (!info.isFile) {
    throw new RetrovueError(
      "DB_ERROR",
      `the catalog '${path}' is not a file (a FIFO, socket or device); give a catalog file ` +
        `with --db`,
      { details: { path } },
    );
  }
}

/**
 * Refuses SQLite's own files beside the catalog (`-journal`, `-wal`, `-shm`)
 * when they are there and not plain files: it opens them as blindly as the
 * catalog (a FIFO `-journal` hung every command), and would delete or write
 * through what an operator put there (a link, a folder).
 */
function _refuseBeside(path: string): void {
  if (path === ":memory:" || path === "") return;
  for (const file of _besideFiles(path)) {
    let beside: Deno.FileInfo;
    try {
      beside = Deno.lstatSync(file);
    } catch {
      continue; // Not there: SQLite makes it.
    }
    if (beside.isFile) continue;
    throw new RetrovueError(
      "DB_ERROR",
      `'${file}', beside the catalog, is not a file; SQLite keeps its own files there: ` +
        `remove it`,
      { details: { path: file } },
    );
  }
}

/** Creates the catalog file owner-only; true when it made a new one (false: it was there). */
function _createOwnerOnly(path: string): boolean {
  if (path === ":memory:" || path === "") return false;
  try {
    // Deno.mkdirSync, not node:fs: loading node:fs costs every command ~40 ms of start-up.
    Deno.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const file = Deno.openSync(path, { read: true, write: true, createNew: true, mode: 0o600 });
    file.close();
    Deno.chmodSync(path, 0o600);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(path);
      } catch (cause) {
        throw new RetrovueError(
          "DB_ERROR",
          `cannot create database '${path}': it is a link to nothing (${
            (cause as Error).message.split(":")[0]
          }); give the real path with --db`,
          { cause },
        );
      }
      _refuseSpecial(path, info);
      // An empty file given as the catalog becomes one: owner-only, as it will hold credentials.
      if (info.size === 0) Deno.chmodSync(path, 0o600);
      return false;
    }
    throw new RetrovueError(
      "DB_ERROR",
      `cannot create database '${path}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  return true;
}
