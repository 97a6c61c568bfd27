/**
 * The memory flag every RetroVue process runs with (see `SEMI_SPACE_FLAG`):
 * the CLI's tasks carry it, and so does a plugin host's command line.
 */

import assert from "node:assert/strict";
import { retrovueTaskFlags } from "../cli/task_flags.ts";
import { SEMI_SPACE_FLAG } from "../registry/_host_process.ts";

Deno.test("the retrovue and demo tasks cap V8's young generation like plugin hosts do", () => {
  const v8 = retrovueTaskFlags().filter((f) => f.startsWith("--v8-flags="));
  assert.equal(v8.length, 1, "one --v8-flags for the CLI task");
  assert.ok(v8[0].split(/[=,]/).includes(SEMI_SPACE_FLAG.split("=")[0]), v8[0]);
  assert.ok(v8[0].endsWith(SEMI_SPACE_FLAG) || v8[0].includes(`${SEMI_SPACE_FLAG},`), v8[0]);
  const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
  assert.match(String(config.tasks.demo), new RegExp(`--v8-flags=${SEMI_SPACE_FLAG}`));
});
