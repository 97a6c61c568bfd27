/**
 * One `retrovue sync` per catalog: an exclusive lock on a file next to the
 * catalog (`<catalog>.sync-lock`), holding the owner's pid and start time.
 *
 * The lock is the operating system's (`flock`): it goes with the process,
 * so a sync that crashed or was killed leaves no stale lock behind, and the
 * file's content is only there to name the holder in the error. CLI
 * commands (`collection ingest`…) do not take it: they run alongside a sync
 * as they run alongside each other.
 *
 * @module
 */

import { RetrovueError } from "../core/errors.ts";

/** A held sync lock. */
export interface SyncLock extends Disposable {
  /** The lock file's path. */
  readonly path: string;
  /** Releases the lock (also on dispose); the file stays, empty. */
  release(): void;
}

/** Options for {@link acquireSyncLock}. */
export interface SyncLockOptions {
  /** This process's id (default `Deno.pid`). */
  pid?: number;
  /** The clock for the start time written into the file. */
  now?: () => Date;
}

/** The lock file of the catalog at `dbPath`. */
export function syncLockPath(dbPath: string): string {
  return `${dbPath}.sync-lock`;
}

/**
 * Takes the sync lock of the catalog at `dbPath` without waiting. Throws
 * `CONFLICT` naming the other process (pid and start time) when another
 * sync holds it, `DB_ERROR` when the lock file cannot be opened.
 */
export function acquireSyncLock(dbPath: string, options: SyncLockOptions = {}): SyncLock {
  const path = syncLockPath(dbPath);
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true, create: true, mode: 0o600 });
  } catch (error) {
    throw new RetrovueError(
      "DB_ERROR",
      `cannot open the sync lock file '${path}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  let locked = false;
  try {
    locked = file.tryLockSync(true);
  } catch (error) {
    file.close();
    throw new RetrovueError(
      "DB_ERROR",
      `cannot lock '${path}': ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!locked) {
    const holder = _holder(path);
    file.close();
    throw new RetrovueError(
      "CONFLICT",
      `another 'retrovue sync' is already running on this catalog (${holder}); stop it ` +
        "first, or use another --db",
      { details: { lockFile: path } },
    );
  }
  const owner = {
    pid: options.pid ?? Deno.pid,
    startedAt: (options.now ?? (() => new Date()))().toISOString(),
  };
  file.truncateSync(0);
  const bytes = new TextEncoder().encode(JSON.stringify(owner) + "\n");
  let written = 0;
  while (written < bytes.length) written += file.writeSync(bytes.subarray(written));
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    try {
      file.truncateSync(0);
      file.unlockSync();
    } finally {
      file.close();
    }
  };
  return { path, release, [Symbol.dispose]: release };
}

/** The sync that holds a catalog's lock. */
export interface SyncLockHolder {
  /** Its process id, when the lock file names it. */
  pid: number | null;
  /** When it started (ISO-8601 UTC), when the lock file says. */
  startedAt: string | null;
}

/**
 * Who holds the sync lock of the catalog at `dbPath`, or null when no sync
 * runs on it (no lock file, or nobody holds the lock). Takes the lock for a
 * moment when it is free, so it never reports a sync that died.
 */
export function syncLockHolder(dbPath: string): SyncLockHolder | null {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(syncLockPath(dbPath), { read: true });
  } catch {
    return null;
  }
  try {
    if (file.tryLockSync(false)) {
      file.unlockSync();
      return null;
    }
  } finally {
    file.close();
  }
  const owner = _owner(syncLockPath(dbPath));
  return { pid: owner.pid, startedAt: owner.startedAt };
}

function _owner(path: string): SyncLockHolder {
  try {
    const raw = JSON.parse(Deno.readTextFileSync(path)) as { pid?: unknown; startedAt?: unknown };
    return {
      pid: Number.isSafeInteger(raw.pid) ? Number(raw.pid) : null,
      startedAt: typeof raw.startedAt === "string" && /^[\d:.TZ-]{10,30}$/.test(raw.startedAt)
        ? raw.startedAt
        : null,
    };
  } catch {
    return { pid: null, startedAt: null };
  }
}

/** `pid 1234, started 2026-…` from the lock file, or what is known when it cannot be read. */
function _holder(path: string): string {
  const owner = _owner(path);
  return `${owner.pid === null ? "pid unknown" : `pid ${owner.pid}`}` +
    (owner.startedAt === null ? "" : `, started ${owner.startedAt}`);
}
