/**
 * Puts a `retrovue` command on PATH the Deno-native way: `deno task install
 * [--root DIR] [--name NAME]` runs `deno install --global` on `main.ts` with
 * exactly the permission flags of the `retrovue` task (read from `deno.json`
 * by {@link retrovueTaskFlags}, so they cannot drift) and this checkout's
 * `deno.json` (import map, `worker-options`). The command runs the code of
 * this checkout: after a `git pull` it runs the new code, no reinstall needed.
 * Installing again replaces it.
 *
 * Without `--root`, Deno's default applies (`$DENO_INSTALL_ROOT`, else
 * `~/.deno`); the command lands in `<root>/bin`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { retrovueTaskFlags } from "./task_flags.ts";

const _ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Options for {@link installArgs}. */
export interface InstallOptions {
  /** Install root (`<root>/bin/<name>`); Deno's default when not given. */
  root?: string;
  /** Command name (default `retrovue`). */
  name?: string;
}

/** The `deno install` arguments that install the CLI with the `retrovue` task's permissions. */
export function installArgs(options: InstallOptions = {}): string[] {
  return [
    "install",
    "--global",
    "--force",
    "--name",
    options.name ?? "retrovue",
    ...(options.root ? ["--root", options.root] : []),
    "--config",
    join(_ROOT, "deno.json"),
    ...retrovueTaskFlags(),
    join(_ROOT, "main.ts"),
  ];
}

if (import.meta.main) {
  let values: { root?: string; name?: string };
  try {
    values = parseArgs({
      args: Deno.args,
      options: { root: { type: "string" }, name: { type: "string" } },
    }).values;
  } catch (error) {
    console.error(`Error: ${(error as Error).message.split("\n")[0]}`);
    Deno.exit(1);
  }
  const result = await new Deno.Command(Deno.execPath(), {
    args: installArgs(values),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(result.code);
}
