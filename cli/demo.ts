/**
 * `deno task demo`: builds a small, realistic sample library of empty video
 * files in a temporary folder and runs the real operator flow on it against a
 * temporary database, printing each command as an operator would type it and
 * its output:
 *
 * 1. `source add --type filesystem --name Demo --root Shows=… --root Movies=… --discover`
 * 2. `collection list`
 * 3. `collection update <collection> --sync-enable` for each collection
 * 4. `collection ingest <collection>` for each collection
 * 5. `asset list`
 * 6. `collection ingest <collection>` again for each: everything unchanged
 *
 * Every command is `main.ts` in a subprocess with the permission flags of the
 * `retrovue` task in `deno.json` (read from it), so the demo exercises exactly
 * what an operator runs. The temporary folder is removed at the end, also on
 * failure. Exit status: 0 when every step succeeded, 1 otherwise.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { retrovueTaskFlags } from "./task_flags.ts";

/** What the filesystem importer should make of one sample file. */
export type DemoExpectation = "episode" | "movie" | "skipped";

/** One file of the sample library. */
export interface DemoFile {
  /** Root it lives in (`shows` or `movies`, also its collection). */
  root: "shows" | "movies";
  /** Path relative to the root. */
  path: string;
  /** Whether it should become an episode, a movie, or be skipped. */
  expect: DemoExpectation;
}

/** The collection name of each root (`--root NAME=PATH`). */
export const DEMO_COLLECTIONS: Readonly<Record<DemoFile["root"], string>> = {
  shows: "Shows",
  movies: "Movies",
};

/** The name of the demo source. */
export const DEMO_SOURCE = "Demo";

/** The sample library: every file the demo creates (all empty). */
export const DEMO_LIBRARY: readonly DemoFile[] = [
  // Columbo: two seasons, a double-length episode in one file, a special.
  {
    root: "shows",
    path: "Columbo (1971)/Season 01/Columbo - S01E01 - Murder by the Book.mkv",
    expect: "episode",
  },
  {
    root: "shows",
    path: "Columbo (1971)/Season 01/Columbo - S01E02 - Death Lends a Hand.mkv",
    expect: "episode",
  },
  {
    root: "shows",
    path: "Columbo (1971)/Season 01/Columbo - S01E03 - Dead Weight.mkv",
    expect: "episode",
  },
  {
    root: "shows",
    path: "Columbo (1971)/Season 02/Columbo - S02E01-E02 - Etude in Black.mkv",
    expect: "episode",
  },
  {
    root: "shows",
    path: "Columbo (1971)/Season 02/Columbo - S02E03 - Dagger of the Mind.mkv",
    expect: "episode",
  },
  {
    root: "shows",
    path: "Columbo (1971)/Specials/Columbo - S00E01 - Prescription Murder.mkv",
    expect: "episode",
  },
  { root: "shows", path: "Columbo (1971)/notes.txt", expect: "skipped" },
  // The Twilight Zone: one season, a sample clip.
  {
    root: "shows",
    path: "The Twilight Zone (1959)/Season 01/The Twilight Zone - S01E01 - Where Is Everybody.mp4",
    expect: "episode",
  },
  {
    root: "shows",
    path: "The Twilight Zone (1959)/Season 01/The Twilight Zone - S01E02 - One for the Angels.mp4",
    expect: "episode",
  },
  {
    root: "shows",
    path:
      "The Twilight Zone (1959)/Season 01/The Twilight Zone - S01E03 - Mr. Denton on Doomsday.mp4",
    expect: "episode",
  },
  {
    root: "shows",
    path:
      "The Twilight Zone (1959)/Season 01/The Twilight Zone - S01E01 - Where Is Everybody-sample.mp4",
    expect: "skipped",
  },
  // Star Trek: short `s1e2` names.
  {
    root: "shows",
    path: "Star Trek (1966)/Season 01/Star Trek s01e01 The Man Trap.avi",
    expect: "episode",
  },
  {
    root: "shows",
    path: "Star Trek (1966)/Season 01/Star Trek s01e02 Charlie X.avi",
    expect: "episode",
  },
  // Movies, one with featurettes and a trailer, one with a sample.
  { root: "movies", path: "Vertigo (1958)/Vertigo (1958).mkv", expect: "movie" },
  {
    root: "movies",
    path: "Vertigo (1958)/Featurettes/Obsessed with Vertigo.mkv",
    expect: "skipped",
  },
  { root: "movies", path: "Vertigo (1958)/Vertigo (1958)-trailer.mkv", expect: "skipped" },
  { root: "movies", path: "Rear Window (1954)/Rear Window (1954).mp4", expect: "movie" },
  { root: "movies", path: "Rear Window (1954)/Rear Window (1954)-sample.mp4", expect: "skipped" },
  { root: "movies", path: "The General (1926)/The General (1926).avi", expect: "movie" },
  {
    root: "movies",
    path: "North by Northwest (1959)/North by Northwest (1959).mkv",
    expect: "movie",
  },
  { root: "movies", path: "Extras/Hitchcock Interview.mkv", expect: "skipped" },
  { root: "movies", path: "README.txt", expect: "skipped" },
];

