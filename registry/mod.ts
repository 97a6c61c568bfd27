/**
 * The importer registry: discovers importer modules, loads each in a worker
 * with no permissions to read its manifest, and opens sandboxed workers for
 * sources.
 *
 * ```ts
 * import { loadRegistry, pluginDirsFromEnv } from "./mod.ts";
 *
 * const pluginDirs = pluginDirsFromEnv(Deno.env.get("RETROVUE_PLUGIN_PATH"));
 * const registry = await loadRegistry({ pluginDirs });
 * try {
 *   const client = await registry.open("plex", {
 *     base_url: "http://127.0.0.1:32400",
 *     token: "plex-token",
 *   });
 *   const [collection] = await client.listCollections();
 *   for await (const batch of client.fetchAssets({ collection, filters: {} })) {
 *     console.log(`${batch.length} raw assets`); // untrusted: the ingest validates each
 *   }
 * } finally {
 *   await registry.close(); // closes the client too
 * }
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ImporterConfig } from "../core/contract.ts";
import { RetrovueError } from "../core/errors.ts";
import { findPluginFiles, pluginReadRoot } from "./_discovery.ts";
import type { HostProcess } from "./_host_process.ts";
import {
  type Isolation,
  type IsolationLevel,
  type IsolationMode,
  probeIsolation,
  refuseUnisolated,
} from "./_isolation.ts";
import { DEFAULT_LIMITS, type Limits } from "./_limits.ts";
import { type CachedLoad, readManifestCache, runtimeStamp } from "./_manifest_cache.ts";
import { NO_PERMISSIONS } from "./_permissions.ts";
import { ENRICHER_MODULE } from "./_module_kind.ts";
import type { OpenImporterClientOptions } from "./_single.ts";
import type { EnricherRegistry, LoadEnricherRegistryOptions } from "./_enrichers.ts";
import type { ImporterClient, ImporterTypeInfo, OpenOptions, Registry } from "./_types.ts";

export {
  findPluginFiles,
  isPluginFileName,
  isPluginModulePath,
  pluginDirsFromEnv,
  pluginReadRoot,
} from "./_discovery.ts";
export {
  HEAP_GROWING_FLAG,
  HOST_RUN_FLAGS,
  PLUGIN_HOST_COMMAND,
  SEMI_SPACE_FLAG,
  STANDALONE_HEAP_MB,
} from "./_protocol.ts";
export { DEFAULT_SEARCH_PATH, executableAt, findOnPath } from "./_find_executable.ts";
export { bwrapArgs } from "./_isolation.ts";
export type { EnricherRegistry, LoadEnricherRegistryOptions } from "./_enrichers.ts";
export {
  describeIsolation,
  type Isolation,
  type IsolationLevel,
  type IsolationMode,
  isolationModeFromEnv,
  probeIsolation,
  refuseUnisolated,
} from "./_isolation.ts";
export { DEFAULT_LIMITS, LIMIT_ENV_NAMES, type Limits, limitsFromEnv } from "./_limits.ts";
export { deriveSandbox, refuseProtected, type Sandbox } from "./_permissions.ts";
export type * from "./_types.ts";

/**
 * Finds and loads the enrichers in the built-in folder and the plugin
 * folders (see `_enrichers.ts`). Their code is loaded only when this is
 * called, so commands that need no enricher do not pay for it.
 *
 * @example
 * ```ts
 * import { loadEnricherRegistry } from "./mod.ts";
 *
 * const enrichers = await loadEnricherRegistry({ searchPath: Deno.env.get("PATH") });
 * for (const type of enrichers.types) console.log(type.status, type.file);
 * ```
 */
export async function loadEnricherRegistry(
  options: LoadEnricherRegistryOptions = {},
): Promise<EnricherRegistry> {
  const { loadEnricherRegistry: load } = await import("./_enrichers.ts");
  return await load(options);
}

/**
 * Runs this process as a plugin host (`PLUGIN_HOST_COMMAND`): what a compiled
 * binary does when the registry starts it as one. Loaded only when called.
 *
 * @example A binary's entry point
 * ```ts
 * import { PLUGIN_HOST_COMMAND, runPluginHost } from "./mod.ts";
 *
 * if (Deno.args[0] === PLUGIN_HOST_COMMAND) await runPluginHost();
 * ```
 */
export async function runPluginHost(): Promise<void> {
  const { runPluginHost: run } = await import("./_plugin_host.ts");
  await run();
}

/** Where the built-in importers live (next to this code, also inside a compiled binary). */
export const BUILTIN_IMPORTERS_DIR: string = fileURLToPath(
  new URL("../importers/", import.meta.url),
);

