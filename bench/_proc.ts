/**
 * Reading Linux `/proc` for the benchmarks that measure a whole process tree
 * (the CLI, its plugin hosts, bubblewrap): which processes it holds, and a
 * process's or thread's `stat` line. Deno lets only `--allow-all` read it.
 *
 * @module
 */

/** The fields of a `/proc/…/stat` line the benchmarks use. */
export interface ProcStat {
  /** The command name (thread name, for a task). */
  name: string;
  /** The parent process id. */
  ppid: number;
  /** User plus system CPU time, in clock ticks (see {@link TICK_MS}). */
  ticks: number;
}

/** Milliseconds per clock tick of `/proc/…/stat` (USER_HZ, 100 on Linux). */
export const TICK_MS = 10;

/** Reads a `/proc/…/stat` line; undefined when the process or thread is gone. */
export function readStat(path: string): ProcStat | undefined {
  try {
    const text = Deno.readTextFileSync(path);
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    return {
      name: text.slice(text.indexOf("(") + 1, close),
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
    };
  } catch {
    return undefined;
  }
}

/**
 * `root` and every process below it, as they stand now. Throws when `/proc`
 * cannot be listed.
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = readStat(`/proc/${entry.name}/stat`);
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry.name));
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.pop()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}
