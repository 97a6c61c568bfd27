/**
 * Exit codes and `--json` statuses scripts can trust, through the real CLI
 * with the `fake` importer: an ingest whose every item is invalid is
 * `partial` (exit 2), not `ok`; some invalid items stay `ok`; a source ingest
 * with such a collection is `partial`; a scope that matches nothing is an
 * error with exit 1 (status and exit code agree).
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { main } from "../main.ts";
import type { Command } from "../cli/command.ts";
import { RetrovueError } from "../core/errors.ts";
import { type CliResult, FAKE_PLUGINS, fakeEpisode, REPO_ROOT, runCli, tempWorld } from "./_cli.ts";

Deno.test("every item invalid is partial (exit 2); some invalid is ok; empty scope is error 1", async () => {
  using world = tempWorld();
  const invalid = { externalId: "x1", kind: "episode", title: "no series" };
  const state = world.writeJson("state.json", {
    collections: [
      { externalId: "tv", name: "TV", kind: "shows" },
      { externalId: "bad", name: "Bad", kind: "shows" },
    ],
    assets: {
      tv: [fakeEpisode("e1", { episode: 1, folder: "/tv" }), { ...invalid, externalId: "x0" }],
      bad: [invalid, { ...invalid, externalId: "x2" }],
    },
  });
  const run = (args: string[]): Promise<CliResult> =>
    runCli(args, { db: world.db, pluginPath: FAKE_PLUGINS, cwd: world.dir });
  const add = await run([
    "source",
    "add",
    "--type",
    "fake",
    "--name",
    "Home",
    "--state-file",
    state,
    "--discover",
  ]);
  assert.equal(add.code, 0, add.stderr);
  for (const c of ["TV", "Bad"]) {
    assert.equal((await run(["collection", "update", c, "--sync-enable"])).code, 0);
  }

  const bad = await run(["collection", "ingest", "Bad", "--json"]);
  assert.equal(bad.code, 2, bad.stderr);
  const badDoc = JSON.parse(bad.stdout);
  assert.equal(badDoc.status, "partial");
  assert.deepEqual([badDoc.stats.discovered, badDoc.stats.invalid], [2, 2]);
  const badText = await run(["collection", "ingest", "Bad"]);
  assert.equal(badText.code, 2);
  assert.match(badText.stdout, /No valid item: all 2 item\(s\) the importer sent are invalid/);

  const some = await run(["collection", "ingest", "TV", "--json"]);
  assert.equal(some.code, 0, some.stderr);
  assert.equal(JSON.parse(some.stdout).status, "ok");
  assert.equal(JSON.parse(some.stdout).stats.invalid, 1);

  const all = await run(["source", "ingest", "Home", "--json"]);
  assert.equal(all.code, 2, all.stderr);
  const allDoc = JSON.parse(all.stdout);
  assert.equal(allDoc.status, "partial");
  assert.deepEqual(
    allDoc.collections.map((c: { collectionName: string; status: string }) => [
      c.collectionName,
      c.status,
    ]),
    [["Bad", "partial"], ["TV", "ok"]],
  );
  const allText = await run(["source", "ingest", "Home"]);
  assert.equal(allText.code, 2);
  assert.match(allText.stdout, /1 of 2 collection\(s\) ingested, 1 with no valid item\./);

  const empty = await run(["collection", "ingest", "TV", "--title", "Nobody", "--json"]);
  assert.equal(empty.code, 1);
  assert.equal(JSON.parse(empty.stdout).status, "error");
  assert.equal(JSON.parse(empty.stdout).error.code, "SCOPE_EMPTY");
});

Deno.test("stopped while SQLite waited for the write lock: CANCELLED, not 'busy, try again'", async () => {
  // SQLite's wait for the lock blocks the event loop: the signal is dispatched only after the
  // statement gave up with DB_BUSY. The command here is that moment, without a real lock.
  const busy = [
    () => new RetrovueError("DB_BUSY", "the database is busy; try again"),
    // node:sqlite's own error, as a command that does not map it throws it.
    () => Object.assign(new Error("database is locked"), { code: "ERR_SQLITE_ERROR" }),
  ];
  for (const [stopped, make] of [[true, busy[0]], [false, busy[0]], [true, busy[1]]] as const) {
    const controller = new AbortController();
    const command: Command = {
      path: ["locked"],
      summary: "gives up on the write lock",
      help: "Usage: retrovue locked\n",
      run() {
        if (stopped) {
          setTimeout(() => controller.abort(new RetrovueError("CANCELLED", "interrupted")), 0);
        }
        throw make();
      },
    };
    let out = "";
    const code = await main(["locked", "--json"], {
      env: {},
      stdout: { write: (t) => void (out += t) },
      stderr: { write: () => {} },
      isTerminal: false,
      stdinIsTerminal: false,
      cwd: REPO_ROOT,
      now: () => new Date("2030-01-01T00:00:00Z"),
      readLine: () => Promise.resolve(null),
      signal: controller.signal,
    }, { commands: [command] });
    const error = JSON.parse(out).error;
    if (stopped) {
      assert.equal(error.code, "CANCELLED", out);
      assert.equal(
        error.message,
        "interrupted while waiting for the catalog's write lock; nothing was written",
      );
    } else {
      assert.equal(error.code, "DB_BUSY", out);
      assert.equal(code, 1);
    }
  }
});
