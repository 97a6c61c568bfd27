/**
 * Hardening of a plugin worker's global scope, applied before any plugin
 * code runs — and, through a wrapped `Worker`, in every helper worker a
 * plugin starts, at any depth.
 *
 * {@link hardenScope} is self-contained on purpose: it uses nothing but its
 * one argument, so the wrapped `Worker` can serialise it (`toString()`) into
 * the entry of each helper worker, which cannot import this file (it lies
 * outside the plugin's granted paths). It:
 * - removes what would persist or be shared beyond the sandbox and is not
 *   covered by Deno's permissions: the Web Cache API, Web Storage,
 *   `BroadcastChannel`;
 * - makes listening for connections, Deno KV and cron a denial (a `net`
 *   grant names the upstream to connect to, not a port to serve on);
 * - removes the runtime's internals (`Deno[Deno.internal]`, raw ops);
 * - where no OS isolation hides what lies outside the granted paths, checks
 *   that each `Deno` file read really stays inside them (Deno checks a path
 *   as written, so a symlink inside a granted folder would lead anywhere),
 *   and either way names a link out of them as a denial, not a missing file.
 *
 * Dependency-free: it is evaluated in every worker.
 *
 * @module
 */

import type { ReadGuard } from "./_protocol.ts";

/** What {@link hardenScope} does, as plain data (it travels into helper workers as JSON). */
export interface HardenOptions {
  /** Globals to remove. */
  removed: readonly string[];
  /** `Deno` functions that become a denial, with what they would do. */
  denied: Readonly<Record<string, string>>;
  /** `Deno` functions that read through a path and follow a final symlink. */
  followingReads: readonly string[];
  /** `Deno` functions that do not follow a final symlink (their folder must still stay inside). */
  nonFollowingReads: readonly string[];
  /** The source's granted read paths, or null when it has none. */
  guard: ReadGuard | null;
}

/** Globals removed from every plugin worker: they persist or share data outside the sandbox. */
export const REMOVED_GLOBALS: readonly string[] = [
  "caches",
  "CacheStorage",
  "Cache",
  "localStorage",
  "sessionStorage",
  "Storage",
  "indexedDB",
  "BroadcastChannel",
];

/** `Deno` functions that are a denial in plugin workers, with what they would do. */
export const DENIED_DENO_FUNCTIONS: Readonly<Record<string, string>> = {
  listen: "listening for connections",
  listenTls: "listening for connections",
  listenDatagram: "listening for datagrams",
  serve: "serving HTTP",
  serveHttp: "serving HTTP",
  openKv: "Deno KV (persistent storage)",
  cron: "Deno.cron",
};

/**
 * The host every `file:` import from outside a plugin's folder resolves to
 * (see `_import_map.ts`): reserved (`.invalid` never resolves), and plugin
 * hosts run with `--no-remote`, so it is never fetched; Deno reports the
 * attempt as a denial of import access to it.
 */
export const DENIED_IMPORT_HOST = "import-denied.retrovue.invalid";

/** Who a denial is about: the plugin's kind, as operators and authors know it. */
export type DenialSubject = "importer" | "enricher" | "plugin";

/**
 * Deno's wording of a permission denial: `Requires net access to "h:p", run
 * again with the --allow-net flag` (optionally after `NotCapable: `).
 */
const _DENO_DENIAL =
  /(?:NotCapable: )?Requires (\w+) access(?: to "([^"]*)")?,? ?(?:run again with the --allow-\w+ flag)?/g;

/** What an author does about a denied permission, by Deno permission name. */
function _denialAdvice(kind: string, subject: DenialSubject): string {
  switch (kind) {
    case "net":
      return `declare the URL param it connects to with \`grants: "net"\``;
    case "read":
      return `read only its own folder and paths given by a param with \`grants: "read"\``;
    case "env":
      return "declare a param for the value instead (`secret: true` for a credential)";
    case "run":
      return subject === "importer"
        ? "importers may not run programs"
        : `declare the program's path param with \`grants: "run"\``;
    case "import":
      return "bundle what it imports into its own plugin folder";
    default:
      return `plugins have no ${kind} access`;
  }
}

