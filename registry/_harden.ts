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
  // The working folder is the whole plugin host's: a helper changing it between the read
  // guard's check of a relative path and the read would swap what is read.
  chdir: "changing the working folder",
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
  // `getBuiltinModule` is Node's way to any built-in module, node:worker_threads included
  // (the host's import map denies importing those); `binding` hands out Node's native layer
  // (tcp_wrap, udp_wrap: listening past every denial above); `chdir` moves the working
  // folder every worker of the host shares.
  const proc = g.process as Record<string, unknown> | undefined;
  for (const name of ["getBuiltinModule", "binding", "_linkedBinding", "chdir"]) {
    if (proc && typeof proc[name] === "function") {
      Object.defineProperty(
        proc,
        name,
        fixed(() => {
          throw new Deno.errors.NotCapable(`process.${name} is not available to plugins`);
        }),
      );
    }
  }

  // Built-ins the guard and the Worker wrapper call, taken now, before any plugin code runs:
  // a plugin may replace or patch any global or prototype later (`Array.prototype.some`,
  // `JSON.stringify`, `Blob`, the URL getters, `Function.prototype.call`…), and what these
  // checks call must not be its code. Strings are read with index checks, never past their end.
  const apply = Reflect.apply;
  const StringOf = String;
  const UrlCtor = URL;
  const TypeErrorCtor = TypeError;
  const NotCapable = Deno.errors.NotCapable;
  const notFoundProto = Deno.errors.NotFound.prototype;
  const protoOf = Object.getPrototypeOf;
  const isArray = Array.isArray;
  const arrayFrom = Array.from;
  const decode = decodeURIComponent;
  const promiseThen = Promise.prototype.then;
  const reject = Promise.reject.bind(Promise);
  const strSlice = String.prototype.slice;
  const strStartsWith = String.prototype.startsWith;
  const strLastIndexOf = String.prototype.lastIndexOf;
  const urlGetter = (name: string) => Object.getOwnPropertyDescriptor(URL.prototype, name)!.get!;
  // The internal state of a URL or a Request, whatever a subclass's (or a patched) getter says.
  const hrefOf = urlGetter("href");
  const protocolOf = urlGetter("protocol");
  const pathnameOf = urlGetter("pathname");
  const requestUrlOf = Object.getOwnPropertyDescriptor(Request.prototype, "url")!.get!;
  const slice = (text: string, from: number, to: number): string =>
    apply(strSlice, text, [from, to]);
  const startsWith = (text: string, prefix: string): boolean =>
    apply(strStartsWith, text, [prefix]);
  const lastSlash = (text: string, from: number): number =>
    apply(strLastIndexOf, text, ["/", from]);
  /** Whether `value` has the internal state `getter` reads (it throws for anything else). */
  const branded = <T>(getter: () => unknown) => (value: unknown): value is T => {
    if (typeof value !== "object" || value === null) return false;
    try {
      apply(getter, value, []);
      return true;
    } catch {
      return false;
    }
  };
  /** A genuine URL, or Request, whatever its class or prototype says. */
  const isUrl = branded<URL>(hrefOf);
  const isRequest = branded<Request>(requestUrlOf);
  const isHex = (c: string) =>
    (c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");
  /** The path Deno reads for a file URL (a `%` that starts no escape stands for itself). */
  const filePath = (url: URL): string => {
    if (apply(protocolOf, url, []) !== "file:") throw new TypeErrorCtor("Must be a file URL.");
    const raw: string = apply(pathnameOf, url, []);
    let text = "";
    for (let i = 0; i < raw.length; i++) {
      const escape = raw[i] === "%" && i + 2 < raw.length && isHex(raw[i + 1]) &&
        isHex(raw[i + 2]);
      text += raw[i] === "%" && !escape ? "%25" : raw[i];
    }
    return decode(text);
  };

  const guard = options.guard;
  if (guard && guard.roots.length > 0) {
    /** The folder of `p`, as written (`.` for a bare name). */
    const parent = (p: string) => {
      let end = p.length;
      while (end > 1 && p[end - 1] === "/") end--;
      const at = end > 0 ? lastSlash(p, end - 1) : -1;
      return at < 0 ? "." : at === 0 ? "/" : slice(p, 0, at);
    };
    /** `p` with `.` and `..` resolved as written (no link followed). */
    const normalize = (p: string) => {
      let out = "";
      for (let from = 0; from <= p.length;) {
        let to = from;
        while (to < p.length && p[to] !== "/") to++;
        const part = slice(p, from, to);
        if (part === "..") {
          const at = out.length > 0 ? lastSlash(out, out.length - 1) : -1;
          out = at <= 0 ? "" : slice(out, 0, at);
        } else if (part !== "" && part !== ".") out = out + "/" + part;
        from = to + 1;
      }
      return out === "" ? "/" : out;
    };
    const roots: string[] = [];
    const prefixes: string[] = [];
    for (const root of guard.roots) {
      const plain = StringOf(root).replace(/\/+$/, "");
      roots.push(plain);
      prefixes.push(plain + "/");
    }
    const realPath = Deno.realPathSync.bind(Deno);
    const lstat = Deno.lstatSync.bind(Deno);
    const readLink = Deno.readLinkSync.bind(Deno);
    const inside = (p: string) => {
      for (let i = 0; i < prefixes.length; i++) {
        if (p === roots[i] || startsWith(p, prefixes[i])) return true;
      }
      return false;
    };
    const denied = (p: string) =>
      new NotCapable(`"${p}" leads outside the paths this source grants`);
    const isNotFound = (error: unknown) => {
      if (typeof error !== "object" || error === null) return false;
      for (let o = protoOf(error); o !== null; o = protoOf(o)) if (o === notFoundProto) return true;
      return false;
    };
    // What a call will read, fixed once, so that what is checked is what is read: a
    // string (Deno would turn an object into one only when it reads, and a toString may
    // answer differently then; a file URL becomes the path Deno would read), or an array
    // of those.
    const snapshot = (path: unknown): unknown => {
      if (isArray(path)) return apply(arrayFrom, undefined, [path, snapshot]);
      if (path === null || path === undefined || typeof path === "string") return path;
      if (isUrl(path)) return filePath(path);
      return StringOf(path);
    };
    const check = (path: unknown, follow: boolean): void => {
      if (isArray(path)) {
        for (let i = 0; i < path.length; i++) check(path[i], follow);
        return;
      }
      if (typeof path !== "string" || !guard.check) return;
      let real: string;
      try {
        real = realPath(follow ? path : parent(path));
      } catch {
        return; // Missing or not granted: the call itself reports it.
      }
      if (!inside(real)) throw denied(path);
    };
    // A link out of the granted paths shows as missing under OS isolation; say why.
    const explain = (path: unknown, error: unknown, missing = isNotFound(error)): unknown => {
      if (typeof path !== "string" || !missing) return error;
      for (let at = path; at !== "/" && at !== "" && at !== "."; at = parent(at)) {
        try {
          if (!lstat(at).isSymlink) return error;
          const target = readLink(at);
          return inside(normalize(startsWith(target, "/") ? target : `${parent(at)}/${target}`))
            ? error
            : denied(path);
        } catch {
          // Not there either: look one level up.
        }
      }
      return error;
    };
    // A link's target names where it leads: one out of the granted paths is a denial, as
    // following it is (else readLink would tell what realPath is kept from telling). Where
    // it leads is found by following it, or, for a link to nothing, from its real folder:
    // the folder as written may itself pass through a link (`sub/up -> ..`).
    const ownTarget = (path: unknown, target: unknown): unknown => {
      if (typeof path !== "string" || typeof target !== "string") return target;
      let real: string;
      try {
        real = realPath(path);
      } catch {
        let folder: string;
        try {
          folder = realPath(parent(path));
        } catch {
          folder = parent(path);
        }
        real = normalize(startsWith(target, "/") ? target : `${folder}/${target}`);
      }
      if (!inside(real)) throw denied(path);
      return target;
    };
    const wrap = (names: readonly string[], follow: boolean) => {
      for (const name of names) {
        const original = deno[name] as ((...a: unknown[]) => unknown) | undefined;
        if (typeof original !== "function") continue;
        // Called as they return: a value (`…Sync`, `watchFs`, `readDir`'s async iterable) or a
        // promise.
        const sync = name.endsWith("Sync") || name === "watchFs" || name === "readDir";
        const link = name.startsWith("readLink");
        Object.defineProperty(
          deno,
          name,
          fixed((given: unknown, second?: unknown, third?: unknown) => {
            const path = snapshot(given);
            check(path, follow);
            let result: unknown;
            try {
              result = apply(original, Deno, [path, second, third]);
            } catch (error) {
              throw explain(path, error);
            }
            if (sync) return link ? ownTarget(path, result) : result;
            return apply(promiseThen, result, [
              (value: unknown) => link ? ownTarget(path, value) : value,
              (error: unknown) => {
                throw explain(path, error);
              },
            ]);
          }),
        );
      }
    };
    wrap(options.followingReads, true);
    wrap(options.nonFollowingReads, false);
    const fetch = globalThis.fetch;
    // What a relative URL resolves against, as fetch resolves it: this worker's location,
    // read now (a plugin may redefine `location` later, or make it throw).
    let base: string | undefined;
    try {
      base = (globalThis as { location?: { href: string } }).location?.href;
    } catch {
      base = undefined;
    }
    Object.defineProperty(
      globalThis,
      "fetch",
      fixed((input: RequestInfo | URL, init?: RequestInit) => {
        // Parsed once, as fetch would (any letter case, relative to the worker's location),
        // and that very URL, as a string, is what fetch gets.
        let target: RequestInfo | URL = input;
        let href: string;
        if (isRequest(input)) href = apply(requestUrlOf, input, []);
        else {
          const text = isUrl(input) ? apply(hrefOf, input, []) as string : StringOf(input);
          try {
            href = apply(hrefOf, new UrlCtor(text, base), []);
          } catch (error) {
            // Not handed on unchecked: fetch rejects a URL that does not parse too.
            return reject(error);
          }
          target = href;
        }
        if (!startsWith(href, "file:")) return fetch(target, init);
        const path = filePath(new UrlCtor(href));
        check(path, true);
        // fetch reports a missing file as a TypeError; a link out is named as one all the same.
        return apply(promiseThen, fetch(target, init), [
          undefined,
          (error: unknown) => {
            const message = StringOf((error as { message?: unknown } | null)?.message);
            throw explain(path, error, /no such file/i.test(message));
          },
        ]);
      }),
    );
  }

  // Helper workers get the same hardening first: their entry runs this very
  // function from its source text, then imports what the plugin asked for.
  const OriginalWorker = g.Worker as typeof Worker | undefined;
  if (typeof OriginalWorker === "function") {
    // The entry's head is written now, from this function's source and options: nothing a
    // plugin patches later (JSON.stringify, Blob, URL.createObjectURL) takes part in it.
    const head = `(${hardenScope.toString()})(${JSON.stringify(options)});\n`;
    const quote = JSON.stringify;
    const BlobCtor = Blob;
    const createObjectURL = URL.createObjectURL;
    const revokeObjectURL = URL.revokeObjectURL;
    const later = setTimeout;
    const setAdd = Set.prototype.add;
    const setHas = Set.prototype.has;
    const revoke = (url: string) => apply(revokeObjectURL, UrlCtor, [url]);
    const pending = new Set<string>();
    Object.defineProperty(
      URL,
      "revokeObjectURL",
      fixed((url: string) => {
        // A helper's entry imports its URL a moment later: revoke after that.
        if (apply(setHas, pending, [url])) later(() => revoke(url), 10_000);
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
        throw new TypeErrorCtor("Failed to construct 'Worker': please use the 'new' operator");
      }
      const target: string = apply(hrefOf, new UrlCtor(StringOf(url)), []);
      if (startsWith(target, "blob:")) apply(setAdd, pending, [target]);
      // `quote` of a string is the string's JSON literal: a plugin's patch cannot reach it
      // (JSON.stringify was taken above), so the import is the only code after the head.
      const entry = head + `await import(${apply(quote, JSON, [target])});\n`;
      const entryUrl: string = apply(createObjectURL, UrlCtor, [
        new BlobCtor([entry], { type: "text/javascript" }),
      ]);
      const worker = new OriginalWorker(entryUrl, { ...workerOptions, type: "module" });
      later(() => revoke(entryUrl), 10_000);
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
