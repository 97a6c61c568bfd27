/**
 * Builds the single-file binary: `deno task compile [--target TARGET]`.
 *
 * The binary embeds `main.ts`, the registry's worker runtime and plugin host,
 * and the built-in importers and enrichers, with `--no-prompt` and the worker-options flag
 * baked in. It answers the same commands as `deno task retrovue`; plugins
 * from `RETROVUE_PLUGIN_PATH` are still loaded from disk. Its plugin host is
 * the binary itself, started with a hidden command.
 *
 * `deno compile` needs Deno's `denort` runtime: it downloads it, or takes it
 * from `DENORT_BIN`. Without either, this prints one line saying so and exits 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { HEAP_GROWING_FLAG, SEMI_SPACE_FLAG, STANDALONE_HEAP_MB } from "../registry/mod.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The environment variable names the binary may read (as the `retrovue` task). */
export const BINARY_ENV = [
  "RETROVUE_DB",
  "RETROVUE_PLUGIN_PATH",
  "RETROVUE_DEBUG",
  "RETROVUE_LOG",
  "RETROVUE_ISOLATION",
  "RETROVUE_MAX_ASSETS",
  "RETROVUE_MAX_STREAM_MB",
  "RETROVUE_MAX_MESSAGE_MB",
  "RETROVUE_MAX_LOG_LINES",
  "XDG_DATA_HOME",
  "HOME",
  "NO_COLOR",
  // Read by node:child_process when the CLI starts a plugin host.
  "NODE_V8_COVERAGE",
  // The terminal's width, and where a task runner was started (relative paths).
  "COLUMNS",
  "INIT_CWD",
  // Where enrichers' executables (ffprobe) are looked up when not given.
  "PATH",
  // Secrets the operator names with `--<flag>-env` (see SECRET_ENV_PREFIX in views.ts).
  "RETROVUE_SECRET_*",
];

/** The `deno compile` arguments for an output path and an optional target. */
export function compileArgs(output: string, target?: string): string[] {
  return [
    "compile",
    "--no-prompt",
    "--unstable-worker-options",
    "--allow-read",
    "--allow-write",
    // The plugin host is this binary itself; its install path is not known here.
    "--allow-run",
    // The plugin host must hold what it grants its workers (each worker gets only its source's host:port).
    "--allow-net",
    `--allow-env=${BINARY_ENV.join(",")}`,
    `--v8-flags=--max-old-space-size=${STANDALONE_HEAP_MB},${SEMI_SPACE_FLAG},${HEAP_GROWING_FLAG}`,
    "--include",
    join(ROOT, "importers"),
    "--include",
    join(ROOT, "enrichers"),
    "--include",
    join(ROOT, "registry", "_worker_runtime.ts"),
    "--include",
    join(ROOT, "registry", "_plugin_host.ts"),
    ...(target ? ["--target", target] : []),
    "--output",
    output,
    join(ROOT, "main.ts"),
  ];
}

function _exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function _removeIfEmpty(folder: string): void {
  try {
    Deno.removeSync(folder); // Fails, leaving it, unless it is empty.
  } catch {
    // Not there, or not empty: left as it is.
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string" }, output: { type: "string" } },
  });
  const output = values.output ??
    join(ROOT, "dist", values.target ? `retrovue-${values.target}` : "retrovue");
  const folderBefore = _exists(dirname(output));
  const result = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(output, values.target),
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    const denort = /denort|dl\.deno\.land|error sending request/i.test(stderr);
    console.error(
      denort
        ? "Error: deno compile needs the denort runtime, which could not be downloaded; " +
          "set DENORT_BIN to a denort executable for Deno " + Deno.version.deno
        : `Error: deno compile failed: ${stderr.trim().split("\n").at(-1)}`,
    );
    // `deno compile` makes the output's folder first: a failed build leaves nothing behind.
    if (!folderBefore) _removeIfEmpty(dirname(output));
    Deno.exit(1);
  }
  console.log(`Built ${output}`);
}