/** Options for {@link loadRegistry}. */
export interface LoadRegistryOptions {
  /** Folder of built-in importers; defaults to {@link BUILTIN_IMPORTERS_DIR}. */
  builtinDir?: string;
  /** Extra plugin folders (from `RETROVUE_PLUGIN_PATH`). */
  pluginDirs?: string[];
  /** How long loading all manifests may take, in milliseconds. */
  loadTimeoutMs?: number;
  /** Default per-call deadline of clients, in milliseconds. */
  timeoutMs?: number;
  /** Heap limit of each plugin-host process in MiB (a plugin exceeding it crashes alone). */
  maxHeapMb?: number;
  /**
   * The operator's isolation setting (`RETROVUE_ISOLATION`); the registry
   * probes what the machine allows when it first starts a plugin host.
   * Default `auto`.
   */
  isolationMode?: IsolationMode;
  /**
   * An isolation already probed (skips the probe; tests force a level with
   * it), or how to find it out, called only when a plugin host is about to
   * start (the CLI shares its own probe this way).
   */
  isolation?: Isolation | (() => Promise<Isolation>);
  /** Limits on what plugins may send (default {@link DEFAULT_LIMITS}). */
  limits?: Limits;
  /**
   * A folder for the registry's caches (default: none): `manifests.json`,
   * what each module reported when loaded (see `_manifest_cache.ts`), so
   * unchanged modules are not loaded again and a registry whose modules are
   * all cached starts no process and loads no plugin code; and `deno/`, the compiled-module
   * cache that plugin hosts of built-in importers keep under OS isolation.
   */
  cacheDir?: string;
  /** The manifest cache file; default `<cacheDir>/manifests.json`. */
  manifestCache?: string;
  /**
   * Paths no source may be granted, nor any folder containing them (the
   * catalog's folder): opening such a source fails with `CONFIG_INVALID`.
   */
  protectedPaths?: readonly string[];
}

/**
 * Opens a client for a loaded module (see `_single.ts`), loading that code only when called.
 *
 * @example One plugin file, without a registry (as `importer check` does)
 * ```ts
 * import { loadManifests, openImporterClient } from "./mod.ts";
 *
 * const [info] = await loadManifests(["/opt/plugins/json_file.ts"], { timeoutMs: 15_000 });
 * if (info.status === "available") {
 *   const client = await openImporterClient(info, { file: "/data/catalog.json" });
 *   try {
 *     console.log(await client.validateConnection());
 *   } finally {
 *     await client.close();
 *   }
 * }
 * ```
 */
export async function openImporterClient(
  info: Extract<ImporterTypeInfo, { status: "available" }>,
  config: ImporterConfig,
  options: OpenImporterClientOptions = {},
): Promise<ImporterClient> {
  return await (await import("./_single.ts")).openImporterClient(info, config, options);
}

/**
 * Discovers and loads every importer module. Throws `DUPLICATE_TYPE` when two
 * loaded modules claim one type id; a module that fails to load is listed as
 * broken instead. With a cache whose entries all match, it starts no process.
 *
 * @example List what is installed
 * ```ts
 * import { loadRegistry } from "./mod.ts";
 *
 * const registry = await loadRegistry({
 *   pluginDirs: ["/opt/retrovue/plugins"],
 *   cacheDir: "/var/cache/retrovue",
 * });
 * for (const type of registry.types) {
 *   console.log(type.status === "available" ? type.typeId : `${type.file}: ${type.reason}`);
 * }
 * await registry.close();
 * ```
 */
