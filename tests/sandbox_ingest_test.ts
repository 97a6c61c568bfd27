/**
 * Hostile and careless plugins through the operator's real CLI: what a
 * plugin prints can never make an ingest lose assets, and a plugin that
 * tampers with the protocol or exceeds a limit ends the ingest with the
 * catalog exactly as it was (`sqlite3 .dump` equality).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { dumpDb, REPO_ROOT, runCli, tempWorld } from "./_cli.ts";

const HOSTILE = join(REPO_ROOT, "tests", "fixtures", "hostile");

/** `sqlite3 FILE .dump` where the sqlite3 shell exists, else every row of every table. */
async function _dump(db: string): Promise<string> {
  try {
    const out = await new Deno.Command("sqlite3", { args: [db, ".dump"], stderr: "null" }).output();
    if (out.success) return new TextDecoder().decode(out.stdout);
  } catch {
    // No sqlite3 shell: compare the rows instead.
  }
  return dumpDb(db);
}

async function _cli(db: string, args: string[], env: Record<string, string> = {}) {
  return await runCli(args, { db, pluginPath: HOSTILE, env });
}

/** A source of the hostile fixture with one enabled collection, ingested once. */
async function _seed(db: string, attempt: string): Promise<void> {
  const add = await _cli(db, [
    "source",
    "add",
    "--type",
    "escape",
    "--name",
    "Hostile",
    "--attempt",
    attempt,
    "--discover",
  ]);
  assert.equal(add.code, 0, add.stderr);
  const enable = await _cli(db, ["collection", "update", "C", "--sync-enable"]);
  assert.equal(enable.code, 0, enable.stderr);
}

async function _ingest(db: string, env: Record<string, string> = {}) {
  const run = await _cli(db, ["collection", "ingest", "C", "--json"], env);
  return { ...run, doc: run.stdout.trim() ? JSON.parse(run.stdout) : undefined };
}

Deno.test({
  name: "ingest: a plugin printing progress without newlines loses nothing",
  async fn() {
    using world = tempWorld();
    await _seed(world.db, "stdout-progress");
    const first = await _ingest(world.db);
    assert.equal(first.code, 0, first.stderr);
    const again = await _ingest(world.db);
    assert.equal(again.code, 0, again.stderr);
    const text = JSON.stringify(again.doc);
    assert.match(text, /"unchanged":3/, text);
    assert.match(text, /"removed":0/, text);
  },
});

Deno.test({
  name: "ingest: tampering with the protocol or exceeding a limit leaves the catalog as it was",
  async fn(t) {
    using world = tempWorld();
    await _seed(world.db, "stdout-progress");
    const seeded = await _ingest(world.db);
    assert.equal(seeded.code, 0, seeded.stderr);
    const cases: Array<[string, Record<string, string>, string, RegExp]> = [
      // It forged the stream's end into the protocol channel; node:net is now a denial, met
      // after the first asset: the stream fails half-way all the same.
      ["channel-forge", {}, "PERMISSION_DENIED", /raw sockets/],
      ["stream-forever", { RETROVUE_MAX_ASSETS: "5000" }, "LIMIT_EXCEEDED", /RETROVUE_MAX_ASSETS/],
      [
        "stream-maximal",
        { RETROVUE_MAX_STREAM_MB: "8" },
        "LIMIT_EXCEEDED",
        /8 MiB per stream.*RETROVUE_MAX_STREAM_MB/,
      ],
    ];
    for (const [attempt, env, code, pattern] of cases) {
      await t.step(`${attempt}: ${code}, catalog unchanged`, async () => {
        const update = await _cli(world.db, [
          "source",
          "update",
          "Hostile",
          "--attempt",
          attempt,
          "--no-validate",
        ]);
        assert.equal(update.code, 0, update.stderr);
        const before = await _dump(world.db);
        const run = await _ingest(world.db, env);
        assert.notEqual(run.code, 0, "the ingest fails");
        assert.equal(run.doc?.error?.code, code, run.stdout + run.stderr);
        assert.match(run.doc.error.message, pattern);
        assert.equal(await _dump(world.db), before, "catalog byte-for-byte unchanged");
      });
    }
  },
});
