/**
 * The sync lock (`sync/lock.ts`) and `--listen` parsing, in-process. Two
 * real `sync` processes meeting on one catalog are in `sync_cli_test.ts`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseListen } from "../cli/sync_commands.ts";
import type { RetrovueError } from "../core/errors.ts";
import { acquireSyncLock, syncLockHolder, syncLockPath } from "../sync/mod.ts";

Deno.test("the sync lock: held once, the second names the holder, free again after release", () => {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-lock-" });
  try {
    const db = join(dir, "retrovue.db");
    assert.equal(syncLockHolder(db), null, "no lock file: no sync");
    const now = () => new Date("2030-01-02T03:04:05.000Z");
    const lock = acquireSyncLock(db, { pid: 4242, now });
    assert.equal(lock.path, syncLockPath(db));
    assert.deepEqual(syncLockHolder(db), { pid: 4242, startedAt: "2030-01-02T03:04:05.000Z" });
    assert.throws(() => acquireSyncLock(db), (e: RetrovueError) => {
      assert.equal(e.code, "CONFLICT");
      assert.equal(
        e.message,
        "another 'retrovue sync' is already running on this catalog (pid 4242, started " +
          "2030-01-02T03:04:05.000Z); stop it first, or use another --db",
      );
      return true;
    });
    lock.release();
    lock.release(); // Twice is harmless.
    assert.equal(syncLockHolder(db), null, "a released lock is free, though the file stays");
    using again = acquireSyncLock(db, { pid: 7 });
    assert.equal(syncLockHolder(db)?.pid, 7);
    assert.equal(again.path, lock.path);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseListen: loopback by default, the any-address only with --listen-any", () => {
  assert.deepEqual(parseListen("127.0.0.1:8765", false), {
    hostname: "127.0.0.1",
    port: 8765,
    beyondLoopback: false,
  });
  assert.deepEqual(parseListen("[::1]:0", false), {
    hostname: "::1",
    port: 0,
    beyondLoopback: false,
  });
  assert.equal(parseListen("localhost:1", false).hostname, "localhost");
  assert.deepEqual(parseListen("0.0.0.0:8765", true), {
    hostname: "0.0.0.0",
    port: 8765,
    beyondLoopback: true,
  });
  const usage = (text: string, any: boolean, re: RegExp) =>
    assert.throws(() => parseListen(text, any), (e: RetrovueError) => {
      assert.equal(e.code, "USAGE");
      assert.match(e.message, re);
      return true;
    }, text);
  usage("0.0.0.0:8765", false, /reaches beyond this machine; add --listen-any/);
  usage("192.168.1.5:8765", true, /listens on loopback .* or with --listen-any on every/);
  for (const bad of ["8765", "127.0.0.1", "127.0.0.1:70000", "::1:80", "host:port"]) {
    usage(bad, false, /--listen takes HOST:PORT/);
  }
});
