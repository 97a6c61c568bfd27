/**
 * Runs every benchmark in turn: `deno task bench`. Each prints its figures
 * next to a floor measured in the same run, as ratios; nothing is asserted.
 * The task runs with `-A`: the scale and transfer benchmarks read Linux
 * `/proc` for the process tree's memory and CPU, which Deno lets only
 * `--allow-all` read (without it they print `n/a` for those columns).
 *
 * @module
 */

import { runRegistryBench } from "./registry_bench.ts";
import { runIngestBench } from "./ingest_bench.ts";
import { runFilesystemBench } from "./filesystem_bench.ts";
import { runPlexBench } from "./plex_bench.ts";
import { runJellyfinBench } from "./jellyfin_bench.ts";
import { runIsolationBench } from "./isolation_bench.ts";
import { runStartupBench } from "./startup_bench.ts";
import { runScaleBench } from "./scale_bench.ts";
import { runTransferBench } from "./transfer_bench.ts";
import { runEnrichBench } from "./enrich_bench.ts";
import { runSyncWatchBench } from "./sync_watch_bench.ts";
import { runSyncWebhookBench } from "./sync_webhook_bench.ts";

const BENCHES: Record<string, () => Promise<unknown>> = {
  registry: runRegistryBench,
  ingest: runIngestBench,
  filesystem: runFilesystemBench,
  plex: runPlexBench,
  jellyfin: runJellyfinBench,
  isolation: runIsolationBench,
  startup: () => runStartupBench(),
  scale: () => runScaleBench(),
  transfer: () => runTransferBench(),
  enrich: () => runEnrichBench(),
  "sync-watch": () => runSyncWatchBench(),
  "sync-webhook": () => runSyncWebhookBench(),
};

const only = Deno.args.length ? Deno.args : Object.keys(BENCHES);
for (const name of only) {
  const run = BENCHES[name];
  if (!run) {
    console.error(`Error: unknown benchmark '${name}' (have: ${Object.keys(BENCHES).join(", ")})`);
    Deno.exit(1);
  }
  await run();
  console.log();
}
