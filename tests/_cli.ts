/**
 * Helpers for end-to-end CLI tests: run `main.ts` as a subprocess exactly as
 * `deno task retrovue` does, against a temporary database.
 *
 * ```ts
 * import { FAKE_PLUGINS, runCli, tempWorld } from "./_cli.ts";
 *
 * Deno.test("source list", async () => {
 *   using world = tempWorld();
 *   const r = await runCli(["source", "list", "--json"], { db: world.db, pluginPath: FAKE_PLUGINS });
 *   assert.equal(r.code, 0);
 *   JSON.parse(r.stdout);
 * });
 * ```
 *
 * - The subprocess gets the permission flags of the `retrovue` task in
 *   `deno.json` (read from it, so they never drift), plus `--no-prompt`.
 * - Its environment is cleared: only `PATH`, `HOME`, `DENO_DIR` and
 *   `XDG_CACHE_HOME` (so Deno finds its module cache) pass through, and
 *   `XDG_DATA_HOME` points into the temporary folder, so even a command run
 *   without `--db` can never touch a real database.
 * - `--db <world.db>` is prepended unless `db: null`.
 * - `RETROVUE_PLUGIN_PATH` is `pluginPath` (empty when not given: only the
 *   built-in importers load).
 * - `stderr` leaves out the isolation warning (see {@link ISOLATION_WARNING}),
 *   which a command that starts a plugin prints only on a machine without OS
 *   isolation, so other tests see the same stderr everywhere; `fullStderr`
 *   keeps it.
 *
 * Tests need `--allow-read --allow-write --allow-run --allow-env`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { retrovueTaskFlags } from "../cli/task_flags.ts";

export { retrovueTaskFlags };

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../", import.meta.url));

/** The CLI entry point. */
export const MAIN_TS: string = join(REPO_ROOT, "main.ts");

/** The folder holding the `fake` test importer (`tests/fixtures/plugins/fake.ts`). */
export const FAKE_PLUGINS: string = join(REPO_ROOT, "tests", "fixtures", "plugins");

/** What one CLI run produced. */
export interface CliResult {
  /** Exit status. */
  code: number;
  /** Everything written to stdout. */
  stdout: string;
  /** Everything the CLI wrote to stderr, except the isolation warning line. */
  stderr: string;
  /** Everything the CLI wrote to stderr. */
  fullStderr: string;
}

/**
 * The warning line a command that starts a plugin prints once where plugins
 * run with Deno permissions only (no OS isolation: no `bwrap`, or
 * `RETROVUE_ISOLATION=off`).
 */
export const ISOLATION_WARNING: RegExp =
  /^Warning: plugins run with Deno permissions only: .*(?:\r?\n|$)/gm;

/** `text` without any {@link ISOLATION_WARNING} line. */
export function withoutIsolationWarning(text: string): string {
  return text.replace(ISOLATION_WARNING, "");
}

/** Options for {@link runCli}. */
export interface RunCliOptions {
  /** Database path passed as `--db`; `null` passes none (then `XDG_DATA_HOME` is the temp folder). */
  db: string | null;
  /** `RETROVUE_PLUGIN_PATH` (`:`-separated folders). */
  pluginPath?: string;
  /** Extra environment variables (e.g. `RETROVUE_DB`, `NO_COLOR`). */
  env?: Record<string, string>;
  /** Folder for `XDG_DATA_HOME` (default: a fresh temp folder per call). */
  dataHome?: string;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Text fed to stdin (default: none, stdin closed). */
  stdin?: string;
}

/**
 * The whole environment a CLI subprocess gets (it runs with `clearEnv`): no
 * colour, only `pluginPath` plugins, its own data home, and what Deno needs
 * to find its cache.
 */
export function cliEnv(options: { pluginPath?: string; dataHome: string }): Record<string, string> {
  const env: Record<string, string> = {
    NO_COLOR: "1",
    RETROVUE_PLUGIN_PATH: options.pluginPath ?? "",
    XDG_DATA_HOME: options.dataHome,
  };
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs `main.ts` with `args` in a subprocess and collects its output. */
export async function runCli(args: readonly string[], options: RunCliOptions): Promise<CliResult> {
  const env = cliEnv({
    pluginPath: options.pluginPath,
    dataHome: options.dataHome ?? Deno.makeTempDirSync({ prefix: "retrovue-xdg-" }),
  });
  Object.assign(env, options.env ?? {});
  const dbArgs = options.db === null ? [] : ["--db", options.db];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...retrovueTaskFlags(), MAIN_TS, ...dbArgs, ...args],
    cwd: options.cwd ?? REPO_ROOT,
    env,
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  return cliResult(await child.output());
}

/** A finished CLI subprocess's output as a {@link CliResult}. */
export function cliResult(out: Deno.CommandOutput): CliResult {
  const decoder = new TextDecoder();
  const stderr = decoder.decode(out.stderr);
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: withoutIsolationWarning(stderr),
    fullStderr: stderr,
  };
}

/** A temporary folder with a database path in it; removed on dispose. */
export interface TempWorld extends Disposable {
  /** The folder. */
  dir: string;
  /** `<dir>/retrovue.db` (not created until a command opens it). */
  db: string;
  /** Writes `<dir>/<name>` as JSON and returns its path (e.g. a fake importer's state file). */
  writeJson(name: string, value: unknown): string;
}

/** Creates a {@link TempWorld}; use with `using`. */
export function tempWorld(): TempWorld {
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-cli-" });
  return {
    dir,
    db: join(dir, "retrovue.db"),
    writeJson(name: string, value: unknown) {
      const path = join(dir, name);
      Deno.writeTextFileSync(path, JSON.stringify(value));
      return path;
    },
    [Symbol.dispose]() {
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/**
 * The full content of a database file (every row of every table, sorted),
 * as one string, for asserting that a failed or `--dry-run` command wrote
 * nothing. A missing file gives `"<no database>"`.
 */
export function dumpDb(path: string): string {
  try {
    Deno.statSync(path);
  } catch {
    return "<no database>";
  }
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    ).all().map((r) => String(r.name));
    const parts: string[] = [];
    for (const table of tables) {
      const rows = db.prepare(`SELECT * FROM "${table}"`).all()
        .map((r) => JSON.stringify(r, (_k, v) => typeof v === "bigint" ? String(v) : v))
        .sort();
      parts.push(`# ${table}\n${rows.join("\n")}`);
    }
    return parts.join("\n");
  } finally {
    db.close();
  }
}

/**
 * A raw episode of show `Alpha`, season 1, as the `fake` importer's state
 * file holds it, with its upstream file under `where.folder`.
 */
export function fakeEpisode(
  id: string,
  where: { episode: number; folder: string },
): Record<string, unknown> {
  const { episode, folder } = where;
  return {
    externalId: id,
    kind: "episode",
    title: `Episode ${episode}`,
    seriesTitle: "Alpha",
    season: 1,
    episode,
    path: `${folder}/Alpha/S01E0${episode}.mkv`,
    size: 1000 + episode,
    modified: "m1",
  };
}
