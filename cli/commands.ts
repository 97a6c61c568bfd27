/**
 * The command table: every command `main.ts` can dispatch to, in the order
 * `retrovue --help` lists them.
 *
 * To add commands, export `commands: Command[]` from a `cli/*_commands.ts`
 * module and spread it in here.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { collectionCommands } from "./collection_commands.ts";
import { commands as ingestCommands } from "./ingest_commands.ts";
import { commands as assetCommands } from "./asset_commands.ts";
import { commands as parseCommands } from "./parse_command.ts";
import { commands as importerCommands } from "./importer_commands.ts";
import { sourceCommands } from "./source_commands.ts";

/** Every CLI command. */
export const COMMANDS: readonly Command[] = [
  ...sourceCommands,
  ...collectionCommands,
  ...ingestCommands,
  ...assetCommands,
  ...importerCommands,
  ...parseCommands,
];
