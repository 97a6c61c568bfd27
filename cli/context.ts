/**
 * Global options, the database location, and building a {@link CommandContext}.
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { redact, secretForms } from "../core/config.ts";
import { openDatabase, protectedCatalogPaths } from "../core/db.ts";
import { RetrovueError } from "../core/errors.ts";
import type { Isolation, Registry } from "../registry/mod.ts";
import type { CliEnv, CommandContext, OpenDbOptions, Writer } from "./command.ts";
import { inertJson, inertLine, inertText } from "./inert.ts";
import { inertWriter, redactingWriter } from "./output.ts";

/** Options accepted anywhere on the command line. */
export interface GlobalOptions {
  /** `--db PATH`. */
  db?: string;
  /** `--test-db`. */
  testDb: boolean;
  /** `--json`. */
  json: boolean;
  /** `--output wide|normal`: `wide` never cuts table cells to the terminal's width. */
  output?: "wide" | "normal";
}

/** The environment variable names the CLI reads (the `retrovue` task allows exactly these). */
export const CLI_ENV_NAMES: readonly string[] = [
  "RETROVUE_DB",
  "RETROVUE_PLUGIN_PATH",
  "RETROVUE_DEBUG",
  "RETROVUE_LOG",
  "RETROVUE_ISOLATION",
  "RETROVUE_MAX_ASSETS",
  "RETROVUE_MAX_STREAM_MB",
  "RETROVUE_MAX_MESSAGE_MB",
  "RETROVUE_MAX_LOG_LINES",
  "XDG_DATA_HOME",
  "HOME",
  "NO_COLOR",
  // Read by node:child_process when the CLI starts a plugin host.
  "NODE_V8_COVERAGE",
  // The terminal's width, when the shell exports it.
  "COLUMNS",
  // The folder `deno task` was started from (it runs tasks in the repository).
  "INIT_CWD",
  // Where enrichers' executables (ffprobe) are looked up when not given.
  "PATH",
];

/**
 * Where the registry keeps its caches (loaded manifests, compiled modules of
 * built-in importers): `$HOME/.cache/retrovue`, or none without `HOME`. Only
 * the CLI's own processes write there; deleting it only costs time.
 */
export function registryCacheDir(env: CliEnv): string | undefined {
  return env.HOME ? join(env.HOME, ".cache", "retrovue") : undefined;
}

/**
 * The registry's module, loaded when a command first reaches for plugins or
 * the isolation: commands that need neither (`asset …`, `collection list`)
 * do not pay for it at start-up.
 */
function _registryModule(): Promise<typeof import("../registry/mod.ts")> {
  return import("../registry/mod.ts");
}

/**
 * What no source may read of the catalog (see `protectedCatalogPaths`), when
 * the catalog has a location.
 */
export function catalogPaths(dbPath: () => string): string[] {
  let path: string;
  try {
    path = dbPath();
  } catch {
    return []; // No location (no HOME and no --db): nothing to protect yet.
  }
  return protectedCatalogPaths(path);
}

/**
 * Removes the global options (`--db PATH`, `--db=PATH`, `--test-db`,
 * `--json`) from anywhere before a `--`, returning them and the rest.
 */
export function splitGlobalOptions(
  args: readonly string[],
): { globals: GlobalOptions; rest: string[] } {
  const globals: GlobalOptions = { testDb: false, json: false };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === "--json") globals.json = true;
    else if (arg === "--test-db") globals.testDb = true;
    else if (arg === "--output" || arg.startsWith("--output=")) {
      const value = arg === "--output" ? args[++i] : arg.slice("--output=".length);
      if (value !== "wide" && value !== "normal") {
        throw new RetrovueError(
          "USAGE",
          `option '--output' must be 'wide' or 'normal'${value ? `, not '${value}'` : ""}`,
        );
      }
      globals.output = value;
    } else if (arg === "--db" || arg.startsWith("--db=")) {
      const value = arg === "--db" ? args[++i] : arg.slice("--db=".length);
      if (value === undefined || value === "") {
        throw new RetrovueError("USAGE", "option '--db' needs a value");
      }
      if (globals.db !== undefined) {
        throw new RetrovueError("USAGE", "option '--db' may be given only once");
      }
      globals.db = value;
    } else rest.push(arg);
  }
  return { globals, rest };
}

/** The default database file: `$XDG_DATA_HOME/retrovue/retrovue.db`, else `~/.local/share/…`. */
export function defaultDbPath(env: CliEnv): string {
  if (env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith("/")) {
    return join(env.XDG_DATA_HOME, "retrovue", "retrovue.db");
  }
  if (env.HOME) return join(env.HOME, ".local", "share", "retrovue", "retrovue.db");
  throw new RetrovueError(
    "USAGE",
    "cannot choose a database location (HOME is not set); pass --db PATH or set RETROVUE_DB",
  );
}

