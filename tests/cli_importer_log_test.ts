/**
 * Built-in importers log: with `RETROVUE_LOG=debug`, a Plex and a Jellyfin
 * ingest through the real CLI show each request (method, path without
 * secrets, status, time, retries) and each paging decision; without it they
 * print nothing. The secret never appears. Also unit checks of the line
 * helpers: credential-like query values and known secrets become `***`.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env --allow-net=127.0.0.1`.
 */

import assert from "node:assert/strict";
import { loggablePath, requestLine } from "../importers/shared/http.ts";
import { type CliResult, runCli, tempWorld } from "./_cli.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";
import { startPlexMock } from "./mocks/plex_server.ts";

function _ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

Deno.test("RETROVUE_LOG=debug shows Plex requests and paging, never the token", async () => {
  using world = tempWorld();
  const mock = await startPlexMock({
    sections: [{ type: "show", title: "TV", shows: 2, seasonsPerShow: 1, episodesPerSeason: 3 }],
  });
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { db: world.db, dataHome: world.dir, env });
  try {
    _ok(
      await cli([
        ...["source", "add", "--type", "plex", "--name", "Home", "--base-url", mock.url],
        ...["--token", mock.token, "--page-size", "4", "--discover"],
      ]),
      "add",
    );
    _ok(await cli(["collection", "update", "TV", "--sync-enable"]), "sync");
    // Hidden lines do not count against the per-call limit (one line here).
    const limit = { RETROVUE_MAX_LOG_LINES: "1" };
    const quiet = _ok(await cli(["collection", "ingest", "TV"], limit), "ingest");
    assert.doesNotMatch(quiet.stderr, /retrovue\.plugin/, "nothing at the default level");
    const capped = _ok(
      await cli(["collection", "ingest", "TV"], { ...limit, RETROVUE_LOG: "debug" }),
      "ingest",
    );
    assert.match(capped.stderr, /further log lines of this call are dropped \(limit 1 per call/);

    mock.setFault({ kind: "status", status: 503, path: "/all", page: 1, times: 1 });
    const r = _ok(await cli(["collection", "ingest", "TV"], { RETROVUE_LOG: "debug" }), "ingest");
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("debug retrovue.plugin.plex: "));
    const requests = lines.filter((l) => / GET \//.test(l));
    assert.ok(
      requests.some((l) =>
        /GET \/library\/sections\/\d+\/all\?[^ ]*type=4[^ ]* → 200 in \d+ ms$/.test(l)
      ),
      r.stderr,
    );
    assert.ok(
      requests.some((l) =>
        / → HTTP 503 UNREACHABLE in \d+ ms \(attempt 1; retrying in \d+ ms\)$/.test(l)
      ),
      r.stderr,
    );
    assert.ok(
      lines.some((l) => /page at 0: 4 item\(s\), total 6; next page at 4, fetched ahead$/.test(l)),
    );
    assert.ok(lines.some((l) => /page at 4: 2 item\(s\), total 6; last page$/.test(l)));
    assert.ok(
      lines.some((l) =>
        /listing Plex library 'TV': pass 1 read 2 page\(s\), 6 item\(s\), 6 distinct so far, total 6$/
          .test(l)
      ),
    );
    assert.ok(!r.stderr.includes(mock.token) && !r.stdout.includes(mock.token));
    assert.doesNotMatch(r.stderr, /X-Plex-Token|127\.0\.0\.1:\d+\/library/);
  } finally {
    await mock.close();
  }
});

Deno.test("RETROVUE_LOG=debug shows Jellyfin requests, never the key", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock();
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { db: world.db, dataHome: world.dir, env });
  try {
    const add = await cli(
      [
        ...["source", "add", "--type", "jellyfin", "--name", "Den", "--base-url", mock.url],
        ...["--api-key", mock.apiKey, "--discover"],
      ],
      { RETROVUE_LOG: "debug" },
    );
    _ok(add, "add");
    const lines = add.stderr.split("\n").filter((l) =>
      l.startsWith("debug retrovue.plugin.jellyfin: ")
    );
    assert.ok(
      lines.some((l) => /GET \/System\/Info(\/Public)? → 200 in \d+ ms$/.test(l)),
      add.stderr,
    );
    assert.ok(!add.stderr.includes(mock.apiKey));
  } finally {
    await mock.close();
  }
});

Deno.test("debug lines hide credential-like query values and known secrets", () => {
  const secret = "s3cr3t-T0ken/+=";
  const url = `http://h:1/a/${encodeURIComponent(secret)}/b?X-Plex-Token=${secret}&api_key=k&` +
    `type=4&note=${encodeURIComponent(secret)}`;
  const path = loggablePath(url, [secret]);
  assert.equal(path, "/a/***/b?X-Plex-Token=***&api_key=***&type=4&note=***");
  assert.equal(
    requestLine({ url, secrets: [secret] }, {
      status: 401,
      error: "AUTH_FAILED",
      ms: 3.4,
      attempt: 1,
    }),
    `GET ${path} → HTTP 401 AUTH_FAILED in 3 ms`,
  );
  assert.equal(
    requestLine({ url: "http://h/x", secrets: [] }, { error: "UNREACHABLE", ms: 10, attempt: 3 }),
    "GET /x → UNREACHABLE in 10 ms (attempt 3)",
  );
});
