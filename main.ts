/**
 * The `retrovue` command line.
 *
 * `deno task retrovue <command> [options]`: finds the command in the table
 * (`cli/commands.ts`), strips the global options (`--db PATH`, `--test-db`,
 * `--json`, accepted anywhere), prints help for `--help`, runs it, and turns
 * failures into one `Error: …` line on stderr (or the JSON error document with
 * `--json`). Exit codes: 0 ok, 1 usage/validation/runtime error, 2 partial
 * success, 3 upstream unreachable. `RETROVUE_DEBUG=1` adds stack traces;
 * `RETROVUE_LOG=debug|info|warning|error` sets the log level (stderr).
 *
 * @module
 */

import type { LogRecord } from "@logtape/logtape";
import { type CommandContext, exitCodeFor, type Writer } from "./cli/command.ts";
import { type CommandEntry, COMMANDS, resolveCommand } from "./cli/commands.ts";
import {
  CLI_ENV_NAMES,
  type CliIO,
  createContext,
  type GlobalOptions,
  splitGlobalOptions,
} from "./cli/context.ts";
import { inertLine, inertOutput, inertText } from "./cli/inert.ts";
import { errorLine, formatTable, jsonError, oneLine, writeJson } from "./cli/output.ts";
import { didYouMean } from "./cli/suggest.ts";
import { RetrovueError, stoppedDuringBusyWait, toRetrovueError } from "./core/errors.ts";
import denoConfig from "./deno.json" with { type: "json" };

/**
 * Whether a compiled binary was started as a plugin host. The registry is
 * loaded only for a hidden (`__`) first argument, so ordinary commands do not
 * pay for it before they need it.
 */
async function _isPluginHostCall(args: readonly string[]): Promise<boolean> {
  if (!args[0]?.startsWith("__")) return false;
  return args[0] === (await import("./registry/mod.ts")).PLUGIN_HOST_COMMAND;
}

/** This program's version, from `deno.json`. */
export const VERSION: string = denoConfig.version;

export type { CliIO };

/** Options for {@link main}. */
export interface MainOptions {
  /** The command table (default: every command, each loaded only when it runs). */
  commands?: readonly CommandEntry[];
}

/** Runs one CLI invocation and returns its exit status. Never throws. */
export async function main(
  args: readonly string[],
  io: CliIO,
  options: MainOptions = {},
): Promise<number> {
  const commands = options.commands ?? COMMANDS;
  let globals: GlobalOptions = { testDb: false, json: args.includes("--json") };
  let scrub = (text: string) => text;
  const debug = io.env.RETROVUE_DEBUG === "1" || io.env.RETROVUE_DEBUG === "true";
  try {
    const split = splitGlobalOptions(args);
    globals = split.globals;
    const rest = split.rest;
    if (rest.length === 1 && (rest[0] === "--version" || rest[0] === "-V")) {
      // Alone, or beside global options (`--db x --version`).
      io.stdout.write(`retrovue ${VERSION} (deno ${Deno.version.deno})\n`);
      return 0;
    }
    const entry = _findCommand(commands, rest);
    if (!entry) return _topLevel(commands, rest, io);
    const commandArgs = rest.slice(entry.path.length);
    let logging: Promise<() => void> | undefined;
    const stderr = () => handle.context.stderr;
    const handle = createContext(io, {
      args: commandArgs,
      path: entry.path,
      globals,
      beforePlugins: async () => void await (logging ??= _configureLogging(io.env, stderr())),
    });
    scrub = handle.scrub;
    // The table's commands log only through plugin clients, so logging (and
    // logtape) loads when they first reach for plugins; other commands get it now.
    if (!("load" in entry)) logging = _configureLogging(io.env, stderr());
    // The probe runs in another process while the command's module loads; the
    // command awaits the same probe (and sees its failure, if it fails).
    const probes = "probesIsolation" in entry && !_wantsHelp(commandArgs)
      ? entry.probesIsolation
      : undefined;
    const probe = probes === undefined
      ? undefined
      : (probes === "plugins" ? handle.context.isolation() : handle.context.probedIsolation())
        .catch(() => {});
    try {
      const found = await resolveCommand(entry);
      await logging;
      if (_wantsHelp(commandArgs)) {
        const help = typeof found.help === "function"
          ? await found.help(handle.context)
          : found.help;
        handle.context.stdout.write(help.endsWith("\n") ? help : help + "\n");
        return 0;
      }
      return await found.run(handle.context);
    } finally {
      await probe; // Never left running past the command (it settles, never rejects).
      await handle.close();
      if (logging) (await logging)();
    }
  } catch (error) {
    const reported = await _cancelledMeanwhile(error, io.signal);
    _reportError(reported, { io, json: globals.json, debug, scrub });
    return exitCodeFor(reported);
  }
}

