/**
 * What an importer reports during `collection ingest` (warnings, skipped
 * upstream items) reaches the operator, in text and in `--json`, as it does
 * during discovery.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli, tempWorld } from "./_cli.ts";

function _write(path: string, text = ""): void {
  Deno.mkdirSync(join(path, ".."), { recursive: true });
  Deno.writeTextFileSync(path, text);
}

Deno.test("collection ingest shows the filesystem importer's skipped items and warnings", async () => {
  using world = tempWorld();
  const root = join(world.dir, "shows");
  _write(join(root, "Alpha", "Season 1", "Alpha - S01E01.mkv"));
  _write(join(root, "Alpha", "Season 1", "Alpha - S01E02.mkv"));
  _write(join(root, "Alpha", "Season 1", "Alpha - S01E01-sample.mkv"));
  _write(join(root, "Alpha", "Season 1", "sample", "clip.mkv"));
  _write(join(root, "Alpha", "Extras", "Behind the scenes.mkv"));
  const outside = join(world.dir, "elsewhere.mkv");
  _write(outside);
  Deno.symlinkSync(outside, join(root, "Alpha", "Season 1", "Alpha - S01E03.mkv"));
  const run = (args: string[]) => runCli(args, { db: world.db });
  const add = await run([
    "source",
    "add",
    "--type",
    "filesystem",
    "--name",
    "Files",
    "--root",
    root,
    "--kind",
    "shows",
    "--discover",
  ]);
  assert.equal(add.code, 0, add.stderr);
  const list = JSON.parse((await run(["collection", "list", "--json"])).stdout);
  const collection = (list.collections ?? list)[0];
  const id = String(collection.id);
  assert.equal((await run(["collection", "update", id, "--sync-enable"])).code, 0);

  const r = await run(["collection", "ingest", id, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.stats.new, 2);
  assert.ok(doc.skipped.total >= 3, JSON.stringify(doc.skipped));
  const reasons = Object.keys(doc.skipped.byReason);
  assert.ok(reasons.some((x) => /sample/.test(x)), reasons.join(", "));
  assert.ok(reasons.some((x) => /extra/.test(x)), reasons.join(", "));
  const counted = Object.values(doc.skipped.byReason).reduce((a, b) => Number(a) + Number(b), 0);
  assert.equal(counted, doc.skipped.total);
  assert.ok(doc.skipped.sample.length > 0 && doc.skipped.sample.length <= 10);
  assert.ok(Array.isArray(doc.warnings));
  // The link out of the root is not followed: it is reported, as a warning or a skip.
  const told = JSON.stringify([doc.warnings, doc.skipped]);
  assert.match(told, /S01E03/);

  const text = await run(["collection", "ingest", id]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Skipped \d+ upstream item\(s\): .*sample/);
});
