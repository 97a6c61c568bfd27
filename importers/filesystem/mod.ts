/**
 * The `filesystem` importer: folders of movies or TV episodes on disk, no
 * server needed.
 *
 * Each `--root` is one collection (external id: the root path; name: the
 * folder's name, or `NAME` from `--root "NAME=PATH"`). Every video file under
 * it becomes one asset whose external id is its path relative to the root
 * (NFC-normalised, case kept), so moving the library to another mount keeps
 * identity; size and modification time are the change fingerprint. Names
 * are read with the Plex/Jellyfin conventions (see `../shared/naming/mod.ts`); Kodi
 * `.nfo` sidecars win over names when present. The worker can read only its
 * roots.
 *
 * Roots that went away: at ingest, a missing root is `UNREACHABLE` (naming
 * the root), never an empty collection. An unmounted mount point cannot be
 * told from an empty folder inside the sandbox (the worker may read neither
 * `/proc/self/mounts`, `/etc/fstab` nor the root's parent, and under OS
 * isolation the root is itself a bind mount). The host refuses a root on an
 * `fstab` mount point with nothing mounted before this code runs
 * (`registry/_mounts.ts`); for any other mount, a full listing that finds no
 * video file warns, naming the root, and the host's removal guard holds back
 * the ingest of a collection that was not empty.
 *
 * @module
 */

import type {
  CallContext,
  CollectionInfo,
  CollectionKind,
  ConnectionInfo,
  FetchRequest,
  ImportedAsset,
  Importer,
  ImporterConfig,
} from "../../core/contract.ts";
import { VIDEO_EXTENSIONS } from "../shared/naming/mod.ts";
import { detectRootKind, isEmptyFolder, parseRoots, type RootSpec } from "./_roots.ts";
import { walkAssets } from "./_walk.ts";

/** How the importer reads one folder; the benchmark's floor reads disk the same way. */
export { type FolderToScan, scanFolder, type ScanOptions, subfolderChain } from "./_scan.ts";

const _KINDS = ["auto", "movies", "shows"] as const;
type _Kind = typeof _KINDS[number];

function _fail(code: string, message: string, retryable = false): never {
  throw Object.assign(new Error(message), { code, retryable });
}

function _kind(config: ImporterConfig): _Kind {
  const raw = String(config.kind ?? "auto").trim().toLowerCase();
  if (!(_KINDS as readonly string[]).includes(raw)) {
    _fail("CONFIG_INVALID", `--kind must be one of auto, movies, shows; got '${raw}'`);
  }
  return raw as _Kind;
}

function _extensions(config: ImporterConfig): Set<string> {
  const raw = config.extensions === undefined
    ? VIDEO_EXTENSIONS.join(",")
    : String(config.extensions);
  const list = raw.split(",").map((e) => e.trim().replace(/^\.+/, "").toLowerCase()).filter((e) =>
    e !== ""
  );
  if (list.length === 0 || list.some((e) => !/^[a-z0-9_-]{1,16}$/.test(e))) {
    _fail(
      "CONFIG_INVALID",
      `--extensions must be a comma-separated list like 'mkv,mp4'; got '${raw}'`,
    );
  }
  return new Set(list);
}

/**
 * The real path of a root, or a clear error: `CONFIG_INVALID`, except that a
 * missing root is `missing` (`UNREACHABLE` at ingest: a drive or share that
 * is not mounted is an upstream that cannot be reached, not a config typo).
 */
function _resolveRoot(root: RootSpec, missing = "CONFIG_INVALID"): string {
  const hint = missing === "UNREACHABLE"
    ? " (is the drive or network share that holds it mounted?)"
    : "";
  let real: string;
  try {
    real = Deno.realPathSync(root.path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      _fail(missing, `root folder not found: ${root.path}${hint}`, missing === "UNREACHABLE");
    }
    if (e instanceof Deno.errors.NotCapable) {
      // The host grants only roots that existed (by their real path) when the source loaded.
      _fail(
        missing,
        `root folder not found (or not granted to the sandbox): ${root.path}${hint}`,
        missing === "UNREACHABLE",
      );
    }
    _fail("CONFIG_INVALID", `cannot read root folder ${root.path}: ${(e as Error).message}`);
  }
  let isDir = false;
  try {
    isDir = Deno.statSync(real).isDirectory;
  } catch (e) {
    _fail("CONFIG_INVALID", `cannot read root folder ${root.path}: ${(e as Error).message}`);
  }
  if (!isDir) _fail("CONFIG_INVALID", `root is not a folder: ${root.path}`);
  return real;
}

/**
 * The warning for a full listing that found no video file: an unmounted
 * mount point is an empty folder, so say that it may be one.
 */