export async function loadRegistry(options: LoadRegistryOptions = {}): Promise<Registry> {
  const builtinDir = options.builtinDir ?? BUILTIN_IMPORTERS_DIR;
  const dirs = [builtinDir, ...(options.pluginDirs ?? [])];
  const found = findPluginFiles(dirs);
  const isolation = lazyIsolation(options);
  const types: ImporterTypeInfo[] = unreadableFolders(found);
  for (const [file, reason] of found.refused) types.push(_broken(file, reason));
  const loadable = found.files.filter((f) => !found.refused.has(f));
  const cachePath = options.manifestCache ??
    (options.cacheDir ? join(options.cacheDir, "manifests.json") : undefined);
  const cache = cachePath ? readManifestCache(cachePath) : undefined;
  const stamp = cache ? runtimeStamp() : "";
  const keyOf = (file: string) => `${stamp}|${found.stamps.get(file) ?? ""}`;
  const toLoad: string[] = [];
  for (const file of loadable) {
    const cached = cache?.get(file, keyOf(file));
    if (cached) types.push(_fromCached(file, cached));
    else toLoad.push(file);
  }
  if (toLoad.length > 0) {
    const loads = await _loadRaw(toLoad, {
      timeoutMs: options.loadTimeoutMs ?? 15_000,
      isolation: (await isolation()).level,
    });
    const { validateManifest } = await import("./_validate_manifest.ts");
    for (const [file, { cacheable, timedOut, ...raw }] of loads) {
      const load = "broken" in raw ? raw : validateManifest(raw.manifest);
      types.push(_fromCached(file, load));
      if (!cacheable || !cache) continue;
      const before = cache.peek(file, keyOf(file));
      const strikes = before && "broken" in before ? before.timeouts ?? 0 : 0;
      cache.set(
        file,
        keyOf(file),
        timedOut && "broken" in load ? { ...load, timeouts: strikes + 1 } : load,
      );
    }
    cache?.save();
  }
  // A plugin folder may hold enrichers too: they are not importers, nor broken ones.
  const importers = types.filter((t) => !(t.status === "broken" && t.reason === ENRICHER_MODULE));
  types.length = 0;
  types.push(...importers);
  sortUniqueTypes(types, (typeId) => `Multiple importers claim source type '${typeId}'`);
  return _registry(types, { ...options, isolation, builtinDir: realPathOr(builtinDir) });
}

/**
 * The isolation plugin hosts get, found out once and only when first asked
 * for: the one given (or its probe function), else a probe of the machine.
 *
 * @example
 * ```ts
 * import { lazyIsolation } from "./mod.ts";
 *
 * const isolation = lazyIsolation({ isolationMode: "auto" }); // probes nothing yet
 * const { level, reason } = await isolation(); // probes once; later calls reuse it
 * if (level === "deno") console.log(`no OS isolation: ${reason}`);
 * ```
 */
export function lazyIsolation(
  options: Pick<LoadRegistryOptions, "isolation" | "isolationMode">,
): () => Promise<Isolation> {
  const given = options.isolation;
  let probed: Promise<Isolation> | undefined;
  return () =>
    probed ??= typeof given === "function"
      ? given()
      : given
      ? Promise.resolve(given)
      : probeIsolation({ mode: options.isolationMode ?? "auto", executable: Deno.execPath() });
}

/**
 * A broken entry for each plugin folder that could not be read.
 *
 * @example
 * ```ts
 * import { findPluginFiles, unreadableFolders } from "./mod.ts";
 *
 * const found = findPluginFiles(["/opt/retrovue/plugins"]);
 * for (const broken of unreadableFolders(found)) console.log(broken.reason);
 * ```
 */
export function unreadableFolders(
  found: { unreadable: readonly { dir: string; reason: string }[] },
): { status: "broken"; file: string; reason: string }[] {
  return found.unreadable.map((u) => ({
    status: "broken" as const,
    file: u.dir,
    reason: `plugin folder cannot be read: ${u.reason}`,
  }));
}

/**
 * Sorts loaded plugin types (type id, then file; broken ones without an id
 * last) and throws `DUPLICATE_TYPE` when two loaded modules claim one type id.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sortUniqueTypes } from "./mod.ts";
 *
 * const types = [
 *   { status: "available", typeId: "plex", file: "/opt/plugins/plex.ts" },
 *   { status: "available", typeId: "plex", file: "/opt/more/plex.ts" },
 * ];
 * assert.throws(() => sortUniqueTypes(types, (id) => `two importers claim '${id}'`), {
 *   code: "DUPLICATE_TYPE",
 * });
 * ```
 */
export function sortUniqueTypes(
  types: { status: string; typeId?: string; file: string }[],
  describe: (typeId: string) => string,
): void {
  // Code-unit order: ids and paths need no locale, and the first localeCompare
  // costs ~10 ms of start-up (it loads ICU's collator).
  types.sort((a, b) =>
    _compareText(a.typeId ?? "\uffff", b.typeId ?? "\uffff") || _compareText(a.file, b.file)
  );
  const byType = new Map<string, string[]>();
  for (const t of types) {
    if (t.status === "broken" || t.typeId === undefined) continue;
    byType.set(t.typeId, [...(byType.get(t.typeId) ?? []), t.file]);
  }
  for (const [typeId, files] of byType) {
    if (files.length > 1) {
      throw new RetrovueError("DUPLICATE_TYPE", `${describe(typeId)}: ${files.join(", ")}`, {
        details: { typeId, files },
      });
    }
  }
}

/**
 * The real path of a folder, or the folder as given when it cannot be resolved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { realPathOr } from "./mod.ts";
 *
 * assert.equal(realPathOr("/no/such/folder"), "/no/such/folder");
 * ```
 */
