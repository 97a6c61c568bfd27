/**
 * What an importer could not list is not gone: `CallContext.unlisted(prefix)`
 * keeps the stored assets under an external-id prefix as they are on a full
 * ingest, and the filesystem importer reports an unreadable folder so.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { IngestClient } from "../ingest/pipeline.ts";
import { ingestCollection } from "../ingest/pipeline.ts";
import { itemsClient, SEEDED_COLLECTION, seededCatalog } from "./_catalog.ts";
import type { PluginNotice } from "../registry/mod.ts";
import { withPluginFolder } from "./_plugin_folder.ts";

const movie = (id: string) => ({
  externalId: id,
  kind: "movie",
  title: id,
  path: `/media/${id}`,
  size: 1,
  modified: "m",
});

/**
 * A client that lists `items` and reports `prefixes` as unlisted (an
 * `{ exact }` entry as one whole id), as a plugin host relays them.
 */
function unlistingClient(items: unknown[], prefixes: (string | { exact: string })[]): IngestClient {
  return {
    manifest: itemsClient([]).manifest,
    async *fetchAssets(_request, options) {
      await Promise.resolve();
      for (const p of prefixes) {
        options?.onNotice?.(
          typeof p === "string"
            ? { kind: "unlisted", prefix: p, exact: false }
            : { kind: "unlisted", prefix: p.exact, exact: true },
        );
      }
      yield items;
    },
  };
}

function live(db: DatabaseSync): string[] {
  return (db.prepare(
    "SELECT external_id FROM assets WHERE deleted_at IS NULL ORDER BY external_id",
  ).all() as { external_id: string }[]).map((r) => r.external_id);
}

Deno.test("unlisted: a full ingest keeps the assets under an unlisted prefix, and only those", async () => {
  const all = ["A/1.mkv", "A/2.mkv", "AB/1.mkv", "B/1.mkv", "Ω/1.mkv"];
  const run = async (prefixes: (string | { exact: string })[]) => {
    const db = seededCatalog({ kind: "movies" });
    await ingestCollection(db, {
      client: itemsClient(all.map(movie)),
      collection: SEEDED_COLLECTION,
    });
    const result = await ingestCollection(db, {
      client: unlistingClient([movie("B/1.mkv")], prefixes),
      collection: SEEDED_COLLECTION,
      allowRemoval: true,
    });
    return { result, live: live(db) };
  };
  // Without the notice, what the listing lacked is removed.
  const plain = await run([]);
  assert.equal(plain.result.stats.removed, 4);
  assert.deepEqual(plain.live, ["B/1.mkv"]);
  // With it, the folder's assets stay; a name that merely starts alike (AB/) does not.
  const held = await run(["A/", "Ω/"]);
  assert.equal(held.result.stats.removed, 1);
  assert.deepEqual(held.live, ["A/1.mkv", "A/2.mkv", "B/1.mkv", "Ω/1.mkv"]);
  assert.ok(
    held.result.notices.warnings.includes(
      "kept 3 stored asset(s) as they were: the importer could not list or read them",
    ),
    held.result.notices.warnings.join("\n"),
  );
  // The root itself unreadable ("" is every id): nothing is removed.
  const root = await run([""]);
  assert.equal(root.result.stats.removed, 0);
  assert.equal(root.live.length, all.length);
  // One whole id: only that asset, not the ids it begins (A/1.mkv is not A/1.mkv.part).
  const exact = await run([{ exact: "A/1.mkv" }, { exact: "A/" }]);
  assert.equal(exact.result.stats.removed, 3);
  assert.deepEqual(exact.live, ["A/1.mkv", "B/1.mkv"]);
  assert.ok(
    exact.result.notices.warnings.includes(
      "kept 1 stored asset(s) as they were: the importer could not list or read them",
    ),
    exact.result.notices.warnings.join("\n"),
  );
});

/** Whether chmod 000 fails to stop reads here (as root), without asking for `sys` access. */
function _chmodIgnored(): boolean {
  const probe = Deno.makeTempDirSync({ prefix: "retrovue-chmod-probe-" });
  Deno.chmodSync(probe, 0o000);
  try {
    Deno.readDirSync(probe);
    return true;
  } catch {
    return false;
  } finally {
    Deno.chmodSync(probe, 0o755);
    Deno.removeSync(probe);
  }
}

/**
 * Runs `script` as an unprivileged user where chmod 000 does not stop reads
 * (root), else as this user; null, having said why, when it cannot run.
 */
async function asUnprivileged(script: string, args: string[]): Promise<string | null> {
  const root = _chmodIgnored();
  const denoDir = Deno.makeTempDirSync({ prefix: "retrovue-nobody-deno-" });
  if (root) Deno.chownSync(denoDir, 65534, 65534);
  const deno = ["run", "--no-prompt", "--no-config", "--allow-read", script, ...args];
  const command = root
    ? new Deno.Command("setpriv", {
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", Deno.execPath(), ...deno],
      env: { DENO_DIR: denoDir },
      stdout: "piped",
      stderr: "piped",
    })
    : new Deno.Command(Deno.execPath(), { args: deno, stdout: "piped", stderr: "piped" });
  try {
    const out = await command.output();
    if (!out.success) {
      console.log(`could not run the walk unprivileged: ${new TextDecoder().decode(out.stderr)}`);
      return null;
    }
    return new TextDecoder().decode(out.stdout);
  } catch (error) {
    console.log(`could not run the walk unprivileged (${(error as Error).message})`);
    return null;
  } finally {
    Deno.removeSync(denoDir, { recursive: true });
  }
}

