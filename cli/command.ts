/**
 * The shape every CLI command plugs into, and the one argument parser they share.
 *
 * A command is a plain object: a name path (`["source", "add"]`), a one-line
 * summary, help text, and a handler that receives a {@link CommandContext}.
 * `main.ts` finds the command, strips the global options (`--db PATH`,
 * `--test-db`, `--json`, wherever they appear), prints help for `--help`, runs
 * the handler, and turns any thrown error into one `Error: …` line on stderr
 * (or `{"status":"error","error":{"code","message"}}` with `--json`) and the
 * exit status of {@link exitCodeFor}. Handlers therefore just throw a
 * `RetrovueError` on failure and return their exit status (0, or 2 for a
 * partial success) otherwise.
 *
 * ```ts
 * import { type Command, parseCommandArgs } from "./command.ts";
 * import { writeJson } from "./output.ts";
 *
 * export const commands: Command[] = [{
 *   path: ["asset", "list"],
 *   summary: "List assets",
 *   help: "Usage: retrovue asset list [--collection C] [--json]\n",
 *   async run(ctx) {
 *     const { values } = parseCommandArgs(ctx, { collection: { type: "string" } });
 *     const db = ctx.openDb();
 *     …
 *     if (ctx.json) writeJson(ctx, { status: "ok", assets: [] });
 *     else ctx.stdout.write("…\n");
 *     return 0;
 *   },
 * }];
 * ```
 *
 * @module
 */

import type { DatabaseSync } from "node:sqlite";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { RetrovueError } from "../core/errors.ts";
import type { Isolation } from "../registry/mod.ts";
import type { Registry } from "../registry/mod.ts";
import { inertLine } from "./inert.ts";
import { closestMatch, didYouMean } from "./suggest.ts";

export { exitCodeFor } from "../core/errors.ts";

/** Something text can be written to (stdout, stderr, or a buffer in tests). */
export interface Writer {
  /** Writes `text` as is (add the newline yourself). */
  write(text: string): void;
}

/**
 * The environment variables the CLI may read (the `retrovue` task allows only
 * these names). Missing names are `undefined`.
 */
export type CliEnv = Readonly<Record<string, string | undefined>>;

/** Options for {@link CommandContext.openDb}. */
export interface OpenDbOptions {
  /**
   * Open read-only, never creating the file. A catalog from an older
   * RetroVue is upgraded first (see `openDatabase`); nothing else is written.
   */
  readOnly?: boolean;
  /**
   * Create the catalog when it does not exist (only `source add` does).
   * Otherwise a missing catalog is `DB_NOT_FOUND`: reading, or changing
   * what must already be there, never creates an empty catalog.
   */
  create?: boolean;
  /**
   * For a dry run, which writes nothing: an older catalog is not upgraded
   * (a `CONFLICT` saying how to) and its journal mode is left as it is.
   * With `readOnly`, nothing at all is written, not even SQLite's own
   * housekeeping (a checkpoint of what another process left in the WAL).
   */
  dryRun?: boolean;
}