/** What {@link resolveDbPath} resolves against: the environment and the working directory. */
export interface ResolveDbPathOptions {
  /** The environment (`RETROVUE_DB`, `HOME`). */
  env: CliEnv;
  /** The folder relative paths are taken from. */
  cwd: string;
}

/**
 * Where this invocation's database is: `--db`, else `RETROVUE_DB`, else the
 * default. `--test-db` means `retrovue-test.db` in the folder of the
 * `RETROVUE_DB`/default location and cannot be combined with `--db`.
 */
export function resolveDbPath(globals: GlobalOptions, options: ResolveDbPathOptions): string {
  const { env, cwd } = options;
  if (globals.testDb) {
    if (globals.db !== undefined) {
      throw new RetrovueError("USAGE", "use either --db or --test-db, not both");
    }
    const base = env.RETROVUE_DB ? resolve(cwd, env.RETROVUE_DB) : defaultDbPath(env);
    return join(dirname(base), "retrovue-test.db");
  }
  if (globals.db !== undefined) return resolve(cwd, globals.db);
  if (env.RETROVUE_DB) return resolve(cwd, env.RETROVUE_DB);
  return defaultDbPath(env);
}

/**
 * A read-only connection to the catalog that has read it, for a dry run that
 * computes on a writable one and rolls back: while it is open, the writer's
 * close is not the last one, so SQLite does not checkpoint into the file
 * what another process left in the WAL. Closed after the writer. Undefined
 * when it cannot be opened (the dry run goes on; only that guard is lost).
 */
function _pinWal(path: string): DatabaseSync | undefined {
  try {
    const pin = new DatabaseSync(path, { readOnly: true });
    pin.prepare("SELECT 1 FROM sqlite_master LIMIT 1").get();
    return pin;
  } catch {
    return undefined;
  }
}

/**
 * The folder relative paths in arguments mean: the one the operator ran the
 * command from. `deno task` runs tasks in the repository and says where it
 * was started in `INIT_CWD`; without it (the installed command, the binary)
 * the process's own working directory.
 */
export function operatorCwd(env: CliEnv, cwd: string): string {
  const init = env.INIT_CWD;
  return init && isAbsolute(init) ? init : cwd;
}

/**
 * How wide table lines may be: `COLUMNS` when set to a positive number, else
 * the terminal's width when stdout is a terminal, else no limit (`null`);
 * `--output wide` is never limited.
 */
export function tableWidth(
  env: CliEnv,
  options: { isTerminal: boolean; wide: boolean },
): number | null {
  if (options.wide) return null;
  const columns = Number(env.COLUMNS);
  if (Number.isSafeInteger(columns) && columns > 0) return columns;
  if (!options.isTerminal) return null;
  try {
    return Deno.consoleSize().columns || null;
  } catch {
    return null; // Not a console after all.
  }
}

