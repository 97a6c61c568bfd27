/**
 * OS isolation of plugin-host processes: the outer layer of the sandbox.
 *
 * Deno's permissions are the inner layer: each worker gets an explicit,
 * host-derived permission object. They check a path as it is written, so a
 * symlink inside a granted folder leads anywhere. Where the platform allows,
 * each plugin host therefore also runs under bubblewrap (`bwrap`, the sandbox
 * Flatpak uses) in new namespaces, seeing only what it must: the system
 * libraries, the Deno executable, the registry's own runtime code, the
 * plugin's folder and the source's granted paths (all read-only), a private
 * channel folder, and a tmpfs for `HOME`, `DENO_DIR` and `/tmp`. The network
 * (with `/etc/resolv.conf`, `/etc/hosts` and the CA bundle) is shared only
 * with a source that has a `net` grant. A symlink that leaves those paths
 * then resolves to nothing.
 *
 * `RETROVUE_ISOLATION` chooses: `auto` (default: OS isolation when available,
 * else Deno permissions alone, said once), `required` (third-party plugins
 * refuse to run without OS isolation; built-in importers still run), `off`.
 *
 * @module
 */

import { RetrovueError } from "../core/errors.ts";

/** How strongly a plugin host is isolated. */
export type IsolationLevel = "os" | "deno";

/** What the operator asked for with `RETROVUE_ISOLATION`. */
export type IsolationMode = "auto" | "required" | "off";

/** The isolation this machine gives plugin hosts. */
export interface Isolation {
  /** `os`: bubblewrap around Deno's permissions; `deno`: Deno's permissions alone. */
  level: IsolationLevel;
  /** The operator's setting. */
  mode: IsolationMode;
  /** Why the level is `deno` (absent for `os`). */
  reason?: string;
}

/** The valid values of `RETROVUE_ISOLATION`. */
export const ISOLATION_MODES: readonly IsolationMode[] = ["auto", "required", "off"];

/**
 * Reads `RETROVUE_ISOLATION` (unset or empty: `auto`). Throws `USAGE` naming
 * the valid values for anything else.
 *
 * @example
 * ```ts
 * import { isolationModeFromEnv } from "./mod.ts";
 *
 * const mode = isolationModeFromEnv(Deno.env.get("RETROVUE_ISOLATION")); // "auto" when unset
 * ```
 */
export function isolationModeFromEnv(value: string | undefined): IsolationMode {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "") return "auto";
  if ((ISOLATION_MODES as readonly string[]).includes(v)) return v as IsolationMode;
  throw new RetrovueError(
    "USAGE",
    `RETROVUE_ISOLATION must be one of ${ISOLATION_MODES.join(", ")}; got '${value}'`,
  );
}

/** One read-only bind: what the sandbox shows at `target`, taken from `source`. */
export interface Bind {
  /** The real path on this machine. */
  source: string;
  /** Where the plugin host sees it. */
  target: string;
}

/** What one plugin host may see, for {@link bwrapArgs}. */
export interface IsolationSpec {
  /** The executable the host runs (the Deno binary, or a compiled `retrovue`). */
  executable: string;
  /** Read-only paths: runtime code, plugin folders, granted paths. */
  readOnly: readonly Bind[];
  /** Read-write folders (the private channel folder only). */
  readWrite: readonly string[];
  /** Whether the host shares the network namespace (the source has a `net` grant). */
  net: boolean;
  /** Whether an enricher may start an executable (its loader's files are then shown). */
  run?: boolean;
  /**
   * A folder shown as `DENO_DIR`, kept between hosts so modules are not
   * compiled again on every start (about 50 ms per source opened). Only for
   * hosts of code we ship: Deno writes into it what the host loads.
   */
  compileCache?: string;
}

/** System library folders bound read-only so the executable can start. */
const SYSTEM_LIBS = ["/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32"];

/** Name resolution and certificates, bound read-only only for a `net` grant. */
const NET_FILES = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/pki",
  "/usr/share/ca-certificates",
];

/**
 * What the dynamic loader reads to start an executable an enricher's `run`
 * grant names (`/etc/alternatives` holds the links Debian's shared libraries
 * go through), bound read-only only for a `run` grant.
 */
const RUN_FILES = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives"];

/** Where `HOME` and `DENO_DIR` point inside the sandbox (on its private tmpfs). */
export const SANDBOX_HOME = "/tmp/home";

/** `DENO_DIR` inside the sandbox: transpiled modules live and die with the host. */
export const SANDBOX_DENO_DIR = "/tmp/deno";

/**
 * The `bwrap` arguments that run `command` with only `spec` visible:
 * new user, mount, PID, IPC, UTS, cgroup and (without a `net` grant) network
 * namespaces, a fresh session, a cleared environment, and death with the CLI.
 *
 * @example
 * ```ts
 * import { bwrapArgs } from "./mod.ts";
 *
 * const args = bwrapArgs(
 *   { executable: Deno.execPath(), readOnly: [], readWrite: [], net: false },
 *   { cmd: Deno.execPath(), args: ["--version"] },
 * );
 * const bwrap = new Deno.Command("bwrap", { args });
 * ```
 */
