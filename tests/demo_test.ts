/**
 * `deno task demo` end to end: runs `cli/demo.ts` in a subprocess with the
 * `demo` task's permission flags (read from `deno.json`) and a private
 * `TMPDIR`, then checks its output against the sample library definition and
 * that it cleaned up after itself.
 *
 * With ffmpeg on PATH the sample files are real media, and the demo's
 * readiness and durations are checked against what it generated; a second
 * run with a PATH without ffmpeg checks that it says so and still works.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_COLLECTIONS, DEMO_LIBRARY, demoExpectedAssets, demoSeconds } from "../cli/demo.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The `deno run` flags of the `demo` task (between `run` and `cli/demo.ts`). */
function demoTaskFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json")));
  const task = String(config.tasks.demo).split(/\s+/);
  return task.slice(task.indexOf("run") + 1, task.indexOf("cli/demo.ts"));
}

/** Every `Ingested collection 'NAME' …` summary, in output order. */
function ingestSummaries(
  stdout: string,
): { name: string; discovered: number; new: number; unchanged: number }[] {
  const re =
    /^Ingested collection '([^']+)' \([^)]*\): (\d+) discovered, (\d+) new, \d+ changed, (\d+) unchanged/gm;
  return [...stdout.matchAll(re)].map((m) => ({
    name: m[1],
    discovered: Number(m[2]),
    new: Number(m[3]),
    unchanged: Number(m[4]),
  }));
}

/** Whether ffmpeg runs here. */
async function ffmpegRuns(): Promise<boolean> {
  try {
    const out = await new Deno.Command("ffmpeg", {
      args: ["-version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Runs the demo with the `demo` task's flags and `TMPDIR=tmp` (plus `env`),
 * asserts it succeeded and returns its stdout.
 */
async function runDemo(tmp: string, env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...demoTaskFlags(), join(REPO_ROOT, "cli", "demo.ts")],
    cwd: REPO_ROOT,
    env: { TMPDIR: tmp, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `demo failed:\n${stdout}\n${stderr}`);
  return stdout;
}

/** The `readiness:` line of each `collection show` in the output, by collection name. */
function readinessLines(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stdout.matchAll(/^name: +(\S+)$[\s\S]*?^readiness: +(.+)$/gm)) out[m[1]] = m[2];
  return out;
}

/** The `asset show` field `key` in the output, or undefined. */
function shownField(stdout: string, key: string): string | undefined {
  const show = stdout.slice(stdout.indexOf("$ retrovue asset show"));
  return show.match(new RegExp(`^${key}: +(.+)$`, "m"))?.[1];
}

Deno.test("deno task demo runs the real flow on its sample library and cleans up", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "retrovue-demo-test-" });
  try {
    const stdout = await runDemo(tmp);

    // Each step is printed as an operator would type it.
    for (
      const step of [
        "$ retrovue source add --type filesystem --name Demo --root Shows=",
        "$ retrovue collection list",
        "$ retrovue collection update Shows --sync-enable",
        "$ retrovue collection ingest Movies",
        "$ retrovue asset list",
      ]
    ) assert.ok(stdout.includes(step), `missing step '${step}' in:\n${stdout}`);

    // First ingest: every expected asset is new; second: all unchanged.
    const expected = demoExpectedAssets();
    assert.deepEqual({ ...expected }, { Shows: 11, Movies: 4 });
    const names = Object.values(DEMO_COLLECTIONS);
    const summaries = ingestSummaries(stdout);
    assert.deepEqual(summaries, [
      ...names.map((name) => ({
        name,
        discovered: expected[name],
        new: expected[name],
        unchanged: 0,
      })),
      ...names.map((name) => ({
        name,
        discovered: expected[name],
        new: 0,
        unchanged: expected[name],
      })),
    ]);

    // `asset list` shows exactly the expected episodes and movies, no skipped file.
    const rows = [...stdout.matchAll(/^a-[0-9a-f]+\s+(\S+)\s+(episode|movie)\s.*$/gm)];
    const count = (kind: string) => DEMO_LIBRARY.filter((f) => f.expect === kind).length;
    assert.equal(rows.filter((r) => r[2] === "episode").length, count("episode"));
    assert.equal(rows.filter((r) => r[2] === "movie").length, count("movie"));
    assert.ok(!/sample|trailer|Obsessed|Interview/i.test(rows.map((r) => r[0]).join("\n")));
    assert.ok(stdout.includes("Columbo S02E01-E02 · Etude in Black"), stdout);
    assert.ok(stdout.includes("Columbo S00E01 · Prescription Murder"), stdout);

    // Readiness per collection adds up to its assets; a probed movie shows the
    // duration the demo generated, one that was not probed says it needs it.
    const media = await ffmpegRuns();
    assert.ok(
      stdout.includes(media ? "Video files are real media" : "Video files are empty"),
      stdout,
    );
    const lines = readinessLines(stdout);
    assert.deepEqual(Object.keys(lines).sort(), [...names].sort(), stdout);
    for (const name of names) {
      const total = [...lines[name].matchAll(/(\d+) [a-z_]+/g)].reduce((n, m) => n + +m[1], 0);
      assert.equal(total, expected[name], `${name}: ${lines[name]}`);
    }
    const vertigo = DEMO_LIBRARY.find((f) => f.path === "Vertigo (1958)/Vertigo (1958).mkv")!;
    const state = shownField(stdout, "state");
    if (media && /^Enriched 'Movies'/m.test(stdout)) {
      // Discovery attached ffprobe, so the ingest probed already: the demo says why the
      // 'collection enrich' step that follows finds nothing left.
      for (const name of names) {
        assert.ok(stdout.includes(`# The ingest of ${name} probed its new files`), stdout);
      }
      assert.equal(state, "ready", stdout);
      assert.equal(shownField(stdout, "duration"), `0:0${demoSeconds(vertigo)} (probed)`);
      assert.match(shownField(stdout, "video") ?? "", /^h264 .*64x36/);
    } else {
      assert.equal(state, "needs_enrichment", stdout);
      assert.equal(shownField(stdout, "duration"), "-");
    }

    // The temporary library and database are gone.
    const library = stdout.match(/^Sample library in (.+):$/m)?.[1];
    if (library === undefined) assert.fail(`no 'Sample library in' line in:\n${stdout}`);
    assert.ok(library.startsWith(tmp), `library folder not under TMPDIR: ${library}`);
    assert.throws(() => Deno.statSync(library), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(tmp)], []);
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("deno task demo without ffmpeg says so and runs as before", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "retrovue-demo-test-" });
  const bin = Deno.makeTempDirSync({ prefix: "retrovue-demo-path-" });
  try {
    // A PATH with deno and nothing else: no ffmpeg to find.
    Deno.symlinkSync(Deno.execPath(), join(bin, "deno"));
    const stdout = await runDemo(tmp, { PATH: bin });
    assert.match(stdout, /^ {2}Video files are empty: ffmpeg is not available \(not on PATH/m);
    assert.ok(stdout.includes("# The files are empty: they have no duration"), stdout);
    const lines = readinessLines(stdout);
    const expected = demoExpectedAssets();
    for (const name of Object.values(DEMO_COLLECTIONS)) {
      assert.equal(lines[name], `${expected[name]} needs_enrichment`, stdout);
    }
    assert.equal(shownField(stdout, "state"), "needs_enrichment");
    assert.deepEqual([...Deno.readDirSync(tmp)], [], "cleaned up");
  } finally {
    Deno.removeSync(tmp, { recursive: true });
    Deno.removeSync(bin, { recursive: true });
  }
});
