/**
 * The HTTP example importer (`examples/http_importer/http_catalog.ts`)
 * against its mock catalog: called directly (paging, filters as query
 * parameters, typed errors), then through `importer check` in its sandbox.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env --allow-net=127.0.0.1`.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { AssetFilters, CallContext, ImportedAsset, ImporterConfig } from "../core/contract.ts";
import { COMMANDS } from "../cli/commands.ts";
import { commands as importerCommands } from "../cli/importer_commands.ts";
import { main } from "../main.ts";
import type { CheckReport } from "../kit/mod.ts";
import importer from "../examples/http_importer/http_catalog.ts";
import { type MockCatalog, startMockCatalog } from "../examples/http_importer/_mock_server.ts";

const MODULE = fileURLToPath(new URL("../examples/http_importer/http_catalog.ts", import.meta.url));

interface Recorded extends CallContext {
  skips: [string, string][];
  totals: number[];
}

function _context(): Recorded {
  const skips: [string, string][] = [];
  const totals: number[] = [];
  return {
    signal: new AbortController().signal,
    warn() {},
    skipped: (item, reason) => skips.push([item, reason]),
    total: (count) => totals.push(count),
    skips,
    totals,
  };
}

function _config(mock: MockCatalog, extra: ImporterConfig = {}): ImporterConfig {
  return { base_url: mock.url, api_key: mock.apiKey, page_size: 50, ...extra };
}

async function _fetch(
  config: ImporterConfig,
  options: { library: string; filters?: AssetFilters; context?: Recorded },
): Promise<ImportedAsset[]> {
  const context = options.context ?? _context();
  const collection = { externalId: options.library, kind: "shows" as const, name: "x" };
  const out: ImportedAsset[] = [];
  const request = { ...context, collection, filters: options.filters ?? {} };
  for await (const item of importer.fetchAssets(config, request)) out.push(...[item].flat());
  return out;
}

async function _withMock(fn: (mock: MockCatalog) => Promise<void>): Promise<void> {
  const mock = startMockCatalog();
  try {
    await fn(mock);
  } finally {
    await mock.close();
  }
}

Deno.test("http example: pages until the server says there is no more, in a stable order", () =>
  _withMock(async (mock) => {
    const whole = await _fetch(_config(mock), { library: "lib-shows" });
    assert.equal(whole.length, 7);
    mock.requests.length = 0;
    const context = _context();
    const paged = await _fetch(_config(mock, { page_size: 2 }), { library: "lib-shows", context });
    assert.deepEqual(paged, whole, "small pages give the same assets in the same order");
    const pages = mock.requests.map((r) => new URL(r, mock.url).searchParams.get("page"));
    assert.deepEqual(pages, ["1", "2", "3", "4"]);
    assert.deepEqual(context.totals, [7]);
    assert.deepEqual(whole[0], {
      externalId: "tz-101",
      kind: "episode",
      title: "Where",
      seriesTitle: "The Twilight Zone",
      season: 1,
      episode: 1,
      durationMs: 1_500_000,
      path: "/tv/tz-101.mkv",
    });
  }));

Deno.test("http example: filters travel as query parameters and narrow exactly", () =>
  _withMock(async (mock) => {
    const got = await _fetch(_config(mock), {
      library: "lib-shows",
      filters: { title: "the twilight zone", season: 2 },
    });
    assert.deepEqual(got.map((a) => a.externalId), ["tz-201", "tz-202"]);
    const query = new URL(mock.requests.at(-1)!, mock.url).searchParams;
    assert.equal(query.get("title"), "the twilight zone");
    assert.equal(query.get("season"), "2");
    assert.equal(query.get("episode"), null);
  }));

Deno.test("http example: a library that is not video is listed, not ingestible, with a reason", () =>
  _withMock(async (mock) => {
    const list = await importer.listCollections(_config(mock), _context());
    assert.deepEqual(list.map((c) => [c.externalId, c.kind, c.ingestible ?? true]), [
      ["lib-movies", "movies", true],
      ["lib-shows", "shows", true],
      ["lib-music", "other", false],
    ]);
    assert.match(list[2].reason ?? "", /'music' library/);
  }));

Deno.test("http example: each way the server fails is a typed error", () =>
  _withMock(async (mock) => {
    await assert.rejects(
      importer.validateConnection(_config(mock, { api_key: "wrong" }), _context()),
      { code: "AUTH_FAILED" },
    );
    await assert.rejects(_fetch(_config(mock), { library: "nope" }), {
      code: "COLLECTION_NOT_FOUND",
    });
    mock.failNext(503);
    await assert.rejects(importer.listCollections(_config(mock), _context()), {
      code: "UNREACHABLE",
      retryable: true,
    });
    const closed = startMockCatalog();
    const url = closed.url;
    await closed.close();
    await assert.rejects(
      importer.validateConnection({ ..._config(mock), base_url: url }, _context()),
      { code: "UNREACHABLE", retryable: true },
    );
  }));

/** The real command table once `importer` is wired in, else it plus the kit's commands. */
const TABLE = COMMANDS.some((c) => c.path[0] === "importer")
  ? COMMANDS
  : [...COMMANDS, ...importerCommands];

Deno.test("http example: importer check passes against the mock, auth_failed included", () =>
  _withMock(async (mock) => {
    let stdout = "";
    let stderr = "";
    const code = await main([
      "importer",
      "check",
      MODULE,
      "--base-url",
      mock.url,
      "--api-key",
      mock.apiKey,
      "--json",
    ], {
      env: { NO_COLOR: "1", RETROVUE_PLUGIN_PATH: "" },
      stdout: { write: (t) => void (stdout += t) },
      stderr: { write: (t) => void (stderr += t) },
      isTerminal: false,
      stdinIsTerminal: false,
      cwd: Deno.cwd(),
      now: () => new Date("2024-01-01T00:00:00Z"),
      readLine: () => Promise.resolve(null),
      signal: new AbortController().signal,
    }, { commands: TABLE });
    const report = JSON.parse(stdout) as CheckReport;
    assert.equal(code, 0, `${stderr}${stdout}`);
    const statuses = Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
    assert.equal(statuses.auth_failed, "pass");
    for (const name of ["filter_title", "filter_season", "filter_episode", "sandbox"]) {
      assert.equal(statuses[name], "pass", name);
    }
    assert.ok(!stdout.includes(mock.apiKey), "the API key never appears in the report");
  }));