/** What a command handler gets: arguments, I/O, and lazily opened resources. */
export interface CommandContext {
  /** The command's own arguments: everything after its name, global options removed. */
  args: string[];
  /** The command path that was matched, e.g. `["source", "add"]`. */
  path: readonly string[];
  /** `--json` was given: write exactly one JSON document to stdout (see `writeJson`). */
  json: boolean;
  /** The database file this invocation uses (from `--db`, `--test-db`, `RETROVUE_DB` or the default). */
  dbPath: string;
  /**
   * Opens the database (migrated on first use; created only with `create`),
   * once per invocation; `main.ts` closes it. Do not close it yourself.
   */
  openDb(options?: OpenDbOptions): DatabaseSync;
  /**
   * Loads the importer registry (from `importers/` and `RETROVUE_PLUGIN_PATH`),
   * once per invocation; `main.ts` closes it. Call it only in commands that
   * need importers: it starts a plugin-host process. Always `close()` every
   * client you `open()` (try/finally).
   */
  loadRegistry(): Promise<Registry>;
  /**
   * The isolation plugin hosts get on this machine under `RETROVUE_ISOLATION`,
   * probed once per invocation (the registry uses the same answer), once the
   * process is ready to start plugins (logging set up, so that nothing they
   * log is lost). Rejects with `USAGE` when the setting is not `auto`,
   * `required` or `off`.
   */
  isolation(): Promise<Isolation>;
  /**
   * The same answer as {@link CommandContext.isolation}, from the same probe,
   * without making ready for plugins: for commands that only report it
   * (`source list-types`), so they do not load what only running plugins need.
   */
  probedIsolation(): Promise<Isolation>;
  /**
   * Says on stderr that plugins run with Deno permissions only, when
   * `isolation` is at level `deno`: one line, the first time it is called in
   * this invocation, however many plugins the command starts. Call it (via
   * `startingPlugin` in `views.ts`) just before starting a plugin.
   */
  warnIsolation(isolation: Isolation): void;
  /** The readable environment variables. */
  env: CliEnv;
  /** The clock; use it for every stored time (`ctx.now().toISOString()`). */
  now(): Date;
  /** Directory that relative paths in arguments resolve against. */
  cwd: string;
  /**
   * Standard output: results only. Every control and bidi character written
   * is rendered visible (`\x1b`, `\u202e`) except tab, newline and, when
   * `color` is on, plain SGR colors; with `--json`, they are `\uXXXX` escapes.
   * Still pass untrusted text through `formatTable`/`formatFields` (or
   * `inertLine` in `inert.ts`) so that it cannot start a line or add colors.
   */
  stdout: Writer;
  /** Standard error: errors, warnings, progress; made inert like `stdout` (never as JSON). */
  stderr: Writer;
  /**
   * Standard error without the inert filter (secrets are still scrubbed), for
   * the CLI's own terminal control such as the progress line's `\r\x1b[K`.
   * Anything else written here must be made inert first (`inertLine`).
   */
  rawStderr: Writer;
  /** Whether stdout is a terminal (tables may be wider, progress may redraw). */
  isTerminal: boolean;
  /**
   * The widest a table line may be (pass it to `formatTable`): `COLUMNS`, else
   * the terminal's width when stdout is a terminal; `null` (no limit) when
   * stdout is not a terminal and `COLUMNS` is unset, or with `--output wide`.
   */
  width: number | null;
  /** Whether stdin is a terminal (only then may a command ask for confirmation). */
  stdinIsTerminal: boolean;
  /** Whether to use ANSI colors (stdout is a terminal, `NO_COLOR` unset, not `--json`). */
  color: boolean;
  /** Asks a question on stderr and reads one line from stdin; `null` at end of input. */
  prompt(question: string): Promise<string | null>;
  /** Aborted when the operator interrupts (Ctrl-C); pass it to long calls. */
  signal: AbortSignal;
  /**
   * Registers secret values (e.g. `secretValues(manifest.params, config)`):
   * from then on every write to `stdout` and `stderr` shows them as `***`.
   * A second line of defence; mask configs with `maskConfig` first.
   */
  addSecrets(values: readonly string[]): void;
}

/** One CLI command. */
export interface Command {
  /** Words that select it, e.g. `["source", "add"]`. */
  path: readonly string[];
  /** One line for the command list of `retrovue --help`. */
  summary: string;
  /**
   * Full usage text printed for `--help` (exit 0). A function may compute it
   * from the arguments (e.g. `source add --type plex --help` lists that type's flags).
   */
  help: string | ((ctx: CommandContext) => string | Promise<string>);
  /** Runs the command; returns the exit status (0 ok, 2 partial). Throw on failure. */
  run(ctx: CommandContext): Promise<number>;
}

/** The parsed arguments of a command. */
export interface ParsedCommandArgs<V> {
  /** Option values, keyed by long option name. */
  values: V;
  /** Positional arguments. */
  positionals: string[];
}

