/**
 * End to end: the real `retrovue sync --listen` process (the `retrovue`
 * task's permissions, a temporary catalog) against the Plex and Jellyfin
 * mocks, with webhooks posted as the servers post them.
 *
 * - Plex: a webhook with a bad secret is refused and changes nothing; one
 *   for a new episode, with the source's secret, becomes a season-scoped
 *   ingest that brings the episode in with a handful of requests.
 * - Jellyfin: an added episode reaches every sync-enabled show collection
 *   (the payload names no library): the one holding the show ingests the
 *   season, the other finds nothing and sync logs a no-op; a deleted
 *   episode becomes a full ingest, which removes it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  cliEnv,
  type CliResult,
  dumpDb,
  MAIN_TS,
  REPO_ROOT,
  retrovueTaskFlags,
  runCli,
  type TempWorld,
  tempWorld,
} from "./_cli.ts";
import { startJellyfinMock } from "./mocks/jellyfin_server.ts";
import { startPlexMock } from "./mocks/plex_server.ts";
import {
  jellyfinEpisode,
  jellyfinPayload,
  plexEpisode,
  plexPayload,
} from "./_sync_webhook_payloads.ts";

/** Most requests a one-episode webhook's ingest may make (issue 20). */
const MAX_WEBHOOK_REQUESTS = 5;

interface _Collection {
  id: string;
  name: string;
  externalId: string;
  sourceId: string;
}

function _cli(world: TempWorld, args: string[]): Promise<CliResult> {
  return runCli(args, { db: world.db, dataHome: world.dir });
}

async function _ok(world: TempWorld, args: string[]): Promise<CliResult> {
  const r = await _cli(world, args);
  assert.equal(r.code, 0, `${args.join(" ")} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r;
}

async function _collection(world: TempWorld, name: string): Promise<_Collection> {
  const list = JSON.parse((await _ok(world, ["collection", "list", "--json"])).stdout);
  return (list.collections as _Collection[]).find((c) => c.name === name)!;
}

/** Sets the source's webhook secret through the CLI and returns it. */
async function _newSecret(world: TempWorld, source: string): Promise<string> {
  const r = await _ok(world, ["source", "update", source, "--webhook-secret", "new", "--json"]);
  const secret: string = JSON.parse(r.stdout).webhookSecret;
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  return secret;
}

/** Polls `probe` every 100 ms until it returns a value, failing after `seconds`. */
async function _until<T>(
  what: string,
  seconds: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what} after ${seconds} s`);
}

/** Applied runs per collection id, read from the catalog file. */
function _runs(db: string): Map<string, number> {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    const rows = conn.prepare(
      "SELECT collection_id AS c, COUNT(*) AS n FROM ingest_runs GROUP BY collection_id",
    ).all() as { c: string; n: number }[];
    return new Map(rows.map((r) => [r.c, Number(r.n)]));
  } finally {
    conn.close();
  }
}

/** The newest run of a collection, as `ingest history --json` reports it. */
async function _lastRun(world: TempWorld, collection: string) {
  const doc = JSON.parse((await _ok(world, ["ingest", "history", collection, "--json"])).stdout);
  return (doc.runs as {
    id: number;
    scope: string;
    filters: unknown;
    stats: Record<string, number>;
  }[])
    .reduce((a, b) => (b.id > a.id ? b : a));
}

/** A running `sync --listen` and what it printed so far. */
interface _Sync {
  /** The hook URL of a source. */
  hook(sourceId: string): string;
  /** stdout and stderr so far. */
  output(): string;
  /** Waits until the output matches `pattern`. */
  waitFor(pattern: RegExp, seconds?: number): Promise<void>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number>;
  /** Kills it if still running. */
  [Symbol.asyncDispose](): Promise<void>;
}

