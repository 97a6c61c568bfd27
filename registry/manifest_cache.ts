/**
 * The manifest cache: what loading each plugin module reported, kept on disk
 * so commands do not start a plugin host to re-read unchanged modules.
 *
 * An entry is keyed by the module's path and a fingerprint of everything
 * that could change what it reports: every file in its folder (path, size,
 * modification time), the Deno version, and the registry's own runtime code.
 * A module that failed to load (it threw or exited) is cached as broken until
 * one of those changes; one that never answered, once it has timed out twice
 * in a row (a busy machine can make a good module miss the deadline once). A
 * hostile top level thus costs its load deadline twice, not on every command. Cached manifests are
 * validated again on every read, so a stricter schema applies at once.
 *
 * The file is written whole to a temporary name and renamed into place;
 * a missing, unreadable or foreign file is an empty cache, never an error.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";

/** One module's cached load result. */
export type CachedLoad =
  | {
    /** The module loaded and reported this raw (not yet validated) manifest. */
    manifest: unknown;
  }
  | {
    /** Loading failed; the reason, as shown for a broken module. */
    broken: string;
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

const FORMAT = "retrovue-manifest-cache/1";

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

/**
 * The part of every key that is the same for all modules: the Deno version
 * and a hash of the registry's runtime code (what loads a module and how).
 */
export function runtimeStamp(): string {
  const hash = createHash("sha256").update(Deno.version.deno);
  for (const name of ["worker_runtime.ts", "plugin_host.ts", "protocol.ts"]) {
    try {
      hash.update(Deno.readFileSync(new URL(`./${name}`, import.meta.url)));
    } catch {
      hash.update(`${name}:unreadable`);
    }
  }
  return hash.digest("hex").slice(0, 16);
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
