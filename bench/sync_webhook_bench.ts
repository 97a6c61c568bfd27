/**
 * Webhook benchmark: what a Plex `library.new` for one episode costs, against
 * the full ingest a webhook saves, on a 100k-episode show library served by
 * the Plex mock in its own process.
 *
 * Setup: the real CLI adds the source, discovers it, enables the show
 * library and runs a first full ingest (so both measured runs find the
 * catalog current, as sync usually does). Each round then measures, in
 * alternating order:
 *
 * - webhook: a multipart Plex webhook through the real handler
 *   (`sync/webhooks.ts`, in this process) gives the sync request it
 *   enqueues — it must be season-scoped — and the real CLI runs exactly that
 *   ingest (`collection ingest C --title T --season S`);
 * - full: the real CLI's full ingest of the same collection.
 *
 * Both times are wall times of a CLI process (start-up and plugin host
 * included, the same for both), so the ratio understates what sync, which
 * runs ingests in its own process, saves. Requests are counted by the mock.
 * Figures are the median and min over rounds; the ratio is taken within
 * each round.
 *
 * Run: `deno task bench sync_webhook`, or
 * `deno run --no-prompt -A bench/sync_webhook_bench.ts [--rounds N] [--episodes N]`.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { openDatabase } from "../core/db.ts";
import type { SyncRequest } from "../sync/types.ts";
import { webhookHandler } from "../sync/webhooks.ts";
import { newWebhookSecret } from "../sync/webhook_secret.ts";
import { measureRun, type MockServer } from "./_http_bench.ts";
import { startPlexMock } from "./plex_bench.ts";
import { medianMin } from "./_stats.ts";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** Options for {@link runSyncWebhookBench}. */
export interface SyncWebhookBenchOptions {
  /** Episodes in the mock's show library (default 100 000). */
  episodes?: number;
  /** Rounds (default 3). */
  rounds?: number;
  /** Print the report (default true). */
  print?: boolean;
}

/** Median and min of one measured quantity. */
export interface MedianMin {
  /** Median over rounds. */
  median: number;
  /** Min over rounds. */
  min: number;
}

/** What {@link runSyncWebhookBench} measured. */
export interface SyncWebhookBenchResult {
  /** Episodes in the library. */
  episodes: number;
  /** Rounds run. */
  rounds: number;
  /** The webhook-triggered ingest: wall ms and requests. */
  webhook: { ms: MedianMin; requests: MedianMin };
  /** The full ingest: wall ms and requests. */
  full: { ms: MedianMin; requests: MedianMin };
  /** full ms ÷ webhook ms, per round. */
  ratio: MedianMin;
}

interface _World {
  dir: string;
  env: Record<string, string>;
  sourceId: string;
  collectionId: string;
  sectionKey: string;
  handle: (request: Request) => Promise<Response>;
  enqueued: SyncRequest[];
  secret: string;
  close: () => void;
}

/** Runs the benchmark and returns (and by default prints) what it measured. */
export async function runSyncWebhookBench(
  options: SyncWebhookBenchOptions = {},
): Promise<SyncWebhookBenchResult> {
  const episodes = options.episodes ?? 100_000;
  const rounds = options.rounds ?? 3;
  const mock = await startPlexMock(episodes);
  let world: _World | undefined;
  try {
    world = await _world(mock);
    const runs = { webhook: [] as _Run[], full: [] as _Run[] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      const order = r % 2 === 0 ? ["webhook", "full"] as const : ["full", "webhook"] as const;
      for (const kind of order) {
        runs[kind].push(
          await (kind === "webhook" ? _webhookRun(mock, world, r) : _fullRun(mock, world)),
        );
      }
    }
    const stat = (list: _Run[]) => ({
      ms: medianMin(list.map((x) => x.ms)),
      requests: medianMin(list.map((x) => x.requests)),
    });
    const result: SyncWebhookBenchResult = {
      episodes,
      rounds,
      webhook: stat(runs.webhook),
      full: stat(runs.full),
      ratio: medianMin(runs.full.map((f, i) => f.ms / runs.webhook[i].ms)),
    };
    if (options.print ?? true) _print(result);
    return result;
  } finally {
    world?.close();
    mock.child.kill();
    await mock.child.status;
  }
}

interface _Run {
  ms: number;
  requests: number;
}

