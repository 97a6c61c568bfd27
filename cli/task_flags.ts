/**
 * The permission flags the `retrovue` task runs with, read from `deno.json`
 * so that the demo, the tests and the benchmarks start the CLI exactly as an
 * operator's `deno task retrovue` does.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

const _REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The `deno run` flags of the `retrovue` task in `deno.json` (everything
 * between `run` and `main.ts`), with `--no-prompt` added if missing.
 */
export function retrovueTaskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(_REPO_ROOT, "deno.json")));
  const task = String(config.tasks.retrovue).split(/\s+/);
  const flags = task.slice(task.indexOf("run") + 1, task.indexOf("main.ts"));
  return flags.includes("--no-prompt") ? flags : ["--no-prompt", ...flags];
}