export function bwrapArgs(
  spec: IsolationSpec,
  command: { cmd: string; args: readonly string[] },
): string[] {
  const args = [
    "--unshare-all",
    ...(spec.net ? ["--share-net"] : []),
    "--die-with-parent",
    "--new-session",
    "--clearenv",
    "--setenv",
    "HOME",
    SANDBOX_HOME,
    "--setenv",
    "DENO_DIR",
    SANDBOX_DENO_DIR,
    "--setenv",
    "NO_COLOR",
    "1",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--dir",
    SANDBOX_HOME,
  ];
  for (const lib of SYSTEM_LIBS) args.push("--ro-bind-try", lib, lib);
  if (spec.net) { for (const file of NET_FILES) args.push("--ro-bind-try", file, file); }
  if (spec.run) { for (const file of RUN_FILES) args.push("--ro-bind-try", file, file); }
  const binds: Array<{ source: string; target: string; rw: boolean }> = [
    { source: spec.executable, target: spec.executable, rw: false },
    ...spec.readOnly.map((b) => ({ ...b, rw: false })),
    ...spec.readWrite.map((p) => ({ source: p, target: p, rw: true })),
    ...(spec.compileCache
      ? [{ source: spec.compileCache, target: SANDBOX_DENO_DIR, rw: true }]
      : []),
  ];
  // Parents before children: a later bind inside an earlier one stays visible.
  const seen = new Set<string>();
  binds.sort((a, b) =>
    _depth(a.target) - _depth(b.target) || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0)
  );
  for (const b of binds) {
    if (seen.has(b.target)) continue;
    seen.add(b.target);
    args.push(b.rw ? "--bind" : "--ro-bind", b.source, b.target);
  }
  args.push("--", command.cmd, ...command.args);
  return args;
}

function _depth(path: string): number {
  return path.split("/").length;
}

/** Options for {@link probeIsolation}. */
export interface ProbeOptions {
  /** The operator's setting. */
  mode: IsolationMode;
  /** The executable plugin hosts run; the probe starts it under `bwrap` (`--version`). */
  executable: string;
  /** The operating system; defaults to `Deno.build.os`. */
  os?: string;
}

/**
 * Finds out whether plugin hosts can run under bubblewrap here, by starting
 * the executable under it once (a few milliseconds). Never throws: a missing
 * `bwrap`, disabled user namespaces or a denied `run` permission all give
 * level `deno` with the reason.
 *
 * @example
 * ```ts
 * import { describeIsolation, probeIsolation } from "./mod.ts";
 *
 * const isolation = await probeIsolation({ mode: "auto", executable: Deno.execPath() });
 * console.log(describeIsolation(isolation)); // e.g. "OS isolation (bubblewrap) + Deno permissions"
 * ```
 */
export async function probeIsolation(options: ProbeOptions): Promise<Isolation> {
  const { mode } = options;
  if (mode === "off") {
    return { level: "deno", mode, reason: "turned off with RETROVUE_ISOLATION=off" };
  }
  if ((options.os ?? Deno.build.os) !== "linux") {
    return { level: "deno", mode, reason: "OS isolation (bubblewrap) is available on Linux only" };
  }
  const spec: IsolationSpec = {
    executable: options.executable,
    readOnly: [],
    readWrite: [],
    net: false,
  };
  try {
    const out = await new Deno.Command("bwrap", {
      args: bwrapArgs(spec, { cmd: options.executable, args: ["--version"] }),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return { level: "os", mode };
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ||
      `exit code ${out.code}`;
    return { level: "deno", mode, reason: `bwrap cannot isolate here: ${why.slice(0, 200)}` };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return {
        level: "deno",
        mode,
        reason: "bwrap is not installed (install the 'bubblewrap' package)",
      };
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return {
        level: "deno",
        mode,
        reason: "this process may not run bwrap (the task allows /usr/bin/bwrap, where the " +
          "distribution package puts it)",
      };
    }
    return { level: "deno", mode, reason: `bwrap failed to start: ${(error as Error).message}` };
  }
}

/**
 * Throws `ISOLATION_REQUIRED` when `RETROVUE_ISOLATION=required`, OS isolation
 * is unavailable and the plugin about to start is a third-party one (built-in
 * importers run everywhere). The one rule the registry and the CLI both apply.
 *
 * @example
 * ```ts
 * import { refuseUnisolated } from "./mod.ts";
 *
 * // Throws ISOLATION_REQUIRED: a third-party plugin, isolation required, no bubblewrap.
 * refuseUnisolated(
 *   { level: "deno", mode: "required", reason: "bwrap not found" },
 *   { typeId: "my-source", builtin: false },
 * );
 * ```
 */
export function refuseUnisolated(
  isolation: Isolation,
  plugin: { typeId: string; builtin: boolean },
): void {
  if (isolation.mode !== "required" || isolation.level === "os" || plugin.builtin) return;
  throw new RetrovueError(
    "ISOLATION_REQUIRED",
    `importer '${plugin.typeId}' is a third-party plugin and RETROVUE_ISOLATION=required, but ` +
      `OS isolation is unavailable: ${isolation.reason ?? "unknown reason"}`,
  );
}

/**
 * One line for operators: the isolation plugin hosts get, and why not more.
 *
 * @example
 * ```ts
 * import { describeIsolation } from "./mod.ts";
 *
 * console.log(describeIsolation({ level: "deno", mode: "auto", reason: "bwrap not found" }));
 * ```
 */
export function describeIsolation(isolation: Isolation): string {
  if (isolation.level === "os") return "OS isolation (bubblewrap) + Deno permissions";
  return `Deno permissions only (${isolation.reason ?? "no OS isolation"})`;
}