/** A catalog with the mock as a Plex source, its show library sync-enabled and ingested once. */
async function _world(mock: MockServer): Promise<_World> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-webhook-bench-" });
  const env = {
    RETROVUE_DB: join(dir, "catalog.db"),
    XDG_DATA_HOME: join(dir, "data"),
    HOME: Deno.env.get("HOME") ?? dir,
    NODE_V8_COVERAGE: Deno.env.get("NODE_V8_COVERAGE") ?? "",
  };
  Deno.writeTextFileSync(join(dir, "token"), mock.info.token);
  await _cli(env, [
    "source",
    "add",
    "--type",
    "plex",
    "--name",
    "Plex",
    "--base-url",
    mock.url,
    "--token-file",
    join(dir, "token"),
    "--discover",
  ]);
  const list = JSON.parse(await _cli(env, ["collection", "list", "--json"]));
  const show =
    (list.collections as { id: string; kind: string; externalId: string; sourceId: string }[])
      .find((c) => c.kind === "shows")!;
  await _cli(env, ["collection", "update", show.id, "--sync-enable"]);
  await _cli(env, ["collection", "ingest", show.id]);

  const db = openDatabase(env.RETROVUE_DB, { create: false });
  const secret = newWebhookSecret(db, show.sourceId);
  const enqueued: SyncRequest[] = [];
  const handle = webhookHandler(db, {
    enqueue: (request) => enqueued.push(request),
    log: () => {},
  });
  return {
    dir,
    env,
    sourceId: show.sourceId,
    collectionId: show.id,
    sectionKey: show.externalId,
    secret,
    enqueued,
    handle: (request) => handle(request),
    close: () => {
      db.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** One webhook for an episode of the mock library, then the ingest it asked for. */
async function _webhookRun(mock: MockServer, world: _World, round: number): Promise<_Run> {
  // A different show each round; the mock's shows are "Show 00001"… with 10 seasons.
  const show = `Show ${String(round + 1).padStart(5, "0")}`;
  const season = (round % 10) + 1;
  const run = await measureRun(mock, async () => {
    const form = new FormData();
    form.append("payload", JSON.stringify(_plexEpisodeEvent(show, season, world.sectionKey)));
    world.enqueued.length = 0;
    const response = await world.handle(
      new Request(`http://127.0.0.1/hooks/${world.sourceId}?secret=${world.secret}`, {
        method: "POST",
        body: form,
      }),
    );
    await response.body?.cancel();
    const [request, ...more] = world.enqueued;
    if (response.status !== 202 || !request || more.length > 0) {
      throw new Error(
        `the webhook was answered ${response.status} with ${world.enqueued.length} requests`,
      );
    }
    const { title, season: s } = request.filters;
    if (title !== show || s !== season || request.filters.episode !== undefined) {
      throw new Error(`the webhook asked for ${JSON.stringify(request.filters)}, not one season`);
    }
    await _cli(world.env, [
      "collection",
      "ingest",
      request.collectionId,
      "--title",
      title,
      "--season",
      String(s),
    ]);
    return 0;
  });
  return { ms: run.ms, requests: run.requests };
}

async function _fullRun(mock: MockServer, world: _World): Promise<_Run> {
  const run = await measureRun(mock, async () => {
    await _cli(world.env, ["collection", "ingest", world.collectionId]);
    return 0;
  });
  return { ms: run.ms, requests: run.requests };
}

function _plexEpisodeEvent(show: string, season: number, sectionKey: string): unknown {
  return {
    event: "library.new",
    user: true,
    owner: true,
    Account: { id: 1, title: "owner" },
    Server: { title: "Bench PMS", uuid: "96f2fe7a78c9dc1f16a16bedbe90f98149be16b4" },
    Metadata: {
      librarySectionType: "show",
      librarySectionID: Number(sectionKey),
      type: "episode",
      title: "New Episode",
      grandparentTitle: show,
      parentTitle: `Season ${season}`,
      parentIndex: season,
      index: 3,
      addedAt: 1700000000,
    },
  };
}

async function _cli(env: Record<string, string>, args: string[]): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), MAIN, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`retrovue ${args.join(" ")} failed (exit ${out.code}): ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function _print(r: SyncWebhookBenchResult): void {
  const row = (label: string, x: { ms: MedianMin; requests: MedianMin }) =>
    `  ${label.padEnd(30)} ${x.ms.median.toFixed(0).padStart(7)} ${
      x.ms.min.toFixed(0).padStart(7)
    }` +
    `  ${String(x.requests.median).padStart(8)} ${String(x.requests.min).padStart(8)}`;
  console.log(
    `sync webhook: Plex library.new for one episode vs a full ingest, ${r.episodes} episodes, ` +
      `${r.rounds} interleaved rounds (CLI wall time, start-up included)`,
  );
  console.log(
    `  ${"".padEnd(30)} ${"med ms".padStart(7)} ${"min ms".padStart(7)}  ${"med req".padStart(8)} ${
      "min req".padStart(8)
    }`,
  );
  console.log(row("webhook → season ingest", r.webhook));
  console.log(row("full ingest", r.full));
  console.log(
    `  full ÷ webhook time: median ${r.ratio.median.toFixed(1)}, min ${r.ratio.min.toFixed(1)}; ` +
      `requests ${r.full.requests.median} vs ${r.webhook.requests.median}`,
  );
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { rounds: { type: "string" }, episodes: { type: "string" } },
  });
  await runSyncWebhookBench({
    rounds: values.rounds === undefined ? undefined : Number(values.rounds),
    episodes: values.episodes === undefined ? undefined : Number(values.episodes),
  });
}