Deno.test("filesystem: an unreadable folder, or a link to one, is reported as unlisted, with a warning", async () => {
  const lib = Deno.makeTempDirSync({ prefix: "retrovue-unlisted-" });
  Deno.chmodSync(lib, 0o755);
  for (
    const rel of [
      "Open (2001)/Open (2001).mkv",
      "Locked (2002)/Locked (2002).mkv",
      ".store/Linked (2003)/Linked (2003).mkv",
    ]
  ) {
    Deno.mkdirSync(join(lib, rel, ".."), { recursive: true, mode: 0o755 });
    Deno.writeTextFileSync(join(lib, rel), "x");
  }
  // A folder linked in from elsewhere in the root, whose target loses its read access.
  Deno.symlinkSync(".store/Linked (2003)", join(lib, "Linked (2003)"));
  Deno.chmodSync(join(lib, "Locked (2002)"), 0o000);
  Deno.chmodSync(join(lib, ".store"), 0o000);
  const script = join(lib, "..", `${lib.split("/").pop()}-walk.ts`);
  const importer = new URL("../importers/filesystem/mod.ts", import.meta.url).href;
  Deno.writeTextFileSync(
    script,
    `import fs from ${JSON.stringify(importer)};
const unlisted = [], warnings = [], ids = [];
const request = {
  signal: new AbortController().signal,
  warn: (m) => warnings.push(m), skipped: () => {}, unlisted: (p) => unlisted.push(p),
  collection: { externalId: Deno.args[0], kind: "movies", name: "lib" }, filters: {},
};
for await (const batch of fs.fetchAssets({ root: [Deno.args[0]], kind: "auto" }, request)) {
  for (const a of [batch].flat()) ids.push(a.externalId);
}
console.log(JSON.stringify({ ids, unlisted, warnings }));
`,
  );
  Deno.chmodSync(script, 0o644);
  try {
    const out = await asUnprivileged(script, [lib]);
    if (out === null) return; // Said why above.
    const run = JSON.parse(out);
    assert.deepEqual(run.ids, ["Open (2001)/Open (2001).mkv"]);
    assert.deepEqual(run.unlisted.sort(), ["Linked (2003)", "Locked (2002)/"]);
    assert.equal(run.warnings.length, 2, run.warnings.join("\n"));
    assert.ok(run.warnings.some((w: string) => /^cannot read 'Linked \(2003\)': /.test(w)));
    assert.ok(run.warnings.some((w: string) => /^cannot read folder 'Locked \(2002\)': /.test(w)));
  } finally {
    Deno.chmodSync(join(lib, "Locked (2002)"), 0o755);
    Deno.chmodSync(join(lib, ".store"), 0o755);
    Deno.removeSync(lib, { recursive: true });
    Deno.removeSync(script);
  }
});

const UNLISTING_PLUGIN = `
export default {
  typeId: "unlisting",
  displayName: "Unlisting",
  params: [],
  capabilities: { filters: {} },
  validateConnection() { return {}; },
  listCollections() { return [{ externalId: "c", name: "C", kind: "movies" }]; },
  async *fetchAssets(_config, request) {
    request.warn("cannot read folder 'A'");
    request.unlisted("A/  two spaces\\nand a line/");
    request.unlisted("12", { exact: true });
    request.unlisted("C/", { exact: "yes" });
    yield [{ externalId: "B/1.mkv", kind: "movie", title: "B" }];
  },
};
`;

Deno.test("unlisted: the prefix crosses the sandbox as sent (never reworded like shown text)", async () => {
  await withPluginFolder({ "unlisting.js": UNLISTING_PLUGIN }, async (registry) => {
    const client = await registry.open("unlisting", {});
    const notices: PluginNotice[] = [];
    try {
      const batches = [];
      const stream = client.fetchAssets(
        { collection: { externalId: "c", kind: "movies", name: "C" }, filters: {} },
        { onNotice: (n) => notices.push(n) },
      );
      for await (const batch of stream) batches.push(batch);
      assert.equal(batches.flat().length, 1);
    } finally {
      await client.close();
    }
    assert.deepEqual(notices, [
      { kind: "warn", message: "cannot read folder 'A'" },
      { kind: "unlisted", prefix: "A/  two spaces\nand a line/", exact: false },
      { kind: "unlisted", prefix: "12", exact: true },
      // Only `true` is exact: anything else is the (wider) prefix, never less kept.
      { kind: "unlisted", prefix: "C/", exact: false },
    ]);
  });
});
