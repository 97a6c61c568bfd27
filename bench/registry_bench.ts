/**
 * Registry benchmark: worker spawn + handshake, RPC round trip, and 100k
 * assets streamed through the sandbox boundary with host validation, each
 * printed next to a floor measured in the same run.
 *
 * Run: `deno task bench` (all benchmarks) or
 * `deno run -A bench/registry_bench.ts`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { importedAssetSchema } from "../core/schemas.ts";
import { loadRegistry } from "../registry/mod.ts";
import { syntheticAsset } from "./plugins/synthetic.ts";

const PLUGINS = fileURLToPath(new URL("./plugins/", import.meta.url));
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const COUNT = 100_000;

function _ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}

async function _time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

async function _median(runs: number, fn: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) xs.push(await fn());
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)];
}

async function _runDeno(args: string[]): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command("deno", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return performance.now() - t0;
}

/** Runs the registry benchmark and prints its figures. */
export async function runRegistryBench(): Promise<void> {
  console.log("## registry / sandbox boundary");
  const empty = Deno.makeTempFileSync({ suffix: ".ts" });
  Deno.writeTextFileSync(empty, "");
  try {
    const floorRun = await _median(5, () => _runDeno(["run", "--no-prompt", empty]));

    const [registry, loadMs] = await _time(() => loadRegistry({ builtinDir: PLUGINS }));
    console.log(`registry load (discovery + manifests, 1 module): ${_ms(loadMs)}`);
    const info = registry.get("synthetic")!;

    const spawnMs = await _median(5, async () => {
      const [client, ms] = await _time(() => registry.open("synthetic", { count: COUNT }));
      await client.close();
      return ms;
    });
    console.log(
      `open (plugin-host process + worker + handshake): ${_ms(spawnMs)} ` +
        `(floor: empty 'deno run' ${_ms(floorRun)}, ratio ${(spawnMs / floorRun).toFixed(2)}x)`,
    );

    const client = await registry.open("synthetic", { count: COUNT });
    try {
      const rounds = 200;
      await client.validateConnection();
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) await client.validateConnection();
      const rtt = (performance.now() - t0) / rounds;
      console.log(`RPC round trip (host → process → worker → back): ${(rtt * 1000).toFixed(0)} µs`);

      const collection = { externalId: "all", name: "All", kind: "shows" as const };
      const rss0 = Deno.memoryUsage().rss;
      let peak = rss0;
      const [valid, streamMs] = await _time(async () => {
        let ok = 0;
        for await (const batch of client.fetchAssets({ collection, filters: {} })) {
          for (const item of batch) if (importedAssetSchema.safeParse(item).success) ok++;
          peak = Math.max(peak, Deno.memoryUsage().rss);
        }
        return ok;
      });
      const [floorValid, floorMs] = await _time(() => {
        let ok = 0;
        for (let i = 0; i < COUNT; i++) {
          if (importedAssetSchema.safeParse(syntheticAsset(i)).success) ok++;
        }
        return Promise.resolve(ok);
      });
      if (valid !== COUNT || floorValid !== COUNT) throw new Error("validation mismatch");
      console.log(
        `stream ${COUNT} assets through the sandbox + host validation: ${_ms(streamMs)} ` +
          `(${Math.round(COUNT / (streamMs / 1000))} assets/s; floor in-process build + validate ` +
          `${_ms(floorMs)}, ratio ${(streamMs / floorMs).toFixed(2)}x; host rss +${
            ((peak - rss0) / 1e6).toFixed(0)
          } MB)`,
      );
    } finally {
      await client.close();
      await registry.close();
    }
    void info;

    try {
      Deno.statSync(MAIN);
      const listTypes = await _median(3, () =>
        _runDeno([
          "run",
          "--no-prompt",
          "-A",
          MAIN,
          "source",
          "list-types",
          "--json",
        ]));
      console.log(
        `'source list-types' wall time: ${_ms(listTypes)} (floor: empty 'deno run' ${
          _ms(floorRun)
        }, ratio ${(listTypes / floorRun).toFixed(2)}x)`,
      );
    } catch (error) {
      console.log(`'source list-types' not measured: ${(error as Error).message.split("\n")[0]}`);
    }
  } finally {
    Deno.removeSync(empty);
  }
}

if (import.meta.main) await runRegistryBench();
