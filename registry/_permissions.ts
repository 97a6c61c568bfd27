/**
 * Derives a sandbox from a validated config: the host, never the plugin,
 * decides what a worker may reach.
 *
 * - every `grants: "net"` URL → its `host:port` (default ports made explicit);
 * - every `grants: "read"` path → its real, absolute, symlink-resolved path
 *   (a path that does not exist grants nothing; the importer then reports it);
 * - every `grants: "run"` path (enrichers only) → the one executable at its
 *   real path may be started, and OS isolation shows that file;
 * - the paths the host adds itself (an enricher's collection roots) → read;
 * - nothing else: no env, write, ffi, sys or import.
 *
 * @module
 */

import { isAbsolute } from "node:path";
import type { ImporterConfig, ParamSpec } from "../core/contract.ts";
import type { EnricherParamSpec } from "../core/enricher_contract.ts";
import { splitNamedValue } from "../core/config.ts";
import { RetrovueError } from "../core/errors.ts";
import type { Bind } from "./_isolation.ts";
import type { WorkerPermissions } from "./_protocol.ts";

/** A derived sandbox. */
export interface Sandbox {
  /** The worker's permission object. */
  permissions: WorkerPermissions;
  /** Hosts (`host` or `host:port`) whose certificates are not verified. */
  insecureTlsHosts: string[];
  /**
   * What OS isolation shows read-only: each granted path's real path, at its
   * real path and at the path as the operator wrote it (when that differs).
   */
  binds: Bind[];
}

/** Permissions with every kind denied: what manifest loading gets. */
export const NO_PERMISSIONS: WorkerPermissions = {
  net: false,
  read: false,
  write: false,
  env: false,
  run: false,
  ffi: false,
  sys: false,
  import: false,
};

/** Options for {@link deriveSandbox}. */
export interface DeriveOptions {
  /** Resolves a path to its real path; throws when it does not exist. */
  realPath?: (path: string) => string;
  /** More absolute paths to make readable, chosen by the host (an enricher's collection roots). */
  extraRead?: readonly string[];
}

/** The `host:port` a URL connects to, with the scheme's default port made explicit. */
export function netTarget(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  return `${u.hostname}:${port}`;
}

function _values(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/**
 * Derives the worker sandbox for one source's config.
 *
 * @example
 * ```ts
 * import { deriveSandbox } from "./mod.ts";
 *
 * const sandbox = deriveSandbox(
 *   [{ name: "base_url", flag: "--base-url", kind: "url", description: "server", grants: "net" }],
 *   { base_url: "http://127.0.0.1:32400" },
 * );
 * console.log(sandbox.permissions.net); // ["127.0.0.1:32400"]
 * ```
 */
export function deriveSandbox(
  params: readonly (ParamSpec | EnricherParamSpec)[],
  config: ImporterConfig,
  options: DeriveOptions = {},
): Sandbox {
  const realPath = options.realPath ?? Deno.realPathSync;
  const net = new Set<string>();
  const read = new Set<string>();
  const run = new Set<string>();
  const binds: Bind[] = [];
  const grantPath = (value: string, to: Set<string>) => {
    try {
      // Deno checks the path as the plugin spells it and as it resolves, so
      // a root behind a symlink needs both; neither reaches beyond the root.
      const real = realPath(value);
      to.add(real);
      to.add(value);
      binds.push({ source: real, target: real });
      if (value !== real) binds.push({ source: real, target: value });
    } catch {
      // A missing path grants nothing; the plugin reports it as not found.
    }
  };
  for (const path of options.extraRead ?? []) if (isAbsolute(path)) grantPath(path, read);
  let verifyTls = true;
  for (const param of params) {
    const values = _values(config[param.name]);
    if (param.verifiesTls && param.kind === "boolean" && config[param.name] === false) {
      verifyTls = false;
    }
    if (!param.grants) continue;
    for (const raw of values) {
      const value = param.named ? splitNamedValue(raw)[1] : raw;
      if (param.grants === "net") {
        try {
          const url = new URL(value);
          if (url.protocol === "http:" || url.protocol === "https:") net.add(netTarget(value));
        } catch {
          // Invalid URLs were refused by config validation; grant nothing.
        }
      } else if (param.grants === "read" && isAbsolute(value)) {
        grantPath(value, read);
      } else if (param.grants === "run" && isAbsolute(value)) {
        grantPath(value, run);
      }
    }
  }
  const netList = [...net].sort();
  return {
    permissions: {
      ...NO_PERMISSIONS,
      net: netList.length ? netList : false,
      read: read.size ? [...read].sort() : false,
      run: run.size ? [...run].sort() : false,
    },
    insecureTlsHosts: verifyTls ? [] : netList.map((t) => t.replace(/:\d+$/, "")),
    binds: _withoutNested(binds),
  };
}

/**
 * Drops as-written aliases that lie inside another bound real path: there the
 * sandbox already shows the link itself, which leads to the real path.
 */
function _withoutNested(binds: Bind[]): Bind[] {
  const reals = binds.filter((b) => b.source === b.target).map((b) => b.target);
  return binds.filter((b) =>
    b.source === b.target || !reals.some((r) => b.target.startsWith(r.endsWith("/") ? r : r + "/"))
  );
}

/**
 * Throws `CONFIG_INVALID` when a granted path is, or contains, a protected
 * one (the catalog's folder and files, see `protectedCatalogPaths`; shared
 * with the enricher registry): a source granted the catalog could read
 * every other source's credentials, whatever the isolation.
 */
export function refuseProtected(read: readonly string[], protectedPaths: readonly string[]): void {
  for (const path of protectedPaths) {
    let real = path;
    try {
      real = Deno.realPathSync(path);
    } catch {
      // Not there (yet): compare as given.
    }
    const hit = read.find((r) => {
      const root = r.endsWith("/") ? r : r + "/";
      return real === r || real.startsWith(root) || path === r || path.startsWith(root);
    });
    if (hit) {
      throw new RetrovueError(
        "CONFIG_INVALID",
        `the granted path ${hit} ${hit === path || hit === real ? "is" : "contains"} ` +
          `RetroVue's catalog (${path}); a source may not read it: give a narrower folder`,
        { details: { path: hit } },
      );
    }
  }
}
