/**
 * A benchmark helper process: the plugin side of an ingest alone. It loads
 * the registry as the CLI does (built-in importers, the manifest cache under
 * `$HOME/.cache/retrovue`, OS isolation when the machine has it), opens one
 * importer, streams one collection's assets out of the sandbox (each frame
 * parsed into objects, as the CLI receives them) and drops them: no
 * validation, no catalog. What a `collection ingest` takes beyond this run
 * is the ingest's own work; what this run takes beyond the benchmark's floor
 * (`find`, or fetch+parse) is the sandbox's.
 *
 * Run with the CLI's task flags: `deno run <flags> bench/_drain.ts SPEC`,
 * where `SPEC` is a JSON file `{ type, config, collection }` (a file, so a
 * token in the config is on no command line). Prints one JSON line:
 * `{ "assets", "openMs", "streamMs" }` (registry load and open; the stream).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import type { CollectionRef, ImporterConfig } from "../core/contract.ts";
import { loadRegistry } from "../registry/mod.ts";

/** What {@link drain} streams: an importer type, its config and one of its collections. */
export interface DrainSpec {
  /** The importer type id (`filesystem`, `plex`…). */
  type: string;
  /** The source's config, keyed by param name. */
  config: ImporterConfig;
  /** The collection to stream, whole. */
  collection: CollectionRef;
}

/** What one drain measured. */
export interface DrainResult {
  /** Assets streamed. */
  assets: number;
  /** Loading the registry and opening the importer, in milliseconds. */
  openMs: number;
  /** Streaming every batch, in milliseconds. */
  streamMs: number;
}

/** Streams `spec`'s collection out of a sandboxed importer and drops it; see the module doc. */
export async function drain(spec: DrainSpec, cacheDir?: string): Promise<DrainResult> {
  const started = performance.now();
  const registry = await loadRegistry({ cacheDir });
  try {
    const client = await registry.open(spec.type, spec.config);
    const opened = performance.now();
    let assets = 0;
    for await (const batch of client.fetchAssets({ collection: spec.collection, filters: {} })) {
      assets += batch.length;
    }
    return { assets, openMs: opened - started, streamMs: performance.now() - opened };
  } finally {
    await registry.close();
  }
}

/**
 * Runs {@link drain} as its own process with the CLI's task flags, as a
 * `collection ingest` runs, and times the whole process (start-up included,
 * like the CLI rows it is set beside). `env` is added to this process's.
 */
export async function runDrain(
  spec: DrainSpec,
  env: Record<string, string> = {},
): Promise<DrainResult & { ms: number }> {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-drain-" });
  try {
    const file = join(dir, "spec.json");
    Deno.writeTextFileSync(file, JSON.stringify(spec), { mode: 0o600 });
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...retrovueTaskFlags(), fileURLToPath(import.meta.url), file],
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const ms = performance.now() - started;
    if (!out.success) {
      throw new Error(`drain failed: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
    return { ms, ...JSON.parse(new TextDecoder().decode(out.stdout)) as DrainResult };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const spec = JSON.parse(Deno.readTextFileSync(Deno.args[0])) as DrainSpec;
  const home = Deno.env.get("HOME");
  const result = await drain(spec, home ? join(home, ".cache", "retrovue") : undefined);
  console.log(JSON.stringify(result));
}