/** How many assets each collection should hold after the first ingest, by collection name. */
export function demoExpectedAssets(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.values(DEMO_COLLECTIONS)) out[name] = 0;
  for (const file of DEMO_LIBRARY) {
    if (file.expect !== "skipped") out[DEMO_COLLECTIONS[file.root]]++;
  }
  return out;
}

/** Creates the sample library under `dir` (`dir/shows`, `dir/movies`) and returns the roots. */
export function writeDemoLibrary(dir: string): Record<DemoFile["root"], string> {
  const roots = { shows: join(dir, "shows"), movies: join(dir, "movies") };
  for (const file of DEMO_LIBRARY) {
    const path = join(roots[file.root], file.path);
    Deno.mkdirSync(join(path, ".."), { recursive: true });
    Deno.writeFileSync(path, new Uint8Array());
  }
  return roots;
}

const _REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * The deno executable to start: this process's own when it may run it, else
 * `deno` from PATH (what the task's `--allow-run=deno` grants; on PATH it may
 * be a symlink to the real executable).
 */
function _denoCommand(): string {
  const self = Deno.execPath();
  const state = Deno.permissions.querySync({ name: "run", command: self }).state;
  return state === "granted" ? self : "deno";
}

/** Quotes one argument the way an operator would type it in a POSIX shell. */
function _shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_\-.,/:=@+%]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Runs `retrovue <args>` against the demo database, printing the command and its output. */
async function _step(
  args: readonly string[],
  options: { db: string; dataHome: string; flags: readonly string[]; deno: string },
): Promise<void> {
  console.log(`\n$ retrovue ${args.map(_shellQuote).join(" ")}`);
  const out = await new Deno.Command(options.deno, {
    args: ["run", ...options.flags, join(_REPO_ROOT, "main.ts"), "--db", options.db, ...args],
    cwd: _REPO_ROOT,
    // Only the built-in importers; never the operator's real catalog.
    env: { RETROVUE_PLUGIN_PATH: "", XDG_DATA_HOME: options.dataHome },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (stdout !== "") Deno.stdout.writeSync(new TextEncoder().encode(stdout));
  if (stderr !== "") Deno.stderr.writeSync(new TextEncoder().encode(stderr));
  if (out.code !== 0) {
    throw new Error(`'retrovue ${args.join(" ")}' exited with status ${out.code}`);
  }
}

/** Runs the demo; returns the exit status (0 ok, 1 a step failed). */
export async function runDemo(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "retrovue-demo-" });
  try {
    const roots = writeDemoLibrary(dir);
    const options = {
      db: join(dir, "retrovue.db"),
      dataHome: join(dir, "xdg"),
      flags: retrovueTaskFlags(),
      deno: _denoCommand(),
    };
    console.log(`Sample library in ${dir}:`);
    for (const [root, path] of Object.entries(roots)) {
      const files = DEMO_LIBRARY.filter((f) => f.root === root);
      const assets = files.filter((f) => f.expect !== "skipped").length;
      console.log(
        `  ${path}: ${files.length} files, ${assets} expected assets ` +
          `(${files.length - assets} to skip: samples, extras, junk)`,
      );
    }
    const collections = Object.values(DEMO_COLLECTIONS);
    await _step([
      "source",
      "add",
      "--type",
      "filesystem",
      "--name",
      DEMO_SOURCE,
      "--root",
      `${DEMO_COLLECTIONS.shows}=${roots.shows}`,
      "--root",
      `${DEMO_COLLECTIONS.movies}=${roots.movies}`,
      "--discover",
    ], options);
    await _step(["collection", "list"], options);
    for (const name of collections) {
      await _step(["collection", "update", name, "--sync-enable"], options);
    }
    for (const name of collections) await _step(["collection", "ingest", name], options);
    await _step(["asset", "list"], options);
    console.log("\n# Ingesting again: nothing changed on disk, so everything is unchanged.");
    for (const name of collections) await _step(["collection", "ingest", name], options);
    console.log(`\nDemo finished; removing ${dir}.`);
    return 0;
  } catch (error) {
    console.error(`\nDemo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await runDemo());
