/**
 * The enricher registry: discovers enricher modules (the built-in
 * `enrichers/` folder and `RETROVUE_PLUGIN_PATH`), loads each in a worker with
 * no permissions to read its manifest, resolves the executables they run, and
 * opens sandboxed workers for one collection.
 *
 * An enricher's worker may read only the collection's local roots (after
 * path mapping) and what its `read` params grant, start only the executables
 * its `run` params name (by real path: the plugin-host process is allowed to
 * start exactly those, and bubblewrap shows exactly those), and reach no
 * network unless a `net` param grants it.
 *
 * ```ts
 * const enrichers = await loadEnricherRegistry({ pluginDirs, searchPath: env.PATH });
 * const config = enrichers.resolveConfig("ffprobe", {});
 * const client = await enrichers.open("ffprobe", config, { readRoots: ["/media/tv"] });
 * try { await client.enrich(target); } finally { await client.close(); }
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ParamSpec } from "../core/contract.ts";
import type { EnricherConfig } from "../core/enricher_contract.ts";
import { secretValues } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import { describeZodError, enricherManifestSchema } from "../core/schemas.ts";
import { openEnricherWorker } from "./_client.ts";
import { findPluginFiles } from "./_discovery.ts";
import { executableAt, findOnPath } from "./_find_executable.ts";
import type { Isolation } from "./_isolation.ts";
import { DEFAULT_LIMITS } from "./_limits.ts";
import {
  lazyIsolation,
  loadRawManifests,
  type LoadRegistryOptions,
  type RawLoad,
  realPathOr,
  sortUniqueTypes,
  unreadableFolders,
} from "./mod.ts";
import { type CachedLoad, readManifestCache, runtimeStamp } from "./_manifest_cache.ts";
import { moduleKind } from "./_module_kind.ts";
import { deriveSandbox, refuseProtected } from "./_permissions.ts";
import { startSandboxedHost } from "./_single.ts";
import type { EnricherClient, EnricherTypeInfo } from "./_types.ts";

/** Where the built-in enrichers live (next to this code, also inside a compiled binary). */
export const BUILTIN_ENRICHERS_DIR: string = fileURLToPath(
  new URL("../enrichers/", import.meta.url),
);

/**
 * Options for {@link loadEnricherRegistry}: the importer registry's (see
 * `LoadRegistryOptions`), a built-in folder of enrichers, and the `PATH`.
 */
export interface LoadEnricherRegistryOptions extends
  Pick<
    LoadRegistryOptions,
    | "pluginDirs"
    | "loadTimeoutMs"
    | "maxHeapMb"
    | "isolationMode"
    | "isolation"
    | "limits"
    | "protectedPaths"
    | "cacheDir"
  > {
  /** Folder of built-in enrichers; defaults to {@link BUILTIN_ENRICHERS_DIR}. */
  builtinDir?: string;
  /** The host's `PATH`, where `run` params with a `lookup` are searched. */
  searchPath?: string;
}

/** Options for {@link EnricherRegistry.open}. */
export interface OpenEnricherOptions {
  /** The collection's local roots (after path mapping): what the worker may read. */
  readRoots: readonly string[];
}

/** The enricher types found at start-up. */
export interface EnricherRegistry {
  /** Every module found: available, unavailable (an executable is missing) or broken. */
  readonly types: readonly EnricherTypeInfo[];
  /** The loaded (available or unavailable) enricher of a type, or undefined. */
  get(typeId: string): Exclude<EnricherTypeInfo, { status: "broken" }> | undefined;
  /** Whether the module at `file` is a built-in enricher. */
  isBuiltin(file: string): boolean;
  /**
   * The config to run with: `stored` (keyed by param name) with every `run`
   * param resolved to its executable's real path, looked up on `PATH` when
   * not given. Throws `ENRICHER_UNAVAILABLE` with the param's hint when an
   * executable is found nowhere, `NOT_FOUND` for an unknown type.
   */
  resolveConfig(typeId: string, stored: EnricherConfig): EnricherConfig;
  /** Starts a sandboxed worker for one collection; `config` from {@link resolveConfig}. */
  open(
    typeId: string,
    config: EnricherConfig,
    options: OpenEnricherOptions,
  ): Promise<EnricherClient>;
  /** The isolation plugin hosts get (probed once, when first needed). */
  isolation(): Promise<Isolation>;
}

