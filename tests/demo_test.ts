/**
 * `deno task demo` end to end: runs `cli/demo.ts` in a subprocess with the
 * `demo` task's permission flags (read from `deno.json`) and a private
 * `TMPDIR`, then checks its output against the sample library definition and
 * that it cleaned up after itself.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_COLLECTIONS, DEMO_LIBRARY, demoExpectedAssets } from "../cli/demo.ts";

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

Deno.test("deno task demo runs the real flow on its sample library and cleans up", async () => {
  const tmp = Deno.makeTempDirSync({ prefix: "retrovue-demo-test-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...demoTaskFlags(), join(REPO_ROOT, "cli", "demo.ts")],
      cwd: REPO_ROOT,
      env: { TMPDIR: tmp, NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `demo failed:\n${stdout}\n${stderr}`);

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
