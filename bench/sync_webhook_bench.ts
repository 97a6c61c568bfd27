/**
 * Webhook benchmark: what a Plex `library.new` for one episode costs in
 * requests and time, against a full ingest of the same library in the same
 * run, on a 100k-episode show library served by the Plex mock in its own
 * process.
 *
 * Setup: the real CLI adds the source, discovers it, enables the show
 * library, runs a first full ingest (so every measured ingest finds the
 * catalog current, as sync usually does) and sets a webhook secret; then the
 * real `retrovue sync --listen` runs for the whole benchmark. Each round
 * posts, in alternating order:
 *
 * - webhook: a multipart Plex `library.new` for one episode (a different
 *   show and season each round), which sync turns into a season-scoped
 *   ingest;
 * - full: a `library.new` for an episode that names no show, which sync can
 *   only answer with a full ingest of the library — the ingest a webhook
 *   saves, run by the same process along the same path.
 *
 * Each is timed from the POST to sync's `done:` line for it, and its
 * requests are counted by the mock. Figures are the median and min over
 * rounds; the time ratio is taken within each round.
 *
 * Run: `deno run --no-prompt -A bench/sync_webhook_bench.ts [--rounds N] [--episodes N]`.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
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

/** One kind of ingest, measured over the rounds. */
export interface WebhookIngestStats {
  /** Milliseconds from the POST to sync's `done:` line. */
  ms: MedianMin;
  /** Requests the mock answered meanwhile. */
  requests: MedianMin;
}

/** What {@link runSyncWebhookBench} measured. */
export interface SyncWebhookBenchResult {
  /** Episodes in the library. */
  episodes: number;
  /** Rounds run. */
  rounds: number;
  /** The season-scoped ingest a one-episode webhook asks for. */
  webhook: WebhookIngestStats;
  /** The full ingest of the library. */
  full: WebhookIngestStats;
  /** full ms ÷ webhook ms, per round. */
  ratio: MedianMin;
}