/**
 * Discovers and loads every enricher module. Throws `DUPLICATE_TYPE` when
 * two loaded modules claim one type id; a module that fails to load is
 * listed as broken; importer modules in a shared plugin folder are skipped.
 */
export async function loadEnricherRegistry(
  options: LoadEnricherRegistryOptions = {},
): Promise<EnricherRegistry> {
  const builtinDir = options.builtinDir ?? BUILTIN_ENRICHERS_DIR;
  const found = findPluginFiles([builtinDir, ...(options.pluginDirs ?? [])]);
  const isolation = lazyIsolation(options);
  const types: EnricherTypeInfo[] = unreadableFolders(found);
  for (const [file, reason] of found.refused) types.push({ status: "broken", file, reason });
  const loadable = found.files.filter((f) => !found.refused.has(f));
  // What each module reported is cached like importers' manifests (validated again on use).
  const cache = options.cacheDir
    ? readManifestCache(join(options.cacheDir, "enricher_manifests.json"))
    : undefined;
  const stamp = cache ? runtimeStamp() : "";
  const keyOf = (file: string) => `${stamp}|${found.stamps.get(file) ?? ""}`;
  const toLoad: string[] = [];
  for (const file of loadable) {
    const cached = cache?.get(file, keyOf(file));
    const info = cached ? _validate(file, cached, options.searchPath) : undefined;
    if (cached) {
      if (info) types.push(info);
    } else toLoad.push(file);
  }
  if (toLoad.length > 0) {
    const loads = await loadRawManifests(toLoad, {
      timeoutMs: options.loadTimeoutMs ?? 15_000,
      isolation: (await isolation()).level,
    });
    for (const [file, { cacheable, timedOut, ...load }] of loads) {
      const info = _validate(file, load, options.searchPath);
      if (info) types.push(info);
      if (cache && cacheable && !timedOut) cache.set(file, keyOf(file), load as CachedLoad);
    }
    cache?.save();
  }
  sortUniqueTypes(types, (typeId) => `Multiple enrichers claim type '${typeId}'`);
  const builtinReal = realPathOr(builtinDir);
  const isBuiltin = (file: string) => file.startsWith(join(builtinReal, "/"));
  const get = (typeId: string) =>
    types.find((t): t is Exclude<EnricherTypeInfo, { status: "broken" }> =>
      t.status !== "broken" && t.typeId === typeId
    );
  const need = (typeId: string) => {
    const info = get(typeId);
    if (!info) {
      throw new RetrovueError(
        "NOT_FOUND",
        `enricher type '${typeId}' is not installed; run 'enricher list-types' to see what is`,
        { details: { typeId } },
      );
    }
    return info;
  };
  return {
    types,
    get,
    isBuiltin,
    isolation,
    resolveConfig(typeId, stored) {
      const info = need(typeId);
      return resolveRunParams(info.manifest.params, stored, { searchPath: options.searchPath });
    },
    async open(typeId, config, openOptions) {
      const info = need(typeId);
      const current = await isolation();
      if (current.mode === "required" && current.level !== "os" && !isBuiltin(info.file)) {
        throw new RetrovueError(
          "ISOLATION_REQUIRED",
          `enricher '${typeId}' is a third-party plugin and RETROVUE_ISOLATION=required, but ` +
            `OS isolation is unavailable: ${current.reason ?? "unknown reason"}`,
        );
      }
      const params = info.manifest.params;
      const sandbox = deriveSandbox(params, config, { extraRead: openOptions.readRoots });
      refuseProtected(sandbox.permissions.read || [], options.protectedPaths ?? []);
      const process = startSandboxedHost(info.file, sandbox, {
        maxHeapMb: options.maxHeapMb,
        limits: options.limits,
        isolation: current.level,
      });
      try {
        return await openEnricherWorker({
          process,
          moduleUrl: pathToFileURL(info.file).href,
          manifest: info.manifest,
          config,
          permissions: sandbox.permissions,
          secrets: secretValues(params as ParamSpec[], config).sort((a, b) => b.length - a.length),
          timeoutMs: info.manifest.timeoutMs ?? DEFAULT_ENRICH_TIMEOUT_MS,
          limits: options.limits ?? DEFAULT_LIMITS,
        });
      } catch (error) {
        process.kill();
        throw error;
      }
    },
  };
}

