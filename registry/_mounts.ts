/**
 * Whether the folders a source reads are really there: a granted path that
 * lies on a mount point listed in `/etc/fstab` with nothing mounted on it
 * (an unmounted NAS, an unplugged drive) is an empty folder that would look
 * like an emptied library, and an ingest would remove everything in it.
 *
 * The plugin sandbox cannot tell (it sees neither `/proc` nor the folders
 * above its grants), so the host checks before it starts a plugin. Linux
 * only; where the tables cannot be read, nothing is checked.
 *
 * @module
 */

import { RetrovueError } from "../core/errors.ts";

/** A granted path whose mount point has nothing mounted on it. */
export interface Unmounted {
  /** The granted path. */
  path: string;
  /** The `/etc/fstab` mount point it lies on. */
  mountPoint: string;
}

/** The tables {@link findUnmounted} compares, as text. */
export interface MountTables {
  /** `/etc/fstab`. */
  fstab: string;
  /** `/proc/self/mounts`. */
  mounts: string;
}

/**
 * The first granted path that lies on (or is) an `fstab` mount point other
 * than `/` that is not mounted now, or undefined. Swap and `none` entries are
 * ignored; an automount shows as mounted (autofs), as it should.
 */
export function findUnmounted(
  paths: readonly string[],
  tables: MountTables,
): Unmounted | undefined {
  const mounted = new Set(_mountPoints(tables.mounts));
  const listed = _mountPoints(tables.fstab, { skipSwap: true })
    .filter((p) => p !== "/" && !mounted.has(p))
    .sort((a, b) => b.length - a.length);
  for (const path of paths) {
    const mountPoint = listed.find((m) => path === m || path.startsWith(m + "/"));
    if (mountPoint) return { path, mountPoint };
  }
  return undefined;
}

/**
 * Throws `UNREACHABLE` when a granted path lies on an `fstab` mount point
 * with nothing mounted (see {@link findUnmounted}); reads the real tables.
 */
export function assertMounted(
  paths: readonly string[],
  options: { readText?: (path: string) => string } = {},
): void {
  if (paths.length === 0 || Deno.build.os !== "linux") return;
  const readText = options.readText ?? Deno.readTextFileSync;
  let tables: MountTables;
  try {
    tables = { fstab: readText("/etc/fstab"), mounts: readText("/proc/self/mounts") };
  } catch {
    return; // Unreadable tables: nothing to compare.
  }
  const found = findUnmounted(paths, tables);
  if (!found) return;
  throw new RetrovueError(
    "UNREACHABLE",
    `nothing is mounted at ${found.mountPoint} (listed in /etc/fstab), so ${found.path} ` +
      "would look empty; mount it and try again",
    { retryable: true, details: { path: found.path, mountPoint: found.mountPoint } },
  );
}

function _mountPoints(text: string, options: { skipSwap?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const point = _unescape(fields[1]);
    if (options.skipSwap && (point === "none" || point === "swap" || fields[2] === "swap")) {
      continue;
    }
    if (point.startsWith("/")) out.push(point.length > 1 ? point.replace(/\/+$/, "") : point);
  }
  return out;
}

/** Undoes the octal escapes mount tables use for spaces and the like (`\040`). */
function _unescape(field: string): string {
  return field.replace(
    /\\([0-7]{3})/g,
    (_, octal: string) => String.fromCharCode(parseInt(octal, 8)),
  );
}
