/**
 * Start-up benchmark: the wall time of CLI commands against an empty
 * `deno run` with the same flags, measured in the same run. Each round runs
 * the floor and every command once, in turn (interleaved, so drift on a
 * shared machine hits all alike); the ratio of each round is command ÷ that
 * round's floor, reported as median and min over the rounds.
 *
 * Commands run against a fresh catalog, with `HOME` in a temporary folder
 * whose manifest cache is warmed first (the state after any first command).
 * The last row is a command that starts a plugin host: `collection ingest`
 * of a filesystem collection of 3 files, every one unchanged since the
 * warm-up's first ingest (its enrichers detached, as probing is not ingest).
 *
 * Run: `deno task bench startup`, or `deno run -A bench/startup_bench.ts [ROUNDS [MAIN]]`
 * (`MAIN`: another checkout's `main.ts`, to compare before and after).
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { medianMin } from "./_stats.ts";

const MAIN_TS = fileURLToPath(new URL("../main.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../deno.json", import.meta.url));

/** The `retrovue` task's flags (read from deno.json), with the config named explicitly. */
const FLAGS = ["run", "--config", CONFIG, ...retrovueTaskFlags()];

const COMMANDS: readonly string[][] = [
  ["--help"],
  ["source", "list"],
  ["collection", "list"],
  ["asset", "list"],
  ["source", "list-types"],
  ["collection", "ingest", "Library"],
];

/** The library the ingest row reads: one season of 3 episodes. */
const EPISODES = [1, 2, 3].map((e) => `Show (2000)/Season 01/Show - S01E0${e}.mkv`);

/**
 * The `collection update` that enables the ingest row's collection for full
 * ingests and detaches the enrichers discovery attached to it.
 */
async function _detachEnrichers(main: string, env: Record<string, string>): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...FLAGS, main, "collection", "show", "Library", "--json"],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const shown = JSON.parse(new TextDecoder().decode(out.stdout));
  const enrichers = (shown.collection?.enrichers ?? []) as Array<{ typeId: string }>;
  return [
    ...["collection", "update", "Library", "--sync-enable"],
    ...enrichers.flatMap((e) => ["--remove-enricher", e.typeId]),
  ];
}

async function _run(args: string[], env: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).split("\n")[0]);
  return ms;
}

/** Runs the start-up benchmark (`rounds` interleaved rounds) and prints its rows. */
export async function runStartupBench(rounds = 15, main = MAIN_TS): Promise<void> {
  console.log("## start-up (command ÷ empty 'deno run', same flags, interleaved)");
  const dir = Deno.makeTempDirSync({ prefix: "retrovue-startup-" });
  const empty = join(dir, "empty.ts");
  Deno.writeTextFileSync(empty, "");
  const env = { HOME: dir, RETROVUE_DB: join(dir, "catalog.db"), NO_COLOR: "1" };
  try {
    // Warm: create the catalog (reading commands never create one), fill the
    // manifest cache and Deno's compile cache.
    const library = join(dir, "library");
    Deno.mkdirSync(join(library, "Show (2000)", "Season 01"), { recursive: true });
    for (const episode of EPISODES) Deno.writeFileSync(join(library, episode), new Uint8Array());
    const add = [
      ...["source", "add", "--type", "filesystem", "--name", "Warm"],
      ...["--root", `Library=${library}`, "--discover"],
    ];
    await _run([...FLAGS, main, ...add], env);
    await _run([...FLAGS, main, ...await _detachEnrichers(main, env)], env);
    for (const command of COMMANDS) await _run([...FLAGS, main, ...command], env);
    await _run([...FLAGS, empty], env);
    const floor: number[] = [];
    const ratios = COMMANDS.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      const f = await _run([...FLAGS, empty], env);
      floor.push(f);
      for (const [i, command] of COMMANDS.entries()) {
        ratios[i].push((await _run([...FLAGS, main, ...command], env)) / f);
      }
    }
    const base = medianMin(floor);
    console.log(
      `floor: empty 'deno run' median ${base.median.toFixed(0)} ms, min ${
        base.min.toFixed(0)
      } ms ` +
        `(${rounds} rounds)`,
    );
    const width = Math.max(...COMMANDS.map((c) => c.join(" ").length));
    for (const [i, command] of COMMANDS.entries()) {
      const r = medianMin(ratios[i]);
      console.log(
        `${command.join(" ").padEnd(width)} ÷ floor: median ${r.median.toFixed(2)}x, ` +
          `min ${r.min.toFixed(2)}x`,
      );
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

if (import.meta.main) await runStartupBench(Number(Deno.args[0] ?? 15), Deno.args[1] ?? MAIN_TS);