export function realPathOr(dir: string): string {
  try {
    return Deno.realPathSync(dir);
  } catch {
    return dir; // Reported as an unreadable folder by discovery.
  }
}

function _registry(
  types: ImporterTypeInfo[],
  options: LoadRegistryOptions & { isolation: () => Promise<Isolation>; builtinDir: string },
): Registry {
  const open = new Set<ImporterClient>();
  const { isolation } = options;
  const isBuiltin = (file: string) => file.startsWith(join(options.builtinDir, "/"));
  const get = (typeId: string) =>
    types.find((t): t is Extract<ImporterTypeInfo, { status: "available" }> =>
      t.status === "available" && t.typeId === typeId
    );
  return {
    types,
    isolation,
    isBuiltin,
    get,
    async open(typeId: string, config: ImporterConfig, openOptions: OpenOptions = {}) {
      const info = get(typeId);
      if (!info) {
        throw new RetrovueError(
          "IMPORTER_UNAVAILABLE",
          `importer type '${typeId}' is not installed; run 'source list-types' to see what is, ` +
            `or add its plugin folder to RETROVUE_PLUGIN_PATH`,
        );
      }
      const current = await isolation();
      refuseUnisolated(current, { typeId, builtin: isBuiltin(info.file) });
      const client = await openImporterClient(info, config, {
        timeoutMs: openOptions.timeoutMs ?? options.timeoutMs,
        maxHeapMb: options.maxHeapMb,
        isolation: current.level,
        limits: options.limits ?? DEFAULT_LIMITS,
        compileCache: isBuiltin(info.file) ? _compileCache(options.cacheDir) : undefined,
        protectedPaths: options.protectedPaths,
        onStarted: openOptions.onStarted,
      });
      const close = client.close.bind(client);
      const tracked: ImporterClient = {
        ...client,
        close: () => {
          open.delete(tracked);
          return close();
        },
      };
      open.add(tracked);
      return tracked;
    },
    async close() {
      await Promise.all([...open].map((c) => c.close()));
    },
  };
}

/** Options for {@link loadManifests}. */
export interface LoadManifestsOptions {
  /** Deadline for the whole batch, in milliseconds. */
  timeoutMs: number;
  /** How the loading process is isolated (default `deno`). */
  isolation?: IsolationLevel;
}

/**
 * Loads each module in a worker with no permissions and validates the
 * manifest it reports. All modules share one plugin-host process; if that
 * process dies or a module never answers, the modules still unresolved are
 * retried one process each, so one hostile module cannot hide the others.
 *
 * @example
 * ```ts
 * import { loadManifests } from "./mod.ts";
 *
 * const files = ["/opt/plugins/json_file.ts", "/opt/plugins/http_catalog/mod.ts"];
 * for (const info of await loadManifests(files, { timeoutMs: 15_000 })) {
 *   console.log(info.status === "available" ? info.manifest.displayName : info.reason);
 * }
 * ```
 */
export async function loadManifests(
  files: readonly string[],
  options: LoadManifestsOptions,
): Promise<ImporterTypeInfo[]> {
  const loads = await _loadRaw(files, options);
  const { validateManifest } = await import("./_validate_manifest.ts");
  return files.map((f) => {
    const load = loads.get(f)!;
    return _fromCached(f, "broken" in load ? load : validateManifest(load.manifest));
  });
}

/** What loading a module reported, before its manifest is validated. */
export type RawLoad = { manifest: unknown } | { broken: string };

/**
 * What loading each module reported, before validation; `cacheable` is false
 * when the plugin host itself failed (the module may be fine). The enricher
 * registry loads its modules with this too.
 *
 * @example
 * ```ts
 * import { loadRawManifests } from "./mod.ts";
 *
 * const loads = await loadRawManifests(["/opt/plugins/json_file.ts"], { timeoutMs: 15_000 });
 * for (const [file, load] of loads) console.log(file, "broken" in load ? load.broken : "loaded");
 * ```
 */
export const loadRawManifests = _loadRaw;

async function _loadRaw(
  files: readonly string[],
  options: LoadManifestsOptions,
): Promise<Map<string, RawLoad & { cacheable: boolean; timedOut: boolean }>> {
  // One plugin host per plugin folder: a host reads, and its import map lets modules import
  // from, every folder it loads, so one folder's top-level code could read another's files.
  const folders = new Map<string, string[]>();
  for (const file of files) {
    const root = pluginReadRoot(file);
    const group = folders.get(root);
    if (group) group.push(file);
    else folders.set(root, [file]);
  }
  const loads = await Promise.all(
    [...folders.values()].map((group) => _loadFolder(group, options)),
  );
  return new Map(loads.flatMap((load) => [...load]));
}

