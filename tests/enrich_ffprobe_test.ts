/**
 * The built-in ffprobe enricher on real files FFmpeg generates here (tiny:
 * 1 s at 64x48): h264/aac in mkv and mp4, two audio languages, an embedded
 * and a sidecar subtitle, a two-part movie, a zero-byte and a truncated
 * file; then re-runs, `--dry-run`, a changed file and a missing ffprobe,
 * through the real CLI. Skipped, saying so, where FFmpeg is not installed.
 *
 * Needs `--allow-read --allow-write --allow-run --allow-env`.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { dumpDb, runCli, tempWorld } from "./_cli.ts";
import { findFfmpeg, findFfprobe, makeMedia, truncatedCopy } from "./fixtures/enrichers/_media.ts";

const FFMPEG = findFfmpeg() && findFfprobe();
if (!FFMPEG) console.log("enrich_ffprobe_test: skipped, ffmpeg/ffprobe are not installed");

interface Row {
  title: string;
  tech: string | null;
  probed_duration_ms: number | null;
  enrichment_error: string | null;
  tech_source: string | null;
}

function _rows(db: string): Map<string, Row> {
  const sqlite = new DatabaseSync(db, { readOnly: true });
  try {
    const rows = sqlite.prepare(
      "SELECT title, tech, probed_duration_ms, enrichment_error, tech_source FROM assets",
    ).all() as unknown as Row[];
    return new Map(rows.map((r) => [r.title, r]));
  } finally {
    sqlite.close();
  }
}

Deno.test({
  name: "ffprobe enriches real files; re-runs probe nothing; dry runs write nothing",
  ignore: !FFMPEG,
  async fn() {
    using world = tempWorld();
    const root = join(world.dir, "movies");
    const alpha = join(root, "Alpha (2001)", "Alpha (2001).mkv");
    await makeMedia(alpha, { audio: ["eng", "fra"], subtitle: "spa" });
    Deno.writeTextFileSync(
      join(root, "Alpha (2001)", "Alpha (2001).en.forced.srt"),
      "1\n00:00:00,000 --> 00:00:00,500\nHi\n",
    );
    const beta = join(root, "Beta (2002)", "Beta (2002).mp4");
    await makeMedia(beta);
    await makeMedia(join(root, "Two Part (2003)", "Two Part (2003) - part1.mp4"));
    await makeMedia(join(root, "Two Part (2003)", "Two Part (2003) - part2.mp4"));
    Deno.mkdirSync(join(root, "Empty (2004)"));
    Deno.writeFileSync(join(root, "Empty (2004)", "Empty (2004).mkv"), new Uint8Array());
    truncatedCopy(alpha, join(root, "Cut (2005)", "Cut (2005).mkv"), { bytes: 3000 });

    const cli = (args: string[], env?: Record<string, string>) =>
      runCli(args, { db: world.db, cwd: world.dir, env });
    assert.equal(
      (await cli(["source", "add", "--type", "filesystem", "--name", "fs", "--root", root])).code,
      0,
    );
    assert.equal((await cli(["source", "discover", "fs"])).code, 0);
    // Discovery attached ffprobe to the new filesystem collection (ffprobe is here).
    const shown = JSON.parse((await cli(["collection", "show", "movies", "--json"])).stdout);
    assert.deepEqual(shown.collection.enrichers, [{ typeId: "ffprobe", priority: 0 }]);
    const attach = await cli([
      "collection",
      "update",
      "movies",
      "--sync-enable",
      "--add-enricher",
      "ffprobe",
    ]);
    assert.equal(attach.code, 0, attach.stderr);

    const ingest = await cli(["collection", "ingest", "movies", "--json"]);
    assert.equal(ingest.code, 0, ingest.stderr);
    const first = JSON.parse(ingest.stdout).enrichment;
    assert.deepEqual(
      [first.selected, first.probed, first.enriched, first.failed],
      [5, 5, 3, 2],
      JSON.stringify(first),
    );

    const rows = _rows(world.db);
    const a = rows.get("Alpha")!;
    assert.equal(a.tech_source, "ffprobe");
    assert.ok(Math.abs(a.probed_duration_ms! - 1000) < 100, String(a.probed_duration_ms));
    const tech = JSON.parse(a.tech!);
    assert.equal(tech.container, "mkv");
    assert.ok(tech.bitrate > 0);
    assert.deepEqual(
      [tech.video.codec, tech.video.width, tech.video.height, tech.video.frameRate],
      ["h264", 64, 48, 25],
    );
    assert.equal(tech.video.scanType, "progressive");
    assert.equal(tech.video.hdr, "sdr");
    assert.deepEqual(tech.audio, [
      { codec: "aac", channels: 1, language: "eng", default: true },
      { codec: "aac", channels: 1, language: "fra", default: false },
    ]);
    assert.deepEqual(tech.subtitles, [
      { codec: "subrip", language: "spa", forced: true },
      { codec: "srt", language: "en", forced: true, external: true },
    ]);
    const b = JSON.parse(rows.get("Beta")!.tech!);
    assert.equal(b.container, "mp4");
    assert.deepEqual(b.subtitles, []);
    const two = rows.get("Two Part")!;
    assert.ok(Math.abs(two.probed_duration_ms! - 2000) < 200, String(two.probed_duration_ms));
    assert.match(rows.get("Empty")!.enrichment_error!, /empty/);
    assert.match(rows.get("Cut")!.enrichment_error!, /truncated|Invalid/i);
    const codes = Object.fromEntries(
      first.failures.map((f: { label: string; code: string }) => [f.label, f.code]),
    );
    assert.deepEqual(codes, { Cut: "MEDIA_INVALID", Empty: "FILE_UNREADABLE" });

    // Unchanged files are never probed again, failed ones included.
    const again = await cli(["collection", "enrich", "movies", "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([JSON.parse(again.stdout).selected, JSON.parse(again.stdout).probed], [0, 0]);

    // --force probes everything again (exit 2: two still fail); --dry-run writes nothing.
    const before = dumpDb(world.db);
    const dry = await cli(["collection", "enrich", "movies", "--force", "--dry-run", "--json"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual([JSON.parse(dry.stdout).selected, JSON.parse(dry.stdout).probed], [5, 0]);
    assert.equal(dumpDb(world.db), before);
    const forced = await cli(["collection", "enrich", "movies", "--force", "--title", "cut"]);
    assert.equal(forced.code, 2, forced.stderr);
    assert.match(forced.stdout, /1 probed, 0 enriched, 1 failed/);

    // A changed file is enriched again after the next ingest.
    await makeMedia(beta, { seconds: 2 });
    const reingest = await cli(["collection", "ingest", "movies", "--json"]);
    const second = JSON.parse(reingest.stdout).enrichment;
    assert.deepEqual([second.probed, second.enriched], [1, 1], JSON.stringify(second));
    assert.ok(Math.abs(_rows(world.db).get("Beta")!.probed_duration_ms! - 2000) < 200);

    // Without ffprobe: listed unavailable, ingest still works, enrich exits 1 with the hint.
    const bin = join(world.dir, "bin");
    Deno.mkdirSync(bin);
    Deno.symlinkSync(Deno.execPath(), join(bin, "deno"));
    const noFfprobe = { PATH: bin };
    const listed = await cli(["enricher", "list-types", "--json"], noFfprobe);
    const ffprobe = JSON.parse(listed.stdout).enricherTypes.find((t: { typeId: string }) =>
      t.typeId === "ffprobe"
    );
    assert.equal(ffprobe.status, "unavailable");
    assert.match(ffprobe.reason, /install ffmpeg or pass --ffprobe PATH/);
    const failing = await cli(["collection", "enrich", "movies", "--force"], noFfprobe);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /^Error: .*install ffmpeg or pass --ffprobe PATH$/m);
    const stillIngests = await cli(["collection", "ingest", "movies"], noFfprobe);
    assert.equal(stillIngests.code, 0, stillIngests.stderr);
    assert.match(stillIngests.stderr, /enrichment skipped: .*install ffmpeg/);
    // …and passing --ffprobe PATH, as the hint says, makes it run again.
    const notExecutable = await cli(
      ["collection", "update", "movies", "--add-enricher", "ffprobe", "--ffprobe", alpha],
      noFfprobe,
    );
    assert.equal(notExecutable.code, 1);
    assert.match(notExecutable.stderr, /is not an executable file/);
    const given = await cli(
      ["collection", "update", "movies", "--add-enricher", "ffprobe", "--ffprobe", findFfprobe()!],
      noFfprobe,
    );
    assert.equal(given.code, 0, given.stderr);
    // The operator sees the program the enricher may run, as granted (its real path).
    assert.match(
      given.stdout,
      new RegExp(
        `updated enricher ffprobe, which runs ${RegExp.escape(Deno.realPathSync(findFfprobe()!))}`,
      ),
    );
    const probed = await cli(["collection", "enrich", "movies", "--force", "--json"], noFfprobe);
    assert.equal(probed.code, 2, probed.stderr); // Empty and Cut still fail.
    assert.equal(JSON.parse(probed.stdout).enriched, 3);
  },
});
