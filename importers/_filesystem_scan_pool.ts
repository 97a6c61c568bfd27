/**
 * Scans a whole tree with helper workers and hands the folders back in walk
 * order (depth-first, name order, a folder's files before its subfolders):
 * exactly the order a walk in one thread would read them.
 *
 * The root is read here; each of its subfolders is one task, task `i` going
 * to worker `i mod n`, and the tasks are consumed in order. Reading the disk
 * costs about as much as parsing the names, so on two or more cores the
 * walk runs at the speed of the slower of the two instead of their sum.
 *
 * A worker started by a sandboxed worker inherits its sandbox (read access
 * to the roots, nothing else) and cannot be given more; it cannot load
 * module files either, so it runs the text of the self-contained functions
 * in `_filesystem_scan.ts`.
 *
 * @module
 */

import {
  scanFolder,
  type ScannedFolder,
  type ScanOptions,
  type ScanReply,
  type ScanRequest,
  type ScanTask,
  scanTasks,
  subfolderChain,
} from "./_filesystem_scan.ts";

/** Options for {@link startScanPool}. */
export interface ScanPoolOptions {
  /** Number of helper workers (at least 1). */
  workers: number;
  /** Stops the scan: the generator throws the abort reason and the workers end. */
  signal: AbortSignal;
  /** Entries per chunk a worker posts. Default 500. */
  chunkEntries?: number;
  /** Chunks a worker may have in flight. Default 2. */
  window?: number;
}

const _WORKER_SOURCE = `${scanFolder.toString()}\n${subfolderChain.toString()}\n` +
  `(${scanTasks.toString()})(scanFolder, subfolderChain);\n`;

/** Folders handed over at once when they are there (many tasks are one small folder). */
const _YIELD_FOLDERS = 256;

/** One worker's chunks, consumed from the front. */
interface _Lane {
  worker: Worker;
  chunks: Array<Extract<ScanReply, { t: "folders" }>>;
  /** Position in the first chunk. */
  at: number;
  done: boolean;
  failed?: string;
}

/**
 * Starts the workers and returns the tree's folders, in walk order and in
 * arrays of one or more; or null where no worker can be started (the
 * caller then reads in its own thread). `options.stat` should be true: the
 * sizes and mtimes come back with the folders.
 */
export function startScanPool(
  options: ScanOptions,
  pool: ScanPoolOptions,
): AsyncGenerator<ScannedFolder[]> | null {
  const workers: Worker[] = [];
  const url = URL.createObjectURL(new Blob([_WORKER_SOURCE], { type: "application/javascript" }));
  try {
    for (let i = 0; i < Math.max(1, pool.workers); i++) {
      workers.push(new Worker(url, { type: "module", name: `filesystem-scan-${i}` }));
    }
  } catch {
    for (const worker of workers) worker.terminate();
    return null;
  } finally {
    URL.revokeObjectURL(url);
  }
  return _run(workers, options, pool);
}

function _abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("scan cancelled");
}

async function* _run(
  workers: Worker[],
  options: ScanOptions,
  pool: ScanPoolOptions,
): AsyncGenerator<ScannedFolder[]> {
  const { signal } = pool;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resolve = wake;
    wake = null;
    resolve?.();
  };
  const lanes: _Lane[] = workers.map((worker) => {
    const lane: _Lane = { worker, chunks: [], at: 0, done: false };
    worker.onmessage = (event: MessageEvent<ScanReply>) => {
      const reply = event.data;
      if (reply.t === "folders") lane.chunks.push(reply);
      else if (reply.t === "done") lane.done = true;
      else lane.failed = reply.message;
      notify();
    };
    worker.onerror = (event: ErrorEvent) => {
      // Without preventDefault an error in the worker would end this thread.
      event.preventDefault();
      lane.failed = event.message;
      notify();
    };
    return lane;
  });
  signal.addEventListener("abort", notify);
  try {
    if (signal.aborted) throw _abortError(signal);
    const root = scanFolder(options.rootReal, "", options, [options.rootReal]);
    const tasks: ScanTask[] = root.folders.map((name, i) => ({
      task: i,
      abs: `${root.abs}/${name}`,
      rel: name,
      chain: subfolderChain(root, i),
    }));
    lanes.forEach((lane, w) => {
      const request: ScanRequest = {
        t: "start",
        options,
        tasks: tasks.filter((task) => task.task % lanes.length === w),
        chunkEntries: pool.chunkEntries ?? 500,
        window: pool.window ?? 2,
      };
      lane.worker.postMessage(request);
    });
    let out: ScannedFolder[] = [root];
    for (const task of tasks) {
      const lane = lanes[task.task % lanes.length];
      while (true) {
        if (signal.aborted) throw _abortError(signal);
        const head = lane.chunks[0];
        if (head === undefined) {
          if (lane.failed !== undefined) {
            throw new Error(`filesystem scan failed: ${lane.failed}`);
          }
          if (lane.done) break;
          if (out.length > 0) {
            // Hand over what is here, then look again: replies may arrive meanwhile.
            yield out;
            out = [];
            continue;
          }
          await new Promise<void>((resolve) => (wake = resolve));
          continue;
        }
        if (lane.at >= head.folders.length) {
          lane.chunks.shift();
          lane.at = 0;
          lane.worker.postMessage({ t: "more" } satisfies ScanRequest);
          continue;
        }
        if (head.tasks[lane.at] !== task.task) break;
        out.push(head.folders[lane.at++]);
      }
      if (out.length >= _YIELD_FOLDERS) {
        yield out;
        out = [];
      }
    }
    if (out.length > 0) yield out;
  } finally {
    signal.removeEventListener("abort", notify);
    for (const lane of lanes) lane.worker.terminate();
  }
}