/** {@link _loadRaw} for the modules of one plugin folder, in one plugin host. */
async function _loadFolder(
  files: readonly string[],
  options: LoadManifestsOptions,
): Promise<Map<string, RawLoad & { cacheable: boolean; timedOut: boolean }>> {
  const out = new Map<string, RawLoad & { cacheable: boolean; timedOut: boolean }>();
  if (files.length === 0) return out;
  const settle = (file: string, result: BatchResult) => {
    const load = result.get(file);
    const failure = result.failure ?? "did not load";
    out.set(
      file,
      load ? { ...load, cacheable: !_deniedForIsolation(load), timedOut: false } : {
        broken: failure,
        cacheable: !/^plugin host/.test(failure),
        timedOut: /^did not load within/.test(failure),
      },
    );
  };
  const first = await _loadBatch(files, options);
  const unresolved = files.filter((f) => !first.has(f));
  for (const f of files) if (first.has(f)) settle(f, first);
  if (unresolved.length === 1 || (unresolved.length && files.length === 1)) {
    settle(unresolved[0], first);
  } else if (unresolved.length > 1) {
    const retried = await Promise.all(unresolved.map((f) => _loadBatch([f], options)));
    retried.forEach((result, i) => settle(unresolved[i], result));
  }
  return out;
}

/**
 * Whether a module failed only because its host ran without OS isolation
 * (it imports `node:fs` or `node:sqlite`, see `_denied_file_module.js`):
 * not cached, so it loads once bubblewrap is there.
 */
function _deniedForIsolation(load: RawLoad): boolean {
  return "broken" in load && /not available to plugins without OS isolation/.test(load.broken);
}

function _fromCached(file: string, load: CachedLoad): ImporterTypeInfo {
  if ("manifest" in load) {
    return { status: "available", typeId: load.manifest.typeId, file, manifest: load.manifest };
  }
  const broken = _broken(file, load.broken);
  return load.typeId === undefined ? broken : { ...broken, typeId: load.typeId };
}

type BatchResult = Map<string, RawLoad> & { failure?: string };

async function _loadBatch(
  files: readonly string[],
  options: LoadManifestsOptions,
): Promise<BatchResult> {
  const { timeoutMs } = options;
  const result: BatchResult = new Map();
  const { startHostProcess } = await import("./_host_process.ts");
  const roots = [...new Set(files.map(pluginReadRoot))];
  const process: HostProcess = startHostProcess({
    read: roots,
    moduleRoots: roots,
    net: [],
    isolation: options.isolation,
  });
  let settle!: () => void;
  const allDone = new Promise<void>((resolve) => (settle = resolve));
  const check = () => result.size === files.length && settle();
  for (const file of files) {
    const wid: number = process.spawnWorker(pathToFileURL(file).href, NO_PERMISSIONS, {
      onMessage(message) {
        if (result.has(file) || typeof message !== "object" || message === null) return;
        if (message.t === "closed") {
          const why = typeof message.reason === "string" ? message.reason : "it closed itself";
          result.set(file, { broken: `exited while loading: ${why}` });
          process.killWorker(wid);
          check();
          return;
        }
        if (message.t !== "ready") return;
        result.set(file, { manifest: message.manifest });
        check();
      },
      onExit(reason) {
        if (!result.has(file) && !/^plugin host/.test(reason)) {
          result.set(file, { broken: `failed to load: ${reason}` });
          check();
        } else if (!result.has(file)) {
          result.failure ??= reason;
        }
      },
    });
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      result.failure ??= `did not load within ${timeoutMs / 1000}s`;
      resolve();
    }, timeoutMs);
  });
  await Promise.race([allDone, timedOut, process.exited.then(() => {})]);
  clearTimeout(timer);
  process.kill();
  await process.exited;
  if (!result.failure && result.size < files.length) result.failure = "plugin host exited";
  return result;
}

/** `<cacheDir>/deno`, created private to this user; undefined when there is none. */
function _compileCache(cacheDir: string | undefined): string | undefined {
  if (!cacheDir) return undefined;
  const dir = join(cacheDir, "deno");
  try {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return undefined; // Then the host compiles on a tmpfs, as for any plugin.
  }
}

function _broken(file: string, reason: string): Extract<ImporterTypeInfo, { status: "broken" }> {
  return { status: "broken", file, reason: reason.replace(/\s+/g, " ").slice(0, 500) };
}

function _compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