async function _startSync(world: TempWorld): Promise<_Sync> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...retrovueTaskFlags(),
      MAIN_TS,
      ...["--db", world.db, "sync", "--listen", `127.0.0.1:${port}`],
    ],
    cwd: REPO_ROOT,
    env: cliEnv({ dataHome: world.dir }),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drained = [child.stdout, child.stderr].map((stream) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (text += chunk) }),
    ).catch(() => {})
  );
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const sync: _Sync = {
    hook: (sourceId) => `http://127.0.0.1:${port}/hooks/${sourceId}`,
    output: () => text,
    waitFor: async (pattern, seconds = 60) => {
      await _until(`${pattern} in sync's output:\n${text}`, seconds, () => {
        if (exited) throw new Error(`sync exited early:\n${text}`);
        return pattern.test(text) || undefined;
      });
    },
    stop: async () => {
      child.kill("SIGTERM");
      const { code } = await status;
      await Promise.all(drained);
      return code;
    },
    async [Symbol.asyncDispose]() {
      if (!exited) {
        child.kill("SIGKILL");
        await status;
      }
      await Promise.all(drained);
    },
  };
  await sync.waitFor(/webhooks: listening on/, 30);
  return sync;
}

async function _post(url: string, body: BodyInit, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: "POST", body, headers });
  await response.body?.cancel();
  return response.status;
}

Deno.test("sync --listen: a Plex episode webhook → one season-scoped ingest; a bad secret → 401, nothing changes", async () => {
  using world = tempWorld();
  const mock = await startPlexMock({
    sections: [
      { type: "movie", title: "Films", movies: 3 },
      { type: "show", title: "TV Shows", shows: 2, seasonsPerShow: 2, episodesPerSeason: 3 },
    ],
  });
  try {
    await _ok(world, [
      ...["source", "add", "--type", "plex", "--name", "Home", "--base-url", mock.url],
      ...["--token", mock.token, "--discover"],
    ]);
    await _ok(world, ["collection", "update", "TV Shows", "--sync-enable"]);
    await _ok(world, ["collection", "ingest", "TV Shows"]);
    const secret = await _newSecret(world, "Home");
    const tv = await _collection(world, "TV Shows");

    // A new episode upstream: Show 00001, season 2, episode 4.
    const section = mock.sections.find((s) => s.key === tv.externalId)!;
    const season = section.shows[0].seasons.find((s) => s.index === 2)!;
    season.episodes.push({
      ...season.episodes.at(-1)!,
      ratingKey: "990001",
      guid: "plex://episode/0000000000000000000e2e01",
      title: "Arrived by Webhook",
      index: 4,
      externalIds: { tvdb: "990001" },
      media: [[{
        file: `${section.locations[0]}/Show 00001/Season 02/Show 00001 - S02E04.mkv`,
        size: 4_000_000,
      }]],
    });

    await using sync = await _startSync(world);
    const event = () => {
      const form = new FormData();
      form.append(
        "payload",
        JSON.stringify(plexPayload("library.new", {
          ...plexEpisode(),
          librarySectionID: Number(tv.externalId),
          grandparentTitle: "Show 00001",
          parentIndex: 2,
          index: 4,
          title: "Arrived by Webhook",
        })),
      );
      form.append("thumb", new File([new Uint8Array(256)], "thumb.jpg", { type: "image/jpeg" }));
      return form;
    };
    const hook = sync.hook(tv.sourceId);

    // A bad secret: refused, and nothing reaches the server or the catalog.
    const before = dumpDb(world.db);
    mock.resetRequests();
    assert.equal(await _post(`${hook}?secret=${secret.slice(0, -2)}xx`, event()), 401);
    await sync.waitFor(/401 a wrong secret/);
    assert.equal(mock.requestCount(), 0, "a refused webhook makes no request upstream");
    assert.equal(dumpDb(world.db), before, "a refused webhook changes nothing");

    // The right secret: one season-scoped ingest with few requests.
    const runsBefore = _runs(world.db).get(tv.id) ?? 0;
    mock.resetRequests();
    assert.equal(await _post(`${hook}?secret=${secret}`, event()), 202);
    await sync.waitFor(/done: 'TV Shows'/);
    const requests = mock.requestCount();
    assert.ok(
      requests <= MAX_WEBHOOK_REQUESTS,
      `the webhook's ingest made ${requests} requests: ${mock.requests.map((r) => r.path)}`,
    );
    assert.ok(!mock.requests.some((r) => /type=4/.test(r.url)), "no full listing");

    assert.equal(_runs(world.db).get(tv.id), runsBefore + 1, "exactly one run more");
    const run = await _lastRun(world, "TV Shows");
    assert.equal(run.scope, "season");
    assert.deepEqual(run.filters, { title: "Show 00001", season: 2, episode: null });
    assert.equal(run.stats.new, 1, "the new episode came in");

    assert.equal(await sync.stop(), 0, sync.output());
    const logs = sync.output();
    assert.match(logs, /plex library\.new: episode 'Show 00001' S02E04 → season 'Show 00001' S02/);
    assert.ok(!logs.includes(secret), "the secret is never logged");
    assert.ok(!logs.includes(mock.token), "the token is never logged");
  } finally {
    await mock.close();
  }
});