/**
 * The error to report: `error`, unless it is `DB_BUSY` and the command was
 * stopped (Ctrl-C, SIGTERM) while SQLite waited for the write lock. That wait
 * blocks the event loop, so the signal is only seen once it gave up; the
 * operator asked to stop, and "try again" would be wrong: it is `CANCELLED`.
 */
async function _cancelledMeanwhile(error: unknown, signal?: AbortSignal): Promise<unknown> {
  // A raw SQLite error counts too: not every path maps it to DB_BUSY before it gets here.
  if (signal === undefined || toRetrovueError(error).code !== "DB_BUSY") return error;
  if (!(await stoppedDuringBusyWait(signal))) return error;
  const reason = signal.reason instanceof RetrovueError ? signal.reason.message : "interrupted";
  return new RetrovueError(
    "CANCELLED",
    `${reason} while waiting for the catalog's write lock; nothing was written`,
  );
}

function _reportError(
  error: unknown,
  options: { io: CliIO; json: boolean; debug: boolean; scrub: (text: string) => string },
): void {
  const { io, scrub } = options;
  if (options.json) {
    const doc = jsonError(error);
    doc.error.message = scrub(doc.error.message);
    writeJson({ stdout: { write: (t) => io.stdout.write(scrub(t)) } }, doc);
  } else {
    io.stderr.write(scrub(errorLine(error)) + "\n");
  }
  const e = toRetrovueError(error);
  if (options.debug || e.code === "INTERNAL") {
    const cause = e.code === "INTERNAL" && e.cause instanceof Error ? e.cause : e;
    if (options.debug) io.stderr.write(inertOutput(scrub(String(cause.stack ?? cause))) + "\n");
    else io.stderr.write("(set RETROVUE_DEBUG=1 to see the stack trace)\n");
  }
}

function _wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (a === "--help" || a === "-h") return true;
  }
  return false;
}

function _findCommand(
  commands: readonly CommandEntry[],
  rest: readonly string[],
): CommandEntry | undefined {
  let best: CommandEntry | undefined;
  for (const c of commands) {
    if (c.path.every((w, i) => rest[i] === w) && (!best || c.path.length > best.path.length)) {
      best = c;
    }
  }
  return best;
}

function _topLevel(
  commands: readonly CommandEntry[],
  rest: readonly string[],
  io: CliIO,
): number {
  const words: string[] = [];
  for (const a of rest) {
    if (a.startsWith("-")) break;
    words.push(a);
  }
  // `retrovue help` and `retrovue help source`, as many tools take them: `--help`.
  const asked = words[0] === "help" && !commands.some((c) => c.path[0] === "help");
  if (asked) words.shift();
  const group = commands.filter((c) => words.every((w, i) => c.path[i] === w));
  const help = asked || _wantsHelp(rest) || rest.length === 0;
  if (help && group.length > 0) {
    io.stdout.write(usage(group, words));
    return 0;
  }
  const what = words.length ? words.join(" ") : rest[0];
  const hint = group.length > 0 && words.length > 0
    ? `'${words.join(" ")}' needs a subcommand: ${
      [...new Set(group.map((c) => c.path[words.length]))].join(", ")
    }`
    : `unknown command '${what}'${
      _endingWith(commands, what) ??
        didYouMean(what, [...commands.map((c) => c.path.join(" ")), "--version", "--help"])
    }; run 'retrovue --help' to list the commands`;
  throw new RetrovueError("USAGE", hint);
}

/**
 * `; did you mean 'ingest history'?` for a command given without its group
 * (`history`), when exactly one command's path ends so; else undefined.
 */
function _endingWith(commands: readonly CommandEntry[], what: string): string | undefined {
  const found = commands.filter((c) => c.path.length > 1 && c.path.at(-1) === what);
  return found.length === 1 ? `; did you mean '${found[0].path.join(" ")}'?` : undefined;
}

/** The usage text listing `commands` (all of them, or one group). */
export function usage(commands: readonly CommandEntry[], prefix: readonly string[] = []): string {
  const rows = commands.map((c) => [`  ${c.path.join(" ")}`, c.summary]);
  return [
    `Usage: retrovue ${prefix.length ? prefix.join(" ") + " " : ""}<command> [options]`,
    "",
    "Commands:",
    formatTable(["", ""], rows).split("\n").slice(1).join("\n").trimEnd(),
    "",
    "Global options (accepted anywhere):",
    "  --db PATH    database file (default: $RETROVUE_DB, else $XDG_DATA_HOME/retrovue/retrovue.db,",
    "               else ~/.local/share/retrovue/retrovue.db)",
    "  --test-db    use retrovue-test.db next to the default database, never the real one",
    "  --json       print one JSON document on stdout",
    "  --output wide",
    "               never cut table cells to the terminal's width (COLUMNS)",
    "  -h, --help   show help (also after any command)",
    "  --version    print the version of retrovue and of Deno",
    "",
    "Exit codes: 0 ok, 1 usage/validation/runtime error, 2 partial success, 3 upstream unreachable,",
    '130 interrupted (Ctrl-C), 143 terminated (SIGTERM); with --json, "status" agrees',
    "(ok 0, partial 2, error 1/3/130/143).",
    "",
  ].join("\n");
}

