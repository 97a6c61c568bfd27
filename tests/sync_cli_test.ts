/**
 * `retrovue sync` as an operator runs it: the real CLI process against a
 * temporary catalog, with a watched folder, the `fake` importer and the
 * Plex mock. Waits are generous "within N seconds" polls; nothing here
 * asserts how fast anything is (that is `bench/sync_watch_bench.ts`).
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env --allow-net=127.0.0.1`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  cliEnv,
  type CliResult,
  dumpDb,
  FAKE_PLUGINS,
  fakeEpisode,
  MAIN_TS,
  REPO_ROOT,
  retrovueTaskFlags,
  runCli,
  type TempWorld,
  tempWorld,
  withoutIsolationWarning,
} from "./_cli.ts";
import { startPlexMock } from "./mocks/plex_server.ts";

/** How long a test waits for something the sync process should do within seconds. */
const WAIT_MS = 30_000;

/** A running `sync` process. */
interface SyncProcess {
  /** Its pid. */
  pid: number;
  /** Everything it wrote to stdout so far. */
  stdout(): string;
  /** Resolves with the stdout text once `pattern` matches it; rejects after `ms`. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<CliResult>;
}

function _startSync(
  world: TempWorld,
  args: string[],
  pluginPath = "",
  options: { fdLimit?: number } = {},
): SyncProcess {
  const argv = ["run", ...retrovueTaskFlags(), MAIN_TS, "--db", world.db, "sync", ...args];
  // With fdLimit, a shell lowers the open-file limit first (`ulimit -n`), then becomes deno.
  const [cmd, full] = options.fdLimit === undefined
    ? [Deno.execPath(), argv]
    : ["sh", ["-c", `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, Deno.execPath(), ...argv]];
  const child = new Deno.Command(cmd, {
    args: full,
    cwd: REPO_ROOT,
    env: cliEnv({ pluginPath, dataHome: world.dir }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  };
  const reading = Promise.all([
    pump(child.stdout, (t) => out += t),
    pump(child.stderr, (t) => err += t),
  ]);
  let exited: Promise<CliResult> | undefined;
  const exit = () =>
    exited ??= (async () => {
      const status = await child.status;
      await reading;
      return {
        code: status.code,
        stdout: out,
        stderr: withoutIsolationWarning(err),
        fullStderr: err,
      };
    })();
  return {
    pid: child.pid,
    stdout: () => out,
    async waitFor(pattern, ms = WAIT_MS) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const m = out.match(pattern);
        if (m) return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
      await exit();
      throw new Error(`sync never printed ${pattern} within ${ms} ms:\n${out}\nstderr:\n${err}`);
    },
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      return await exit();
    },
  };
}

async function _cli(world: TempWorld, args: string[], pluginPath = ""): Promise<CliResult> {
  return await runCli(args, { db: world.db, pluginPath, dataHome: world.dir });
}

async function _ok(world: TempWorld, args: string[], pluginPath = ""): Promise<CliResult> {
  const r = await _cli(world, args, pluginPath);
  assert.equal(r.code, 0, `${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

/** Polls the catalog (read-only, beside the running sync) until `sql` returns a row. */
async function _waitForRow(path: string, sql: string, ...params: string[]): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      if (db.prepare(sql).get(...params)) return;
    } finally {
      db.close();
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no row for ${sql} within ${WAIT_MS} ms`);
}

function _copyEpisode(root: string, show: string, season: number, episode: number): string {
  const folder = join(root, show, `Season ${String(season).padStart(2, "0")}`);
  Deno.mkdirSync(folder, { recursive: true });
  const name = `${show} - S${String(season).padStart(2, "0")}E${
    String(episode).padStart(2, "0")
  }.mkv`;
  Deno.writeFileSync(join(folder, name), new Uint8Array(1000 + episode));
  return `${show}/Season ${String(season).padStart(2, "0")}/${name}`;
}

/** A watched filesystem source `Files` whose collection `shows` is ingested and sync-enabled. */
async function _watchedWorld(world: TempWorld): Promise<{ root: string; collection: string }> {
  const root = join(world.dir, "shows");
  _copyEpisode(root, "Alpha Show", 1, 1);
  _copyEpisode(root, "Alpha Show", 1, 2);
  _copyEpisode(root, "Beta Show", 1, 1);
  await _ok(world, [
    ...["source", "add", "--type", "filesystem", "--name", "Files", "--root", root, "--discover"],
  ]);
  const list = JSON.parse((await _ok(world, ["collection", "list", "--json"])).stdout);
  const collection = String(list.collections[0].id);
  await _ok(world, ["collection", "update", collection, "--sync-enable"]);
  await _ok(world, ["collection", "ingest", collection]);
  return { root, collection };
}

Deno.test("sync: a file copied into a watched root → season-scoped ingest; a rename stays scoped, a deletion goes full; a second sync is refused", async () => {
  using world = tempWorld();
  const { root, collection } = await _watchedWorld(world);
  const sync = _startSync(world, ["--debounce-ms", "300"]);
  try {
    await sync.waitFor(/watch: watching .*shows/);
    const rel = _copyEpisode(root, "Alpha Show", 1, 3);
    await _waitForRow(
      world.db,
      "SELECT 1 FROM assets WHERE collection_id = ? AND external_id = ? AND deleted_at IS NULL",
      collection,
      rel,
    );
    await sync.waitFor(/done: '.*' season 1 of 'Alpha Show': .*1 new/);
    const history = JSON.parse((await _ok(world, ["ingest", "history", "--json"])).stdout);
    const last = history.runs[0];
    assert.equal(last.scope, "season", JSON.stringify(history));
    assert.deepEqual(last.filters, { title: "Alpha Show", season: 1, episode: null });
    assert.equal(last.stats.new, 1);
    assert.equal(history.runs.length, 2, "the first full ingest and the watched one, no other");

    // CLI ingests run alongside a sync, as they run alongside each other.
    await _ok(world, ["collection", "ingest", collection, "--title", "Beta Show"]);

    // A rename stays season-scoped (the asset keeps its id); a deletion takes a full ingest.
    Deno.renameSync(join(root, rel), join(root, rel.replace(".mkv", " - Three.mkv")));
    await sync.waitFor(/done: '.*' season 1 of 'Alpha Show': .*1 rekeyed/);
    Deno.removeSync(join(root, "Beta Show/Season 01/Beta Show - S01E01.mkv"));
    await sync.waitFor(/done: '.*' full: .*1 removed/);
    const runs = JSON.parse((await _ok(world, ["ingest", "history", "--json"])).stdout).runs;
    assert.deepEqual(
      runs.slice(0, 2).map((r: { scope: string; stats: Record<string, number> }) =>
        `${r.scope} rekeyed ${r.stats.rekeyed} removed ${r.stats.removed}`
      ),
      ["collection rekeyed 0 removed 1", "season rekeyed 1 removed 0"],
    );

    // Only one sync per catalog: the second names the first.
    const second = await _cli(world, ["sync", "--once"]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(
        `^Error: another 'retrovue sync' is already running on this catalog \\(pid ${sync.pid}, started [^)]+\\).*\\n$`,
      ),
    );
    assert.equal(second.stderr.split("\n").length, 2, "one line");
    const status = JSON.parse((await _ok(world, ["sync", "status", "--json"])).stdout);
    assert.equal(status.running.pid, sync.pid);
  } finally {
    const end = await sync.stop("SIGTERM");
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /sync stopped\n$/);
  }
  const after = JSON.parse((await _ok(world, ["sync", "status", "--json"])).stdout);
  assert.equal(after.running, null, "the lock went with the process");
});

Deno.test("sync: a watched root that disappears removes nothing, and its return catches up; --listen-any warns", async () => {
  using world = tempWorld();
  const { root, collection } = await _watchedWorld(world);
  const live = () => {
    const db = new DatabaseSync(world.db, { readOnly: true });
    try {
      return Number(
        db.prepare(
          "SELECT COUNT(*) AS n FROM assets WHERE collection_id = ? AND deleted_at IS NULL",
        )
          .get(collection)!.n,
      );
    } finally {
      db.close();
    }
  };
  assert.equal(live(), 3);
  // Listening beyond loopback takes --listen-any, and warns.
  const sync = _startSync(world, ["--debounce-ms", "300", "--listen", "0.0.0.0:0", "--listen-any"]);
  try {
    await sync.waitFor(/webhooks: listening on http:\/\/0\.0\.0\.0:\d+\/hooks\/<source-id>/);
    await sync.waitFor(/watch: watching /);
    const away = `${root}-away`;
    Deno.renameSync(root, away);
    await sync.waitFor(/watch: root .*shows of '.*' is missing/);
    assert.equal(live(), 3, "nothing removed while the root is gone");
    _copyEpisode(away, "Beta Show", 1, 2);
    Deno.renameSync(away, root);
    await sync.waitFor(/watch: root .*shows of '.*' is back/);
    await sync.waitFor(/done: '.*' full: .*1 new/);
    assert.equal(live(), 4);
  } finally {
    const end = await sync.stop("SIGINT");
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stderr, /^Warning: sync listens on every interface \(0\.0\.0\.0:\d+\)/m);
  }
});

Deno.test("sync: SIGTERM mid-ingest cancels it, leaves the catalog unchanged and exits 0", async () => {
  using world = tempWorld();
  const state = world.writeJson("state.json", {
    collections: [{ externalId: "tv", name: "TV", kind: "shows" }],
    assets: {
      tv: [
        fakeEpisode("e1", { episode: 1, folder: "/tv" }),
        fakeEpisode("e2", { episode: 2, folder: "/tv" }),
      ],
    },
    hangAfter: { tv: 1 },
  });
  const add = ["source", "add", "--type", "fake", "--name", "Home", "--state-file", state];
  await _ok(world, [...add, "--discover"], FAKE_PLUGINS);
  await _ok(world, ["collection", "update", "TV", "--sync-enable"], FAKE_PLUGINS);
  await _ok(world, ["source", "update", "Home", "--sync-every", "6h"], FAKE_PLUGINS);
  const before = dumpDb(world.db);
  // In the foreground, --json makes each log line one JSON object.
  const sync = _startSync(world, ["--json"], FAKE_PLUGINS);
  await sync.waitFor(/ingest 'TV' \(c-[0-9a-f]+\) full: schedule/);
  // Give the importer time to send its first asset and hang (the test holds either way).
  await new Promise((r) => setTimeout(r, 1500));
  const end = await sync.stop("SIGTERM");
  assert.equal(end.code, 0, end.stderr);
  const events = end.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
  for (const e of events) assert.deepEqual(Object.keys(e), ["at", "message"]);
  assert.ok(events.some((e) => e.message === "cancelled: 'TV' full; nothing was written"));
  assert.equal(events.at(-1).message, "sync stopped");
  assert.equal(dumpDb(world.db), before, "the catalog is exactly as it was");
});

Deno.test("sync --once runs every due ingest once; a failing source backs off, sync status says so", async () => {
  using world = tempWorld();
  const mock = await startPlexMock({
    sections: [
      { type: "movie", title: "Films", movies: 4 },
      { type: "show", title: "TV Shows", shows: 2, seasonsPerShow: 2, episodesPerSeason: 3 },
    ],
  });
  try {
    const add = ["source", "add", "--type", "plex", "--name", "Home", "--base-url", mock.url];
    await _ok(world, [...add, "--token", mock.token, "--discover"]);
    await _ok(world, ["collection", "update", "Films", "--sync-enable"]);
    await _ok(world, ["collection", "update", "TV Shows", "--sync-enable"]);
    // Scheduled by the source's interval; none has run yet, so both are due.
    await _ok(world, ["source", "update", "Home", "--sync-every", "6h"]);
    mock.resetRequests();
    const once = JSON.parse((await _ok(world, ["sync", "--once", "--json"])).stdout);
    assert.equal(once.status, "ok");
    assert.deepEqual(
      once.ran.map((r: { collectionName: string; scope: string; result: string }) =>
        `${r.collectionName} ${r.scope} ${r.result}`
      ).sort(),
      ["Films collection ok", "TV Shows collection ok"],
    );
    const requests = mock.requestCount();
    assert.ok(requests > 0);
    const history = JSON.parse((await _ok(world, ["ingest", "history", "--json"])).stdout);
    assert.equal(history.runs.length, 2);

    // Nothing is due any more: a second --once asks the server nothing.
    const again = JSON.parse((await _ok(world, ["sync", "--once", "--json"])).stdout);
    assert.deepEqual(again.ran, []);
    assert.equal(mock.requestCount(), requests);
    const status = JSON.parse((await _ok(world, ["sync", "status", "--json"])).stdout);
    for (const c of status.collections) {
      assert.equal(c.lastResult, "ok");
      assert.equal(c.everySeconds, 21600);
      const ahead = Date.parse(c.nextDueAt) - Date.parse(c.lastFinishedAt);
      assert.ok(ahead >= 21600_000 && ahead <= (21600 + 300) * 1000, `${ahead}`);
    }

    // The server turns the token down: a changed interval makes Films due at once, it fails,
    // --once says so in its status and exit, and the retry waits one (1 s) interval.
    await _ok(world, ["collection", "update", "Films", "--sync-every", "1s"]);
    mock.setFault({ kind: "status", status: 401 });
    const failed = await _cli(world, ["sync", "--once", "--json"]);
    assert.equal(failed.code, 1, failed.stderr);
    const doc = JSON.parse(failed.stdout);
    assert.equal(doc.status, "error");
    assert.deepEqual(doc.ran.map((r: { collectionName: string }) => r.collectionName), ["Films"]);
    assert.equal(doc.ran[0].error.code, "AUTH_FAILED");
    const films = async () =>
      JSON.parse((await _ok(world, ["sync", "status", "--json"])).stdout)
        .collections.find((c: { collectionName: string }) => c.collectionName === "Films");
    let f = await films();
    assert.deepEqual([f.lastResult, f.failures], ["error", 1]);
    assert.equal(Date.parse(f.nextDueAt) - Date.parse(f.lastFinishedAt), 1000);

    // In the foreground each retry waits twice as long as the one before.
    const sync = _startSync(world, []);
    try {
      await sync.waitFor(/failed: 'Films' full: AUTH_FAILED: .*\(failure 3 in a row; next /);
    } finally {
      assert.equal((await sync.stop()).code, 0);
    }
    f = await films();
    assert.equal(f.lastResult, "error");
    assert.ok(f.failures >= 3, JSON.stringify(f));
    assert.match(f.lastError, /^AUTH_FAILED: /);
    assert.equal(
      Date.parse(f.nextDueAt) - Date.parse(f.lastFinishedAt),
      2 ** (f.failures - 1) * 1000,
      "the wait doubles with each failure",
    );
    assert.match(
      (await _ok(world, ["sync", "status"])).stdout,
      /Films .* 1s .* error: AUTH_FAILED/,
    );
    // TV Shows was never touched by the failures.
    const tv = JSON.parse((await _ok(world, ["sync", "status", "--json"])).stdout)
      .collections.find((c: { collectionName: string }) => c.collectionName === "TV Shows");
    assert.deepEqual([tv.lastResult, tv.failures], ["ok", 0]);

    // The server is back: the next retry succeeds and the failures reset.
    mock.setFault();
    const back = _startSync(world, []);
    try {
      await back.waitFor(/done: 'Films' full: /);
    } finally {
      assert.equal((await back.stop()).code, 0);
    }
    f = await films();
    assert.deepEqual([f.lastResult, f.failures, f.lastError], ["ok", 0, null]);
  } finally {
    await mock.close();
  }
});

Deno.test("sync: idle connections that exhaust the open-file limit fail the listener, which listens again", async () => {
  using world = tempWorld();
  const media = `${world.dir}/media`;
  Deno.mkdirSync(media);
  await _ok(world, [..."source add --type filesystem --name Disk --root".split(" "), `M=${media}`]);
  const sync = _startSync(world, ["--listen", "127.0.0.1:0"], "", { fdLimit: 128 });
  const conns: Deno.Conn[] = [];
  try {
    const port = Number((await sync.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
    // Each sends part of its request headers and waits: the listener holds a descriptor for each.
    const partial = new TextEncoder().encode("POST /hooks/x HTTP/1.1\r\nHost: x\r\n");
    for (let i = 0; i < 300; i++) {
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        await conn.write(partial);
        conns.push(conn);
      } catch {
        break; // Refused: the listener is down.
      }
    }
    await sync.waitFor(/webhooks: the listener failed \(.*\); it listens again in 5 s/);
    for (const conn of conns.splice(0)) conn.close();
    await sync.waitFor(/listening on http:[^\n]*\n[\s\S]*listening on http:\/\/127\.0\.0\.1:\d+/);
    const answer = await fetch(`http://127.0.0.1:${port}/hooks/nope`, { method: "POST" });
    await answer.body?.cancel();
    assert.equal(answer.status, 404, "the listener serves again, on its port");
  } finally {
    for (const conn of conns) conn.close();
    const end = await sync.stop();
    assert.equal(end.code, 0, end.fullStderr);
    assert.doesNotMatch(end.fullStderr, /Uncaught/);
  }
});
