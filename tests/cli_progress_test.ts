/**
 * The live progress line of `collection ingest`, on a real terminal: the
 * CLI runs under `script`, which gives it a pseudo-terminal. The line is
 * drawn on stderr while assets stream in, erased before the summary, and
 * never drawn with `--json` (whose output must stay parseable).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cliEnv,
  MAIN_TS,
  REPO_ROOT,
  retrovueTaskFlags,
  runCli,
  tempWorld,
  withoutIsolationWarning,
} from "./_cli.ts";

/** Whether util-linux `script` is on PATH. */
function hasScript(): boolean {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** What the CLI writes to redraw or erase the progress line: carriage return, erase line. */
const ERASE = "\r\x1b[K";

function quote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs the CLI on a pseudo-terminal; returns everything the terminal showed
 * but the isolation warning and Deno's `--allow-run` note (both printed only
 * on machines without bubblewrap).
 */
async function onTerminal(db: string, dataHome: string, args: string[]): Promise<string> {
  const command = [Deno.execPath(), "run", ...retrovueTaskFlags(), MAIN_TS, "--db", db, ...args]
    .map(quote).join(" ");
  const env = { ...cliEnv({ dataHome }), TERM: "xterm" };
  const out = await new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: REPO_ROOT,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, `retrovue ${args.join(" ")} failed on a terminal: ${text}`);
  return withoutIsolationWarning(text);
}

Deno.test("progress: drawn on a terminal while ingesting, erased before the summary; never with --json", async () => {
  if (!hasScript()) {
    console.log("skipped: util-linux `script` is not installed, so no pseudo-terminal");
    return;
  }
  using world = tempWorld();
  const lib = join(world.dir, "lib");
  for (let s = 1; s <= 3; s++) {
    const dir = join(lib, `Show ${s}`, "Season 01");
    Deno.mkdirSync(dir, { recursive: true });
    for (let e = 1; e <= 400; e++) Deno.writeFileSync(join(dir, `S01E${e}.mkv`), new Uint8Array());
  }
  const setup = { db: world.db, dataHome: world.dir };
  for (
    const args of [
      [
        "source",
        "add",
        "--type",
        "filesystem",
        "--name",
        "P",
        "--root",
        `Lib=${lib}`,
        "--discover",
      ],
      ["collection", "update", "Lib", "--sync-enable"],
    ]
  ) {
    const r = await runCli(args, setup);
    assert.equal(r.code, 0, r.stderr);
  }

  // "\r" + erase-line starts every redraw and the final erase; mark it to match it plainly.
  const shown = (await onTerminal(world.db, world.dir, ["collection", "ingest", "Lib"]))
    .replaceAll(ERASE, "<erase>");
  const draws = [...shown.matchAll(/<erase>Ingesting 'Lib': (\d+) assets seen, \d+\/s, [\d.]+s/g)];
  assert.ok(draws.length >= 1, `no progress line in ${JSON.stringify(shown)}`);
  assert.ok(Number(draws[0][1]) > 0 && Number(draws.at(-1)![1]) <= 1200);
  const summary = shown.indexOf("Ingested collection 'Lib'");
  assert.ok(summary > draws.at(-1)!.index!, "the summary comes after the last progress line");
  assert.ok(
    shown.slice(draws.at(-1)!.index! + 1, summary).includes("<erase>"),
    "the progress line is erased before the summary",
  );
  assert.match(
    shown,
    /1200 discovered, 0 new, 0 changed, 1200 unchanged|1200 discovered, 1200 new/,
  );

  const json = await onTerminal(world.db, world.dir, ["collection", "ingest", "Lib", "--json"]);
  assert.ok(!json.includes("Ingesting '"), "no progress line with --json");
  assert.equal(JSON.parse(json.replaceAll("\r\n", "\n")).stats.discovered, 1200);
});