function _emptyRootWarning(root: RootSpec, rootReal: string): string {
  let empty = false;
  try {
    empty = isEmptyFolder(rootReal);
  } catch {
    // Unreadable: the walk already warned about it.
  }
  return empty
    ? `root folder ${root.path} is empty; if a drive or network share should be mounted ` +
      "there, it is not mounted"
    : `no video files found under root folder ${root.path}`;
}

/** Runs `fn` and turns its result or throw into a promise. */
function _promise<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

function _missingReason(root: RootSpec): string | null {
  try {
    _resolveRoot(root);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function _validate(config: ImporterConfig, context: CallContext): ConnectionInfo {
  _kind(config);
  _extensions(config);
  const roots = parseRoots(config);
  const problems = roots.map(_missingReason);
  if (problems.every((p) => p !== null)) {
    _fail("CONFIG_INVALID", problems.join("; "));
  }
  for (const p of problems) if (p !== null) context.warn(p);
  return { serverName: roots.length === 1 ? roots[0].name : `${roots.length} folders` };
}

function _list(config: ImporterConfig): CollectionInfo[] {
  const kind = _kind(config);
  const out: CollectionInfo[] = parseRoots(config).map((root) => {
    const missing = _missingReason(root);
    const base = { externalId: root.path, name: root.name, locations: [root.path] };
    if (missing !== null) {
      const fallback: CollectionKind = kind === "auto" ? "mixed" : kind;
      return { ...base, kind: fallback, ingestible: false, reason: missing };
    }
    return {
      ...base,
      kind: kind === "auto"
        ? detectRootKind(_resolveRoot(root), {
          extensions: _extensions(config),
          includeHidden: config.include_hidden === true,
        })
        : kind,
      ingestible: true,
    };
  });
  return out;
}

const importer: Importer = {
  typeId: "filesystem",
  displayName: "Filesystem",
  description:
    "Folders of movies or TV episodes on disk. Each --root is one collection; files are read with " +
    "the Plex/Jellyfin naming conventions, and Kodi .nfo sidecars win over names when present. " +
    "The importer can read only its roots.",
  version: "1.0.0",
  params: [
    {
      name: "root",
      flag: "--root",
      kind: "path",
      multiple: true,
      named: true,
      required: true,
      grants: "read",
      description: "Library folder; repeat for more (one collection each); 'NAME=PATH' names it",
    },
    {
      name: "kind",
      flag: "--kind",
      kind: "string",
      default: "auto",
      description:
        "What the roots hold: auto (decided per file), movies (a hint: S01E02 names stay " +
        "episodes, with a warning) or shows",
    },
    {
      name: "extensions",
      flag: "--extensions",
      kind: "string",
      default: VIDEO_EXTENSIONS.join(","),
      description: "Comma-separated video file extensions to ingest",
    },
    {
      name: "include_hidden",
      flag: "--include-hidden",
      kind: "boolean",
      default: false,
      description: "Also ingest hidden files and folders (names starting with '.')",
    },
  ],
  capabilities: {
    filters: {
      movies: ["title"],
      shows: ["title", "season", "episode"],
      mixed: ["title", "season", "episode"],
    },
  },

  validateConnection(config: ImporterConfig, context: CallContext) {
    return _promise(() => _validate(config, context));
  },

  listCollections(config: ImporterConfig, _context: CallContext) {
    return _promise(() => _list(config));
  },

  async *fetchAssets(
    config: ImporterConfig,
    request: FetchRequest,
  ): AsyncGenerator<ImportedAsset[]> {
    const kind = _kind(config);
    const extensions = _extensions(config);
    const root = parseRoots(config).find((r) => r.path === request.collection.externalId);
    if (!root) {
      _fail(
        "COLLECTION_NOT_FOUND",
        `no --root ${request.collection.externalId} in this source's config`,
      );
    }
    const rootReal = _resolveRoot(root, "UNREACHABLE");
    // `auto` decides per file, from its own path and folders, whatever kind discovery recorded:
    // a kind guessed for the whole root once forced 90k episodes into movies.
    const hint = kind === "movies" ? "movie" : kind === "shows" ? "episode" : "auto";
    let found = 0;
    for (
      const batch of walkAssets({
        rootPath: root.path,
        rootReal,
        rootName: root.name,
        hint,
        extensions,
        includeHidden: config.include_hidden === true,
        filters: request.filters ?? {},
        signal: request.signal,
        warn: (m) => request.warn(m),
        skipped: (item, reason) => request.skipped(item, reason),
        unlisted: (prefix) => request.unlisted?.(prefix),
      })
    ) {
      found += batch.length;
      yield batch;
    }
    const filters = request.filters ?? {};
    const full = filters.title === undefined && filters.season === undefined &&
      filters.episode === undefined;
    if (found === 0 && full) request.warn(_emptyRootWarning(root, rootReal));
  },
};

export default importer;
