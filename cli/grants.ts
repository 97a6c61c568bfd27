/**
 * What a source's sandbox may reach, as `source show` and `source add`
 * report it: derived by the registry's own rule, shown with real paths.
 *
 * @module
 */

import type { ImporterConfig, ParamSpec } from "../core/contract.ts";
import { MASK } from "../core/config.ts";
import { deriveSandbox } from "../registry/mod.ts";
import { inertLine } from "./inert.ts";

/** What a source's sandbox may reach: the `grants` member of a source's `--json`. */
export interface GrantsJson {
  /** Readable paths: each granted path as written and, when different, its real path. */
  read: string[];
  /** `host:port` targets of its granted URLs. */
  net: string[];
}

/**
 * What the sandbox of a source with `config` may reach, derived exactly as
 * the registry derives it (`deriveSandbox`): only url and path params with
 * `grants` contribute. A param that is also secret is shown as `***`.
 */
export function sourceGrants(params: readonly ParamSpec[], config: ImporterConfig): GrantsJson {
  const open = deriveSandbox(params.filter((p) => !p.secret), config).permissions;
  const hidden = deriveSandbox(params.filter((p) => p.secret), config).permissions;
  return {
    read: [...(open.read || []), ...(hidden.read ? [MASK] : [])],
    net: [...(open.net || []), ...(hidden.net ? [MASK] : [])],
  };
}

/**
 * One line for operators: `read /media/tv, /link (real path /real); net
 * host:port`, or `none`. Paths are made inert (see `inertLine`).
 */
export function grantsText(grants: GrantsJson): string {
  const real = (path: string) => {
    try {
      return Deno.realPathSync(path);
    } catch {
      return path;
    }
  };
  const reals = new Map(grants.read.map((p) => [p, p === MASK ? p : real(p)]));
  const aliased = new Set([...reals].filter(([p, r]) => p !== r).map(([, r]) => r));
  const read = grants.read.filter((p) => !aliased.has(p) || reals.get(p) !== p).map((p) => {
    const r = reals.get(p)!;
    return inertLine(r === p ? p : `${p} (real path ${r})`);
  });
  const parts = [];
  if (read.length) parts.push(`read ${read.join(", ")}`);
  if (grants.net.length) parts.push(`net ${grants.net.map(inertLine).join(", ")}`);
  return parts.length ? parts.join("; ") : "none";
}