/** Runs the benchmark and returns (and by default prints) what it measured. */
export async function runSyncWebhookBench(
  options: SyncWebhookBenchOptions = {},
): Promise<SyncWebhookBenchResult> {
  const episodes = options.episodes ?? 100_000;
  const rounds = options.rounds ?? 3;
  const mock = await startPlexMock(episodes);
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-webhook-bench-" });
  let sync: _Sync | undefined;
  try {
    const setup = await _setup(mock, dir);
    sync = await _startSync(setup.env);
    const hook = `${sync.url}/hooks/${setup.sourceId}?secret=${setup.secret}`;
    const runs = { webhook: [] as _Run[], full: [] as _Run[] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so neither always runs on a warmer machine.
      const order = r % 2 === 0 ? ["webhook", "full"] as const : ["full", "webhook"] as const;
      for (const kind of order) {
        // Shows are "Show 00001"… with 10 seasons of 25 episodes (tests/mocks/plex_server.ts).
        const metadata = kind === "webhook"
          ? {
            grandparentTitle: `Show ${String(r + 1).padStart(5, "0")}`,
            parentIndex: (r % 10) + 1,
            index: 3,
          }
          : {};
        const expected = kind === "webhook"
          ? /^done: 'TV Shows' season /m
          : /^done: 'TV Shows' full/m;
        runs[kind].push(
          await _timed(mock, sync, () => _post(hook, setup.sectionKey, metadata), expected),
        );
      }
    }
    const stat = (list: _Run[]): WebhookIngestStats => ({
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
    await sync?.stop();
    mock.child.kill();
    await mock.child.status;
    Deno.removeSync(dir, { recursive: true });
  }
}

interface _Run {
  ms: number;
  requests: number;
}

/** A catalog with the mock as a Plex source: discovered, show library sync-enabled and ingested, a secret set. */
async function _setup(mock: MockServer, dir: string) {
  const env = {
    RETROVUE_DB: join(dir, "catalog.db"),
    XDG_DATA_HOME: join(dir, "data"),
    HOME: Deno.env.get("HOME") ?? dir,
    NODE_V8_COVERAGE: Deno.env.get("NODE_V8_COVERAGE") ?? "",
  };
  Deno.writeTextFileSync(join(dir, "token"), mock.info.token);
  await _cli(env, [
    ...["source", "add", "--type", "plex", "--name", "Plex", "--base-url", mock.url],
    ...["--token-file", join(dir, "token"), "--discover"],
  ]);
  const list = JSON.parse(await _cli(env, ["collection", "list", "--json"]));
  const show =
    (list.collections as { id: string; kind: string; externalId: string; sourceId: string }[])
      .find((c) => c.kind === "shows")!;
  await _cli(env, ["collection", "update", show.id, "--sync-enable"]);
  await _cli(env, ["collection", "ingest", show.id]);
  const secret = JSON.parse(
    await _cli(env, ["source", "update", "Plex", "--webhook-secret", "new", "--json"]),
  ).webhookSecret as string;
  return { env, secret, sourceId: show.sourceId, sectionKey: show.externalId };
}

/** Posts a Plex `library.new` for an episode with `metadata` (no show title: the whole library). */
async function _post(hook: string, sectionKey: string, metadata: Record<string, unknown>) {
  const form = new FormData();
  form.append(
    "payload",
    JSON.stringify({
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
        addedAt: 1700000000,
        ...metadata,
      },
    }),
  );
  const response = await fetch(hook, { method: "POST", body: form });
  await response.body?.cancel();
  if (response.status !== 202) throw new Error(`the webhook was answered ${response.status}`);
}

/** Times `post` until sync prints one more line matching `done`, counting the mock's requests. */
async function _timed(
  mock: MockServer,
  sync: _Sync,
  post: () => Promise<void>,
  done: RegExp,
): Promise<_Run> {
  const run = await measureRun(mock, async () => {
    const seen = sync.count(done);
    await post();
    await sync.until(() => sync.count(done) > seen);
    return 0;
  });
  return { ms: run.ms, requests: run.requests };
}

interface _Sync {
  url: string;
  count(pattern: RegExp): number;
  until(ready: () => boolean): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `retrovue sync --listen` on a free loopback port and waits for it to listen. */
async function _startSync(env: Record<string, string>): Promise<_Sync> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), MAIN, "sync", "--listen", `127.0.0.1:${port}`],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  let exited = false;
  const drained = [child.stdout, child.stderr].map((stream) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (chunk) => void (text += chunk) }),
    ).catch(() => {})
  );
  const status = child.status.then(() => void (exited = true));
  // Each log line starts with its time; drop it so patterns can anchor on the action.
  const lines = () => text.replace(/^\S+ /gm, "");
  const sync: _Sync = {
    url: `http://127.0.0.1:${port}`,
    count: (pattern) => lines().match(new RegExp(pattern.source, "gm"))?.length ?? 0,
    until: async (ready) => {
      while (!ready()) {
        if (exited) throw new Error(`sync exited:\n${text}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop: async () => {
      if (!exited) child.kill("SIGTERM");
      await status;
      await Promise.all(drained);
    },
  };
  await sync.until(() => /webhooks: listening on/.test(text));
  return sync;
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
  const row = (label: string, x: WebhookIngestStats) =>
    `  ${label.padEnd(28)} ${x.ms.median.toFixed(0).padStart(7)} ${
      x.ms.min.toFixed(0).padStart(7)
    }` +
    `  ${String(x.requests.median).padStart(8)} ${String(x.requests.min).padStart(8)}`;
  console.log(
    `sync webhook: Plex library.new for one episode vs a full ingest, in one 'sync --listen', ` +
      `${r.episodes} episodes, ${r.rounds} interleaved rounds (POST → done)`,
  );
  console.log(
    `  ${"".padEnd(28)} ${"med ms".padStart(7)} ${"min ms".padStart(7)}  ${"med req".padStart(8)} ${
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
