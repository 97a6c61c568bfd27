/** `retrovue --version` and its place in the top-level help. */

import assert from "node:assert/strict";
import denoConfig from "../deno.json" with { type: "json" };
import { runCli } from "./_cli.ts";

Deno.test("cli: --version prints retrovue's and Deno's versions", async () => {
  const r = await runCli(["--version"], { db: null });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `retrovue ${denoConfig.version} (deno ${Deno.version.deno})\n`);
  assert.equal(r.stderr, "");
  const help = await runCli(["--help"], { db: null });
  assert.match(help.stdout, /--version/);
});
