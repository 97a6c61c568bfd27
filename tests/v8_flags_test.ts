/**
 * The memory flags every RetroVue process runs with (see `SEMI_SPACE_FLAG`,
 * `CLI_SEMI_SPACE_FLAG` and `HEAP_GROWING_FLAG`): the CLI's tasks carry them,
 * and so do a plugin host's command line and a compiled binary.
 */

import assert from "node:assert/strict";
import { compileArgs } from "../cli/compile.ts";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { HEAP_GROWING_FLAG, SEMI_SPACE_FLAG } from "../registry/_host_process.ts";
import { CLI_SEMI_SPACE_FLAG } from "../registry/_protocol.ts";

/** The V8 flags of one `--v8-flags=a,b` argument. */
function v8FlagsOf(args: readonly string[]): string[] {
  const v8 = args.filter((f) => f.startsWith("--v8-flags="));
  assert.equal(v8.length, 1, `one --v8-flags in ${args.join(" ")}`);
  return v8[0].slice("--v8-flags=".length).split(",");
}

Deno.test("the retrovue and demo tasks cap V8's young generation at the CLI's size", () => {
  assert.ok(v8FlagsOf(retrovueTaskFlags()).includes(CLI_SEMI_SPACE_FLAG));
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  assert.ok(v8FlagsOf(String(config.tasks.demo).split(/\s+/)).includes(CLI_SEMI_SPACE_FLAG));
  // Plugin hosts and a compiled binary keep the smaller cap.
  assert.notEqual(CLI_SEMI_SPACE_FLAG, SEMI_SPACE_FLAG);
  assert.ok(v8FlagsOf(compileArgs("/tmp/retrovue")).includes(SEMI_SPACE_FLAG));
});

Deno.test("the CLI's tasks and a compiled binary grow V8's old generation by the same step", () => {
  assert.ok(v8FlagsOf(retrovueTaskFlags()).includes(HEAP_GROWING_FLAG));
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  assert.ok(v8FlagsOf(String(config.tasks.demo).split(/\s+/)).includes(HEAP_GROWING_FLAG));
  const compiled = v8FlagsOf(compileArgs("/tmp/retrovue"));
  assert.ok(compiled.includes(HEAP_GROWING_FLAG), compiled.join(","));
  assert.ok(compiled.includes(SEMI_SPACE_FLAG), compiled.join(","));
});

Deno.test("the heap-growing flag is one V8 knows (an unknown flag would be ignored)", async () => {
  // Deno warns about V8 flags it does not know and runs on: check V8 lists this one.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--v8-flags=--help", "data:text/javascript,"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const help = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(help, new RegExp(`^\\s*${HEAP_GROWING_FLAG.split("=")[0]}\\b`, "m"));
});
