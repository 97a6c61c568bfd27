/**
 * The manifest cache: what loading each plugin module reported, validated,
 * kept on disk so commands do not start a plugin host to re-read unchanged
 * modules (nor load zod to validate them again).
 *
 * An entry is keyed by the module's path and a key made of what could change
 * what it reports: the module file's size and modification time, those of
 * the helper files of its folder it may import (everything in the folder but
 * the other plugin modules, see `_discovery.ts`), and the runtime version
 * ({@link runtimeStamp}: the Deno version and the registry code that loads and
 * validates a module). So a new or edited plugin re-loads only itself, and an
 * edited helper every plugin beside it. A module that failed to load (it
 * threw, exited, or reported an invalid manifest) is cached as broken until
 * its key changes; one that never answered, once it has timed out twice in a
 * row (a busy machine can make a good module miss the deadline once). A
 * hostile top level thus costs its load deadline twice, not on every command.
 *
 * The file is written whole to a temporary name and renamed into place;
 * a missing, unreadable or foreign file is an empty cache, never an error.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { Manifest } from "../core/schemas.ts";

/** One module's cached load result. */
export type CachedLoad =
  | {
    /** The module loaded and reported this manifest, valid when it was stored. */
    manifest: Manifest;
  }
  | {
    /** Loading failed, or its manifest is invalid; the reason, as shown for a broken module. */
    broken: string;
    /** The type id the module claimed, if any (shown beside a broken module). */
    typeId?: string;
    /**
     * For a module that did not load in time: how many loads in a row timed
     * out. One may be a busy machine; the entry counts only from two.
     */
    timeouts?: number;
  };

interface CacheFile {
  format: typeof FORMAT;
  entries: Record<string, { key: string; load: CachedLoad }>;
}

const FORMAT = "retrovue-manifest-cache/2";

/** The cache, as read from disk. */
export interface ManifestCache {
  /** The cached result for `file` when its key still matches and the entry counts. */
  get(file: string, key: string): CachedLoad | undefined;
  /** The stored entry for `file` under `key`, whether it counts yet or not. */
  peek(file: string, key: string): CachedLoad | undefined;
  /** Records a result (kept in memory until {@link ManifestCache.save}). */
  set(file: string, key: string, load: CachedLoad): void;
  /** Writes the cache back if anything changed; never throws. */
  save(): void;
}

/** The files whose code decides how a module loads and what a valid manifest is. */
const RUNTIME_FILES = [
  "./_worker_runtime.ts",
  "./_harden.ts",
  "./_import_map.ts",
  "./_denied_module.js",
  "./_denied_file_module.js",
  "./_denied_net_module.js",
  "./_denied_process_module.js",
  "./_denied_builtin_module.js",
  "./_plugin_host.ts",
  "./_protocol.ts",
  "./mod.ts",
  "../core/schemas.ts",
  "../core/contract.ts",
];

/**
 * The part of every key that is the same for all modules: the Deno version
 * and the size and modification time of the registry's runtime code (what
 * loads a module and validates its manifest); in a compiled binary, of the
 * binary itself. Stats a few files; reads none.
 */
export function runtimeStamp(): string {
  const parts = [Deno.version.deno];
  const files = RUNTIME_FILES.map((f) => new URL(f, import.meta.url));
  if (Deno.build.standalone) files.push(new URL(`file://${Deno.execPath()}`));
  for (const file of files) parts.push(fileStamp(file));
  return parts.join(",");
}

/** A file's size and modification time as text (`?` when it cannot be read). */
export function fileStamp(file: string | URL): string {
  try {
    const info = Deno.statSync(file);
    return `${info.size}@${info.mtime?.getTime() ?? 0}`;
  } catch {
    return "?";
  }
}

/** Reads the cache at `path` (an empty cache when it is missing or not ours). */
export function readManifestCache(path: string): ManifestCache {
  let entries: CacheFile["entries"] = {};
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(path)) as Partial<CacheFile>;
    if (parsed.format === FORMAT && parsed.entries && typeof parsed.entries === "object") {
      entries = parsed.entries;
    }
  } catch {
    // Missing or unreadable: start empty.
  }
  let dirty = false;
  return {
    get(file, key) {
      const load = this.peek(file, key);
      return load && "broken" in load && load.timeouts !== undefined && load.timeouts < 2
        ? undefined
        : load;
    },
    peek(file, key) {
      const entry = Object.hasOwn(entries, file) ? entries[file] : undefined;
      return entry && entry.key === key ? entry.load : undefined;
    },
    set(file, key, load) {
      entries[file] = { key, load };
      dirty = true;
    },
    save() {
      if (!dirty) return;
      const temp = join(dirname(path), `.${crypto.randomUUID()}.tmp`);
      try {
        Deno.mkdirSync(dirname(path), { recursive: true });
        const body: CacheFile = { format: FORMAT, entries };
        Deno.writeTextFileSync(temp, JSON.stringify(body), { mode: 0o600 });
        Deno.renameSync(temp, path);
        dirty = false;
      } catch {
        // A cache that cannot be written only costs time.
        try {
          Deno.removeSync(temp);
        } catch {
          // Never created.
        }
      }
    },
  };
}
