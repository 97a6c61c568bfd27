/**
 * `deno task demo`: builds a small, realistic sample library in a temporary
 * folder and runs the real operator flow on it against a temporary database,
 * printing each command as an operator would type it and its output. With
 * ffmpeg on PATH (and allowed by the task's `--allow-run`), every video file
 * is real media: a few seconds of a tiny test pattern and a tone
 * ({@link demoSeconds}); without it the files are empty and the demo says so.
 *
 * 1. `source add --type filesystem --name Demo --root Shows=… --root Movies=… --discover`
 * 2. `collection list`
 * 3. `collection update <collection> --sync-enable` for each collection
 * 4. `collection ingest <collection>` for each collection
 * 5. `collection enrich <collection>` for each, when the media is real and this
 *    RetroVue has that command, attaching `ffprobe` first where discovery
 *    did not (a failure is shown, not fatal)
 * 6. `asset list`, `collection show` for each (assets per readiness state),
 *    `asset show` of one movie (its duration, technical fields and state)
 * 7. `collection ingest <collection>` again for each: everything unchanged
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

/** The video file extensions of the sample library (the rest, `.txt`, stay empty). */
const _MEDIA_EXTENSIONS = ["mkv", "mp4", "avi"] as const;

/**
 * How many seconds of media the demo writes for a sample file (2 to 4, so
 * durations differ), or null for a file that is not video.
 */
export function demoSeconds(file: DemoFile): number | null {
  const ext = file.path.slice(file.path.lastIndexOf(".") + 1);
  if (!(_MEDIA_EXTENSIONS as readonly string[]).includes(ext)) return null;
  return 2 + DEMO_LIBRARY.indexOf(file) % 3;
}

/**
 * Whether the demo can make real media: `null` when ffmpeg runs, else the
 * one line that says why not.
 */
