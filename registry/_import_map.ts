/**
 * The import map every plugin host runs with: where a module may be
 * imported from.
 *
 * A worker's read grants cover a source's data (media folders, a catalog
 * file), and Deno checks a module's path as written, so without this map a
 * plugin could `import()` a symlink inside a granted folder as JSON or code
 * and read whatever it points at, even where no OS isolation hides it. The
 * map is an allow-list instead: files import from the plugin folders and the
 * host's own code only; every other `file:` URL, whatever its spelling,
 * resolves to a reserved host the plugin host never fetches (it runs with
 * `--no-remote`), which Deno reports as a denial and
 * {@link denialInOurTerms} words as one. Node.js modules that would get
 * around the worker hardening resolve to a module that throws a denial: the
 * ones that start or load workers, serve or open raw sockets, or hand out
 * other built-ins (`node:process`'s `getBuiltinModule`) always, and, where no
 * OS isolation hides what lies outside the grants, the ones that open files
 * by path. The plugin host's own folder keeps `node:net` through a scope.
 *
 * The map travels as a `data:` URL on the host's command line, so no file is
 * written for it and OS isolation needs no extra mount.
 *
 * @module
 */

import { builtinModules } from "node:module";
import { pathToFileURL } from "node:url";
import { DENIED_IMPORT_HOST } from "./_harden.ts";

/** Node.js modules a plugin may not import: they start or load unhardened workers. */
const _DENIED_NODE_MODULES: readonly string[] = [
  "node:worker_threads",
  "worker_threads",
  "node:module",
  "module",
];

const _DENIED_NODE_MODULE_URL = new URL("./_denied_module.js", import.meta.url).href;

/**
 * Node.js modules that serve or open raw sockets beneath `Deno.listen` and
 * `Deno.serve`, which plugin workers are denied: a `net` grant names the
 * upstream to fetch, not a port to serve on. The plugin host's own code
 * keeps `node:net` (it opens the protocol's descriptor) through a scope.
 */
const _NET_NODE_MODULES: readonly string[] = [
  "node:net",
  "net",
  "node:http",
  "http",
  "node:https",
  "https",
  "node:http2",
  "http2",
  "node:dgram",
  "dgram",
  "node:tls",
  "tls",
  // What they are made of: each serves or connects on its own.
  "node:_http_agent",
  "_http_agent",
  "node:_http_common",
  "_http_common",
  "node:_http_outgoing",
  "_http_outgoing",
  "node:_http_server",
  "_http_server",
  "node:_tls_common",
  "_tls_common",
  "node:_tls_wrap",
  "_tls_wrap",
];

const _DENIED_NET_MODULE_URL = new URL("./_denied_net_module.js", import.meta.url).href;

/**
 * `node:process`: its named `getBuiltinModule` is the original, past the
 * hardening of the global `process` (the same object otherwise), and hands
 * out any built-in module past this map.
 */
const _PROCESS_NODE_MODULES: readonly string[] = ["node:process", "process"];

const _DENIED_PROCESS_MODULE_URL = new URL("./_denied_process_module.js", import.meta.url).href;

/**
 * Node.js modules that open files by path, beneath Deno's file APIs and so
 * beyond the worker's read guard: without OS isolation a symlink in a
 * granted folder would take them anywhere.
 */
const _FILE_NODE_MODULES: readonly string[] = [
  "node:fs",
  "fs",
  "node:fs/promises",
  "fs/promises",
  "node:sqlite",
];

const _DENIED_FILE_MODULE_URL = new URL("./_denied_file_module.js", import.meta.url).href;

/**
 * The Node.js built-ins a plugin may import: ones that compute, and reach
 * no file, socket, process, worker or other built-in of their own (the file
 * modules above are added under OS isolation). Every other built-in resolves
 * to a denial: a deny-list kept missing one (`node:repl`'s `require` ignores
 * the map; `node:tty`'s streams are sockets that listen).
 */