Deno.test("sync --listen: Jellyfin ItemAdded reaches every show collection; ItemDeleted → a full ingest that removes", async () => {
  using world = tempWorld();
  const mock = await startJellyfinMock({
    libraries: [
      {
        name: "Shows",
        collectionType: "tvshows",
        series: 2,
        seasonsPerSeries: 2,
        episodesPerSeason: 3,
      },
      {
        name: "Kids",
        collectionType: "tvshows",
        series: [{ name: "Kid Show", seasons: { 1: 2 } }],
      },
    ],
  });
  try {
    await _ok(world, [
      ...["source", "add", "--type", "jellyfin", "--name", "Den", "--base-url", mock.url],
      ...["--api-key", mock.apiKey, "--discover"],
    ]);
    for (const name of ["Shows", "Kids"]) {
      await _ok(world, ["collection", "update", name, "--sync-enable"]);
      await _ok(world, ["collection", "ingest", name]);
    }
    const secret = await _newSecret(world, "Den");
    const shows = await _collection(world, "Shows");
    const kids = await _collection(world, "Kids");

    // A new episode upstream: Series 00001, season 2, episode 4.
    const series = mock.nodes.find((n) => n.type === "Series" && n.name === "Series 00001")!;
    const seasonTwo = mock.nodes.filter((n) =>
      n.type === "Episode" && n.seriesId === series.id && n.parentIndex === 2
    );
    const last = seasonTwo.at(-1)!;
    mock.nodes.push({
      ...last,
      id: "000000000000000000000000e2e00001",
      name: "Arrived by Webhook",
      index: 4,
      order: Math.max(...mock.nodes.map((n) => n.order)) + 1,
      path: last.path!.replace(/E03/, "E04"),
      providerIds: { Tvdb: "990001" },
      etag: "e2e00001e2e00001e2e00001e2e00001",
    });
    mock.changed();

    await using sync = await _startSync(world);
    const hook = sync.hook(shows.sourceId);
    const headers = { "content-type": "application/json", "X-Retrovue-Secret": secret };
    const before = _runs(world.db);

    const added = jellyfinPayload(
      "ItemAdded",
      jellyfinEpisode({ Name: "Arrived by Webhook", SeriesName: "Series 00001", ItemId: "x" }),
    );
    Object.assign(added, { SeasonNumber: 2, EpisodeNumber: 4 });
    assert.equal(await _post(hook, JSON.stringify(added), headers), 202);
    await sync.waitFor(/done: 'Shows'/);
    await sync.waitFor(/nothing to ingest: 'Kids'/);
    assert.equal(_runs(world.db).get(shows.id), (before.get(shows.id) ?? 0) + 1);
    assert.equal(_runs(world.db).get(kids.id), before.get(kids.id), "no run for a no-op");
    const season = await _lastRun(world, "Shows");
    assert.equal(season.scope, "season");
    assert.deepEqual(season.filters, { title: "Series 00001", season: 2, episode: null });
    assert.equal(season.stats.new, 1);

    // The new episode goes again upstream; only a full ingest can remove it.
    mock.nodes.splice(mock.nodes.findIndex((n) => n.id === "000000000000000000000000e2e00001"), 1);
    mock.changed();
    const deleted = jellyfinPayload("ItemDeleted", {
      Name: "Arrived by Webhook",
      ItemType: "Episode",
      SeriesName: "Series 00001",
      SeasonNumber: 2,
      EpisodeNumber: 4,
    });
    assert.equal(await _post(hook, JSON.stringify(deleted), headers), 202);
    await _until(
      "the deletion's full ingest",
      60,
      () => (_runs(world.db).get(shows.id) ?? 0) >= (before.get(shows.id) ?? 0) + 2 || undefined,
    );
    const full = await _lastRun(world, "Shows");
    assert.equal(full.scope, "collection");
    assert.equal(full.stats.removed, 1, "the deleted episode is gone");

    assert.equal(await sync.stop(), 0, sync.output());
    assert.ok(!sync.output().includes(secret), "the secret is never logged");
  } finally {
    await mock.close();
  }
});