/**
 * Sends `retrovue` log records at the `RETROVUE_LOG` level to `stderr`;
 * resolves to the function that undoes it.
 */
async function _configureLogging(
  env: CommandContext["env"],
  stderr: Writer,
): Promise<() => void> {
  const { configureSync, resetSync } = await import("@logtape/logtape");
  const wanted = (env.RETROVUE_LOG ?? "warning").toLowerCase();
  const levels = ["trace", "debug", "info", "warning", "error", "fatal"] as const;
  const found = levels.find((l) => l === wanted || (wanted === "warn" && l === "warning"));
  if (found === undefined && env.RETROVUE_LOG !== undefined && env.RETROVUE_LOG !== "") {
    stderr.write(
      `Warning: RETROVUE_LOG '${inertLine(env.RETROVUE_LOG.slice(0, 40))}' is not a level ` +
        `(${levels.join(", ")}); logging at warning\n`,
    );
  }
  const level = found ?? "warning";
  configureSync({
    reset: true,
    sinks: {
      stderr(record: LogRecord) {
        const text = record.message.map((part, i) =>
          i % 2 === 0 ? String(part) : typeof part === "string" ? part : JSON.stringify(part)
        ).join("");
        const category = inertText(record.category.join("."));
        stderr.write(`${record.level} ${category}: ${inertText(oneLine(text))}\n`);
      },
    },
    loggers: [
      { category: ["retrovue"], lowestLevel: level, sinks: ["stderr"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  return resetSync;
}

// ------------------------------------------------------------------ entry

function _fdWriter(file: { writeSync(p: Uint8Array): number }): Writer {
  const encoder = new TextEncoder();
  return {
    write(text: string) {
      let bytes = encoder.encode(text);
      try {
        while (bytes.length > 0) bytes = bytes.subarray(file.writeSync(bytes));
      } catch (error) {
        if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      }
    },
  };
}

function _readEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of CLI_ENV_NAMES) {
    try {
      env[name] = Deno.env.get(name);
    } catch {
      env[name] = undefined;
    }
  }
  return env;
}

async function _readLine(): Promise<string | null> {
  const buffer = new Uint8Array(1);
  const bytes: number[] = [];
  while (true) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) return bytes.length ? new TextDecoder().decode(new Uint8Array(bytes)) : null;
    if (buffer[0] === 10) return new TextDecoder().decode(new Uint8Array(bytes)).replace(/\r$/, "");
    bytes.push(buffer[0]);
  }
}

if (import.meta.main && Deno.build.standalone && await _isPluginHostCall(Deno.args)) {
  // A compiled binary is its own plugin host (see registry/mod.ts).
  await (await import("./registry/mod.ts")).runPluginHost();
} else if (import.meta.main) {
  const controller = new AbortController();
  // Ctrl-C (SIGINT, exit 130) and SIGTERM (what timeout, systemd and docker stop send; exit
  // 143) stop the command the same way: it is cancelled, writes nothing and says so (with
  // --json, in its document). A second signal ends the process at once.
  let stopped = 0;
  let stopCode = 130;
  const stopOn = (code: number, reason: string) => () => {
    if (stopped++ === 0) stopCode = code;
    controller.abort(new RetrovueError("CANCELLED", reason));
    if (stopped > 1) Deno.exit(stopCode);
  };
  try {
    Deno.addSignalListener("SIGINT", stopOn(130, "interrupted"));
    Deno.addSignalListener("SIGTERM", stopOn(143, "terminated (SIGTERM)"));
  } catch {
    // Signals are not available everywhere; Ctrl-C then just ends the process.
  }
  const code = await main(Deno.args, {
    env: _readEnv(),
    stdout: _fdWriter(Deno.stdout),
    stderr: _fdWriter(Deno.stderr),
    isTerminal: Deno.stdout.isTerminal(),
    stdinIsTerminal: Deno.stdin.isTerminal(),
    cwd: Deno.cwd(),
    now: () => new Date(),
    readLine: _readLine,
    signal: controller.signal,
  });
  Deno.exit(controller.signal.aborted && code !== 0 ? stopCode : code);
}