const _ALLOWED_NODE_MODULES: ReadonlySet<string> = new Set([
  "assert",
  "assert/strict",
  "async_hooks",
  "buffer",
  "console",
  "constants",
  "crypto",
  "diagnostics_channel",
  "domain",
  "events",
  "os",
  "path",
  "path/posix",
  "path/win32",
  "perf_hooks",
  "punycode",
  "querystring",
  "stream",
  "stream/consumers",
  "stream/promises",
  "stream/web",
  "string_decoder",
  "sys",
  "timers",
  "timers/promises",
  "url",
  "util",
  "util/types",
  "zlib",
  "_stream_duplex",
  "_stream_passthrough",
  "_stream_readable",
  "_stream_transform",
  "_stream_writable",
]);

const _DENIED_BUILTIN_MODULE_URL = new URL("./_denied_builtin_module.js", import.meta.url).href;

/** Every Node.js built-in of this Deno that is not allowed, as `node:` and bare specifiers. */
function _deniedBuiltins(): string[] {
  const out: string[] = [];
  for (const module of builtinModules) {
    const bare = module.startsWith("node:") ? module.slice(5) : module;
    if (_ALLOWED_NODE_MODULES.has(bare)) continue;
    out.push(`node:${bare}`);
    if (!module.startsWith("node:")) out.push(bare);
  }
  return out;
}

/** Options for {@link hostImportMap}. */
export interface HostImportMapOptions {
  /**
   * Whether the host runs under OS isolation, which hides every path
   * outside the grants. Without it, the Node.js modules that open files by
   * path resolve to a denial too. Default false.
   */
  osIsolation?: boolean;
  /**
   * The plugin host's own folder (one of the module roots), whose modules
   * keep `node:net`: the host opens its protocol descriptor with it.
   */
  hostRoot?: string;
}

/**
 * The import map for a plugin host whose modules come from `moduleRoots`
 * (absolute folders: the host's own code and the plugin folders), as the
 * JSON object Deno reads.
 *
 * @example
 * ```ts
 * import { hostImportMap } from "./_import_map.ts";
 *
 * const map = hostImportMap(["/opt/retrovue/registry", "/srv/plugins/acme"], {
 *   osIsolation: true,
 * });
 * map.imports["file:///srv/plugins/acme/"]; // "file:///srv/plugins/acme/": its own modules load
 * map.imports["file:///"]; // "https://import-denied.retrovue.invalid/": nothing else does
 * ```
 */
export function hostImportMap(
  moduleRoots: readonly string[],
  options: HostImportMapOptions = {},
): { imports: Record<string, string>; scopes?: Record<string, Record<string, string>> } {
  const imports: Record<string, string> = {};
  // The general denial first; the modules with a denial of their own override it below.
  for (const name of _deniedBuiltins()) imports[name] = _DENIED_BUILTIN_MODULE_URL;
  for (const name of _DENIED_NODE_MODULES) imports[name] = _DENIED_NODE_MODULE_URL;
  for (const name of _NET_NODE_MODULES) imports[name] = _DENIED_NET_MODULE_URL;
  for (const name of _PROCESS_NODE_MODULES) imports[name] = _DENIED_PROCESS_MODULE_URL;
  if (options.osIsolation) {
    // Under OS isolation the file modules load (bwrap hides what lies outside the grants).
    for (const name of _FILE_NODE_MODULES) delete imports[name];
  } else {
    for (const name of _FILE_NODE_MODULES) imports[name] = _DENIED_FILE_MODULE_URL;
  }
  // The longest matching prefix wins, so the folders below override the catch-all.
  imports["file:///"] = `https://${DENIED_IMPORT_HOST}/`;
  for (const root of moduleRoots) {
    const prefix = _folderUrl(root);
    imports[prefix] = prefix;
  }
  if (options.hostRoot === undefined) return { imports };
  return { imports, scopes: { [_folderUrl(options.hostRoot)]: { "node:net": "node:net" } } };
}

/** `root`'s `file:` URL, ending in `/`. */
function _folderUrl(root: string): string {
  const href = pathToFileURL(root).href;
  return href.endsWith("/") ? href : `${href}/`;
}

/**
 * {@link hostImportMap} as the value of `deno run --import-map=`: a base64
 * `data:` URL, which holds any path (commas, `#`, `%`, quotes) unescaped.
 */
export function hostImportMapUrl(
  moduleRoots: readonly string[],
  options: HostImportMapOptions = {},
): string {
  const bytes = new TextEncoder().encode(JSON.stringify(hostImportMap(moduleRoots, options)));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:application/json;base64,${btoa(binary)}`;
}