/** Everything outside the process the CLI touches, injectable for tests. */
export interface CliIO {
  /** Readable environment variables. */
  env: CliEnv;
  /** Standard output. */
  stdout: Writer;
  /** Standard error. */
  stderr: Writer;
  /** Whether stdout is a terminal. */
  isTerminal: boolean;
  /** Whether stdin is a terminal. */
  stdinIsTerminal: boolean;
  /** Working directory. */
  cwd: string;
  /** Clock. */
  now(): Date;
  /** Reads one line from stdin (null at end of input). */
  readLine(): Promise<string | null>;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** A context plus what `main.ts` must release when the command is done. */
export interface ContextHandle {
  /** The context to pass to the command. */
  context: CommandContext;
  /** Closes the database and the registry if they were opened. */
  close(): Promise<void>;
  /** Scrubs registered secrets from text (for the error line). */
  scrub(text: string): string;
}

/** Options for {@link createContext}. */
export interface CreateContextOptions {
  /** Command arguments after the command path. */
  args: string[];
  /** The matched command path. */
  path: readonly string[];
  /** Parsed global options. */
  globals: GlobalOptions;
  /**
   * Runs once before the command first reaches for plugins (the isolation,
   * which everything that starts a plugin host asks for first): `main.ts`
   * sets up logging there, which only plugin clients use, so commands that
   * never start one (listing sources from cached manifests) skip loading the
   * logger.
   */
  beforePlugins?: () => Promise<void>;
}

/**
 * Builds the context for one command invocation. `stdout` and `stderr`
 * scrub registered secrets and then make what is written inert (see
 * `inertWriter`): with `--json` stdout escapes as JSON, everything else keeps
 * only tab, newline and, when colors are on, plain SGR colors. `rawStderr`
 * scrubs but keeps control sequences, for the progress line.
 */
export function createContext(io: CliIO, options: CreateContextOptions): ContextHandle {
  const secrets = new Set<string>();
  // Compiled once per change of the secrets, not per write.
  let forms = secretForms([]);
  const scrub = (text: string) => redact(text, forms);
  let db: DatabaseSync | undefined;
  let registry: Promise<Registry> | undefined;
  let isolation: Promise<Isolation> | undefined;
  let probed: Promise<Isolation> | undefined;
  let warned = false;
  let prepared: Promise<void> | undefined;
  const before = () => prepared ??= options.beforePlugins?.() ?? Promise.resolve();
  let dbPath: string | undefined;
  let pin: DatabaseSync | undefined;
  const cwd = operatorCwd(io.env, io.cwd);
  const getDbPath = () => dbPath ??= resolveDbPath(options.globals, { env: io.env, cwd });
  const json = options.globals.json;
  const color = io.isTerminal && !io.env.NO_COLOR && !json;
  const stderr = redactingWriter(inertWriter(io.stderr, { color }), scrub);
  const context: CommandContext = {
    args: options.args,
    path: options.path,
    json,
    get dbPath() {
      return getDbPath();
    },
    openDb(openOptions: OpenDbOptions = {}) {
      if (db) return db;
      db = openDatabase(getDbPath(), {
        readOnly: openOptions.readOnly,
        upgrade: !openOptions.dryRun,
        create: openOptions.create ?? false,
        now: io.now,
      });
      if (openOptions.dryRun && !openOptions.readOnly) pin = _pinWal(getDbPath());
      return db;
    },
    loadRegistry() {
      registry ??= (async () => {
        const { isolationModeFromEnv, limitsFromEnv, loadRegistry, pluginDirsFromEnv } =
          await _registryModule();
        // A bad RETROVUE_ISOLATION fails here, as before, though the probe waits.
        isolationModeFromEnv(io.env.RETROVUE_ISOLATION);
        // No `before()`: a registry whose manifests are cached runs no plugin, and
        // one that starts a plugin host asks for the isolation first, which runs it.
        return await loadRegistry({
          // Relative folders mean the operator's folder, as paths in arguments do.
          pluginDirs: pluginDirsFromEnv(io.env.RETROVUE_PLUGIN_PATH).map((d) => resolve(cwd, d)),
          // Probed only if the registry starts a plugin host (manifests not cached, or open).
          isolation: () => context.isolation(),
          limits: limitsFromEnv(io.env),
          cacheDir: registryCacheDir(io.env),
          protectedPaths: catalogPaths(getDbPath),
        });
      })();
      return registry;
    },
    isolation() {
      isolation ??= (async () => {
        // The probe is another process: it runs while logging is set up (a
        // module to load), which is still done before any plugin host starts.
        const probe = context.probedIsolation();
        // Its failure (a bad RETROVUE_ISOLATION) is this promise's, below; not unhandled meanwhile.
        probe.catch(() => {});
        await before();
        return await probe;
      })();
      return isolation;
    },
    probedIsolation() {
      // Async so that a bad RETROVUE_ISOLATION rejects like every other failure here.
      probed ??= (async () => {
        const { isolationModeFromEnv, probeIsolation } = await _registryModule();
        const mode = isolationModeFromEnv(io.env.RETROVUE_ISOLATION);
        return await probeIsolation({ mode, executable: Deno.execPath() });
      })();
      return probed;
    },
    warnIsolation(current: Isolation) {
      if (warned || current.level !== "deno") return;
      warned = true;
      stderr.write(`${isolationWarning(current)}\n`);
    },
    env: io.env,
    now: io.now,
    cwd,
    stdout: redactingWriter(inertWriter(io.stdout, { json, color }), scrub),
    stderr,
    rawStderr: redactingWriter(io.stderr, scrub),
    isTerminal: io.isTerminal,
    width: tableWidth(io.env, {
      isTerminal: io.isTerminal,
      wide: options.globals.output === "wide",
    }),
    stdinIsTerminal: io.stdinIsTerminal,
    color,
    async prompt(question: string) {
      stderr.write(question);
      return await io.readLine();
    },
    signal: io.signal,
    addSecrets(values: readonly string[]) {
      for (const v of values.filter((v) => v.length > 0)) {
        for (const form of _secretForms(v)) secrets.add(form);
      }
      forms = secretForms([...secrets]);
    },
  };
  return {
    context,
    scrub,
    async close() {
      try {
        if (registry) await (await registry.catch(() => undefined))?.close();
      } finally {
        db?.close();
        pin?.close(); // After the writer: see _pinWal.
      }
    },
  };
}

/**
 * The one warning line for plugins that run with Deno permissions only
 * (no OS isolation), naming why and where to read more.
 */
export function isolationWarning(isolation: Isolation): string {
  return `Warning: plugins run with Deno permissions only: ${
    inertLine(isolation.reason ?? "no OS isolation")
  }; see docs/importers.md "Isolation"`;
}

/**
 * A secret as written (each form can reach a writer): as is, made inert for
 * a one-line field or an error line, and as a JSON string's content.
 */
function _secretForms(secret: string): Set<string> {
  return new Set([
    secret,
    inertText(secret),
    inertLine(secret),
    inertJson(JSON.stringify(secret).slice(1, -1)),
  ]);
}
