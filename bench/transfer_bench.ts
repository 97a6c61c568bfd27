/**
 * Worker-boundary benchmark: which transfer of asset batches from a worker
 * to its parent is cheapest, and what the real hand-off out of the sandbox
 * (worker → plugin host → fd 3 frames → CLI) costs against the floor.
 *
 * Every candidate moves the same batches (100k synthetic assets, 1000 per
 * batch) and ends with the parent holding them as objects:
 * - floor: structured clone of the batch objects (`postMessage(items)`),
 *   built in the worker before the clock starts;
 * - json string: the worker `JSON.stringify`s each batch once and posts the
 *   string (what the worker runtime does), the parent parses it;
 * - transferred buffer: the JSON encoded to UTF-8 in an `ArrayBuffer` the
 *   worker transfers, decoded and parsed by the parent.
 * The hand-off rows stream the same assets through a real plugin host
 * (`registry.open(…).fetchAssets`): once from the synthetic importer, which
 * builds each asset as it streams, and once from an importer that built the
 * same batches at load, before the clock, as the floor's worker did (the
 * hand-off alone). For the latter, each side's CPU time per round is shown
 * too (Linux `/proc`, 10 ms ticks; Deno lets only `-A` read it): the CLI's
 * main thread, the plugin host's main thread, the plugin's worker, and every
 * other thread of the tree (V8's GC helpers, I/O). Rounds interleave the
 * candidates; each ratio is
 * candidate ÷ that round's floor, reported as median and min.
 *
 * Run: `deno task bench transfer`, or `deno run -A bench/transfer_bench.ts [ROUNDS]`.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadRegistry } from "../registry/mod.ts";
import { syntheticAsset } from "./plugins/synthetic.ts";
import { median, medianMin } from "./_stats.ts";
import { processTree, readStat, TICK_MS } from "./_proc.ts";

const PLUGINS = fileURLToPath(new URL("./plugins/", import.meta.url));
const SYNTHETIC = new URL("./plugins/synthetic.ts", import.meta.url).href;
const COUNT = 100_000;
const BATCH = 1000;

/**
 * An importer that builds every batch when its module loads (in the worker,
 * before any clock starts) and streams them as they are: the hand-off alone.
 * Self-contained, so its plugin host reads only its own folder; the assets are
 * the synthetic importer's (its function's source, inlined).
 */
const PREBUILT_SOURCE = `
const syntheticAsset = ${syntheticAsset.toString()};
const batches = [];
for (let i = 0; i < ${COUNT}; i += ${BATCH}) {
  const batch = [];
  for (let j = i; j < i + ${BATCH}; j++) batch.push(syntheticAsset(j));
  batches.push(batch);
}
export default {
  typeId: "prebuilt",
  displayName: "Pre-built batches (benchmarks)",
  params: [],
  capabilities: { filters: {} },
  validateConnection: () => Promise.resolve({ serverName: "prebuilt" }),
  listCollections: () => Promise.resolve([{ externalId: "all", name: "All", kind: "shows" }]),
  async *fetchAssets() {
    for (const batch of batches) yield batch;
  },
};
`;

type Mode = "clone" | "json" | "buffer";

/** The worker: builds the batches, then sends them all in the requested form. */
const WORKER_SOURCE = `
import { syntheticAsset } from ${JSON.stringify(SYNTHETIC)};
const batches = [];
for (let i = 0; i < ${COUNT}; i += ${BATCH}) {
  const batch = [];
  for (let j = i; j < i + ${BATCH}; j++) batch.push(syntheticAsset(j));
  batches.push(batch);
}
const encoder = new TextEncoder();
self.onmessage = (event) => {
  const mode = event.data;
  for (const batch of batches) {
    if (mode === "clone") self.postMessage(batch);
    else if (mode === "json") self.postMessage(JSON.stringify(batch));
    else {
      const bytes = encoder.encode(JSON.stringify(batch));
      self.postMessage(bytes.buffer, [bytes.buffer]);
    }
  }
  self.postMessage("done");
};
self.postMessage("ready");
`;