/**
 * The most characters of a text {@link denialInOurTerms} reads; the rest is
 * left off. Its rewording of a short denial is several times as long (an
 * 18-character `Requires a access ` becomes some 100), and a plugin can send
 * megabytes of them: this bounds the work and the answer. Callers that mask
 * secrets cut a text to less than this themselves first (see `_client.ts`),
 * so that no secret is halved here.
 */
export const MAX_DENIAL_TEXT = 16 * 1024;

/**
 * Rewrites every Deno permission denial in `text` in RetroVue's terms: what
 * was denied, which grant is missing and what the author declares instead —
 * never a `--allow-…` flag, which operators cannot pass to a plugin. Reads
 * at most {@link MAX_DENIAL_TEXT} characters of `text`.
 * Dependency-free, like the rest of this module (the worker runtime uses it).
 *
 * @example
 * ```ts
 * denialInOurTerms('Requires net access to "127.0.0.1:8765", run again with the --allow-net flag');
 * // 'sandbox denied net access to "127.0.0.1:8765": the importer has no net grant for it — …'
 * ```
 */
export function denialInOurTerms(text: string, subject: DenialSubject = "importer"): string {
  const read = text.slice(0, MAX_DENIAL_TEXT);
  return read.replace(_DENO_DENIAL, (_all, kind: string, target?: string) => {
    if (kind === "import" && target?.startsWith(`${DENIED_IMPORT_HOST}:`)) {
      return outsideImportDenial(subject);
    }
    const what = target === undefined ? `${kind} access` : `${kind} access to "${target}"`;
    const grant = kind === "net" || kind === "read" || (kind === "run" && subject !== "importer")
      ? `the ${subject} has no ${kind} grant for it`
      : `the ${subject} may not use ${kind} access`;
    return `sandbox denied ${what}: ${grant} — ${
      _denialAdvice(kind, subject)
    }; this is a plugin bug`;
  });
}

/** The most characters of an import's path {@link outsideImportDenial} shows. */
const _MAX_IMPORT_PATH = 500;

/**
 * The denial of an import from outside the plugin's own folder (see
 * {@link DENIED_IMPORT_HOST}). `reported` is what Deno said; where it names
 * the URL the import became, that gives the path the plugin asked for.
 */