export async function ffmpegMissing(): Promise<string | null> {
  const allowed = Deno.permissions.querySync({ name: "run", command: "ffmpeg" }).state;
  // Deno grants `--allow-run=ffmpeg` only when it finds ffmpeg on PATH at start-up.
  if (allowed !== "granted") {
    return "ffmpeg is not available (not on PATH, or not in the task's --allow-run)";
  }
  try {
    const out = await new Deno.Command("ffmpeg", {
      args: ["-hide_banner", "-version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success ? null : "ffmpeg -version failed";
  } catch {
    return "ffmpeg not found on PATH";
  }
}

/**
 * Creates the sample library under `dir` (`dir/shows`, `dir/movies`) and
 * returns the roots. With `media`, video files are real: each distinct
 * container and length is encoded once with ffmpeg (64x36 test pattern,
 * 10 fps, h264/aac in mkv and mp4, mpeg4/mp2 in avi) and copied; without it
 * every file is empty.
 */
export async function writeDemoLibrary(
  dir: string,
  options: { media?: boolean } = {},
): Promise<Record<DemoFile["root"], string>> {
  const roots = { shows: join(dir, "shows"), movies: join(dir, "movies") };
  const encoded = new Map<string, string>();
  for (const file of DEMO_LIBRARY) {
    const path = join(roots[file.root], file.path);
    Deno.mkdirSync(join(path, ".."), { recursive: true });
    const seconds = options.media ? demoSeconds(file) : null;
    if (seconds === null) {
      Deno.writeFileSync(path, new Uint8Array());
      continue;
    }
    const ext = path.slice(path.lastIndexOf(".") + 1);
    const key = `${ext}-${seconds}`;
    let source = encoded.get(key);
    if (source === undefined) {
      source = join(dir, `clip-${key}.${ext}`);
      await _encode(source, seconds, ext);
      encoded.set(key, source);
    }
    Deno.copyFileSync(source, path);
  }
  for (const clip of encoded.values()) Deno.removeSync(clip);
  return roots;
}

/** Encodes `seconds` of test pattern and tone into `path`. */
async function _encode(path: string, seconds: number, ext: string): Promise<void> {
  const codecs = ext === "avi"
    ? ["-c:v", "mpeg4", "-c:a", "mp2"]
    : ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"];
  const out = await new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y"],
      ...["-f", "lavfi", "-i", `testsrc=size=64x36:rate=10:duration=${seconds}`],
      ...["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=22050:duration=${seconds}`],
      ...codecs,
      "-shortest",
      path,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `ffmpeg could not write ${path}: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
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

/** How the demo runs the CLI. */
interface _StepOptions {
  db: string;
  dataHome: string;
  flags: readonly string[];
  deno: string;
}

/**
 * Runs `retrovue <args>` against the demo database, printing the command and
 * its output. A non-zero exit throws, unless `tolerate` (then it is shown and
 * returned).
 */
async function _step(
  args: readonly string[],
  options: _StepOptions,
  tolerate = false,
): Promise<number> {
  console.log(`\n$ retrovue ${args.map(_shellQuote).join(" ")}`);
  const out = await _retrovue(args, options);
  const decoder = new TextDecoder();
  const stdout = decoder.decode(out.stdout);
  const stderr = decoder.decode(out.stderr);
  if (stdout !== "") Deno.stdout.writeSync(new TextEncoder().encode(stdout));
  if (stderr !== "") Deno.stderr.writeSync(new TextEncoder().encode(stderr));
  if (out.code !== 0 && !tolerate) {
    throw new Error(`'retrovue ${args.join(" ")}' exited with status ${out.code}`);
  }
  return out.code;
}

/** Runs `retrovue <args>` quietly and returns its output (for what the demo looks up). */
function _retrovue(args: readonly string[], options: _StepOptions): Promise<Deno.CommandOutput> {
  return new Deno.Command(options.deno, {
    args: ["run", ...options.flags, join(_REPO_ROOT, "main.ts"), "--db", options.db, ...args],
    cwd: _REPO_ROOT,
    // Only the built-in importers; never the operator's real catalog.
    env: { RETROVUE_PLUGIN_PATH: "", XDG_DATA_HOME: options.dataHome },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

/** Runs the demo; returns the exit status (0 ok, 1 a step failed). */
export async function runDemo(): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "retrovue-demo-" });
  try {
    const missing = await ffmpegMissing();
    const roots = await writeDemoLibrary(dir, { media: missing === null });
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
    console.log(
      missing === null
        ? "  Video files are real media made with ffmpeg: 2-4 s of a 64x36 test pattern and a tone."
        : `  Video files are empty: ${missing}; install ffmpeg for real media with durations.`,
    );
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
    await _enrich(collections, options, missing === null);
    await _step(["asset", "list"], options);
    for (const name of collections) await _step(["collection", "show", name], options);
    const movie = await _assetId(options, "Vertigo");
    if (movie !== undefined) await _step(["asset", "show", movie], options);
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

/**
 * Probes the real media with `collection enrich` when this RetroVue has
 * that command; explains what readiness will show otherwise. A failing
 * enrichment (e.g. no ffprobe) is shown and the demo goes on: the assets
 * then honestly stay `needs_enrichment`.
 */
async function _enrich(
  collections: readonly string[],
  options: _StepOptions,
  media: boolean,
): Promise<void> {
  if (!media) {
    console.log("\n# The files are empty: they have no duration, so they need enrichment.");
    return;
  }
  const help = await _retrovue(["collection", "enrich", "--help"], options);
  if (help.code !== 0) {
    console.log(
      "\n# This RetroVue cannot probe files yet ('collection enrich' is missing): " +
        "assets without a duration stay needs_enrichment.",
    );
    return;
  }
  for (const name of collections) {
    if (await _hasEnrichers(name, options)) {
      // Discovery attached ffprobe, so the ingest above probed every new file already.
      console.log(
        `\n# The ingest of ${name} probed its new files (discovery attached ffprobe); ` +
          "'collection enrich' probes what is left, which here is nothing.",
      );
    } else {
      console.log(`\n# Probing ${name}'s media for durations and technical fields.`);
      await _step(["collection", "update", name, "--add-enricher", "ffprobe"], options, true);
    }
    const code = await _step(["collection", "enrich", name], options, true);
    if (code !== 0) console.log(`# (enrichment of ${name} did not complete: exit ${code})`);
  }
}

/** Whether `collection show --json` lists an enricher on collection `name`. */
async function _hasEnrichers(name: string, options: _StepOptions): Promise<boolean> {
  const out = await _retrovue(["collection", "show", name, "--json"], options);
  if (out.code !== 0) return false;
  const body = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    collection?: { enrichers?: unknown[] };
  };
  return (body.collection?.enrichers?.length ?? 0) > 0;
}

/** The id of the movie titled `title`, looked up quietly, or undefined. */
async function _assetId(options: _StepOptions, title: string): Promise<string | undefined> {
  const out = await _retrovue(["asset", "list", "--title", title, "--json"], options);
  if (out.code !== 0) return undefined;
  const body = JSON.parse(new TextDecoder().decode(out.stdout)) as { assets?: { id: string }[] };
  return body.assets?.[0]?.id;
}

if (import.meta.main) Deno.exit(await runDemo());