/** Options for {@link parseCommandArgs}. */
export interface ParseCommandArgsOptions {
  /** Smallest number of positionals (default 0). */
  minPositionals?: number;
  /** Largest number of positionals (default 0). */
  maxPositionals?: number;
  /** What the positionals are, for error messages (e.g. `<source>`). */
  positionalName?: string;
  /**
   * The commands one word longer than this one (`sync status` beside
   * `sync`): an unexpected argument close to one of them (`sync stat`)
   * suggests it.
   */
  subcommands?: readonly string[];
}

/**
 * Parses `ctx.args` strictly with `node:util` `parseArgs`. Unknown options,
 * missing values and wrong positional counts become one-line `USAGE` errors
 * (exit 1) that name the command.
 */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  ctx: Pick<CommandContext, "args" | "path">,
  options: T,
  extra: ParseCommandArgsOptions = {},
): ParsedCommandArgs<
  ReturnType<typeof parseArgs<{ options: T; allowPositionals: true }>>["values"]
> {
  const command = ctx.path.join(" ");
  let parsed;
  try {
    const args = _negativeValues(ctx.args, options);
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(command, error, { known: Object.keys(options).map((k) => `--${k}`) });
  }
  const min = extra.minPositionals ?? 0;
  const max = extra.maxPositionals ?? 0;
  const what = extra.positionalName ?? "argument";
  if (parsed.positionals.length < min) {
    throw new RetrovueError("USAGE", `'${command}' needs ${what}; see '${command} --help'`);
  }
  if (parsed.positionals.length > max) {
    const word = parsed.positionals[max];
    const sub = extra.subcommands ? closestMatch(word, extra.subcommands) : null;
    throw new RetrovueError(
      "USAGE",
      `unexpected argument '${word}' for '${command}'` +
        (sub === null ? "" : `; did you mean '${command} ${sub}'?`) + `; see '${command} --help'`,
    );
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/**
 * `--season -1` as `--season=-1`: `parseArgs` takes a value that starts with
 * `-` for an option, and would say `--season` "needs a value" where the
 * command's own check can say what is wrong with `-1`.
 */
function _negativeValues(args: readonly string[], options: ParseArgsOptionsConfig): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const name = /^--([a-z][a-z0-9-]*)$/.exec(arg)?.[1];
    const next = args[i + 1];
    if (name && options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** The options every command accepts (see `splitGlobalOptions`), for did-you-mean hints. */
export const GLOBAL_OPTION_FLAGS: readonly string[] = [
  "--json",
  "--db",
  "--test-db",
  "--output",
  "--help",
];

/** Options of {@link usageError}. */
export interface UsageErrorOptions {
  /** The command's options (`--name`), for a did-you-mean hint. */
  known?: readonly string[];
}

/**
 * Turns a `parseArgs` error into a one-line `USAGE` error for `command`; an
 * unknown option names the closest of `options.known` (and is in `details.option`).
 */
export function usageError(
  command: string,
  error: unknown,
  options: UsageErrorOptions = {},
): RetrovueError {
  const known = options.known ?? [];
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string })?.code;
  const option = /(--?[\w-]+)/.exec(message)?.[1] ?? "?";
  let text: string;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    // A mistyped global option (`--jsno`) reaches the command's own parsing: offer those too.
    text = `unknown option '${option}' for '${command}'${
      didYouMean(option, [...known, ...GLOBAL_OPTION_FLAGS])
    }`;
  } else if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    text = /does not take/.test(message)
      ? `option '${option}' does not take a value`
      : `option '${option}' needs a value`;
  } else {
    text = message.split("\n")[0];
  }
  const details = code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" ? { details: { option } } : {};
  return new RetrovueError("USAGE", `${text}; see '${command} --help'`, details);
}

/**
 * Parses a count option (`--season`, `--episode`, `--limit`…): a whole number ≥ 0, else a
 * `USAGE` error naming the flag.
 */
export function parseCount(flag: string, text: string): number {
  if (!/^\d{1,9}$/.test(text.trim())) {
    throw new RetrovueError(
      "USAGE",
      `${flag} must be a whole number from 0 to 999999999, not '${inertLine(text)}'`,
    );
  }
  return Number(text.trim());
}