export function outsideImportDenial(subject: DenialSubject, reported = ""): string {
  const prefix = `https://${DENIED_IMPORT_HOST}/`;
  const at = reported.indexOf(prefix);
  let path = "";
  if (at >= 0) {
    const from = at + prefix.length;
    const rest = reported.slice(from, from + _MAX_IMPORT_PATH).split(/[\s"'`]/, 1)[0];
    try {
      path = ` ('/${decodeURI(rest)}')`;
    } catch {
      path = ` ('/${rest}')`; // Not percent-encoded as a URL would be: shown as it came.
    }
  }
  return `sandbox denied an import from outside the ${subject}'s own folder${path}: a plugin ` +
    "imports modules only from its folder — bundle code into it, and read data under a " +
    "granted path with Deno.readTextFile, not import; this is a plugin bug";
}

/** The hardening every plugin worker gets, for a source with `guard`. */
export function hardenOptions(guard: ReadGuard | null): HardenOptions {
  return {
    removed: REMOVED_GLOBALS,
    denied: DENIED_DENO_FUNCTIONS,
    followingReads: [
      "readFile",
      "readFileSync",
      "readTextFile",
      "readTextFileSync",
      "open",
      "openSync",
      "stat",
      "statSync",
      "readDir",
      "readDirSync",
      "watchFs",
      // Reads no content, but would name where a link out leads.
      "realPath",
      "realPathSync",
    ],
    nonFollowingReads: ["lstat", "lstatSync", "readLink", "readLinkSync"],
    guard,
  };
}

/**
 * Hardens the current global scope (see the module doc). Self-contained: it
 * refers to nothing outside its own body, so it can run from its source text.
 */
export function hardenScope(options: HardenOptions): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const deno = Deno as unknown as Record<string | symbol, unknown>;
  const fixed = (value: unknown) => ({
    value,
    writable: false,
    configurable: false,
    enumerable: true,
  });

  for (const name of options.removed) {
    for (let o: object | null = globalThis; o !== null; o = Object.getPrototypeOf(o)) {
      if (Object.hasOwn(o, name)) Reflect.deleteProperty(o, name);
    }
  }
  for (const [name, what] of Object.entries(options.denied)) {
    Object.defineProperty(
      deno,
      name,
      fixed(() => {
        throw new Deno.errors.NotCapable(`${what} is not available to plugins`);
      }),
    );
  }
  for (const key of Object.getOwnPropertySymbols(deno)) Reflect.deleteProperty(deno, key);
  Reflect.deleteProperty(deno, "internal");
  // Node's way to any built-in module, node:worker_threads included (the host's
  // import map denies importing those).
  const proc = g.process as Record<string, unknown> | undefined;
  if (proc && typeof proc.getBuiltinModule === "function") {
    Object.defineProperty(
      proc,
      "getBuiltinModule",
      fixed(() => {
        throw new Deno.errors.NotCapable("process.getBuiltinModule is not available to plugins");
      }),
    );
  }

  const guard = options.guard;
  if (guard && guard.roots.length > 0) {
    const parent = (p: string) => p.replace(/\/+$/, "").replace(/\/[^/]*$/, "") || "/";
    const normalize = (p: string) => {
      const out: string[] = [];
      for (const part of p.split("/")) {
        if (part === "" || part === ".") continue;
        if (part === "..") out.pop();
        else out.push(part);
      }
      return "/" + out.join("/");
    };
    const prefixes = guard.roots.map((r) => String(r).replace(/\/+$/, "") + "/");
    const realPath = Deno.realPathSync.bind(Deno);
    const lstat = Deno.lstatSync.bind(Deno);
    const readLink = Deno.readLinkSync.bind(Deno);
    const inside = (p: string) => prefixes.some((r) => p === r.slice(0, -1) || p.startsWith(r));
    const denied = (p: string) =>
      new Deno.errors.NotCapable(`"${p}" leads outside the paths this source grants`);
    // The internal state of a URL or a Request, whatever a subclass's getters say.
    const hrefOf = Object.getOwnPropertyDescriptor(URL.prototype, "href")!.get!;
    const requestUrlOf = Object.getOwnPropertyDescriptor(Request.prototype, "url")!.get!;
    // What a call will read, fixed once, so that what is checked is what is read:
    // a string (Deno would turn any other object into one only when it reads, and a
    // toString may answer differently then), a genuine URL, or an array of those.
    const snapshot = (path: unknown): unknown => {
      if (Array.isArray(path)) return Array.from(path, snapshot);
      if (path instanceof URL) return new URL(hrefOf.call(path));
      if (path === null || path === undefined || typeof path === "string") return path;
      return String(path);
    };
    const pathOf = (path: unknown): string | undefined => {
      if (typeof path === "string") return path;
      if (path instanceof URL && path.protocol === "file:") {
        // As Deno reads a file URL: a `%` that starts no escape stands for itself.
        return decodeURIComponent(path.pathname.replace(/%(?![0-9A-Fa-f]{2})/g, "%25"));
      }
      return undefined;
    };
    const check = (path: unknown, follow: boolean): void => {
      if (Array.isArray(path)) return path.forEach((one) => check(one, follow));
      const p = pathOf(path);
      if (p === undefined || !guard.check) return;
      let real: string;
      try {
        real = realPath(follow ? p : parent(p));
      } catch {
        return; // Missing or not granted: the call itself reports it.
      }
      if (!inside(real)) throw denied(p);
    };
    // A link out of the granted paths shows as missing under OS isolation; say why.
    const explain = (
      path: unknown,
      error: unknown,
      missing = error instanceof Deno.errors.NotFound,
    ): unknown => {
      const p = pathOf(path);
      if (p === undefined || !missing) return error;
      for (let at = p; at !== "/" && at !== ""; at = parent(at)) {
        try {
          if (!lstat(at).isSymlink) return error;
          const target = readLink(at);
          return inside(normalize(target.startsWith("/") ? target : `${parent(at)}/${target}`))
            ? error
            : denied(p);
        } catch {
          // Not there either: look one level up.
        }
      }
      return error;
    };
    // A link's target names where it leads: one out of the granted paths is a denial, as
    // following it is (else readLink would tell what realPath is kept from telling).
    const ownTarget = (path: unknown, target: unknown): unknown => {
      const p = pathOf(path);
      if (p === undefined || typeof target !== "string") return target;
      const at = target.startsWith("/") ? target : `${parent(p)}/${target}`;
      if (!inside(normalize(at))) throw denied(p);
      return target;
    };
    const wrap = (names: readonly string[], follow: boolean) => {
      for (const name of names) {
        const original = deno[name] as ((...a: unknown[]) => unknown) | undefined;
        if (typeof original !== "function") continue;
        const sync = name.endsWith("Sync");
        const link = name.startsWith("readLink");
        Object.defineProperty(
          deno,
          name,
          fixed((given: unknown, ...rest: unknown[]) => {
            const path = snapshot(given);
            check(path, follow);
            if (sync) {
              let target: unknown;
              try {
                target = original.call(Deno, path, ...rest);
              } catch (error) {
                throw explain(path, error);
              }
              return link ? ownTarget(path, target) : target;
            }
            const result = original.call(Deno, path, ...rest);
            return result instanceof Promise
              ? result.then(
                (target) => link ? ownTarget(path, target) : target,
                (error) => Promise.reject(explain(path, error)),
              )
              : result;
          }),
        );
      }
    };
    wrap(options.followingReads, true);
    wrap(options.nonFollowingReads, false);
    const fetch = globalThis.fetch;
    Object.defineProperty(
      globalThis,
      "fetch",
      fixed((input: RequestInfo | URL, init?: RequestInit) => {
        // Parsed once, as fetch would (any letter case, relative to the worker's
        // location), and that very URL is what fetch gets.
        let target: RequestInfo | URL = input;
        let url: URL | undefined;
        if (input instanceof Request) url = new URL(requestUrlOf.call(input));
        else {
          const text = input instanceof URL ? hrefOf.call(input) : String(input);
          try {
            url = new URL(text, (globalThis as { location?: { href: string } }).location?.href);
          } catch {
            url = undefined; // fetch reports the bad URL itself
          }
          target = url ?? text;
        }
        if (url?.protocol !== "file:") return fetch(target, init);
        check(url, true);
        // fetch reports a missing file as a TypeError; a link out is named as one all the same.
        return fetch(target, init).catch((error) =>
          Promise.reject(explain(url, error, /no such file/i.test(String(error?.message))))
        );
      }),
    );
  }

  // Helper workers get the same hardening first: their entry runs this very
  // function from its source text, then imports what the plugin asked for.
  const OriginalWorker = g.Worker as typeof Worker | undefined;
  if (typeof OriginalWorker === "function") {
    const source = hardenScope.toString();
    const revoke = URL.revokeObjectURL.bind(URL);
    const pending = new Set<string>();
    Object.defineProperty(
      URL,
      "revokeObjectURL",
      fixed((url: string) => {
        // A helper's entry imports its URL a moment later: revoke after that.
        if (pending.has(url)) setTimeout(() => revoke(url), 10_000);
        else revoke(url);
      }),
    );
    // Not a subclass: a subclass's prototype chain leads back to the original
    // (`Object.getPrototypeOf(Worker)`), which starts a worker without this
    // hardening. A function that builds the original's instance, and takes its
    // place as the prototype's `constructor`, leaves no path to it.
    const HardenedWorker = function (
      this: unknown,
      url: string | URL,
      workerOptions?: WorkerOptions,
    ): Worker {
      if (new.target === undefined) {
        throw new TypeError("Failed to construct 'Worker': please use the 'new' operator");
      }
      const target = new URL(String(url)).href;
      if (target.startsWith("blob:")) pending.add(target);
      const entry = `(${source})(${JSON.stringify(options)});\n` +
        `await import(${JSON.stringify(target)});\n`;
      const entryUrl = URL.createObjectURL(new Blob([entry], { type: "text/javascript" }));
      const worker = new OriginalWorker(entryUrl, { ...workerOptions, type: "module" });
      setTimeout(() => revoke(entryUrl), 10_000);
      return worker;
    };
    Object.defineProperty(HardenedWorker, "name", { value: "Worker" });
    Object.defineProperty(HardenedWorker, "prototype", {
      value: OriginalWorker.prototype,
      writable: false,
    });
    Object.defineProperty(OriginalWorker.prototype, "constructor", {
      ...fixed(HardenedWorker),
      enumerable: false,
    });
    Object.defineProperty(globalThis, "Worker", fixed(HardenedWorker));
  }
}
