/**
 * The command table: every command `main.ts` can dispatch to, in the order
 * `retrovue --help` lists them.
 *
 * The table holds only each command's name path and summary; its module (and
 * everything that module imports: the registry, the ingest, zod…) is loaded
 * when the command runs or shows its own help. So `retrovue --help` and a
 * command like `source list` do not pay for the code of every other command.
 *
 * To add commands, export `commands: Command[]` from a `cli/*_commands.ts`
 * module and list each one here with {@link _lazy} (the test in
 * `tests/cli_commands_test.ts` checks that paths and summaries match).
 *
 * @module
 */

import type { Command } from "./command.ts";

/** A command known by its path and summary, whose module loads only when it is needed. */
export interface LazyCommand {
  /** The command path, e.g. `["source", "list"]`. */
  readonly path: readonly string[];
  /** The one-line summary `--help` lists. */
  readonly summary: string;
  /** Imports the command's module and returns the command. */
  load(): Promise<Command>;
  /**
   * Whether the command's runs (but `--help`) ask for the isolation, save
   * those that fail first: `main.ts` then starts the probe (a process, a few
   * tens of milliseconds) while the module loads, and a run that never asks
   * waits for it before exiting. `"plugins"`: the command starts plugins, so
   * what they need (logging) is set up meanwhile too; `"report"`: it only
   * shows the isolation (`source list-types`).
   */
  readonly probesIsolation?: "plugins" | "report";
}

/** A table entry: a command, or one loaded on demand. */
export type CommandEntry = Command | LazyCommand;

/** The command behind `entry`, loading its module when it is a {@link LazyCommand}. */
export async function resolveCommand(entry: CommandEntry): Promise<Command> {
  return "load" in entry ? await entry.load() : entry;
}

type _Module = () => Promise<readonly Command[]>;

const _source: _Module = async () => (await import("./source_commands.ts")).sourceCommands;
const _collection: _Module = async () =>
  (await import("./collection_commands.ts")).collectionCommands;
const _ingest: _Module = async () => (await import("./ingest_commands.ts")).commands;
const _asset: _Module = async () => (await import("./asset_commands.ts")).commands;
const _importer: _Module = async () => (await import("./importer_commands.ts")).commands;
const _history: _Module = async () => (await import("./history_commands.ts")).commands;
const _parse: _Module = async () => (await import("./parse_command.ts")).commands;
const _enrich: _Module = async () => (await import("./enrich_commands.ts")).commands;
const _sync: _Module = async () => (await import("./sync_commands.ts")).commands;

function _lazy(
  path: string,
  summary: string,
  module: _Module,
  options: { probesIsolation?: LazyCommand["probesIsolation"] } = {},
): LazyCommand {
  const words = path.split(" ");
  return {
    path: words,
    summary,
    ...options,
    async load() {
      const found = (await module()).find((c) => c.path.join(" ") === path);
      if (!found) throw new Error(`command '${path}' is not in its module`);
      return found;
    },
  };
}

/** Every CLI command. */
export const COMMANDS: readonly CommandEntry[] = [
  _lazy("source list-types", "List importer types: status, capabilities and options", _source, {
    probesIsolation: "report",
  }),
  _lazy("source add", "Add a source (validates its options and connection first)", _source),
  _lazy("source list", "List sources with their importer status and collections", _source),
  _lazy("source show", "Show a source: config (secrets masked), status and collections", _source),
  _lazy("source update", "Rename a source or change its options (validated like add)", _source),
  _lazy("source remove", "Remove a source and its collections (asks first)", _source),
  _lazy("source discover", "List a source's collections upstream and update the catalog", _source),
  _lazy("collection list", "List collections (optionally of one source)", _collection),
  _lazy("collection show", "Show a collection: state, locations, path mappings", _collection),
  _lazy(
    "collection update",
    "Enable/disable sync, manage path mappings and the removal limit of a collection",
    _collection,
  ),
  _lazy(
    "collection check-paths",
    "Check that a collection's assets have local files (samples them)",
    _collection,
  ),
  _lazy(
    "collection ingest",
    "Ingest a collection's assets (whole, or one title/season/episode)",
    _ingest,
    { probesIsolation: "plugins" },
  ),
  _lazy(
    "source ingest",
    "Ingest every sync-enabled, ingestible collection of a source",
    _ingest,
    { probesIsolation: "plugins" },
  ),
  _lazy(
    "collection enrich",
    "Probe a collection's local files with its enrichers (durations, streams)",
    _enrich,
  ),
  _lazy("ingest history", "List recorded ingest runs and what each changed", _history),
  _lazy("sync", "Keep the catalog current: scheduled ingests, watched folders, webhooks", _sync),
  _lazy("sync status", "Show what sync ran, when, how it ended, and what is due next", _sync),
  _lazy("asset list", "List ingested assets", _asset),
  _lazy("asset show", "Show one asset", _asset),
  _lazy("importer new", "Write a skeleton importer and its test into a plugin folder", _importer),
  _lazy(
    "importer check",
    "Run the contributor checklist against an importer module and a live upstream",
    _importer,
  ),
  _lazy(
    "enricher list-types",
    "List enricher types: status, what they apply to, and options",
    _enrich,
  ),
  _lazy("parse", "Show what the name parser infers from file paths", _parse),
];