function _startWorker(): Promise<Worker> {
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  return new Promise((resolve) => {
    worker.onmessage = () => {
      URL.revokeObjectURL(url);
      resolve(worker);
    };
  });
}

/** Milliseconds until the parent holds every batch as objects. */
function _transfer(worker: Worker, mode: Mode): Promise<number> {
  const decoder = new TextDecoder();
  let count = 0;
  const t0 = performance.now();
  return new Promise((resolve) => {
    worker.onmessage = (event: MessageEvent) => {
      const data = event.data;
      if (data === "done") {
        if (count !== COUNT) throw new Error(`received ${count} of ${COUNT} assets`);
        resolve(performance.now() - t0);
        return;
      }
      const items: unknown[] = mode === "clone"
        ? data
        : JSON.parse(mode === "json" ? data : decoder.decode(data));
      count += items.length;
    };
    worker.postMessage(mode);
  });
}

type Row = "sandbox" | "prebuilt";

/** Runs the worker-boundary benchmark and prints its rows. */
export async function runTransferBench(rounds = 7): Promise<void> {
  console.log(`## worker boundary (${COUNT} assets in batches of ${BATCH}, ${rounds} rounds)`);
  const worker = await _startWorker();
  const prebuiltDir = Deno.makeTempDirSync({ prefix: "retrovue-transfer-" });
  Deno.writeTextFileSync(join(prebuiltDir, "prebuilt.ts"), PREBUILT_SOURCE);
  const registry = await loadRegistry({ builtinDir: PLUGINS, pluginDirs: [prebuiltDir] });
  const collection = { externalId: "all", name: "All", kind: "shows" as const };
  const modes: Mode[] = ["clone", "json", "buffer"];
  const times: Record<Mode | Row, number[]> = {
    clone: [],
    json: [],
    buffer: [],
    sandbox: [],
    prebuilt: [],
  };
  const ratios: Record<Exclude<Mode, "clone"> | Row, number[]> = {
    json: [],
    buffer: [],
    sandbox: [],
    prebuilt: [],
  };
  const cpu: Record<_Side, number[]> = { cli: [], host: [], worker: [], other: [] };
  try {
    const clients = {
      sandbox: await registry.open("synthetic", { count: COUNT }),
      prebuilt: await registry.open("prebuilt", {}),
    };
    try {
      const endToEnd = async (row: Row) => {
        const t0 = performance.now();
        let n = 0;
        for await (const batch of clients[row].fetchAssets({ collection, filters: {} })) {
          n += batch.length;
        }
        if (n !== COUNT) throw new Error(`streamed ${n} of ${COUNT} assets`);
        return performance.now() - t0;
      };
      for (const mode of modes) await _transfer(worker, mode); // warm up
      await endToEnd("sandbox");
      await endToEnd("prebuilt");
      for (let round = 0; round < rounds; round++) {
        for (const mode of modes) times[mode].push(await _transfer(worker, mode));
        times.sandbox.push(await endToEnd("sandbox"));
        const before = _treeCpu();
        times.prebuilt.push(await endToEnd("prebuilt"));
        const after = _treeCpu();
        if (before && after) {
          for (const side of _SIDES) cpu[side].push(after[side] - before[side]);
        }
        const floor = times.clone[round];
        for (const key of ["json", "buffer", "sandbox", "prebuilt"] as const) {
          ratios[key].push(times[key][round] / floor);
        }
      }
    } finally {
      await clients.sandbox.close();
      await clients.prebuilt.close();
    }
  } finally {
    worker.terminate();
    await registry.close();
    Deno.removeSync(prebuiltDir, { recursive: true });
  }
  const floor = medianMin(times.clone);
  console.log(
    `floor: structured clone of the batch objects: median ${floor.median.toFixed(1)} ms, ` +
      `min ${floor.min.toFixed(1)} ms`,
  );
  const rows: Array<[string, keyof typeof ratios]> = [
    ["one JSON string per batch (the worker runtime's form)", "json"],
    ["transferred UTF-8 buffer per batch", "buffer"],
    ["hand-off out of the sandbox (plugin host → CLI), assets built as they stream", "sandbox"],
    ["hand-off out of the sandbox, the same batches built before the clock", "prebuilt"],
  ];
  for (const [label, key] of rows) {
    const t = medianMin(times[key]);
    const r = medianMin(ratios[key]);
    console.log(
      `${label}: median ${t.median.toFixed(1)} ms; ÷ floor median ${r.median.toFixed(2)}x, ` +
        `min ${r.min.toFixed(2)}x`,
    );
  }
  if (cpu.cli.length > 0) {
    console.log(
      "  its CPU per round (median ms): " +
        _SIDES.map((side) => `${_SIDE_LABELS[side]} ${median(cpu[side]).toFixed(0)}`).join(", "),
    );
  } else {
    // Deno lets only --allow-all read /proc.
    console.log("  (its CPU per side: Linux, with `deno run -A bench/transfer_bench.ts`)");
  }
  const best = medianMin(ratios.json).median <= medianMin(ratios.buffer).median
    ? "one JSON string"
    : "a transferred buffer";
  console.log(`cheapest worker → parent transfer besides the clone itself: ${best}`);
}

