/**
 * Opening one importer module without a full registry: what `importer check`
 * needs to exercise a module the operator names, exactly as the registry
 * would run it (its own plugin-host process, the sandbox derived from the
 * config, secrets scrubbed).
 *
 * ```ts
 * const [info] = await loadManifests([file], { timeoutMs: 15_000 });
 * if (info.status === "available") {
 *   const client = await openImporterClient(info, config);
 *   try { await client.validateConnection(); } finally { await client.close(); }
 * }
 * ```
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import type { ImporterConfig } from "../core/contract.ts";
import { secretValues } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import { openClient } from "./_client.ts";
import { type HostProcess, startHostProcess } from "./_host_process.ts";
import { assertMounted } from "./_mounts.ts";
import type { IsolationLevel } from "./_isolation.ts";
import type { Limits } from "./_limits.ts";
import { deriveSandbox, refuseProtected, type Sandbox } from "./_permissions.ts";
import { pluginReadRoot } from "./_discovery.ts";
import type { ImporterClient, ImporterTypeInfo } from "./_types.ts";

/** Options for {@link openImporterClient}. */
export interface OpenImporterClientOptions {
  /** Default per-call deadline in milliseconds. */
  timeoutMs?: number;
  /** Heap limit of the plugin-host process in MiB. */
  maxHeapMb?: number;
  /** More values to scrub from messages besides the config's secrets (e.g. a replaced credential). */
  extraSecrets?: readonly string[];
  /** `os` to run the plugin host under bubblewrap (see `_isolation.ts`); default `deno`. */
  isolation?: IsolationLevel;
  /** Limits on what the plugin may send. */
  limits?: Limits;
  /** A kept `DENO_DIR` for the host under OS isolation (built-in importers only). */
  compileCache?: string;
  /**
   * Paths no source may read (the catalog's folder): a granted path that is
   * or contains one is refused with `CONFIG_INVALID`.
   */
  protectedPaths?: readonly string[];
  /** Called once the plugin-host process has been started (`OpenOptions.onStarted`). */
  onStarted?: () => void;
}

/**
 * Starts a sandboxed worker for one loaded importer module in a plugin-host
 * process of its own, the way `Registry.open` does. `config` must already be
 * validated with `validateConfig`. Close the client to stop the process.
 */
export async function openImporterClient(
  info: Extract<ImporterTypeInfo, { status: "available" }>,
  config: ImporterConfig,
  options: OpenImporterClientOptions = {},
): Promise<ImporterClient> {
  const sandbox = deriveSandbox(info.manifest.params, config);
  refuseProtected(sandbox.permissions.read || [], options.protectedPaths ?? []);
  assertMounted(sandbox.permissions.read || []);
  if (sandbox.insecureTlsHosts.length && Deno.build.standalone) {
    throw new RetrovueError(
      "UNSUPPORTED",
      "turning certificate checks off is not available in the compiled binary; " +
        "give the server's CA certificate instead, or run with 'deno task retrovue'",
    );
  }
  const process = startSandboxedHost(info.file, sandbox, options);
  try {
    options.onStarted?.(); // Inside: should it throw, the process is killed below.
    return await openClient({
      process,
      moduleUrl: pathToFileURL(info.file).href,
      manifest: info.manifest,
      config,
      permissions: sandbox.permissions,
      secrets: [...secretValues(info.manifest.params, config), ...(options.extraSecrets ?? [])]
        .sort((a, b) => b.length - a.length),
      timeoutMs: options.timeoutMs,
      limits: options.limits,
    });
  } catch (error) {
    process.kill();
    throw error;
  }
}

/** How {@link startSandboxedHost} starts the process. */
export type SandboxedHostOptions = Pick<
  OpenImporterClientOptions,
  "maxHeapMb" | "limits" | "isolation" | "compileCache"
>;

/**
 * Starts the plugin-host process for one plugin module: it may read the
 * module's folder and what the sandbox grants, reach the granted hosts, and
 * start the granted executables (enrichers), nothing else.
 */
export function startSandboxedHost(
  file: string,
  sandbox: Sandbox,
  options: SandboxedHostOptions,
): HostProcess {
  const pluginDir = pluginReadRoot(file);
  return startHostProcess({
    read: [pluginDir, ...(sandbox.permissions.read || [])],
    moduleRoots: [pluginDir],
    binds: [{ source: pluginDir, target: pluginDir }, ...sandbox.binds],
    net: sandbox.permissions.net || [],
    run: sandbox.permissions.run || [],
    insecureTlsHosts: sandbox.insecureTlsHosts,
    maxHeapMb: options.maxHeapMb,
    maxFrameBytes: options.limits?.maxMessageBytes,
    isolation: options.isolation,
    compileCache: options.compileCache,
  });
}