/** The per-asset deadline of an enricher that declares none, in milliseconds. */
export const DEFAULT_ENRICH_TIMEOUT_MS = 30_000;

export { findOnPath };

/** The `run` params of an enricher manifest, as {@link resolveRunParams} reads them. */
type RunParam = {
  name: string;
  flag: string;
  grants?: string;
  lookup?: string;
  missingHint?: string;
};

/**
 * Resolves every `run` param of `config`: a given path must be an
 * executable file; a missing one is looked up on `searchPath` by the param's
 * `lookup` name. Each becomes its real path (what the sandbox grants).
 * Throws `ENRICHER_UNAVAILABLE` with the param's `missingHint`.
 */
export function resolveRunParams(
  params: readonly RunParam[],
  config: EnricherConfig,
  options: { searchPath: string | undefined },
): EnricherConfig {
  const { searchPath } = options;
  const out: EnricherConfig = { ...config };
  for (const p of params) {
    if (p.grants !== "run") continue;
    const given = config[p.name];
    const hint = p.missingHint ?? `pass ${p.flag} PATH`;
    if (typeof given === "string" && given !== "") {
      const real = executableAt(given);
      if (!real) {
        throw new RetrovueError(
          "ENRICHER_UNAVAILABLE",
          `${p.flag} ${given} is not an executable file; ${hint}`,
        );
      }
      out[p.name] = real;
      continue;
    }
    const found = p.lookup ? findOnPath(p.lookup, searchPath) : undefined;
    if (!found) {
      throw new RetrovueError(
        "ENRICHER_UNAVAILABLE",
        `${p.lookup ?? p.name} not found: ${hint}`,
      );
    }
    out[p.name] = found;
  }
  return out;
}

function _validate(
  file: string,
  load: RawLoad,
  searchPath: string | undefined,
): EnricherTypeInfo | undefined {
  if ("broken" in load) {
    return { status: "broken", file, reason: load.broken.replace(/\s+/g, " ").slice(0, 500) };
  }
  const raw = load.manifest;
  if (raw === null || typeof raw !== "object") {
    return { status: "broken", file, reason: "the module has no default export" };
  }
  if (moduleKind(raw) !== "enricher") {
    const ops = (raw as { operations?: unknown }).operations;
    // An importer beside enrichers in a plugin folder is the importer registry's.
    if (Array.isArray(ops) && ops.includes("fetchAssets")) return undefined;
    const claimed = (raw as { typeId?: unknown }).typeId;
    return {
      status: "broken",
      file,
      typeId: typeof claimed === "string" ? claimed.slice(0, 40) : undefined,
      reason: "does not implement enrich",
    };
  }
  const parsed = enricherManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const claimed = (raw as { typeId?: unknown }).typeId;
    return {
      status: "broken",
      file,
      typeId: typeof claimed === "string" ? claimed.slice(0, 40) : undefined,
      reason: `invalid manifest: ${describeZodError(parsed.error)}`,
    };
  }
  const manifest = parsed.data;
  try {
    resolveRunParams(manifest.params, {}, { searchPath });
  } catch (error) {
    const reason = error instanceof RetrovueError ? error.message : String(error);
    return { status: "unavailable", typeId: manifest.typeId, file, manifest, reason };
  }
  return { status: "available", typeId: manifest.typeId, file, manifest };
}
