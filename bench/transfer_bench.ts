/**
 * Worker-boundary benchmark: which transfer of asset batches from a worker
 * to its parent is cheapest, and what the real hand-off out of the sandbox
 * (worker → plugin host → fd 3 lines → CLI) costs against the floor.
 *
 * Every candidate moves the same batches (100k synthetic assets, 1000 per
 * batch, built in the worker before the clock starts) and ends with the
 * parent holding them as objects:
 * - floor: structured clone of the batch objects (`postMessage(items)`);
 * - json string: the worker `JSON.stringify`s each batch once, the parent parses it;
 * - transferred buffer: the JSON encoded to UTF-8 in an `ArrayBuffer` the
 *   worker transfers (no copy), decoded and parsed by the parent.
 * The end-to-end row streams the same assets through a real plugin host
 * (`registry.open("synthetic").fetchAssets`). Rounds interleave the
 * candidates; each ratio is candidate ÷ that round's floor, reported as
 * median and min.
 *
 * Run: `deno task bench transfer`, or `deno run -A bench/transfer_bench.ts [ROUNDS]`.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { loadRegistry } from "../registry/mod.ts";
import { medianMin } from "./_stats.ts";

const PLUGINS = fileURLToPath(new URL("./plugins/", import.meta.url));
const SYNTHETIC = new URL("./plugins/synthetic.ts", import.meta.url).href;
const COUNT = 100_000;
const BATCH = 1000;

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

/** Runs the worker-boundary benchmark and prints its rows. */
export async function runTransferBench(rounds = 7): Promise<void> {
  console.log(`## worker boundary (${COUNT} assets in batches of ${BATCH}, ${rounds} rounds)`);
  const worker = await _startWorker();
  const registry = await loadRegistry({ builtinDir: PLUGINS });
  const collection = { externalId: "all", name: "All", kind: "shows" as const };
  const modes: Mode[] = ["clone", "json", "buffer"];
  const times: Record<Mode | "sandbox", number[]> = {
    clone: [],
    json: [],
    buffer: [],
    sandbox: [],
  };
  const ratios: Record<Exclude<Mode, "clone"> | "sandbox", number[]> = {
    json: [],
    buffer: [],
    sandbox: [],
  };
  try {
    const client = await registry.open("synthetic", { count: COUNT });
    try {
      const endToEnd = async () => {
        const t0 = performance.now();
        let n = 0;
        for await (const batch of client.fetchAssets({ collection, filters: {} })) {
          n += batch.length;
        }
        if (n !== COUNT) throw new Error(`streamed ${n} of ${COUNT} assets`);
        return performance.now() - t0;
      };
      for (const mode of modes) await _transfer(worker, mode); // warm up
      await endToEnd();
      for (let round = 0; round < rounds; round++) {
        for (const mode of modes) times[mode].push(await _transfer(worker, mode));
        times.sandbox.push(await endToEnd());
        const floor = times.clone[round];
        ratios.json.push(times.json[round] / floor);
        ratios.buffer.push(times.buffer[round] / floor);
        ratios.sandbox.push(times.sandbox[round] / floor);
      }
    } finally {
      await client.close();
    }
  } finally {
    worker.terminate();
    await registry.close();
  }
  const floor = medianMin(times.clone);
  console.log(
    `floor: structured clone of the batch objects: median ${floor.median.toFixed(1)} ms, ` +
      `min ${floor.min.toFixed(1)} ms`,
  );
  const rows: Array<[string, keyof typeof ratios]> = [
    ["one JSON string per batch", "json"],
    ["transferred UTF-8 buffer per batch", "buffer"],
    ["hand-off out of the sandbox (plugin host → CLI)", "sandbox"],
  ];
  for (const [label, key] of rows) {
    const t = medianMin(times[key]);
    const r = medianMin(ratios[key]);
    console.log(
      `${label}: median ${t.median.toFixed(1)} ms; ÷ floor median ${r.median.toFixed(2)}x, ` +
        `min ${r.min.toFixed(2)}x`,
    );
  }
  const best = medianMin(ratios.json).median <= medianMin(ratios.buffer).median
    ? "one JSON string"
    : "a transferred buffer";
  console.log(`cheapest worker → parent transfer besides the clone itself: ${best}`);
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(
      "Usage: deno run -A bench/transfer_bench.ts [ROUNDS]\n\n" +
        "Moves 100k synthetic assets from a worker to its parent as a structured clone (the\n" +
        "floor), one JSON string per batch and a transferred UTF-8 buffer per batch, and\n" +
        "through a real plugin host to this process; prints each ÷ the floor of its round\n" +
        "(median and min over ROUNDS interleaved rounds, default 7).",
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
