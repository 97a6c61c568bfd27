/**
 * The command table is lazy: it names each command and its summary, and its
 * module loads only when the command runs. These must agree with the modules.
 */

import assert from "node:assert/strict";
import { COMMANDS, resolveCommand } from "../cli/commands.ts";

Deno.test("command table: every entry loads the command of its path, with its summary", async () => {
  const seen = new Set<string>();
  for (const entry of COMMANDS) {
    const name = entry.path.join(" ");
    assert.ok(!seen.has(name), `'${name}' is listed once`);
    seen.add(name);
    const command = await resolveCommand(entry);
    assert.deepEqual(command.path, entry.path, name);
    assert.equal(command.summary, entry.summary, `the summary of '${name}' matches its module`);
    assert.equal(typeof command.run, "function", name);
  }
});

Deno.test("command table: every command of the modules is listed", async () => {
  const modules = await Promise.all([
    import("../cli/source_commands.ts").then((m) => m.sourceCommands),
    import("../cli/collection_commands.ts").then((m) => m.collectionCommands),
    import("../cli/ingest_commands.ts").then((m) => m.commands),
    import("../cli/asset_commands.ts").then((m) => m.commands),
    import("../cli/importer_commands.ts").then((m) => m.commands),
    import("../cli/parse_command.ts").then((m) => m.commands),
  ]);
  const listed = new Set(COMMANDS.map((c) => c.path.join(" ")));
  for (const command of modules.flat()) {
    assert.ok(listed.has(command.path.join(" ")), `'${command.path.join(" ")}' is in the table`);
  }
});