type _Side = "cli" | "host" | "worker" | "other";

const _SIDES: readonly _Side[] = ["cli", "host", "worker", "other"];

const _SIDE_LABELS: Record<_Side, string> = {
  cli: "CLI main thread",
  host: "plugin host main thread",
  worker: "plugin worker",
  other: "other threads",
};

/**
 * CPU time (user + system, ms) of this process and its descendants, by side:
 * this process's main thread, each descendant's main thread (the plugin
 * hosts; bubblewrap's own is idle), the `worker-*` threads of descendants,
 * and everything else. Undefined where `/proc` cannot be read.
 */
function _treeCpu(): Record<_Side, number> | undefined {
  const out: Record<_Side, number> = { cli: 0, host: 0, worker: 0, other: 0 };
  let tree: number[];
  try {
    tree = processTree(Deno.pid);
  } catch {
    return undefined;
  }
  for (const pid of tree) {
    for (const task of _tasks(pid)) {
      const stat = readStat(`/proc/${pid}/task/${task.name}/stat`);
      if (!stat) continue;
      const main = Number(task.name) === pid;
      const side: _Side = pid === Deno.pid
        ? main ? "cli" : "other"
        : main
        ? "host"
        : stat.name.startsWith("worker-")
        ? "worker"
        : "other";
      out[side] += stat.ticks * TICK_MS;
    }
  }
  return out;
}

function _tasks(pid: number): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(`/proc/${pid}/task`)];
  } catch {
    return []; // Gone meanwhile.
  }
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(
      "Usage: deno run -A bench/transfer_bench.ts [ROUNDS]\n\n" +
        "Moves 100k synthetic assets from a worker to its parent as a structured clone (the\n" +
        "floor), one JSON string per batch and a transferred UTF-8 buffer per batch, and\n" +
        "through a real plugin host to this process (assets built as they stream, and\n" +
        "batches built before the clock, with each side's CPU time); prints each ÷ the\n" +
        "floor of its round (median and min over ROUNDS interleaved rounds, default 7).",
    );
  } else {
    const rounds = Number(Deno.args[0] ?? 7);
    if (!Number.isSafeInteger(rounds) || rounds < 1) {
      console.error(`Error: ROUNDS must be a positive integer, not '${Deno.args[0]}'`);
      Deno.exit(1);
    }
    await runTransferBench(rounds);
  }
}
